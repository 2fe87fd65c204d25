//! 举一反三 ("from one case, infer three"): from a problem resolved at its
//! root in one place, find the same problem open or recent in other
//! townships and propose a proactive task for each.
//!
//! Resolved at its root is what the record already marks: a proactive task
//! (governance of a problem, not one citizen's case) whose unit replied
//! RESOLVED, which closes it. The problem is the task's catalogue item,
//! worded as its instructions and as the requests that led to it (the
//! item's requests in its area in the task's before-window), in the place
//! types of those requests (else of its area). A request elsewhere is the
//! same problem when it has the same item, is open or recent, lies in a
//! township outside the source's and inside the caller's subtree, has one
//! of those place types (places without one are not compared), and its
//! words, cut with jieba as the knowledge base cuts them, are similar
//! enough to one of the source's texts (see [`similarity`]).

use std::collections::{BTreeMap, BTreeSet};

use hotline_core::clock::DAY;
use hotline_core::units::place_type_of;
use hotline_core::{AssignmentState, OrderState, ReplyOutcome, Tier, Topology, Unit, Urgency};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::{assignments, idempotency};
use hotline_runtime::wire::{self, WireEnum, ts};
use hotline_runtime::{Ctx, idem, meta};
use hotline_store::Conn;
use prost::Message;
use sqlx::Row;

use crate::knowledge::words;
use crate::proactive::CityProactive;
use crate::tables::orders;
use crate::tables::proactive::{self as tasks, Task};

/// Recent: received within this many days, unless the caller says.
pub const WINDOW_DAYS: u32 = 30;
pub const MAX_WINDOW_DAYS: u32 = 366;
/// The least similarity, unless the caller says.
pub const MIN_SIMILARITY: f64 = 0.3;
/// Instructions fit CreateProactiveTask's limit.
const MAX_INSTRUCTIONS: usize = 1_000;

/// Of two word sets: the words they share over the geometric mean of their
/// sizes (the cosine of their 0/1 word vectors), 0 when either is empty.
pub fn similarity(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(b).count() as f64;
    shared / ((a.len() * b.len()) as f64).sqrt()
}

fn word_set(text: &str) -> BTreeSet<String> {
    words(text).into_iter().collect()
}

/// A citizen's request as the sweep reads it.
struct Request {
    order_id: String,
    state: String,
    body: String,
    address: String,
    territory_unit: String,
    community_unit: String,
    received_us: i64,
}

impl Request {
    /// The unit owning its place: its community (by its location, else by
    /// its address in the index), else its territory.
    fn place<'a>(&'a self, t: &'a Topology) -> &'a str {
        if !self.community_unit.is_empty() {
            return &self.community_unit;
        }
        t.place(&self.address)
            .and_then(|p| p.community.as_deref())
            .unwrap_or(&self.territory_unit)
    }
}

const COLUMNS: &str = "order_id, state, body, address, territory_unit, community_unit, received_us";

fn request(r: sqlx::any::AnyRow) -> hotline_store::Result<Request> {
    Ok(Request {
        order_id: r.try_get("order_id")?,
        state: r.try_get("state")?,
        body: r.try_get("body")?,
        address: r.try_get("address")?,
        territory_unit: r.try_get("territory_unit")?,
        community_unit: r.try_get("community_unit")?,
        received_us: r.try_get("received_us")?,
    })
}

/// Requests of `item` received in `[from_us, to_us)`.
async fn received(conn: &mut Conn, item: &str, from_us: i64, to_us: i64) -> Result<Vec<Request>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orders WHERE category_code = $1 AND kind <> 'proactive_task' \
         AND received_us >= $2 AND received_us < $3 ORDER BY received_us, order_id"
    )))
    .bind(item)
    .bind(from_us)
    .bind(to_us)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(request)
        .collect::<hotline_store::Result<_>>()?)
}

/// Requests of `item` that are open, or were received since `since_us`;
/// not those answered at intake, disposed, withdrawn or marked (Art. 9,
/// 37).
async fn open_or_recent(conn: &mut Conn, item: &str, since_us: i64) -> Result<Vec<Request>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orders WHERE category_code = $1 AND kind <> 'proactive_task' \
         AND request_mark = '' AND state NOT IN ('answered', 'disposed', 'withdrawn') \
         AND (received_us >= $2 OR state <> 'closed') ORDER BY received_us, order_id"
    )))
    .bind(item)
    .bind(since_us)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(request)
        .collect::<hotline_store::Result<_>>()?)
}

/// The township a unit lies in (itself for a township).
fn township_of<'a>(t: &'a Topology, unit: &str) -> Option<&'a Unit> {
    let mut at = t.unit(unit);
    while let Some(u) = at {
        if u.tier == Tier::Township {
            return Some(u);
        }
        at = t.parent_of(&u.id);
    }
    None
}

/// The townships an area covers: its own, or all of a district's.
fn townships_of(t: &Topology, area: &str) -> BTreeSet<String> {
    match township_of(t, area) {
        Some(u) => BTreeSet::from([u.id.clone()]),
        None => t
            .units()
            .filter(|u| u.tier == Tier::Township && t.is_within(&u.id, area))
            .map(|u| u.id.clone())
            .collect(),
    }
}

fn place_type(t: &Topology, unit: &str) -> Option<String> {
    place_type_of(unit, |u| t.unit(u)).map(str::to_string)
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The instructions proposed to a township: what the problem was, how it
/// was fixed at its root and where, and the township's own requests.
fn instructions(
    t: &Topology,
    source: &orders::Order,
    area: &str,
    fix: &str,
    township: &str,
    found: &[SimilarOrder],
) -> String {
    let item = t
        .item(&source.category_code)
        .map(|i| i.name.as_str())
        .unwrap_or(&source.category_code);
    let place = t.unit(area).map(|u| u.name.as_str()).unwrap_or(area);
    let here = t
        .unit(township)
        .map(|u| u.name.as_str())
        .unwrap_or(township);
    let mut ids: Vec<&str> = found.iter().take(10).map(|o| o.order_id.as_str()).collect();
    if found.len() > ids.len() {
        ids.push("…");
    }
    let text = format!(
        "举一反三 after task {}: {item} was resolved at its root in {place} ({}). \
         {here} has {} similar request(s): {}. Check for the same problem and fix it the \
         same way. The task there: {}",
        source.order_id,
        cut(fix, 300),
        found.len(),
        ids.join(", "),
        cut(&source.body, 300),
    );
    cut(&text, MAX_INSTRUCTIONS)
}

/// The sweep: checked here (the caller issues as CreateProactiveTask
/// would, and sees only its subtree), computed from the city's record.
pub async fn sweep(
    proactive: &CityProactive,
    ctx: &Ctx,
    caller: &meta::Caller,
    r: SweepSimilarRequest,
) -> Result<SweepSimilarResponse> {
    let t = &ctx.topology;
    crate::proactive::issuer(ctx, caller, "sweeps for similar problems")?;
    let source_id = r
        .source
        .strip_prefix("orders/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| ServiceError::invalid("source", "must be orders/{order_id}"))?;
    let window_days = match r.window_days {
        0 => WINDOW_DAYS,
        n if n <= MAX_WINDOW_DAYS => n,
        _ => {
            return Err(ServiceError::invalid(
                "window_days",
                format!("must be at most {MAX_WINDOW_DAYS}"),
            ));
        }
    };
    let min_similarity = if r.min_similarity == 0.0 {
        MIN_SIMILARITY
    } else if (0.0..=1.0).contains(&r.min_similarity) {
        r.min_similarity
    } else {
        return Err(ServiceError::invalid(
            "min_similarity",
            "must be between 0 and 1",
        ));
    };
    let now = ctx.now();
    let due = match (&r.due_time, r.issue) {
        (_, false) => 0,
        (None, true) => t.due(Urgency::General, now).at,
        (Some(d), true) => match wire::micros(d) {
            d if d > now => d,
            _ => return Err(ServiceError::invalid("due_time", "must be after now")),
        },
    };
    let scope = idem::scope("SweepSimilar", &caller.unit);
    let mut c = ctx.db.acquire().await?;
    if r.issue {
        required("request_id", &r.request_id)?;
        // A retry of an issuing sweep answers as the first did.
        if let Some(done) = idem::replay(&mut c, &scope, &r.request_id, &r).await? {
            return Ok(done);
        }
    }

    let not_found = || ServiceError::not_found("proactive task", r.source.clone());
    let task: Task = tasks::get_task(&mut c, source_id)
        .await?
        .ok_or_else(not_found)?;
    proactive.may_see(caller, &task)?;
    let source = orders::get(&mut c, source_id)
        .await?
        .ok_or_else(not_found)?;
    let fix = assignments::get(&mut c, source_id, &task.area_unit)
        .await?
        .filter(|a| {
            a.state == AssignmentState::Replied && a.outcome == Some(ReplyOutcome::Resolved)
        })
        .map(|a| a.reply_text)
        .ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "{}: its unit has not replied it resolved: nothing is resolved at its root yet",
                r.source
            ))
        })?;

    let item = source.category_code.clone();
    let (before, _) = t.policy.proactive.task_windows(task.created_us);
    let led: Vec<Request> = received(&mut c, &item, before.from, before.to)
        .await?
        .into_iter()
        .filter(|q| !q.place(t).is_empty() && t.is_within(q.place(t), &task.area_unit))
        .collect();
    let texts: Vec<BTreeSet<String>> = std::iter::once(source.body.as_str())
        .chain(led.iter().map(|q| q.body.as_str()))
        .map(word_set)
        .filter(|w| !w.is_empty())
        .collect();
    let mut place_types: BTreeSet<String> = led
        .iter()
        .filter_map(|q| place_type(t, q.place(t)))
        .collect();
    if place_types.is_empty() {
        place_types.extend(place_type(t, &task.area_unit));
    }
    let excluded = townships_of(t, &task.area_unit);

    let since = now - i64::from(window_days) * DAY;
    let mut by_township: BTreeMap<String, Vec<SimilarOrder>> = BTreeMap::new();
    for q in open_or_recent(&mut c, &item, since).await? {
        let Some(township) = township_of(t, q.place(t)) else {
            continue;
        };
        if excluded.contains(&township.id) || !t.is_within(&township.id, &caller.unit) {
            continue;
        }
        let kind = place_type(t, q.place(t));
        if let Some(k) = &kind
            && !place_types.is_empty()
            && !place_types.contains(k)
        {
            continue;
        }
        let w = word_set(&q.body);
        let s = texts.iter().map(|x| similarity(&w, x)).fold(0.0, f64::max);
        if s < min_similarity {
            continue;
        }
        let community = t
            .unit(q.place(t))
            .filter(|u| u.tier == Tier::Community)
            .map(|u| u.id.clone())
            .unwrap_or_default();
        by_township
            .entry(township.id.clone())
            .or_default()
            .push(SimilarOrder {
                order_id: q.order_id,
                state: OrderState::parse(&q.state)
                    .map(|s| s.to_wire())
                    .unwrap_or(0),
                received_time: Some(ts(q.received_us)),
                similarity: s,
                place_type: kind.unwrap_or_default(),
                community_unit: community,
            });
    }
    let open = open_tasks(&mut c, &item).await?;
    drop(c);

    let mut problems: Vec<SimilarProblem> = by_township
        .into_iter()
        .map(|(township, mut found)| {
            found.sort_by(|a, b| {
                b.similarity
                    .total_cmp(&a.similarity)
                    .then_with(|| a.order_id.cmp(&b.order_id))
            });
            let district = t.district_of(&township);
            let covering = open
                .iter()
                .find(|k| t.is_within(&township, &k.area_unit))
                .map(|k| k.order_id.clone());
            SimilarProblem {
                township_name: t
                    .unit(&township)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                district_unit: district.map(|d| d.id.clone()).unwrap_or_default(),
                district_name: district.map(|d| d.name.clone()).unwrap_or_default(),
                place_type: most_common(found.iter().map(|o| o.place_type.as_str())),
                similarity: found.first().map(|o| o.similarity).unwrap_or(0.0),
                proposed_instructions: instructions(
                    t,
                    &source,
                    &task.area_unit,
                    &fix,
                    &township,
                    &found,
                ),
                task_order_id: covering.unwrap_or_default(),
                issued: false,
                township_unit: township,
                orders: found,
            }
        })
        .collect();
    problems.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then_with(|| a.township_unit.cmp(&b.township_unit))
    });

    if r.issue {
        for p in &mut problems {
            issue(proactive, ctx, caller, &r.request_id, &item, due, p).await?;
        }
    }
    let mut c = ctx.db.acquire().await?;
    let answer = SweepSimilarResponse {
        source: Some(proactive.task_to_wire(&mut c, &source, &task, now).await?),
        category_name: t.item(&item).map(|i| i.name.clone()).unwrap_or_default(),
        category_code: item,
        source_townships: excluded.into_iter().collect(),
        place_types: place_types.into_iter().collect(),
        window_days,
        min_similarity,
        problems,
    };
    drop(c);
    if !r.issue {
        return Ok(answer);
    }
    ctx.apply_once(&scope, &r.request_id, &r, async |_, _| Ok(answer))
        .await
}

/// Issues the task proposed to one township, once per request id and
/// township (`{request_id}/{township}` as CreateProactiveTask's request
/// id), unless an open task of the item already covers it.
async fn issue(
    proactive: &CityProactive,
    ctx: &Ctx,
    caller: &meta::Caller,
    request_id: &str,
    item: &str,
    due: i64,
    p: &mut SimilarProblem,
) -> Result<()> {
    let key = format!("{request_id}/{}", p.township_unit);
    let scope = idem::scope("CreateProactiveTask", &caller.unit);
    let mut c = ctx.db.acquire().await?;
    let first = idempotency::get(&mut c, &scope, &key).await?;
    drop(c);
    if let Some(first) = first {
        // Issued by an earlier try with this request id, whose task now
        // covers the township.
        let done = CreateProactiveTaskResponse::decode(first.response.as_slice()).map_err(|e| {
            ServiceError::Store(hotline_store::StoreError::Corrupt(format!(
                "stored answer: {e}"
            )))
        })?;
        p.task_order_id = done.task.map(|t| t.order_id).unwrap_or_default();
        p.issued = true;
        return Ok(());
    }
    if !p.task_order_id.is_empty() {
        return Ok(());
    }
    let made = proactive
        .create(
            caller,
            CreateProactiveTaskRequest {
                request_id: key,
                category_code: item.to_string(),
                area_unit: p.township_unit.clone(),
                instructions: p.proposed_instructions.clone(),
                due_time: Some(ts(due)),
            },
        )
        .await?;
    p.task_order_id = made.task.map(|t| t.order_id).unwrap_or_default();
    p.issued = true;
    Ok(())
}

/// Open proactive tasks of `item` (not yet closed).
async fn open_tasks(conn: &mut Conn, item: &str) -> Result<Vec<Task>> {
    let mut open = Vec::new();
    // Tasks are few (a handful a season per unit): read them all.
    for k in tasks::list_tasks(conn, "", i64::MAX).await? {
        if let Some(o) = orders::get(conn, &k.order_id).await?
            && o.category_code == item
            && o.state != OrderState::Closed
        {
            open.push(k);
        }
    }
    Ok(open)
}

fn most_common<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *n.entry(v).or_default() += 1;
    }
    n.iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(v, _)| v.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wording of the integration test's seeded city (tests/digest.rs).
    const SOURCE: &[&str] = &[
        "清理楼道堆放的杂物，打通消防通道，建立每周巡查制度",
        "楼道里堆满了杂物，堵住了消防通道，存在安全隐患",
        "单元楼道杂物堆积，消防通道被堵，请尽快清理",
    ];
    const ALIKE: &[&str] = &[
        "我们小区楼道堆放杂物，消防通道被堵死了",
        "楼道内杂物太多堵塞消防通道，担心火灾隐患",
    ];
    const UNLIKE: &str = "垃圾桶满了好几天没人清运，气味很大";

    fn best(text: &str) -> f64 {
        let w = word_set(text);
        SOURCE
            .iter()
            .map(|s| similarity(&w, &word_set(s)))
            .fold(0.0, f64::max)
    }

    #[test]
    fn the_same_problem_in_other_words_is_similar_and_another_is_not() {
        for a in ALIKE {
            assert!(
                best(a) >= MIN_SIMILARITY,
                "{a}: {} {:?}",
                best(a),
                word_set(a)
            );
        }
        assert!(
            best(UNLIKE) < 0.1,
            "{}: {:?}",
            best(UNLIKE),
            word_set(UNLIKE)
        );
    }

    #[test]
    fn similarity_is_the_cosine_of_word_sets() {
        let set = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(similarity(&set(&["a", "b"]), &set(&["a", "b"])), 1.0);
        assert_eq!(similarity(&set(&["a", "b", "c", "d"]), &set(&["a"])), 0.5);
        assert_eq!(similarity(&set(&["a"]), &set(&[])), 0.0);
    }

    #[test]
    fn instructions_are_cut_to_what_a_task_takes() {
        assert_eq!(cut("楼道杂物", 10), "楼道杂物");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(
            cut(&"x".repeat(5000), MAX_INSTRUCTIONS).chars().count(),
            MAX_INSTRUCTIONS
        );
    }
}
