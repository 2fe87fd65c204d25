//! The city's record: orders, their history, requesters (PII, city only)
//! and the contact relay's log.

use hotline_core::{Channel, Disposition, Mood, OrderState, RequestKind, Satisfaction, Urgency};
use sqlx::Row;
use sqlx::any::AnyRow;

use hotline_store::{Conn, Result, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub order_id: String,
    pub state: OrderState,
    pub kind: RequestKind,
    pub channel: Channel,
    pub category_code: String,
    pub urgency: Urgency,
    pub catalogue_version: String,
    pub address: String,
    pub body: String,
    pub requester_ref: String,
    pub territory_unit: String,
    pub received_us: i64,
    /// Business clock deadline; never reset.
    pub due_us: i64,
    pub answer: String,
    pub seq: i64,
    pub reopen_count: i64,
    pub callback: Option<Callback>,
    pub closed_us: Option<i64>,
    /// How intake disposed of it, when it was not dispatched.
    pub disposition: Option<Disposition>,
    /// The open order a duplicate repeats.
    pub duplicate_of: String,
    /// Redirections of a lead, counted toward the bounce limit.
    pub redirect_count: i64,
    pub bounce_limit_reached: bool,
    pub designated_unit: String,
    /// A lead's handler clock passed its limit before the reply.
    pub overdue: bool,
    /// A deadline of the order ran into a year the calendar does not cover
    /// (counted Monday to Friday): it may move once that year is published.
    pub deadline_provisional: bool,
    /// The centre's mark (Art. 9, 37) and its reason.
    pub mark: Option<hotline_core::RequestMark>,
    pub mark_reason: String,
    pub urge_count: i64,
    /// Where the requester said the request is, if they gave a location.
    pub location: Option<Location>,
    /// The community owning the location, or empty.
    pub community_unit: String,
    /// Units within the near-boundary distance of the location.
    pub near_boundary_units: Vec<String>,
    /// W3C traceparent of the intake that received the order: later work
    /// on the order continues (or links to) this trace.
    pub trace_parent: String,
    /// The requester's mood as intake heard it, when recorded.
    pub mood: Option<Mood>,
}

impl Order {
    /// A new order as intake first records it: everything later steps fill
    /// in (callbacks, disputes, location, trace…) empty.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        order_id: String,
        state: OrderState,
        kind: RequestKind,
        channel: Channel,
        category_code: String,
        urgency: Urgency,
        catalogue_version: String,
        received_us: i64,
        due_us: i64,
    ) -> Order {
        Order {
            order_id,
            state,
            kind,
            channel,
            category_code,
            urgency,
            catalogue_version,
            address: String::new(),
            body: String::new(),
            requester_ref: String::new(),
            territory_unit: String::new(),
            received_us,
            due_us,
            answer: String::new(),
            seq: 0,
            reopen_count: 0,
            callback: None,
            closed_us: None,
            disposition: None,
            duplicate_of: String::new(),
            redirect_count: 0,
            bounce_limit_reached: false,
            designated_unit: String::new(),
            overdue: false,
            deadline_provisional: false,
            mark: None,
            mark_reason: String::new(),
            urge_count: 0,
            location: None,
            community_unit: String::new(),
            near_boundary_units: Vec::new(),
            trace_parent: String::new(),
            mood: None,
        }
    }
}

/// WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Callback {
    pub resolved: bool,
    pub satisfaction: Satisfaction,
    pub time_us: i64,
}

pub(crate) const COLUMNS: &str = "order_id, state, kind, channel, category_code, urgency, catalogue_version, address, body, \
    requester_ref, territory_unit, received_us, due_us, answer, seq, reopen_count, callback_resolved, \
    callback_satisfaction, callback_us, closed_us, disposition, duplicate_of, redirect_count, \
    bounce_limit_reached, designated_unit, overdue, urge_count, latitude, longitude, community_unit, \
    near_boundary_units, trace_parent, mood, deadline_provisional, request_mark, mark_reason";

pub(crate) fn from_row(r: AnyRow) -> Result<Order> {
    let resolved: Option<i64> = r.try_get("callback_resolved")?;
    let satisfaction: Option<String> = r.try_get("callback_satisfaction")?;
    let callback_us: Option<i64> = r.try_get("callback_us")?;
    let disposition: String = r.try_get("disposition")?;
    let disposition = match disposition.as_str() {
        "" => None,
        d => Some(parse(d, Disposition::parse, "disposition")?),
    };
    let callback = match (resolved, satisfaction, callback_us) {
        (Some(res), Some(s), Some(t)) => Some(Callback {
            resolved: res != 0,
            satisfaction: parse(&s, Satisfaction::parse, "satisfaction")?,
            time_us: t,
        }),
        _ => None,
    };
    Ok(Order {
        order_id: r.try_get("order_id")?,
        state: parse(
            &r.try_get::<String, _>("state")?,
            OrderState::parse,
            "order state",
        )?,
        kind: parse(&r.try_get::<String, _>("kind")?, RequestKind::parse, "kind")?,
        channel: parse(
            &r.try_get::<String, _>("channel")?,
            Channel::parse,
            "channel",
        )?,
        category_code: r.try_get("category_code")?,
        urgency: parse(
            &r.try_get::<String, _>("urgency")?,
            Urgency::parse,
            "urgency",
        )?,
        catalogue_version: r.try_get("catalogue_version")?,
        address: r.try_get("address")?,
        body: r.try_get("body")?,
        requester_ref: r.try_get("requester_ref")?,
        territory_unit: r.try_get("territory_unit")?,
        received_us: r.try_get("received_us")?,
        due_us: r.try_get("due_us")?,
        answer: r.try_get("answer")?,
        seq: r.try_get("seq")?,
        reopen_count: r.try_get("reopen_count")?,
        callback,
        closed_us: r.try_get("closed_us")?,
        disposition,
        duplicate_of: r.try_get("duplicate_of")?,
        redirect_count: r.try_get("redirect_count")?,
        bounce_limit_reached: r.try_get::<i64, _>("bounce_limit_reached")? != 0,
        designated_unit: r.try_get("designated_unit")?,
        overdue: r.try_get::<i64, _>("overdue")? != 0,
        deadline_provisional: r.try_get::<i64, _>("deadline_provisional")? != 0,
        mark: match r.try_get::<String, _>("request_mark")?.as_str() {
            "" => None,
            m => Some(parse(m, hotline_core::RequestMark::parse, "request mark")?),
        },
        mark_reason: r.try_get("mark_reason")?,
        urge_count: r.try_get("urge_count")?,
        location: match (r.try_get("latitude")?, r.try_get("longitude")?) {
            (Some(latitude), Some(longitude)) => Some(Location {
                latitude,
                longitude,
            }),
            _ => None,
        },
        community_unit: r.try_get("community_unit")?,
        near_boundary_units: r
            .try_get::<String, _>("near_boundary_units")?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        trace_parent: r.try_get("trace_parent")?,
        mood: match r.try_get::<String, _>("mood")?.as_str() {
            "" => None,
            m => Some(parse(m, Mood::parse, "mood")?),
        },
    })
}

pub async fn insert(conn: &mut Conn, o: &Order) -> Result<()> {
    let mut b = hotline_store::Batch::of(conn);
    insert_into(&mut b, o)?;
    b.run(conn).await
}

/// [`insert`]'s statement, added to `b`.
pub fn insert_into(b: &mut hotline_store::Batch, o: &Order) -> Result<()> {
    b.push(sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO orders ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)"
    )))
    // Not cached: sqlx's Any driver binds a NULL f64 as float4, so a cached
    // statement first run without a location refuses the next location's
    // float8 ("incorrect binary data format") on PostgreSQL.
    .persistent(false)
    .bind(&o.order_id)
    .bind(o.state.as_str())
    .bind(o.kind.as_str())
    .bind(o.channel.as_str())
    .bind(&o.category_code)
    .bind(o.urgency.as_str())
    .bind(&o.catalogue_version)
    .bind(&o.address)
    .bind(&o.body)
    .bind(&o.requester_ref)
    .bind(&o.territory_unit)
    .bind(o.received_us)
    .bind(o.due_us)
    .bind(&o.answer)
    .bind(o.seq)
    .bind(o.reopen_count)
    .bind(o.callback.map(|c| c.resolved as i64))
    .bind(o.callback.map(|c| c.satisfaction.as_str()))
    .bind(o.callback.map(|c| c.time_us))
    .bind(o.closed_us)
    .bind(o.disposition.map(|d| d.as_str()).unwrap_or(""))
    .bind(&o.duplicate_of)
    .bind(o.redirect_count)
    .bind(o.bounce_limit_reached as i64)
    .bind(&o.designated_unit)
    .bind(o.overdue as i64)
    .bind(o.urge_count)
    .bind(o.location.map(|l| l.latitude))
    .bind(o.location.map(|l| l.longitude))
    .bind(&o.community_unit)
    .bind(o.near_boundary_units.join(" "))
    .bind(&o.trace_parent)
    .bind(o.mood.map(|m| m.as_str()).unwrap_or(""))
    .bind(o.deadline_provisional as i64)
    .bind(o.mark.map_or("", |m| m.as_str()))
    .bind(&o.mark_reason))
}

/// Reads an order. Inside a transaction that will change it, call
/// [`lock`] instead so concurrent writers queue up.
pub async fn get(conn: &mut Conn, order_id: &str) -> Result<Option<Order>> {
    one(
        conn,
        format!("SELECT {COLUMNS} FROM orders WHERE order_id = $1"),
        order_id,
    )
    .await
}

/// Takes the order's row lock (a no-op write, portable across backends)
/// and reads it, in one statement.
pub async fn lock(conn: &mut Conn, order_id: &str) -> Result<Option<Order>> {
    let sql = format!("UPDATE orders SET seq = seq WHERE order_id = $1 RETURNING {COLUMNS}");
    one(conn, sql, order_id).await
}

/// Locks and reads several orders in one statement (as [`lock`] each),
/// in order id order; an id with no order is left out.
pub async fn lock_all(conn: &mut Conn, order_ids: &[&str]) -> Result<Vec<Order>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids = order_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let list = hotline_store::placeholders(conn, 1, ids.len());
    let sql = format!("UPDATE orders SET seq = seq WHERE order_id IN {list} RETURNING {COLUMNS}");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    let mut all = q
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    // RETURNING keeps no order.
    all.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    Ok(all)
}

/// The order a statement returns, given its id as `$1`.
async fn one(conn: &mut Conn, sql: String, order_id: &str) -> Result<Option<Order>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(order_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(from_row).transpose()
}

/// Writes back the mutable part of an order: its state and record, and
/// its classification (a reclassification changes it).
pub async fn update(conn: &mut Conn, o: &Order) -> Result<()> {
    sqlx::query(
        "UPDATE orders SET state = $2, seq = $3, reopen_count = $4, callback_resolved = $5, \
         callback_satisfaction = $6, callback_us = $7, closed_us = $8, answer = $9, \
         category_code = $10, urgency = $11, catalogue_version = $12, territory_unit = $13, due_us = $14, \
         redirect_count = $15, bounce_limit_reached = $16, designated_unit = $17, overdue = $18, \
         urge_count = $19, deadline_provisional = $20, request_mark = $21, mark_reason = $22 \
         WHERE order_id = $1",
    )
    .bind(&o.order_id)
    .bind(o.state.as_str())
    .bind(o.seq)
    .bind(o.reopen_count)
    .bind(o.callback.map(|c| c.resolved as i64))
    .bind(o.callback.map(|c| c.satisfaction.as_str()))
    .bind(o.callback.map(|c| c.time_us))
    .bind(o.closed_us)
    .bind(&o.answer)
    .bind(&o.category_code)
    .bind(o.urgency.as_str())
    .bind(&o.catalogue_version)
    .bind(&o.territory_unit)
    .bind(o.due_us)
    .bind(o.redirect_count)
    .bind(o.bounce_limit_reached as i64)
    .bind(&o.designated_unit)
    .bind(o.overdue as i64)
    .bind(o.urge_count)
    .bind(o.deadline_provisional as i64)
    .bind(o.mark.map_or("", |m| m.as_str()))
    .bind(&o.mark_reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes back what a timer changes on an order, for several orders in
/// one statement: its record's sequence (the lines it noted) and the
/// overdue flag (a breach). Everything else a timer leaves as it was.
pub async fn update_records(conn: &mut Conn, all: &[&Order]) -> Result<()> {
    if all.is_empty() {
        return Ok(());
    }
    let rows = hotline_store::placeholders(conn, all.len(), 3);
    // VALUES names its columns column1, column2… on both backends.
    let sql = format!(
        "UPDATE orders SET seq = v.column2, overdue = v.column3 FROM (VALUES {rows}) AS v \
         WHERE orders.order_id = v.column1"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for o in all {
        q = q.bind(&o.order_id).bind(o.seq).bind(o.overdue as i64);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// A requester's orders received since `since_us` or closed since
/// `closed_since_us`, for duplicate matching.
pub async fn recent_for_requester(
    conn: &mut Conn,
    requester_ref: &str,
    since_us: i64,
    closed_since_us: i64,
) -> Result<Vec<Order>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orders WHERE requester_ref = $1 \
         AND (received_us >= $2 OR closed_us >= $3) ORDER BY received_us, order_id"
    )))
    .bind(requester_ref)
    .bind(since_us)
    .bind(closed_since_us)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Orders after `after_order_id` (ascending ids), optionally in one state.
pub async fn list(
    conn: &mut Conn,
    state: Option<OrderState>,
    after_order_id: &str,
    limit: i64,
) -> Result<Vec<Order>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orders WHERE ($1 = '' OR state = $1) AND order_id > $2 ORDER BY order_id LIMIT $3"
    )))
    .bind(state.map(|s| s.as_str()).unwrap_or(""))
    .bind(after_order_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Which orders [`list_filtered`] reads: each filter set narrows the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilter {
    /// In any of these states, when any.
    pub states: Vec<OrderState>,
    /// Of any of these catalogue codes, when any.
    pub category_codes: Vec<String>,
    /// Received at or after this instant.
    pub received_from: Option<i64>,
    /// Received at or before this instant.
    pub received_to: Option<i64>,
    /// Citizen requests only: no proactive tasks.
    pub citizen_only: bool,
}

/// Orders after `after_order_id` (ascending ids) that pass `f`.
pub async fn list_filtered(
    conn: &mut Conn,
    f: &OrderFilter,
    after_order_id: &str,
    limit: i64,
) -> Result<Vec<Order>> {
    let mut sql = format!("SELECT {COLUMNS} FROM orders WHERE order_id > $1");
    let mut n = 1;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if !f.states.is_empty() {
        let marks: Vec<String> = f.states.iter().map(|_| next()).collect();
        sql += &format!(" AND state IN ({})", marks.join(", "));
    }
    if !f.category_codes.is_empty() {
        let marks: Vec<String> = f.category_codes.iter().map(|_| next()).collect();
        sql += &format!(" AND category_code IN ({})", marks.join(", "));
    }
    if f.received_from.is_some() {
        sql += &format!(" AND received_us >= {}", next());
    }
    if f.received_to.is_some() {
        sql += &format!(" AND received_us <= {}", next());
    }
    if f.citizen_only {
        sql += &format!(" AND kind <> {}", next());
    }
    sql += &format!(" ORDER BY order_id LIMIT {}", next());
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after_order_id);
    for s in &f.states {
        q = q.bind(s.as_str());
    }
    for c in &f.category_codes {
        q = q.bind(c.as_str());
    }
    if let Some(t) = f.received_from {
        q = q.bind(t);
    }
    if let Some(t) = f.received_to {
        q = q.bind(t);
    }
    if f.citizen_only {
        q = q.bind(RequestKind::ProactiveTask.as_str());
    }
    let rows = q.bind(limit).fetch_all(&mut *conn).await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn count_by_state(conn: &mut Conn) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM orders GROUP BY state ORDER BY state")
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

/// Orders past their business deadline and not finished, and orders closed
/// with the requester saying resolved.
pub async fn overdue_and_resolved(conn: &mut Conn, now: i64) -> Result<(i64, i64)> {
    let overdue: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE due_us < $1 AND state NOT IN ('answered', 'disposed', 'closed', 'withdrawn')",
    )
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let resolved: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE state = 'closed' AND callback_resolved = 1",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((overdue, resolved))
}

/// One line of an order's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub seq: i64,
    pub time_us: i64,
    pub actor_unit: String,
    pub action: String,
    pub detail: String,
}

pub async fn append_history(conn: &mut Conn, order_id: &str, e: &HistoryEntry) -> Result<()> {
    append_history_all(conn, order_id, std::slice::from_ref(e)).await
}

/// Appends several history lines of one order in one statement.
pub async fn append_history_all(
    conn: &mut Conn,
    order_id: &str,
    entries: &[HistoryEntry],
) -> Result<()> {
    let lines: Vec<(&str, &HistoryEntry)> = entries.iter().map(|e| (order_id, e)).collect();
    append_history_lines(conn, &lines).await
}

/// Appends history lines of several orders (order id, line) in one
/// statement.
pub async fn append_history_lines(conn: &mut Conn, lines: &[(&str, &HistoryEntry)]) -> Result<()> {
    let mut b = hotline_store::Batch::of(conn);
    append_history_lines_into(&mut b, lines)?;
    b.run(conn).await
}

/// [`append_history_all`]'s statement, added to `b`.
pub fn append_history_all_into(
    b: &mut hotline_store::Batch,
    order_id: &str,
    entries: &[HistoryEntry],
) -> Result<()> {
    let lines: Vec<(&str, &HistoryEntry)> = entries.iter().map(|e| (order_id, e)).collect();
    append_history_lines_into(b, &lines)
}

/// [`append_history_lines`]' statement, added to `b`.
pub fn append_history_lines_into(
    b: &mut hotline_store::Batch,
    lines: &[(&str, &HistoryEntry)],
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let rows = b.placeholders(lines.len(), 6);
    let sql = format!(
        "INSERT INTO history (order_id, seq, time_us, actor_unit, action, detail) VALUES {rows}"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for &(order_id, e) in lines {
        q = q
            .bind(order_id)
            .bind(e.seq)
            .bind(e.time_us)
            .bind(&e.actor_unit)
            .bind(&e.action)
            .bind(&e.detail);
    }
    b.push(q)
}

pub async fn history(conn: &mut Conn, order_id: &str) -> Result<Vec<HistoryEntry>> {
    let rows = sqlx::query("SELECT seq, time_us, actor_unit, action, detail FROM history WHERE order_id = $1 ORDER BY seq")
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(HistoryEntry {
                seq: r.try_get("seq")?,
                time_us: r.try_get("time_us")?,
                actor_unit: r.try_get("actor_unit")?,
                action: r.try_get("action")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// Records a requester's identity under its pseudonym (first write wins)
/// and returns the identity recorded, name and phone: one statement where
/// an intake used to write and then read it back.
pub async fn upsert_requester(
    conn: &mut Conn,
    requester_ref: &str,
    name: &str,
    phone: &str,
    now: i64,
) -> Result<(String, String)> {
    // `DO UPDATE` with the row's own value, not `DO NOTHING`, so that the
    // recorded row is returned when it was there before.
    let row = sqlx::query(
        "INSERT INTO requesters (requester_ref, name, phone, created_us) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (requester_ref) DO UPDATE SET name = requesters.name \
         RETURNING name, phone",
    )
    .bind(requester_ref)
    .bind(name)
    .bind(phone)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get("name")?, row.try_get("phone")?))
}

/// Records the e-mail address a requester gave (kept when they give
/// none). PII, as their name and phone.
pub async fn set_requester_email(conn: &mut Conn, requester_ref: &str, email: &str) -> Result<()> {
    if email.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE requesters SET email = $2 WHERE requester_ref = $1")
        .bind(requester_ref)
        .bind(email)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A contact made through the relay.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub contact_id: String,
    pub order_id: String,
    pub unit_id: String,
    pub epoch: i64,
    pub time_us: i64,
    pub purpose: String,
}

pub async fn insert_contact(conn: &mut Conn, c: &Contact) -> Result<()> {
    sqlx::query("INSERT INTO contacts (contact_id, order_id, unit_id, epoch, time_us, purpose) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&c.contact_id)
        .bind(&c.order_id)
        .bind(&c.unit_id)
        .bind(c.epoch)
        .bind(c.time_us)
        .bind(&c.purpose)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn contacts(conn: &mut Conn, order_id: &str) -> Result<Vec<Contact>> {
    let rows = sqlx::query(
        "SELECT contact_id, order_id, unit_id, epoch, time_us, purpose FROM contacts WHERE order_id = $1 ORDER BY time_us, contact_id",
    )
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Contact {
                contact_id: r.try_get("contact_id")?,
                order_id: r.try_get("order_id")?,
                unit_id: r.try_get("unit_id")?,
                epoch: r.try_get("epoch")?,
                time_us: r.try_get("time_us")?,
                purpose: r.try_get("purpose")?,
            })
        })
        .collect()
}
