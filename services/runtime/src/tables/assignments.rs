//! Assignments: at the city, its record of every order × unit; at a handler
//! tier, the unit's inbox with the order facts the handler needs.

use hotline_core::{AssignmentState, ReplyOutcome, RequestKind, Role, Urgency};
use sqlx::Row;
use sqlx::any::AnyRow;

use hotline_store::{Conn, Result, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub order_id: String,
    pub unit_id: String,
    pub role: Role,
    pub state: AssignmentState,
    pub epoch: i64,
    /// The order's sequence number when this version was issued.
    pub order_seq: i64,
    pub dispatched_us: i64,
    pub accepted_us: Option<i64>,
    pub contacted_us: Option<i64>,
    pub replied_us: Option<i64>,
    /// Handler clock deadline.
    pub due_us: i64,
    pub outcome: Option<ReplyOutcome>,
    pub reply_text: String,
    pub progress_note: String,
    pub category_code: String,
    pub urgency: Urgency,
    pub address: String,
    pub body: String,
    pub requester_ref: String,
    pub kind: RequestKind,
    /// Designated by the centre at the bounce limit: may not object.
    pub designated: bool,
    /// The unit a co-handler, assist or handed-down lead reports to.
    pub lead_unit: String,
    /// An extension asked for and awaiting the parent's decision.
    pub requested_due_us: Option<i64>,
    /// Extensions granted on this assignment.
    pub extensions: i64,
    /// W3C traceparent of the order's trace, for the handler's systems to
    /// continue; set once, when the assignment is first stored.
    pub trace_parent: String,
}

impl Assignment {
    /// A lead's complaint assignment in `state`, epoch 1, dispatched at 0
    /// and due at `due_us`, nothing else recorded: a fixture's start, its
    /// other fields set with `..`.
    pub fn lead(order_id: &str, unit_id: &str, state: AssignmentState, due_us: i64) -> Self {
        Assignment {
            order_id: order_id.into(),
            unit_id: unit_id.into(),
            role: Role::Lead,
            state,
            epoch: 1,
            order_seq: 0,
            dispatched_us: 0,
            accepted_us: None,
            contacted_us: None,
            replied_us: None,
            due_us,
            outcome: None,
            reply_text: String::new(),
            progress_note: String::new(),
            category_code: String::new(),
            urgency: Urgency::General,
            address: String::new(),
            body: String::new(),
            requester_ref: String::new(),
            kind: RequestKind::Complaint,
            designated: false,
            lead_unit: String::new(),
            requested_due_us: None,
            extensions: 0,
            trace_parent: String::new(),
        }
    }
}

const COLUMNS: &str = "order_id, unit_id, role, state, epoch, order_seq, dispatched_us, accepted_us, contacted_us, \
    replied_us, due_us, outcome, reply_text, progress_note, category_code, urgency, address, body, requester_ref, kind, \
    designated, lead_unit, requested_due_us, extensions, trace_parent";

fn from_row(r: AnyRow) -> Result<Assignment> {
    let outcome: Option<String> = r.try_get("outcome")?;
    Ok(Assignment {
        order_id: r.try_get("order_id")?,
        unit_id: r.try_get("unit_id")?,
        role: parse(&r.try_get::<String, _>("role")?, Role::parse, "role")?,
        state: parse(
            &r.try_get::<String, _>("state")?,
            AssignmentState::parse,
            "assignment state",
        )?,
        epoch: r.try_get("epoch")?,
        order_seq: r.try_get("order_seq")?,
        dispatched_us: r.try_get("dispatched_us")?,
        accepted_us: r.try_get("accepted_us")?,
        contacted_us: r.try_get("contacted_us")?,
        replied_us: r.try_get("replied_us")?,
        due_us: r.try_get("due_us")?,
        outcome: outcome
            .map(|o| parse(&o, ReplyOutcome::parse, "outcome"))
            .transpose()?,
        reply_text: r.try_get("reply_text")?,
        progress_note: r.try_get("progress_note")?,
        category_code: r.try_get("category_code")?,
        urgency: parse(
            &r.try_get::<String, _>("urgency")?,
            Urgency::parse,
            "urgency",
        )?,
        address: r.try_get("address")?,
        body: r.try_get("body")?,
        requester_ref: r.try_get("requester_ref")?,
        kind: parse(&r.try_get::<String, _>("kind")?, RequestKind::parse, "kind")?,
        designated: r.try_get::<i64, _>("designated")? != 0,
        lead_unit: r.try_get("lead_unit")?,
        requested_due_us: r.try_get("requested_due_us")?,
        extensions: r.try_get("extensions")?,
        trace_parent: r.try_get("trace_parent")?,
    })
}

pub async fn get(conn: &mut Conn, order_id: &str, unit_id: &str) -> Result<Option<Assignment>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assignments WHERE order_id = $1 AND unit_id = $2"
    )))
    .bind(order_id)
    .bind(unit_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// Inserts or replaces the assignment of (order, unit).
pub async fn upsert(conn: &mut Conn, a: &Assignment) -> Result<()> {
    upsert_all(conn, std::slice::from_ref(a)).await
}

/// [`upsert`] among the writes of `b`.
pub fn upsert_into(b: &mut hotline_store::Batch, a: &Assignment) -> Result<()> {
    upsert_all_into(b, std::slice::from_ref(a))
}

/// Inserts or updates several assignments (of different units) in one
/// statement.
pub async fn upsert_all(conn: &mut Conn, all: &[Assignment]) -> Result<()> {
    let mut b = hotline_store::Batch::of(conn);
    upsert_all_into(&mut b, all)?;
    b.run(conn).await
}

/// [`upsert_all`]'s statement, added to `b`.
pub fn upsert_all_into(b: &mut hotline_store::Batch, all: &[Assignment]) -> Result<()> {
    if all.is_empty() {
        return Ok(());
    }
    let rows = b.placeholders(all.len(), 25);
    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO assignments ({COLUMNS}) VALUES {rows} \
         ON CONFLICT (order_id, unit_id) DO UPDATE SET role = excluded.role, state = excluded.state, epoch = excluded.epoch, \
         order_seq = excluded.order_seq, dispatched_us = excluded.dispatched_us, accepted_us = excluded.accepted_us, \
         contacted_us = excluded.contacted_us, replied_us = excluded.replied_us, due_us = excluded.due_us, \
         outcome = excluded.outcome, reply_text = excluded.reply_text, progress_note = excluded.progress_note, \
         category_code = excluded.category_code, urgency = excluded.urgency, address = excluded.address, \
         body = excluded.body, requester_ref = excluded.requester_ref, kind = excluded.kind, \
         designated = excluded.designated, lead_unit = excluded.lead_unit, \
         requested_due_us = excluded.requested_due_us, extensions = excluded.extensions, \
         trace_parent = CASE WHEN assignments.trace_parent = '' THEN excluded.trace_parent ELSE assignments.trace_parent END"
    )));
    for a in all {
        q = q
            .bind(&a.order_id)
            .bind(&a.unit_id)
            .bind(a.role.as_str())
            .bind(a.state.as_str())
            .bind(a.epoch)
            .bind(a.order_seq)
            .bind(a.dispatched_us)
            .bind(a.accepted_us)
            .bind(a.contacted_us)
            .bind(a.replied_us)
            .bind(a.due_us)
            .bind(a.outcome.map(|o| o.as_str()))
            .bind(&a.reply_text)
            .bind(&a.progress_note)
            .bind(&a.category_code)
            .bind(a.urgency.as_str())
            .bind(&a.address)
            .bind(&a.body)
            .bind(&a.requester_ref)
            .bind(a.kind.as_str())
            .bind(a.designated as i64)
            .bind(&a.lead_unit)
            .bind(a.requested_due_us)
            .bind(a.extensions)
            .bind(&a.trace_parent);
    }
    b.push(q)
}

pub async fn for_order(conn: &mut Conn, order_id: &str) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assignments WHERE order_id = $1 ORDER BY dispatched_us, unit_id"
    )))
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// The assignments of several orders in one statement, by order, then as
/// [`for_order`] lists them.
pub async fn for_orders(conn: &mut Conn, order_ids: &[&str]) -> Result<Vec<Assignment>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = hotline_store::placeholders(conn, 1, order_ids.len());
    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assignments WHERE order_id IN {list} \
         ORDER BY order_id, dispatched_us, unit_id"
    )));
    for id in order_ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.into_iter().map(from_row).collect()
}

/// A unit's assignments after `after_order_id`, by order id, optionally in
/// one state.
pub async fn list_for_unit(
    conn: &mut Conn,
    unit_id: &str,
    state: Option<AssignmentState>,
    after_order_id: &str,
    limit: i64,
) -> Result<Vec<Assignment>> {
    let filter = Filter {
        state,
        ..Filter::default()
    };
    list_filtered(conn, unit_id, &filter, after_order_id, limit).await
}

/// What a unit's assignment list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub state: Option<AssignmentState>,
    /// Handler clock ends before this.
    pub due_before_us: Option<i64>,
    /// Empty: any catalogue item.
    pub category_code: String,
}

/// A unit's assignments after `after_order_id` (ascending ids), filtered.
pub async fn list_filtered(
    conn: &mut Conn,
    unit_id: &str,
    filter: &Filter,
    after_order_id: &str,
    limit: i64,
) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assignments WHERE unit_id = $1 AND ($2 = '' OR state = $2) AND order_id > $3 \
         AND due_us < $5 AND ($6 = '' OR category_code = $6) ORDER BY order_id LIMIT $4"
    )))
    .bind(unit_id)
    .bind(filter.state.map(|s| s.as_str()).unwrap_or(""))
    .bind(after_order_id)
    .bind(limit)
    .bind(filter.due_before_us.unwrap_or(i64::MAX))
    .bind(&filter.category_code)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Figures for a unit's report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitFigures {
    pub by_state: Vec<(String, i64)>,
    pub total: i64,
    pub overdue: i64,
    pub resolved: i64,
}

pub async fn unit_figures(conn: &mut Conn, unit_id: &str, now: i64) -> Result<UnitFigures> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM assignments WHERE unit_id = $1 GROUP BY state ORDER BY state")
        .bind(unit_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut f = UnitFigures::default();
    for r in rows {
        let n: i64 = r.try_get("n")?;
        f.total += n;
        f.by_state.push((r.try_get("state")?, n));
    }
    let open = ["dispatched", "accepted", "contacted", "in_progress"];
    f.overdue = sqlx::query_scalar(
        "SELECT COUNT(*) FROM assignments WHERE unit_id = $1 AND role <> 'copy' AND due_us < $2 \
         AND state IN ($3, $4, $5, $6)",
    )
    .bind(unit_id)
    .bind(now)
    .bind(open[0])
    .bind(open[1])
    .bind(open[2])
    .bind(open[3])
    .fetch_one(&mut *conn)
    .await?;
    f.resolved = sqlx::query_scalar(
        "SELECT COUNT(*) FROM assignments WHERE unit_id = $1 AND outcome = 'resolved'",
    )
    .bind(unit_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(f)
}
