//! `hotline bench proactive`: the proactive analysis maths (core, no I/O)
//! over a city's worth of generated requests: Beijing's 16 districts and
//! 343 townships, a hundred categories, spread over the window, its
//! baseline and the same month of two earlier years.

use std::time::{Duration, Instant};

use clap::Args;
use hotline_client::duration::human;
use hotline_core::proactive::{self, Month, ProactivePolicy, Request, Season};
use hotline_core::{Mood, Urgency};

#[derive(Args)]
pub struct ProactiveArgs {
    /// Requests in the window; the baseline and earlier years add a third
    /// as many again each.
    #[arg(long, default_value_t = 600_000)]
    requests: u32,
    #[arg(long)]
    json: bool,
}

pub fn run(a: ProactiveArgs) -> anyhow::Result<()> {
    let p = ProactivePolicy::default();
    let month = Month::parse("2026-11").expect("a month");
    let mut spans = vec![(p.window(month), a.requests)];
    spans.extend(p.baseline(month).into_iter().map(|w| (w, a.requests / 3)));
    spans.extend(
        p.earlier_years(month)
            .into_iter()
            .map(|w| (w, a.requests / 3)),
    );
    let mut rng = fastrand::Rng::with_seed(7);
    let mut requests = Vec::new();
    for (w, n) in spans {
        for _ in 0..n {
            let township = rng.u32(0..343);
            requests.push(Request {
                category: format!("cat.{:02}", rng.u32(0..100)),
                areas: vec![
                    format!("t-{township}"),
                    format!("d-{}", township % 16),
                    "city".into(),
                ],
                received_us: rng.i64(w.from..w.to),
                requester_ref: format!("rq-{}", rng.u32(0..2_000_000)),
                place: format!("c-{}", rng.u32(0..7_100)),
                unit: format!("c-{}", rng.u32(0..7_100)),
                urgency: Urgency::ALL[rng.usize(0..4)],
                mood: [
                    None,
                    Some(Mood::Calm),
                    Some(Mood::Anxious),
                    Some(Mood::Angry),
                ][rng.usize(0..4)],
                overdue: rng.u8(0..20) == 0,
                reopened: rng.u8(0..20) == 0,
                disputed: rng.u8(0..50) == 0,
                escalated: rng.u8(0..30) == 0,
            });
        }
    }
    let started = Instant::now();
    let problems = proactive::analyse(&p, &Season::defaults(), month, &requests);
    let secs = started.elapsed().as_secs_f64();
    if a.json {
        println!(
            "{}",
            serde_json::json!({"requests": requests.len(), "in_window": a.requests, "problems": problems.len(), "seconds": secs})
        );
    } else {
        println!(
            "analysed {} requests ({} in the window) into {} problems in {}",
            requests.len(),
            a.requests,
            problems.len(),
            human(Duration::from_secs_f64(secs))
        );
    }
    Ok(())
}
