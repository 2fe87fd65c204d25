//! The sweeper on real databases, SQLite and (when the test server is
//! set) PostgreSQL: batches claimed and marked fired in one statement,
//! each timer's effect written exactly once however many sweepers run.

use std::sync::Arc;

use crate::backends::on_each_backend;
use crate::error::Result;
use crate::sweeper::{Sweeper, TimerEffects};
use crate::tables::misc;
use crate::tables::timers::{self, Arm, Timer};
use hotline_core::kinds::TimerKind;
use hotline_core::{ManualClock, Micros};
use hotline_store::{Conn, Db};

/// Counts every firing (a second firing of a timer would count twice)
/// and, for a `repeat` timer, arms it again a second later, as a
/// recurring reminder does.
struct Counting;

#[tonic::async_trait]
impl TimerEffects for Counting {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        misc::next(conn, "fired").await?;
        if t.payload == "repeat" {
            let again = Arm {
                timer_id: &t.timer_id,
                kind: t.kind,
                order_id: &t.order_id,
                unit_id: &t.unit_id,
                epoch: t.epoch,
                due_us: now + 1_000_000,
                payload: "",
            };
            timers::arm(conn, again, now).await?;
        }
        Ok(())
    }
}

async fn arm(db: &Db, n: i64, payload: &str) {
    let mut tx = db.begin().await.unwrap();
    let ids: Vec<String> = (0..n).map(|i| format!("t{i:05}")).collect();
    let arms: Vec<Arm> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Arm {
            timer_id: id,
            kind: TimerKind::Warning,
            order_id: "HL1",
            unit_id: "t1",
            epoch: 1,
            due_us: i as i64,
            payload,
        })
        .collect();
    for chunk in arms.chunks(200) {
        timers::arm_all(&mut tx, chunk, 0).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn fired(db: &Db) -> i64 {
    let mut c = db.acquire().await.unwrap();
    // The counter's next value is one past the firings so far.
    misc::next(&mut c, "fired").await.unwrap() - 1
}

/// Three sweepers at once over 600 due timers (several batches each):
/// every timer fires, none twice, and the sweeps' counts add up.
#[tokio::test]
async fn several_sweepers_fire_each_due_timer_exactly_once() {
    on_each_backend("sweepers", |db| async move {
        arm(&db, 600, "").await;
        let clock = Arc::new(ManualClock::new(1_000));
        let sweepers: Vec<Sweeper> = (0..3)
            .map(|_| Sweeper::new(db.clone(), clock.clone(), Arc::new(Counting)))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for s in sweepers {
            tasks.spawn(async move {
                // A sweeper that lost a race on SQLite's one writer sweeps again.
                let mut n = 0;
                for _ in 0..20 {
                    match s.sweep().await {
                        Ok(k) => n += k,
                        Err(e) => eprintln!("sweep: {e}"),
                    }
                }
                n
            });
        }
        let mut total = 0;
        while let Some(n) = tasks.join_next().await {
            total += n.unwrap();
        }
        assert_eq!(total, 600);
        assert_eq!(fired(&db).await, 600);
        let mut c = db.acquire().await.unwrap();
        assert_eq!(timers::counts(&mut c, i64::MAX).await.unwrap(), (0, 0));
        let t = timers::get(&mut c, "t00042").await.unwrap().unwrap();
        assert_eq!((t.state.as_str(), t.fired_us), (timers::FIRED, Some(1_000)));
    })
    .await;
}

/// A timer its own effect arms again (same id, later instant) is pending
/// at the new instant after the sweep: the claim marked it fired before
/// the effect ran, so the effect's re-arm is what stays.
#[tokio::test]
async fn an_effect_may_arm_its_own_timer_again() {
    on_each_backend("rearm", |db| async move {
        arm(&db, 3, "repeat").await;
        let clock = Arc::new(ManualClock::new(10));
        let s = Sweeper::new(db.clone(), clock.clone(), Arc::new(Counting));
        assert_eq!(s.sweep().await.unwrap(), 3);
        let mut c = db.acquire().await.unwrap();
        let t = timers::get(&mut c, "t00001").await.unwrap().unwrap();
        assert_eq!((t.state.as_str(), t.due_us), (timers::PENDING, 1_000_010));
        drop(c);
        // Nothing more is due until the clock reaches it.
        assert_eq!(s.sweep().await.unwrap(), 0);
        clock.advance_to(1_000_010);
        assert_eq!(s.sweep().await.unwrap(), 3);
        assert_eq!(fired(&db).await, 6);
    })
    .await;
}
