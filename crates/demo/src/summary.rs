//! The demo's closing summary: what the mesh did, in sentences and
//! tables, each figure with what it means. `--json` prints the same
//! report as data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hotline_client::duration::human;
use hotline_client::table::Table;
use serde_json::Value;

use super::common::{DemoReport, count, word};

/// Intake's dispositions: how many of each, and what intake did.
fn dispositions(d: &BTreeMap<String, usize>) -> Table {
    let mut t = Table::new(["disposition", "count", "what intake did"]).right(&[1]);
    for (kind, n) in d {
        let did = match kind.as_str() {
            "emergency_transfer" => "put the caller through to 110, 119, 120 or 122",
            "legal_channel" => "told the requester the legal channel to use (here, the court)",
            "duplicate" => "linked the repeat to the open order it repeats",
            "secrets_privacy" => "explained why secrets or privacy rule the request out",
            "outside_duty" => "guided the requester to the market or society",
            "unlawful" => "dissuaded the requester: the request is against the law",
            _ => "",
        };
        t.row([word(kind), n.to_string(), did.to_string()]);
    }
    t
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// A calling tier as the summary names it: a call without a unit comes
/// from a requester's own credential (a supplement, an urge).
fn tier_label(tier: &str) -> String {
    match tier {
        "" | "unspecified" => "no unit (e.g. a requester)".into(),
        t => word(t),
    }
}

/// What happened, as a table of counts with their meaning.
fn events(r: &DemoReport) -> Table {
    let mut t = Table::new(["what", "count", "meaning"]).right(&[1]);
    let rows: [(&str, usize, &str); 14] = [
        (
            "whistles",
            r.whistles,
            "a township summoned departments to report in (吹哨报到)",
        ),
        (
            "check-ins",
            r.check_ins,
            "a summoned department reported in on time",
        ),
        (
            "check-ins missed",
            r.missed_check_ins,
            "a summoned department did not; escalated",
        ),
        (
            "overdue orders",
            r.overdue,
            "a handler's clock passed its limit",
        ),
        (
            "supervisions",
            r.supervisions,
            "the centre's supervision notices (督办) after a breach",
        ),
        (
            "escalations",
            r.escalations,
            "orders sent up a tier after a breach or a missed check-in",
        ),
        (
            "extensions",
            r.extensions,
            "more time granted to a handler; the business clock runs on",
        ),
        (
            "objections",
            r.objections,
            "a unit said an order was not its own",
        ),
        ("rulings", r.rulings, "objections the centre ruled on"),
        (
            "objections refused",
            r.objections_refused,
            "by the rules: too late, or by a designated handler",
        ),
        (
            "bounce-limit hits",
            r.bounce_limit_hits,
            "orders redirected so often the centre designated the handler",
        ),
        (
            "dual dispatches",
            r.dual_dispatches,
            "orders with two leads: the territory and a department",
        ),
        (
            "hand-downs refused",
            r.hand_downs_refused,
            "items not on the community's duty list",
        ),
        (
            "dispositions",
            r.dispositions.values().sum(),
            "requests intake settled without dispatch",
        ),
    ];
    for (what, n, meaning) in rows {
        t.row([what.to_string(), n.to_string(), meaning.to_string()]);
    }
    t
}

/// The gateway's calls by the tier of the caller and of the callee.
fn tier_pairs(r: &DemoReport) -> Table {
    let mut t = Table::new(["from", "to", "calls"]).right(&[2]);
    for p in &r.calls_by_tier_pair {
        t.row([
            tier_label(str_of(&p["from"])),
            tier_label(str_of(&p["to"])),
            p["count"].as_u64().unwrap_or(0).to_string(),
        ]);
    }
    t
}

/// Each unit's workload as it reports it to the centre.
fn unit_reports(r: &DemoReport) -> Table {
    let mut t =
        Table::new(["unit", "assignments", "resolved", "overdue", "by state"]).right(&[1, 2, 3]);
    for u in &r.unit_reports {
        let states: Vec<String> = u["by_state"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(state, n)| format!("{} {}", n.as_u64().unwrap_or(0), word(state)))
            .collect();
        let n = |k: &str| u[k].as_u64().unwrap_or(0).to_string();
        t.row([
            str_of(&u["unit"]).to_string(),
            n("total"),
            n("resolved"),
            n("overdue"),
            if states.is_empty() {
                "none".into()
            } else {
                states.join(", ")
            },
        ]);
    }
    t
}

/// Yes or no, loudly when a guarantee did not hold.
fn held(ok: bool, yes: &str, no: &str) -> String {
    if ok { yes.into() } else { no.into() }
}

/// The summary as printed after the steps.
pub(crate) fn summary(r: &DemoReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nSummary\n");
    let _ = writeln!(
        out,
        "The demo submitted {} orders: {} were closed after a callback, {} answered at intake and \
         {} settled at intake without dispatch; {} reopened on the way, because the requester \
         said the matter was not resolved.",
        r.orders,
        r.closed,
        r.answered_at_intake,
        r.dispositions.values().sum::<usize>(),
        count(r.reopened as u64, "was", "were")
    );
    let _ = writeln!(
        out,
        "{} {}",
        held(
            r.retry_same_answer,
            "A retried accept with the same request id got the first answer back, changing nothing.",
            "A retried accept with the same request id did NOT get the first answer back.",
        ),
        held(
            r.stale_epoch_refused,
            "An accept for an epoch the reopening had superseded was refused.",
            "An accept for a superseded epoch was NOT refused.",
        )
    );
    let _ = write!(out, "\nWhat the mesh did:\n{}", events(r));
    let _ = write!(
        out,
        "\nIntake's dispositions, by kind:\n{}",
        dispositions(&r.dispositions)
    );
    let b = &r.border_case;
    let near: Vec<&str> = b["near_boundary_units"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let _ = writeln!(
        out,
        "\nBorder case: {} lies in {} of {}, which leads it; {} across the border {} recorded as \
         near-boundary neighbours.",
        str_of(&b["order_id"]),
        str_of(&b["community_unit"]),
        str_of(&b["territory_unit"]),
        near.join(" and "),
        if near.len() == 1 { "is" } else { "are" }
    );
    let _ = write!(
        out,
        "\nThe gateway forwarded {} calls, {} of them handoffs from one unit to another, to {} \
         processes (the gateway and one per service). By the tier of caller and callee:\n{}",
        r.calls,
        r.handoffs,
        r.processes,
        tier_pairs(r)
    );
    let _ = write!(
        out,
        "\nWorkload as each unit reports it to the centre (the city counts orders, the others \
         their assignments):\n{}",
        unit_reports(r)
    );
    let kb = &r.knowledge_base;
    let share = kb["share_answered_at_intake"].as_f64().unwrap_or(0.0) * 100.0;
    let _ = writeln!(
        out,
        "\nThe knowledge base holds {}. Of {}, {} were answered at intake ({share:.1} %), {} of \
         them from the knowledge base.",
        count(kb["entries"].as_u64().unwrap_or(0), "entry", "entries"),
        count(
            kb["consultations"].as_u64().unwrap_or(0),
            "consultation",
            "consultations"
        ),
        kb["answered_at_intake"].as_u64().unwrap_or(0),
        kb["answered_from_knowledge_base"].as_u64().unwrap_or(0),
    );
    let _ = writeln!(
        out,
        "Requester identity was read {}, each read audited; {} exported with it removed \
         (Art. 28).",
        count(r.audit_entries as u64, "time", "times"),
        count(r.exported_orders as u64, "order was", "orders were")
    );
    let _ = write!(
        out,
        "\nRankings (Art. 32) of the {} units assessed this month:\n{}",
        r.scorecards.len(),
        r.ranking_table
    );
    out += &r.proactive_summary;
    let wall = Duration::try_from_secs_f64(r.wall_seconds).unwrap_or_default();
    let _ = writeln!(out, "\nThe demo took {} of wall time.", human(wall));
    if let Some(d) = &r.data_dir {
        let _ = writeln!(out, "Data and logs are kept in {d}.");
    }
    out
}
