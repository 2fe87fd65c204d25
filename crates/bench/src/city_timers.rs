//! `bench timers`' centre rows: the city's own timer effects
//! (`CityTimers`, as the city service runs them) on orders whose lead is
//! past every deadline of its handler clock: a warning, a breach with its
//! supervision (督办) and an escalation to the parent per order, each a
//! history line and notices queued in the outbox. Fired once timer by timer
//! (each timer's [`TimerEffects::fire`] in turn) and once as the sweeper
//! runs them ([`TimerEffects::fire_all`] on each claimed batch).

use std::sync::Arc;
use std::time::Instant;

use hotline_city::CityTimers;
use hotline_city::tables::orders::{self, Order};
use hotline_core::kinds::TimerKind;
use hotline_core::{
    AssignmentState, Channel, ManualClock, Micros, OrderState, RequestKind, Topology, Urgency,
};
use hotline_runtime::Ctx;
use hotline_runtime::error::Result;
use hotline_runtime::sweeper::{Sweeper, TimerEffects};
use hotline_runtime::tables::assignments::{self, Assignment};
use hotline_runtime::tables::timers::{self, Arm, Timer};
use hotline_store::{Conn, Db, scratch};

/// The lead: a township, so the breach tells its district too and the
/// escalation goes there.
const LEAD: &str = "t-harbour";
const KINDS: [TimerKind; 3] = [TimerKind::Warning, TimerKind::Breach, TimerKind::Escalation];

/// The centre's effects, each timer's written on its own (the sweeper's
/// default `fire_all`): the baseline of the same run.
struct OneByOne(CityTimers);

#[tonic::async_trait]
impl TimerEffects for OneByOne {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        self.0.fire(conn, t, now).await
    }
}

/// What one sweep of the centre's timers did.
pub struct Fired {
    pub backend: String,
    pub timers: u64,
    pub seconds: f64,
    pub history_lines: i64,
    pub notices: i64,
}

/// Arms the handler clocks of `count / 3` overdue orders on a scratch
/// database and sweeps them once, with the centre's effects one by one or
/// as the sweeper batches them.
pub async fn once(db: &str, count: u32, one_by_one: bool) -> anyhow::Result<Fired> {
    let dir = tempfile::tempdir()?;
    let pg = (db != "sqlite").then_some(db);
    let t = scratch::ScratchDb::new(pg, dir.path(), "bench", &hotline_node::EVERY_SCHEMA).await?;
    let backend = format!("{:?}", t.db.backend()).to_lowercase();
    let orders = (count / KINDS.len() as u32).max(1);
    let armed = arm(&t.db, orders).await?;
    let clock = Arc::new(ManualClock::new(10 * HOUR));
    let city = CityTimers {
        ctx: ctx(t.db.clone(), clock.clone())?,
    };
    let effects: Arc<dyn TimerEffects> = match one_by_one {
        true => Arc::new(OneByOne(city)),
        false => Arc::new(city),
    };
    let sweeper = Sweeper::new(t.db.clone(), clock, effects);
    let started = Instant::now();
    let fired = sweeper.sweep().await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut c = t.db.acquire().await?;
    let history_lines: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM history")
        .fetch_one(&mut *c)
        .await?;
    let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&mut *c)
        .await?;
    drop(c);
    t.cleanup().await?;
    anyhow::ensure!(fired == armed, "fired {fired} of {armed} timers");
    // Per order: warning, breached, supervision, escalated; the warning
    // to the lead, the supervision to the lead and its district, the
    // escalation to the district.
    let want = 4 * orders as i64;
    anyhow::ensure!(
        history_lines == want && notices == want,
        "{history_lines} history lines and {notices} notices for {orders} orders (want {want} each)"
    );
    Ok(Fired {
        backend,
        timers: fired,
        seconds,
        history_lines,
        notices,
    })
}

const HOUR: Micros = 3_600_000_000;

/// The city's context over `db`, calling no one (the effects only queue).
fn ctx(db: Db, clock: Arc<ManualClock>) -> anyhow::Result<Ctx> {
    let topology = Topology::parse(
        "demo-city.toml",
        include_str!("../../../topology/demo-city.toml"),
    )?;
    Ctx::offline_city(db, Arc::new(topology), clock)
}

/// `orders` dispatched orders, each with a lead due an hour after dispatch
/// and its warning, breach and escalation timers armed, all due by now.
async fn arm(db: &Db, orders: u32) -> anyhow::Result<u64> {
    let leads = vec![(LEAD, AssignmentState::Dispatched); orders as usize];
    arm_leads(db, &leads).await
}

/// An order for each (lead unit, its assignment's state), numbered from
/// HL00000000, with the lead's handler clock armed and due by now.
async fn arm_leads(db: &Db, leads: &[(&str, AssignmentState)]) -> anyhow::Result<u64> {
    let mut tx = db.begin().await?;
    let mut armed = 0;
    for (i, &(unit, state)) in leads.iter().enumerate() {
        let order_id = format!("HL{i:08}");
        let o = Order::new(
            order_id.clone(),
            OrderState::Dispatched,
            RequestKind::Complaint,
            Channel::Phone,
            "bench".into(),
            Urgency::General,
            "bench".into(),
            0,
            HOUR,
        );
        orders::insert(&mut tx, &o).await?;
        assignments::upsert(&mut tx, &lead(&order_id, unit, state)).await?;
        let ids: Vec<String> = KINDS
            .iter()
            .map(|k| format!("{k}:{order_id}:{unit}:1"))
            .collect();
        let arms: Vec<Arm> = KINDS
            .iter()
            .zip(&ids)
            .enumerate()
            .map(|(n, (&kind, timer_id))| Arm {
                timer_id,
                kind,
                order_id: &order_id,
                unit_id: unit,
                epoch: 1,
                due_us: HOUR + (i * KINDS.len() + n) as i64,
                payload: "",
            })
            .collect();
        timers::arm_all(&mut tx, &arms, 0).await?;
        armed += arms.len() as u64;
    }
    tx.commit().await?;
    Ok(armed)
}

fn lead(order_id: &str, unit: &str, state: AssignmentState) -> Assignment {
    Assignment {
        category_code: "bench".into(),
        ..Assignment::lead(order_id, unit, state, HOUR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sweep leaves: each order's history (order, seq, action,
    /// detail) and record (seq, overdue), and each queued notice (id,
    /// target, handoff kind).
    async fn swept(pg: Option<&str>, one_by_one: bool) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let t = scratch::ScratchDb::new(pg, dir.path(), "citytimers", &hotline_node::EVERY_SCHEMA)
            .await
            .unwrap();
        use AssignmentState::{Dispatched, Replied};
        // A township twice (its district supervised and escalated to), a
        // central unit (pushed, never escalated), a lead that replied (its
        // timers' cause has gone).
        let leads = [
            (LEAD, Dispatched),
            ("central-rail", Dispatched),
            (LEAD, Replied),
            (LEAD, Dispatched),
        ];
        let armed = arm_leads(&t.db, &leads).await.unwrap();
        let clock = Arc::new(ManualClock::new(10 * HOUR));
        let city = CityTimers {
            ctx: ctx(t.db.clone(), clock.clone()).unwrap(),
        };
        let effects: Arc<dyn TimerEffects> = match one_by_one {
            true => Arc::new(OneByOne(city)),
            false => Arc::new(city),
        };
        let fired = Sweeper::new(t.db.clone(), clock, effects)
            .sweep()
            .await
            .unwrap();
        assert_eq!(fired, armed);
        let mut c = t.db.acquire().await.unwrap();
        let mut out = Vec::new();
        let history: Vec<(String, i64, String, String)> = sqlx::query_as(
            "SELECT order_id, seq, action, detail FROM history ORDER BY order_id, seq",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap();
        out.extend(history.into_iter().map(|h| format!("history {h:?}")));
        let records: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT order_id, seq, overdue FROM orders ORDER BY order_id")
                .fetch_all(&mut *c)
                .await
                .unwrap();
        out.extend(records.into_iter().map(|r| format!("order {r:?}")));
        let notices: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT message_id, target_unit, handoff FROM outbox ORDER BY message_id",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap();
        out.extend(notices.into_iter().map(|n| format!("notice {n:?}")));
        drop(c);
        t.cleanup().await.unwrap();
        out
    }

    fn starting<'a>(all: &'a [String], prefix: &str) -> Vec<&'a str> {
        all.iter()
            .filter(|l| l.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }

    /// The centre's timers fired as one batch leave exactly what they leave
    /// fired one by one, on each backend: every order's lines numbered in
    /// turn when several of its timers share the batch.
    #[tokio::test]
    async fn the_centres_timers_as_a_batch_write_what_they_write_one_by_one() {
        let url = hotline_store::testing::postgres_url();
        let mut backends = vec![None];
        backends.extend(url.as_deref().map(Some));
        for pg in backends {
            let one = swept(pg, true).await;
            let batch = swept(pg, false).await;
            assert_eq!(batch, one, "postgres: {}", pg.is_some());
            let lines = |order: &str| -> Vec<String> {
                starting(&batch, &format!("history (\"{order}\""))
                    .iter()
                    .map(|l| l.split(", ").nth(2).unwrap().trim_matches('"').to_string())
                    .collect()
            };
            assert_eq!(
                lines("HL00000000"),
                ["warning", "breached", "supervision", "escalated"]
            );
            assert_eq!(lines("HL00000001"), ["warning", "pushed"]);
            assert!(lines("HL00000002").is_empty(), "{batch:#?}");
            assert_eq!(lines("HL00000003"), lines("HL00000000"));
            assert_eq!(
                starting(&batch, "order "),
                [
                    "order (\"HL00000000\", 4, 1)",
                    "order (\"HL00000001\", 2, 1)",
                    "order (\"HL00000002\", 0, 0)",
                    "order (\"HL00000003\", 4, 1)",
                ]
            );
            // Two townships: warning, supervision to it and its district,
            // escalation to the district; the central unit: warning, push.
            assert_eq!(starting(&batch, "notice ").len(), 4 + 2 + 4, "{batch:#?}");
        }
    }
}
