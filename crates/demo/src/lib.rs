//! `hotline demo`: a fresh mesh on the demo city, a scripted set of orders
//! through every path the mesh carries, a summary, and a clean stop.

mod common;
mod disputes;
mod integration;
mod proactive;
mod summary;

pub use common::{DemoReport, order_json, order_text};
use common::{HOUR, MINUTE, Story, WAIT, state_word, submit_req, word};

use std::time::Instant;

use hotline_proto::v1::*;
use serde_json::{Value, json};

use hotline_client::{MeshClient, request_id};
use hotline_node::mesh::{Mesh, MeshOptions};

const DEMO_START: &str = "2026-11-16T09:00";

/// Ten metres inside Market Street from its border with Harbour Street,
/// in East Arcade Community (see topology/demo-city.toml).
const BORDER_POINT: (f64, f64) = (39.9496, 116.243);

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
    /// Keep the temporary data dir (databases and logs) and print its path.
    #[arg(long)]
    pub keep: bool,
    /// Send every process's spans to this OTLP/gRPC collector, e.g. http://127.0.0.1:4317.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Serve each process's metrics from this port on (gateway first).
    #[arg(long)]
    pub metrics_port_base: Option<u16>,
    /// Run the demo mesh without TLS (for comparison only).
    #[arg(long)]
    pub insecure_plaintext: bool,
}

pub async fn main(a: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::Builder::new().prefix("hotline-demo-").tempdir()?;
    let topology = dir.path().join("demo-city.toml");
    std::fs::write(&topology, hotline_node::DEMO_TOPOLOGY)?;
    let mut opts = MeshOptions::new(std::env::current_exe()?, topology, dir.path().join("data"));
    opts.log_dir = Some(dir.path().join("logs"));
    // The demo owns time: a virtual clock from Monday 16 November 2026, 09:00.
    opts.virtual_clock = Some(DEMO_START.into());
    opts.otlp_endpoint = a.otlp_endpoint.clone().filter(|e| !e.is_empty());
    opts.metrics_port_base = a.metrics_port_base;
    opts.insecure_plaintext = a.insecure_plaintext;
    if a.insecure_plaintext {
        hotline_node::warn_plaintext();
    }
    if !a.json {
        println!(
            "Starting the mesh on the demo city (gateway + one process per tier, virtual clock)…"
        );
    }
    let mesh = Mesh::start(opts).await?;
    let result = script(&mesh, !a.json).await;
    mesh.stop().await;
    let mut report = result?;
    report.wall_seconds = (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    if a.keep {
        report.data_dir = Some(dir.keep().display().to_string());
    }
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", summary::summary(&report));
    }
    Ok(())
}

/// Every lead of the order handles it at `epoch` with `outcome`.
async fn handle_all(
    c: &MeshClient,
    order: &Order,
    epoch: u64,
    outcome: ReplyOutcome,
) -> anyhow::Result<()> {
    for a in order
        .assignments
        .iter()
        .filter(|a| a.role == AssignmentRole::Lead as i32)
    {
        c.wait_assignment(&a.unit_id, &order.order_id, epoch, WAIT)
            .await?;
        c.handle(&a.unit_id, &order.order_id, epoch, outcome)
            .await?;
    }
    c.wait_order_state(&order.order_id, OrderState::Replied, WAIT)
        .await?;
    Ok(())
}

/// Pushes the demo's orders through a running mesh on the demo city.
pub async fn script(mesh: &Mesh, talk: bool) -> anyhow::Result<DemoReport> {
    let c = mesh.client()?;
    let story = Story::new(talk);
    let mut report = DemoReport::default();

    // A consultation answered at intake from the catalogue.
    let q = c
        .submit(submit_req(
            "policy.hukou",
            "",
            RequestKind::Consultation,
            "How do I move my household registration?",
            "Li Wei",
            "13900000001",
        ))
        .await?;
    story.step(format!(
        "A consultation on household registration, {}, is {} at intake from the catalogue: \"{}\"",
        q.order_id,
        state_word(q.state),
        q.answer
    ));
    report.order_ids.push(q.order_id.clone());

    // Garbage at a community address: the township leads, its district
    // gets a copy; handled, called back satisfied, closed.
    let o = c
        .submit(submit_req(
            "sanitation.garbage",
            "3 North Quay",
            RequestKind::Complaint,
            "Bins not emptied for a week",
            "Wang Fang",
            "13900000002",
        ))
        .await?;
    report.order_ids.push(o.order_id.clone());
    handle_all(&c, &o, 1, ReplyOutcome::Resolved).await?;
    let o = c
        .callback(&o.order_id, true, Satisfaction::Satisfied)
        .await?;
    story.step(format!(
        "A garbage complaint, {}, goes to Harbour Street (t-harbour), which leads; its district \
         d-riverside gets a copy to follow it. Handled and called back satisfied: {}.",
        o.order_id,
        state_word(o.state)
    ));

    // No heating: dual dispatch to the township and the utility.
    let o = c
        .submit(submit_req(
            "heating.no_heat",
            "2 Pine Avenue",
            RequestKind::Help,
            "Radiators cold since Monday",
            "Zhao Lei",
            "13900000003",
        ))
        .await?;
    report.order_ids.push(o.order_id.clone());
    handle_all(&c, &o, 1, ReplyOutcome::Resolved).await?;
    let o = c
        .callback(&o.order_id, true, Satisfaction::BasicallySatisfied)
        .await?;
    story.step(format!(
        "A heating complaint, {}, goes to two leads at once (dual dispatch): Pine Town (t-pine) \
         for the territory and the utility (dept-utility) for the trade. Both handle it: {}.",
        o.order_id,
        state_word(o.state)
    ));

    // Night construction: partly handled, the requester says unresolved,
    // the order reopens with a new epoch and is handled again.
    let o = c
        .submit(submit_req(
            "noise.night_construction",
            "5 Market Lane",
            RequestKind::Complaint,
            "Drilling after midnight",
            "Chen Jing",
            "13900000004",
        ))
        .await?;
    report.order_ids.push(o.order_id.clone());
    // The township's system retries its accept with the same request id.
    c.wait_assignment("t-market", &o.order_id, 1, WAIT).await?;
    let rid = request_id();
    let first = c.accept("t-market", &o.order_id, 1, &rid).await?;
    let again = c.accept("t-market", &o.order_id, 1, &rid).await?;
    report.retry_same_answer = first == again;
    c.contact("t-market", &o.order_id, 1, "agree a site visit")
        .await?;
    c.reply(
        "t-market",
        &o.order_id,
        1,
        ReplyOutcome::PartlyResolved,
        "asked the site to stop; not yet confirmed",
    )
    .await?;
    c.wait_assignment("dept-urban", &o.order_id, 1, WAIT)
        .await?;
    c.handle("dept-urban", &o.order_id, 1, ReplyOutcome::Explained)
        .await?;
    c.wait_order_state(&o.order_id, OrderState::Replied, WAIT)
        .await?;
    let reopened = c
        .callback(&o.order_id, false, Satisfaction::Dissatisfied)
        .await?;
    story.step(format!(
        "A night-construction complaint, {}, goes to Market Street (t-market) with urban \
         management (dept-urban). t-market's system sends its accept twice with one request id{}. \
         The requester calls back unresolved, so the order is {} again as epoch 2 (reopened {}).",
        o.order_id,
        if report.retry_same_answer {
            " and gets the first answer back"
        } else {
            ", and the retry is NOT answered as the first"
        },
        state_word(reopened.state),
        match reopened.reopen_count {
            1 => "once".to_string(),
            n => format!("{n} times"),
        }
    ));
    c.wait_assignment("t-market", &o.order_id, 2, WAIT).await?;
    let stale = c.accept("t-market", &o.order_id, 1, &request_id()).await;
    report.stale_epoch_refused =
        matches!(&stale, Err(s) if s.code() == tonic::Code::FailedPrecondition);
    story.more(match stale {
        Err(s) if report.stale_epoch_refused => format!(
            "A late accept for epoch 1 is refused ({:?}): the epoch was superseded by the reopening, \
             so no unit can act on the old round.",
            s.code()
        ),
        Err(s) => format!(
            "A late accept for the superseded epoch 1 fails with {:?}, not as a stale epoch.",
            s.code()
        ),
        Ok(_) => "A late accept for the superseded epoch 1 is ACCEPTED: it should be refused.".into(),
    });
    handle_all(&c, &reopened, 2, ReplyOutcome::Resolved).await?;
    let o = c
        .callback(&o.order_id, true, Satisfaction::Satisfied)
        .await?;
    story.more(format!(
        "Handled again in epoch 2 and called back satisfied: {}.",
        state_word(o.state)
    ));

    clocks(&c, &mut report, &story).await?;
    disputes::disputes(&c, &mut report, &story).await?;

    // A pothole reported by location near the Market/Harbour border:
    // the township owning the point leads, the neighbours are recorded.
    let mut req = submit_req(
        "road.pothole",
        "",
        RequestKind::Report,
        "Pothole by the arcade gate",
        "Sun Mei",
        "13900000005",
    );
    req.location = Some(Location {
        latitude: BORDER_POINT.0,
        longitude: BORDER_POINT.1,
    });
    let o = c.submit(req).await?;
    report.order_ids.push(o.order_id.clone());
    story.step(format!(
        "A pothole reported by its location, {}, lies in {} of {}, which leads it; the units \
         just across the border ({}) are recorded as near-boundary neighbours.",
        o.order_id,
        o.community_unit,
        o.territory_unit,
        o.near_boundary_units.join(", ")
    ));
    report.border_case = json!({
        "order_id": o.order_id,
        "territory_unit": o.territory_unit,
        "community_unit": o.community_unit,
        "near_boundary_units": o.near_boundary_units,
        "leads": o.assignments.iter().filter(|a| a.role == AssignmentRole::Lead as i32).map(|a| a.unit_id.clone()).collect::<Vec<_>>(),
    });
    handle_all(&c, &o, 1, ReplyOutcome::Resolved).await?;
    let o = c
        .callback(&o.order_id, true, Satisfaction::Satisfied)
        .await?;
    story.more(format!(
        "Handled by {}: {}.",
        o.territory_unit,
        state_word(o.state)
    ));

    integration::integration(&c, &mut report, &story).await?;

    // Every tier reports its workload to the centre.
    for unit in [
        "city",
        "d-riverside",
        "t-market",
        "c-harbour-north",
        "dept-utility",
    ] {
        let r = c.unit_report("city", unit).await?;
        let states: serde_json::Map<String, Value> = r
            .by_state
            .iter()
            .map(|s| (s.state.clone(), json!(s.count)))
            .collect();
        report.unit_reports.push(json!({"unit": unit, "total": r.total, "resolved": r.resolved, "overdue": r.overdue, "by_state": states}));
    }

    let mut closed = 0;
    for id in &report.order_ids {
        let o = c.order(id).await?;
        closed += (o.state == OrderState::Closed as i32) as usize;
        report.answered_at_intake += (o.state == OrderState::Answered as i32) as usize;
        report.reopened += (o.reopen_count > 0) as usize;
    }
    report.orders = report.order_ids.len();
    report.closed = closed;

    let stats = c.stats().await?;
    report.calls = stats.calls;
    report.handoffs = stats.handoffs;
    let mut pids: Vec<u32> = stats
        .by_service
        .iter()
        .filter(|s| s.calls > 0 && s.pid != 0)
        .map(|s| s.pid)
        .collect();
    let gateway_pid = mesh.pids().first().map(|(_, p)| *p).unwrap_or(0);
    pids.push(gateway_pid);
    pids.sort_unstable();
    pids.dedup();
    report.processes = pids.len();
    report.calls_by_tier_pair = stats
        .by_tier_pair
        .iter()
        .map(|p| json!({"from": tier_name(p.from_tier), "to": tier_name(p.to_tier), "count": p.count}))
        .collect();
    proactive::proactive(&c, &mut report, &story).await?;
    assess(mesh, &c, &mut report).await?;
    Ok(report)
}

/// The month's assessment (Art. 32): every unit's own scorecard, read
/// through its own service, and the city's rankings.
async fn assess(mesh: &Mesh, c: &MeshClient, report: &mut DemoReport) -> anyhow::Result<()> {
    let month = hotline_core::scoring::month_of(hotline_node::parse_instant(DEMO_START)?);
    for u in mesh.topology.units() {
        let s = c
            .scorecard(&u.id, &u.id, &month, ScorecardScope::Own)
            .await?;
        if s.dispatched > 0 || s.callbacks > 0 || s.summoned > 0 {
            report
                .scorecards
                .push(hotline_client::scorecards::scorecard_json(&s));
        }
    }
    let req = GetRankingsRequest {
        month,
        ..Default::default()
    };
    let rankings = c.rankings(&c.city, req).await?;
    report.rankings = hotline_client::scorecards::rankings_json(&rankings);
    report.ranking_table = hotline_client::scorecards::rankings_table(&rankings);
    Ok(())
}

/// The clocks: an emergency handled inside its 2 hours, a whistle with two
/// departments (one checks in, one misses and is escalated), an order left
/// to breach (warning, supervision, escalation), and an extension.
async fn clocks(c: &MeshClient, report: &mut DemoReport, story: &Story) -> anyhow::Result<()> {
    let t0 = c.now().await?;
    let submit = |cat: &'static str,
                  addr: &'static str,
                  kind: RequestKind,
                  text: &'static str,
                  phone: &'static str| {
        submit_req(cat, addr, kind, text, "Demo Requester", phone)
    };
    let e = c
        .submit(submit(
            "gas.leak",
            "14 East Arcade",
            RequestKind::Help,
            "Smell of gas in the stairwell",
            "13900000005",
        ))
        .await?;
    let w = c
        .submit(submit(
            "sanitation.garbage",
            "8 West Arcade",
            RequestKind::Complaint,
            "Illegal dumping behind the market",
            "13900000006",
        ))
        .await?;
    let b = c
        .submit(submit(
            "traffic.signal_broken",
            "",
            RequestKind::Report,
            "Signal dark at the crossing",
            "13900000007",
        ))
        .await?;
    let x = c
        .submit(submit(
            "property.management_dispute",
            "2 Pine Avenue",
            RequestKind::Complaint,
            "Lift broken for a month",
            "13900000008",
        ))
        .await?;
    for o in [&e, &w, &b, &x] {
        report.order_ids.push(o.order_id.clone());
    }

    // The emergency (2 h): both leads handle it within 30 minutes.
    c.advance_to(t0 + 30 * MINUTE).await?;
    handle_all(c, &e, 1, ReplyOutcome::Resolved).await?;
    let e = c
        .callback(&e.order_id, true, Satisfaction::Satisfied)
        .await?;
    story.step(format!(
        "A gas leak, {}, is an emergency with a 2 h limit: t-market and dept-utility both \
         handle it within {}: {}.",
        e.order_id,
        hotline_client::duration::human_micros(30 * MINUTE),
        state_word(e.state)
    ));

    // The whistle: Market Street cannot clear the dumping alone.
    c.wait_assignment("t-market", &w.order_id, 1, WAIT).await?;
    c.accept("t-market", &w.order_id, 1, &request_id()).await?;
    c.contact("t-market", &w.order_id, 1, "agree a site visit")
        .await?;
    let whistle = c
        .whistle(
            "t-market",
            &w.order_id,
            1,
            WhistleKind::Daily,
            &["dept-urban", "dept-housing"],
        )
        .await?;
    report.whistles += 1;

    // The extension: Pine Town needs parts for the lift.
    let lead = c.wait_assignment("t-pine", &x.order_id, 1, WAIT).await?;
    c.accept("t-pine", &x.order_id, 1, &request_id()).await?;
    c.contact("t-pine", &x.order_id, 1, "explain the repair plan")
        .await?;
    let until = lead
        .due_time
        .as_ref()
        .map(hotline_runtime::wire::micros)
        .unwrap_or(t0)
        + 5 * 24 * HOUR;
    c.request_extension("t-pine", &x.order_id, 1, until).await?;
    c.wait_assignment("dept-housing", &x.order_id, 1, WAIT)
        .await?;
    c.handle("dept-housing", &x.order_id, 1, ReplyOutcome::Resolved)
        .await?;

    // Two hours on: the urban management commission checks in.
    c.advance_to(t0 + 2 * HOUR).await?;
    c.check_in("dept-urban", &whistle.district_unit, &whistle.whistle_id)
        .await?;
    report.check_ins += 1;
    // A day and more: the housing commission never checked in; the
    // signal order breaches its 24 h.
    c.advance_to(t0 + 26 * HOUR).await?;
    let summoned = c
        .get_whistle("city", &whistle.district_unit, &whistle.whistle_id)
        .await?;
    report.missed_check_ins = summoned
        .summonses
        .iter()
        .filter(|s| s.state == "missed")
        .count();
    story.step(format!(
        "Illegal dumping, {}: t-market cannot clear it alone and blows the whistle ({}), summoning \
         departments to report in. A day later: {}.",
        w.order_id,
        whistle.whistle_id,
        summoned
            .summonses
            .iter()
            .map(|s| match s.state.as_str() {
                "missed" => format!("{} missed its check-in and is escalated", s.department),
                other => format!("{} {}", s.department, word(other)),
            })
            .collect::<Vec<_>>()
            .join("; ")
    ));
    // The co-handler reports its part; the lead replies.
    c.wait_assignment("dept-urban", &w.order_id, 1, WAIT)
        .await?;
    c.handle("dept-urban", &w.order_id, 1, ReplyOutcome::Resolved)
        .await?;
    c.progress(
        "t-market",
        &w.order_id,
        1,
        "dumping cleared with urban management",
    )
    .await?;
    c.reply(
        "t-market",
        &w.order_id,
        1,
        ReplyOutcome::Resolved,
        "site cleared; cameras installed",
    )
    .await?;
    c.wait_order_state(&w.order_id, OrderState::Replied, WAIT)
        .await?;
    c.callback(&w.order_id, true, Satisfaction::Satisfied)
        .await?;

    // Half the limit again past the breach: escalated to the district.
    c.advance_to(t0 + 37 * HOUR).await?;
    c.wait_assignment("dept-transport", &b.order_id, 1, WAIT)
        .await?;
    c.handle("dept-transport", &b.order_id, 1, ReplyOutcome::Resolved)
        .await?;
    c.wait_order_state(&b.order_id, OrderState::Replied, WAIT)
        .await?;
    let b = c
        .callback(&b.order_id, true, Satisfaction::BasicallySatisfied)
        .await?;
    story.step(format!(
        "A dark traffic signal, {}, passes its 24 h limit: the centre warns the handler, sends a \
         supervision notice (督办) and escalates it to d-riverside; dept-transport then handles it: {}.",
        b.order_id,
        state_word(b.state)
    ));

    c.progress("t-pine", &x.order_id, 1, "lift parts arrived")
        .await?;
    c.reply(
        "t-pine",
        &x.order_id,
        1,
        ReplyOutcome::Resolved,
        "lift repaired",
    )
    .await?;
    c.wait_order_state(&x.order_id, OrderState::Replied, WAIT)
        .await?;
    let x = c
        .callback(&x.order_id, true, Satisfaction::Satisfied)
        .await?;
    story.step(format!(
        "A broken lift, {}: t-pine waits for parts and is granted 5 more days; the extension moves \
         the handler's deadline, while the business clock since intake runs on. Repaired: {}.",
        x.order_id,
        state_word(x.state)
    ));

    for id in [&e.order_id, &w.order_id, &b.order_id, &x.order_id] {
        let o = c.order(id).await?;
        report.overdue += o.overdue as usize;
        let count = |a: &str| o.history.iter().filter(|h| h.action == a).count();
        report.supervisions += count("supervision");
        report.escalations += count("escalated") + count("check_in_missed");
        report.extensions += count("extension_granted");
    }
    report.trace_sample = hotline_client::trace::trace(c, &w.order_id).await?;
    report.whistled_order = w.order_id.clone();
    Ok(())
}

fn tier_name(t: i32) -> String {
    Tier::try_from(t)
        .map(|t| t.as_str_name().trim_start_matches("TIER_").to_lowercase())
        .unwrap_or_default()
}
