//! `hotline bench scoring`: scorecards and rankings for every unit of the
//! generated Beijing topology over a month of generated orders, written
//! straight into a store (SQLite or PostgreSQL) by a seeded generator. The
//! timed part is exactly what `GetRankings` does at the city: read the
//! month from the store, tally every unit, sum subtrees, rank every peer
//! group.

use std::time::{Duration, Instant};

use clap::Args;
use hotline_city::tables::assessment;
use hotline_client::duration::human;
use hotline_core::clock::{DAY, HOUR, MINUTE};
use hotline_core::scoring::PeerGroup;
use hotline_core::{
    AssignmentState, ObjectionState, Role, RulingKind, Satisfaction, Tier, Topology, Urgency,
};
use hotline_runtime::tables::assignments::{self, Assignment};
use hotline_runtime::tables::objections;
use hotline_store::{Db, scratch};
use serde_json::json;

#[derive(Args, Clone)]
pub struct ScoringArgs {
    /// `sqlite` for a temporary file, or a PostgreSQL server URL (a scratch
    /// database is made on it and dropped after).
    #[arg(long, default_value = "sqlite")]
    pub db: String,
    /// Dispatched orders in the month (Beijing: ≈ 0.74 M).
    #[arg(long, default_value_t = 740_000)]
    pub orders: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Times to repeat the timed part (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    #[arg(long)]
    pub json: bool,
}

const MONTH: &str = "2026-11";

/// The generated Beijing topology, in memory.
pub fn beijing() -> anyhow::Result<Topology> {
    let city = hotline_topogen::beijing::generate(1, "beijing.geojson");
    Ok(Topology::parse_with("beijing.toml", &city.toml, |_| {
        Ok(city.geojson.clone())
    })?)
}

/// The units a generated order may go to, by handler type.
struct Handlers {
    townships: Vec<String>,
    district_departments: Vec<String>,
    city_departments: Vec<String>,
    enterprises: Vec<String>,
    central: Vec<String>,
}

impl Handlers {
    fn of(t: &Topology) -> Handlers {
        let ids = |g: PeerGroup| -> Vec<String> {
            t.units()
                .filter(|u| PeerGroup::of(u, &t.policy) == Some(g))
                .map(|u| u.id.clone())
                .collect()
        };
        Handlers {
            townships: ids(PeerGroup::Townships),
            district_departments: ids(PeerGroup::DistrictDepartments),
            city_departments: ids(PeerGroup::CityDepartments),
            enterprises: ids(PeerGroup::Enterprises),
            central: ids(PeerGroup::CentralUnits),
        }
    }

    /// A lead by the published handler shares (2021): district
    /// departments 37.8 %, townships 36.0 %, city departments 16.1 %,
    /// enterprises 7.4 %, others 2.7 %.
    fn pick(&self, rng: &mut fastrand::Rng) -> &str {
        let x = rng.f64() * 100.0;
        let pool = match x {
            x if x < 37.8 => &self.district_departments,
            x if x < 73.8 => &self.townships,
            x if x < 89.9 => &self.city_departments,
            x if x < 97.3 => &self.enterprises,
            _ => &self.central,
        };
        let pool = if pool.is_empty() {
            &self.townships
        } else {
            pool
        };
        &pool[rng.usize(..pool.len())]
    }
}

/// What the generator wrote.
#[derive(Default, Debug)]
struct Written {
    assignments: u64,
    callbacks: u64,
    whistle_parties: u64,
    objections: u64,
}

async fn generate(db: &Db, t: &Topology, orders: u32, seed: u64) -> anyhow::Result<Written> {
    let (start, end) = hotline_core::scoring::month_window(MONTH).expect("a month");
    let h = Handlers::of(t);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut w = Written::default();
    let per_tx = 5_000;
    let mut tx = db.begin().await?;
    for i in 0..orders {
        let order_id = format!("HL{i:09}");
        let dispatched = start + rng.i64(0..(end - start - 2 * DAY));
        let urgency = match rng.u8(..100) {
            0..3 => Urgency::Emergency,
            3..20 => Urgency::Utility,
            20..90 => Urgency::General,
            _ => Urgency::Complex,
        };
        let lead = h.pick(&mut rng).to_string();
        // 5 % dual dispatch: a township and a department both lead.
        let mut leads = vec![lead];
        if rng.u8(..100) < 5 {
            leads.push(h.townships[rng.usize(..h.townships.len())].clone());
            leads.dedup();
        }
        let due = t.due(urgency, dispatched).at;
        for unit in &leads {
            // 90 % accept within 50 minutes; the rest up to 3 hours.
            let accept = if rng.u8(..100) < 90 {
                rng.i64(MINUTE..50 * MINUTE)
            } else {
                rng.i64(MINUTE..3 * HOUR)
            };
            let contact = rng.i64(MINUTE..150 * MINUTE);
            let replied = dispatched + rng.i64(HOUR..(due - dispatched) * 11 / 10);
            let a = Assignment {
                order_seq: 1,
                dispatched_us: dispatched,
                accepted_us: Some(dispatched + accept),
                contacted_us: Some(dispatched + accept + contact),
                replied_us: Some(replied),
                outcome: Some(hotline_core::ReplyOutcome::Resolved),
                category_code: "gen".into(),
                urgency,
                requester_ref: format!("rq{}", rng.u32(..orders)),
                ..Assignment::lead(&order_id, unit, AssignmentState::Replied, due)
            };
            assignments::upsert(&mut tx, &a).await?;
            w.assignments += 1;
        }
        // 85 % called back in the month; 3 % of those reopened and called
        // back again.
        if rng.u8(..100) < 85 {
            let calls = if rng.u8(..100) < 3 { 2 } else { 1 };
            for n in 0..calls {
                let resolved = rng.u8(..100) < 93;
                let s = match rng.u8(..100) {
                    0..80 => Satisfaction::Satisfied,
                    80..95 => Satisfaction::BasicallySatisfied,
                    _ => Satisfaction::Dissatisfied,
                };
                let at = (dispatched + DAY + n * HOUR).min(end - 1);
                assessment::insert_callback(&mut tx, &order_id, n + 1, resolved, s, at).await?;
                w.callbacks += 1;
            }
        }
        // 1 % whistled by a township, summoning one or two departments.
        if rng.u8(..100) == 0 {
            let township = h.townships[rng.usize(..h.townships.len())].clone();
            let mut parties = vec![(township, "whistled", None)];
            for _ in 0..rng.usize(1..3) {
                let d = &h.district_departments[rng.usize(..h.district_departments.len())];
                parties.push((d.clone(), "summoned", Some(dispatched + 2 * DAY)));
            }
            for (unit, basis, due_us) in parties {
                let p = assessment::WhistleParty {
                    whistle_id: format!("WH{i}"),
                    unit_id: unit,
                    order_id: order_id.clone(),
                    basis: basis.into(),
                    time_us: dispatched + HOUR,
                    due_us,
                };
                assessment::insert_party(&mut tx, &p).await?;
                w.whistle_parties += 1;
            }
        }
        // 2 % objected; a third of those kept (lost by the objector).
        if rng.u8(..100) < 2 {
            let ruling = if rng.u8(..3) == 0 {
                RulingKind::Keep
            } else {
                RulingKind::Redirect
            };
            let o = objections::Objection {
                objection_id: format!("OB{i}"),
                order_id: order_id.clone(),
                unit_id: leads[0].clone(),
                epoch: 1,
                role: Role::Lead,
                reason: "generated".into(),
                proposed_unit: String::new(),
                objected_us: dispatched + HOUR,
                authority_unit: t.city().id.clone(),
                ruling_due_us: dispatched + DAY,
                state: ObjectionState::Ruled,
                ruling: Some(ruling),
                ruling_unit: String::new(),
                ruled_by: t.city().id.clone(),
                ruled_us: Some(dispatched + 5 * HOUR),
                ruling_note: String::new(),
            };
            objections::upsert(&mut tx, &o).await?;
            w.objections += 1;
        }
        if (i + 1) % per_tx == 0 {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;
    Ok(w)
}

pub async fn run(a: ScoringArgs) -> anyhow::Result<()> {
    let topology = beijing()?;
    let units = topology.units().count();
    let ranked = topology
        .units()
        .filter(|u| PeerGroup::of(u, &topology.policy).is_some())
        .count();
    let dir = tempfile::tempdir()?;
    let pg = (a.db != "sqlite").then_some(a.db.as_str());
    let t = scratch::ScratchDb::new(pg, dir.path(), "bench-scoring", &hotline_node::EVERY_SCHEMA)
        .await?;
    let backend = format!("{:?}", t.db.backend()).to_lowercase();
    let writing = Instant::now();
    let written = generate(&t.db, &topology, a.orders, a.seed).await?;
    assessment::analyze(&mut *t.db.acquire().await?).await?;
    let write_seconds = writing.elapsed().as_secs_f64();
    let month = hotline_city::scorecards::Month::named(MONTH).expect("a month");
    let mut best = (f64::MAX, 0.0, 0.0);
    let mut checksum = (0, 0);
    for _ in 0..a.repeat.max(1) {
        let started = Instant::now();
        let mut conn = t.db.acquire().await?;
        let scores =
            hotline_city::scorecards::scores(&mut conn, &topology, &month, month.end, None).await?;
        drop(conn);
        let scored = started.elapsed().as_secs_f64();
        let rankings =
            hotline_city::scorecards::rankings(&topology, &scores, MONTH, None, None, 10);
        let total = started.elapsed().as_secs_f64();
        if total < best.0 {
            best = (total, scored, total - scored);
        }
        checksum = (
            scores
                .subtree
                .get(&topology.city().id)
                .map_or(0, |c| c.dispatched),
            rankings.iter().map(|r| r.entries.len()).sum::<usize>(),
        );
    }
    // One district's subtree scorecard, as GetScorecard reads it: only the
    // subtree's rows.
    let district = topology
        .units()
        .filter(|u| u.tier == Tier::District)
        .max_by_key(|d| {
            topology
                .units()
                .filter(|u| topology.is_within(&u.id, &d.id))
                .count()
        })
        .map(|d| d.id.clone())
        .unwrap_or_default();
    let subtree: Vec<String> = topology
        .units()
        .filter(|u| topology.is_within(&u.id, &district))
        .map(|u| u.id.clone())
        .collect();
    let mut district_best = f64::MAX;
    for _ in 0..a.repeat.max(1) {
        let started = Instant::now();
        let mut conn = t.db.acquire().await?;
        let s = hotline_city::scorecards::scores(
            &mut conn,
            &topology,
            &month,
            month.end,
            Some(&subtree),
        )
        .await?;
        std::hint::black_box(s.subtree.get(&district));
        district_best = district_best.min(started.elapsed().as_secs_f64());
    }
    t.cleanup().await?;
    let (total, read_and_tally, rank) = best;
    let r = json!({
        "backend": backend,
        "units": units,
        "ranked_units": ranked,
        "districts": topology.units().filter(|u| u.tier == Tier::District).count(),
        "orders": a.orders,
        "assignments": written.assignments,
        "callbacks": written.callbacks,
        "whistle_parties": written.whistle_parties,
        "objections": written.objections,
        "write_seconds": (write_seconds * 10.0).round() / 10.0,
        "read_and_tally_seconds": (read_and_tally * 1000.0).round() / 1000.0,
        "rank_seconds": (rank * 1000.0).round() / 1000.0,
        "scorecards_and_rankings_seconds": (total * 1000.0).round() / 1000.0,
        "district_subtree": {"district": district, "units": subtree.len(), "seconds": (district_best * 1000.0).round() / 1000.0},
        "city_dispatched": checksum.0,
        "ranking_entries": checksum.1,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let took = |s: f64| human(Duration::from_secs_f64(s));
        println!(
            "{backend}: {} assignments, {} callbacks written in {}",
            written.assignments,
            written.callbacks,
            took(write_seconds)
        );
        println!(
            "  scorecards and rankings for all {units} units ({ranked} ranked): {} \
             (read, tally and subtrees {}, rankings {}; best of {})",
            took(total),
            took(read_and_tally),
            took(rank),
            a.repeat.max(1)
        );
        println!(
            "  one district's subtree scorecard ({district}, {} units): {}",
            subtree.len(),
            took(district_best)
        );
    }
    anyhow::ensure!(
        checksum.0 == written.assignments,
        "the city's subtree counts {} of {} dispatches",
        checksum.0,
        written.assignments
    );
    Ok(())
}
