//! The closing read: what the services' stores say happened — the city's
//! order records and objections, the districts' whistles — summarised per
//! policy area. Deterministic for a seed: maps are ordered, no ids, no
//! wall-clock figures (those go to [`Timings`]).

use hotline_client::duration::human;
use hotline_client::table::Table;
use std::collections::BTreeMap;

use futures::StreamExt;
use hotline_core::{Micros, Tier, Topology};
use hotline_proto::v1 as pb;
use hotline_runtime::meta::routed;
use hotline_runtime::wire::micros;
use serde::Serialize;
use serde_json::{Value, json};

use super::arrivals::{DAY, HOUR, MINUTE};
use super::driver::{Activity, handler_type};
use hotline_client::MeshClient;

/// Published handler shares (Beijing): district departments, townships,
/// city departments, enterprises, others.
pub const PUBLISHED_SHARES: [(&str, f64); 5] = [
    ("district_departments", 37.8),
    ("townships", 36.0),
    ("city_departments", 16.1),
    ("enterprises", 7.4),
    ("others", 2.7),
];

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub start: String,
    pub days: f64,
    pub policy: Value,
    pub volume: Value,
    pub handler_shares: Value,
    pub disputes: Value,
    pub escalations: Value,
    pub overdue_by_tier: Value,
    pub rates: Value,
    /// The city's three rates over the whole run, in percent.
    pub city_rates: Value,
    /// City-wide rates month to date at the end of each simulated day,
    /// from the centre's scorecard.
    pub rates_over_time: Vec<Value>,
    pub volume_by_township: BTreeMap<String, u64>,
    pub daily: Vec<Value>,
    pub proactive: Value,
    pub simulation: Value,
    /// The knowledge base (Art. 31): what intake answered from it, what
    /// the run seeded and what units added.
    pub knowledge: Value,
    /// Text triage at intake (`triage = true`): requests classified from
    /// callers' words, misclassified, and reclassified by the centre.
    #[serde(default)]
    pub triage: Value,
    /// What the model is given: each input with its value, and the
    /// published figure it was fitted to or that it is an assumption.
    pub inputs: Vec<Value>,
    /// What the model produced: the figures seeds, comparisons and the
    /// sensitivity table are stated on (see `evidence::outputs`).
    pub outputs: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Timings {
    pub transport: String,
    pub backend: String,
    pub wall_seconds: f64,
    pub simulate_seconds: f64,
    pub contacts_per_second: f64,
    pub dispatched_orders_per_second: f64,
    pub simulated_orders_per_second: f64,
    pub rpcs_per_second: f64,
    /// Wall seconds in AdvanceTo, in submitting, in behaviours' RPCs.
    pub advance_seconds: f64,
    pub submit_seconds: f64,
    pub behaviour_seconds: f64,
    /// CPU seconds (user and system) each process used while simulating.
    pub cpu_seconds: BTreeMap<String, f64>,
    /// All processes' CPU time per simulated contact, in milliseconds.
    pub cpu_ms_per_contact: f64,
    /// Calls the gateway forwarded while simulating (the driver's and the
    /// services' handoffs), and how many per contact.
    pub gateway_calls: u64,
    pub gateway_calls_per_contact: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    pub summary: Summary,
    pub timings: Timings,
    /// The volume map (inline SVG) for the HTML page; not in the JSON.
    #[serde(skip)]
    pub map_svg: String,
    /// Over several runs: intervals over the seeds, the sensitivity table
    /// and the out-of-sample check (`evidence`); null for one run alone.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub evidence: Value,
}

/// Percentiles (minutes) of a sample of durations in microseconds.
pub fn percentiles(mut v: Vec<Micros>) -> Value {
    if v.is_empty() {
        return json!({"count": 0});
    }
    v.sort_unstable();
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        (v[i] as f64 / MINUTE as f64 * 10.0).round() / 10.0
    };
    json!({"count": v.len(), "p50_minutes": at(0.5), "p90_minutes": at(0.9), "p99_minutes": at(0.99), "max_minutes": at(1.0)})
}

/// Counts of durations in bins of `width` (the last bin open-ended).
pub fn histogram(v: &[Micros], width: Micros, bins: usize) -> Vec<u64> {
    let mut h = vec![0u64; bins];
    for d in v {
        let i = ((*d / width.max(1)) as usize).min(bins - 1);
        h[i] += 1;
    }
    h
}

async fn all_orders(c: &MeshClient) -> anyhow::Result<Vec<pb::Order>> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let mut ic = pb::intake_service_client::IntakeServiceClient::new(c.channel());
        let req = pb::ListOrdersRequest {
            page_size: 500,
            page_token: token.clone(),
            state: 0,
            ..Default::default()
        };
        let r = ic
            .list_orders(routed(req, &c.city, &c.city))
            .await?
            .into_inner();
        out.extend(r.orders);
        if r.next_page_token.is_empty() {
            return Ok(out);
        }
        token = r.next_page_token;
    }
}

async fn all_objections(c: &MeshClient) -> anyhow::Result<Vec<pb::Objection>> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let mut ec = pb::escalation_service_client::EscalationServiceClient::new(c.channel());
        let req = pb::ListObjectionsRequest {
            page_size: 500,
            page_token: token.clone(),
            ..Default::default()
        };
        let r = ec
            .list_objections(routed(req, &c.city, &c.city))
            .await?
            .into_inner();
        out.extend(r.objections);
        if r.next_page_token.is_empty() {
            return Ok(out);
        }
        token = r.next_page_token;
    }
}

fn name_of(s: &str, prefix: &str) -> String {
    s.trim_start_matches(prefix).to_lowercase()
}

fn ts(t: &Option<prost_types::Timestamp>) -> Option<Micros> {
    t.as_ref().map(micros)
}

/// Reads the stores and builds the summary.
#[allow(clippy::too_many_arguments)]
pub async fn collect(
    c: &MeshClient,
    t: &Topology,
    act: &Activity,
    scenario: &super::scenario::Scenario,
    start: Micros,
    end: Micros,
    finish: Micros,
    seed: u64,
    proactive: Value,
) -> anyhow::Result<Summary> {
    let days = (end - start) as f64 / DAY as f64;
    let orders = all_orders(c).await?;
    let objections = all_objections(c).await?;
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    let mut dispositions: BTreeMap<String, u64> = BTreeMap::new();
    let mut township_volume: BTreeMap<String, u64> = BTreeMap::new();
    let mut daily: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
    let (mut reopened, mut bounce_hits, mut overdue_orders, mut redirects) =
        (0u64, 0u64, 0u64, 0u64);
    let mut satisfaction: BTreeMap<String, u64> = BTreeMap::new();
    // Every dispatched order is read in full: final handlers, history.
    let mut detail: Vec<String> = Vec::new();
    for o in &orders {
        *by_state
            .entry(name_of(
                pb::OrderState::try_from(o.state)
                    .unwrap_or_default()
                    .as_str_name(),
                "ORDER_STATE_",
            ))
            .or_default() += 1;
        if o.disposition != 0 {
            *dispositions
                .entry(name_of(
                    pb::Disposition::try_from(o.disposition)
                        .unwrap_or_default()
                        .as_str_name(),
                    "DISPOSITION_",
                ))
                .or_default() += 1;
        }
        let township = t
            .unit(&o.territory_unit)
            .filter(|u| u.tier == Tier::Township);
        if let Some(u) = township {
            *township_volume.entry(u.id.clone()).or_default() += 1;
        }
        reopened += (o.reopen_count > 0) as u64;
        bounce_hits += o.bounce_limit_reached as u64;
        redirects += o.redirect_count as u64;
        if !matches!(
            pb::OrderState::try_from(o.state).unwrap_or_default(),
            pb::OrderState::Answered | pb::OrderState::Disposed
        ) {
            detail.push(o.order_id.clone());
        }
        overdue_orders += o.overdue as u64;
        if let Some(cb) = &o.callback {
            *satisfaction
                .entry(name_of(
                    pb::Satisfaction::try_from(cb.satisfaction)
                        .unwrap_or_default()
                        .as_str_name(),
                    "SATISFACTION_",
                ))
                .or_default() += 1;
        }
        let day = |x: Micros| (x - start).div_euclid(DAY);
        if let Some(r) = ts(&o.received_time) {
            let e = daily.entry(day(r)).or_default();
            e.0 += 1;
            let dispatched = !matches!(
                pb::OrderState::try_from(o.state).unwrap_or_default(),
                pb::OrderState::Answered | pb::OrderState::Disposed
            );
            e.1 += dispatched as u64;
        }
        if let Some(cl) = ts(&o.closed_time) {
            daily.entry(day(cl)).or_default().2 += 1;
        }
    }
    let details: Vec<pb::Order> = futures::stream::iter(detail.iter().map(|id| c.order(id)))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut history: BTreeMap<String, u64> = BTreeMap::new();
    let mut overdue_tier: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    // What the centre recorded of triage: items it chose, orders it
    // reclassified.
    let (mut triage_chosen, mut reclassified) = (0u64, 0u64);
    for o in &details {
        for h in &o.history {
            triage_chosen +=
                (h.action == "classified" && h.detail.contains("chosen by triage")) as u64;
            reclassified += (h.action == "reclassified") as u64;
            if matches!(
                h.action.as_str(),
                "supervision"
                    | "escalated"
                    | "check_in_missed"
                    | "ruling_overdue"
                    | "extension_granted"
                    | "extension_refused"
                    | "extension_requested"
                    | "designated"
                    | "reopened"
                    | "warning"
            ) {
                *history.entry(h.action.clone()).or_default() += 1;
            }
        }
    }
    // Overdue by tier: every lead assignment of an overdue order, late
    // when replied after its due time or still open past it.
    for o in details.iter().filter(|o| o.overdue) {
        for a in o
            .assignments
            .iter()
            .filter(|a| a.role == pb::AssignmentRole::Lead as i32)
        {
            let tier = t
                .unit(&a.unit_id)
                .map(|u| u.tier.as_str())
                .unwrap_or("unknown");
            let due = ts(&a.due_time).unwrap_or(Micros::MAX);
            let late = ts(&a.replied_time).map_or(finish > due, |r| r > due);
            let e = overdue_tier.entry(tier.to_string()).or_default();
            e.0 += 1;
            e.1 += late as u64;
        }
    }
    let mut ruling_times = Vec::new();
    let mut ruled_by: BTreeMap<String, u64> = BTreeMap::new();
    let mut rulings: BTreeMap<String, u64> = BTreeMap::new();
    let mut pairs: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    let mut states: BTreeMap<String, u64> = BTreeMap::new();
    let categories: BTreeMap<&str, String> = orders
        .iter()
        .map(|o| (o.order_id.as_str(), o.category_code.clone()))
        .collect();
    for ob in &objections {
        *states
            .entry(name_of(
                pb::ObjectionState::try_from(ob.state)
                    .unwrap_or_default()
                    .as_str_name(),
                "OBJECTION_STATE_",
            ))
            .or_default() += 1;
        *pairs
            .entry(format!("{} → {}", ob.unit_id, ob.proposed_unit))
            .or_default() += 1;
        let cat = categories
            .get(ob.order_id.as_str())
            .and_then(|code| t.item(code))
            .and_then(|i| t.group(&i.subcategory))
            .and_then(|g| g.parent.clone())
            .unwrap_or_default();
        *by_category.entry(cat).or_default() += 1;
        if ob.state == pb::ObjectionState::Ruled as i32 {
            if let (Some(a), Some(b)) = (ts(&ob.objected_time), ts(&ob.ruled_time)) {
                ruling_times.push(b - a);
            }
            let kind = t
                .unit(&ob.ruled_by)
                .map(|u| u.tier.as_str())
                .unwrap_or("unknown");
            *ruled_by.entry(kind.to_string()).or_default() += 1;
            *rulings
                .entry(name_of(
                    pb::RulingKind::try_from(ob.ruling)
                        .unwrap_or_default()
                        .as_str_name(),
                    "RULING_KIND_",
                ))
                .or_default() += 1;
        }
    }
    let mut pairs: Vec<(String, u64)> = pairs.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    pairs.truncate(15);

    // Whistles, from the districts that registered them.
    let mut whistles: Vec<pb::Whistle> = futures::stream::iter(
        act.whistle_ids
            .iter()
            .map(|(district, id)| c.get_whistle(&c.city, district, id)),
    )
    .buffer_unordered(16)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<Result<_, _>>()?;
    whistles.sort_by(|a, b| a.whistle_id.cmp(&b.whistle_id));
    let mut summons_states: BTreeMap<String, u64> = BTreeMap::new();
    let mut check_in = Vec::new();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for w in &whistles {
        *by_kind
            .entry(name_of(
                pb::WhistleKind::try_from(w.kind)
                    .unwrap_or_default()
                    .as_str_name(),
                "WHISTLE_KIND_",
            ))
            .or_default() += 1;
        for s in &w.summonses {
            *summons_states.entry(s.state.clone()).or_default() += 1;
            if let (Some(a), Some(b)) = (ts(&w.time), ts(&s.checked_in_time)) {
                check_in.push(b - a);
            }
        }
    }

    let (final_leads, final_handlers) = final_handlers(t, &details);
    let shares = shares_json(&act.initial_leads, &final_leads, &final_handlers);

    let answered = by_state.get("answered").copied().unwrap_or(0);
    let consultations = act
        .submitted_by_kind
        .get("consultation")
        .copied()
        .unwrap_or(0);
    let dispatched =
        orders.len() as u64 - answered - by_state.get("disposed").copied().unwrap_or(0);
    let kb = c.knowledge_stats().await?;
    let mut summary = Summary {
        scenario: scenario.name.clone(),
        seed,
        start: scenario.start.clone(),
        days,
        policy: t.policy_json(),
        volume: json!({
            "contacts": act.contacts,
            "orders": orders.len(),
            "consultations": consultations,
            "consultation_share": ratio(consultations, act.contacts),
            "answered_at_intake": answered,
            "dispatched": dispatched,
            "dispositions": dispositions,
            "by_state": by_state,
            "reopened": reopened,
            "by_kind": act.submitted_by_kind,
            "by_mood": act.by_mood,
            "near_border_contacts": act.near_border_contacts,
            "repeat_contacts": act.repeat_contacts,
            "callbacks": satisfaction,
        }),
        handler_shares: shares,
        disputes: json!({
            "objections": objections.len(),
            "by_state": states,
            "rulings": rulings,
            "ruled_by_tier": ruled_by,
            "ruling_time": percentiles(ruling_times.clone()),
            "ruling_time_histogram_hours": histogram(&ruling_times, 2 * HOUR, 13),
            "ruling_overdue": history.get("ruling_overdue").copied().unwrap_or(0),
            "redirects": redirects,
            "bounce_limit_hits": bounce_hits,
            "by_unit_pair": pairs.iter().map(|(k, n)| json!({"pair": k, "objections": n})).collect::<Vec<_>>(),
            "by_category": by_category,
            "misrouted_dispatches": act.misrouted,
        }),
        escalations: json!({
            "whistles": whistles.len(),
            "by_kind": by_kind,
            "summonses": summons_states,
            "check_in_latency": percentiles(check_in.clone()),
            "check_in_histogram_hours": histogram(&check_in, HOUR, 13),
            "missed_check_ins": summons_states.get("missed").copied().unwrap_or(0),
            "warnings": history.get("warning").copied().unwrap_or(0),
            "supervisions": history.get("supervision").copied().unwrap_or(0),
            "escalated": history.get("escalated").copied().unwrap_or(0),
            "extensions_granted": history.get("extension_granted").copied().unwrap_or(0),
            "extensions_refused": history.get("extension_refused").copied().unwrap_or(0),
        }),
        overdue_by_tier: json!({
            "overdue_orders": overdue_orders,
            "late_leads_by_tier": overdue_tier.iter().map(|(k, (n, late))| (k.clone(), json!({"leads_of_overdue_orders": n, "late": late}))).collect::<BTreeMap<_, _>>(),
        }),
        rates: super::rates::rates(c, start, finish).await?,
        city_rates: super::rates::city_rates(c, start, finish).await?,
        rates_over_time: act.rates_over_time.clone(),
        volume_by_township: township_volume,
        daily: daily
            .into_iter()
            .map(
                |(d, (r, di, cl))| json!({"day": d, "received": r, "dispatched": di, "closed": cl}),
            )
            .collect(),
        proactive,
        simulation: json!({
            "settled_days": (finish - end) as f64 / DAY as f64,
            "steps": act.steps,
            "events": act.events,
            "refusals": act.refusals,
        }),
        knowledge: json!({
            "source": "KnowledgeService.GetKnowledgeStats",
            "consultations": kb.consultations,
            "answered_at_intake": kb.answered_at_intake,
            "answered_from_knowledge_base": kb.answered_from_knowledge_base,
            "share_answered_at_intake": (kb.share_answered_at_intake * 1e4).round() / 1e4,
            "entries_at_end": kb.entries,
            "entries_seeded": act.knowledge_seeded,
            "entries_published_by_units": act.knowledge_published,
        }),
        triage: act
            .triage
            .json(scenario.triage, triage_chosen, reclassified),
        inputs: super::evidence::inputs(scenario),
        outputs: BTreeMap::new(),
    };
    summary.outputs = super::evidence::outputs(&summary);
    Ok(summary)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64 * 1000.0).round() / 1000.0
    }
}

/// Per handler type, on the centre's final records of the requests it
/// dispatched (proactive tasks left out): the lead units (one per unit per
/// order, those that objected or were revoked left out), and every unit
/// handling it (leads, co-handlers and assisting units such as summoned
/// departments and communities; copies left out).
fn final_handlers(
    t: &Topology,
    orders: &[pb::Order],
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let (mut leads, mut all) = (BTreeMap::new(), BTreeMap::new());
    for o in orders
        .iter()
        .filter(|o| o.kind != pb::RequestKind::ProactiveTask as i32)
    {
        let live = |a: &&pb::Assignment| {
            a.state != pb::AssignmentState::Objected as i32
                && a.state != pb::AssignmentState::Revoked as i32
                && a.role != pb::AssignmentRole::Copy as i32
        };
        let mut lead_units = std::collections::BTreeSet::new();
        let mut units = std::collections::BTreeSet::new();
        for a in o.assignments.iter().filter(live) {
            units.insert(a.unit_id.as_str());
            if a.role == pb::AssignmentRole::Lead as i32 {
                lead_units.insert(a.unit_id.as_str());
            }
        }
        for u in lead_units {
            *leads.entry(handler_type(t, u).to_string()).or_default() += 1;
        }
        for u in units {
            *all.entry(handler_type(t, u).to_string()).or_default() += 1;
        }
    }
    (leads, all)
}

/// Handler shares three ways beside the published ones: at intake (the
/// leads the centre's dispatch named), final leads, and every final
/// handler. Each names its denominator.
fn shares_json(
    at_intake: &BTreeMap<String, u64>,
    final_leads: &BTreeMap<String, u64>,
    final_handlers: &BTreeMap<String, u64>,
) -> Value {
    let one = |counts: &BTreeMap<String, u64>, denominator: &str| {
        let total: u64 = counts.values().sum();
        let by_type: BTreeMap<&str, Value> = PUBLISHED_SHARES
            .iter()
            .map(|(k, _)| {
                let n = counts.get(*k).copied().unwrap_or(0);
                (*k, json!({"count": n, "share_percent": percent(n, total)}))
            })
            .collect();
        json!({"denominator": denominator, "total": total, "by_type": by_type})
    };
    json!({
        "published_percent": PUBLISHED_SHARES.iter().map(|(k, v)| (*k, *v)).collect::<BTreeMap<_, _>>(),
        "published_source": "Beijing's three-year data report, as quoted in seeds/003 (district departments 37.8 %, townships 36.0 %, city bodies 16.1 %, state enterprises 7.4 %, others 2.7 %)",
        "at_intake": one(at_intake, "lead assignments the centre's dispatch made at intake, one per unit per request"),
        "final_leads": one(final_leads, "lead units at the end of the run, one per unit per dispatched request, after objections, redirects, reclassification and designation (objected and revoked leads left out)"),
        "final_handlers": one(final_handlers, "every unit handling a dispatched request at the end of the run, one per unit per request: leads, co-handlers, summoned departments and communities (copies, objected and revoked assignments left out)"),
    })
}

fn percent(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (n as f64 * 1000.0 / total as f64).round() / 10.0
    }
}

/// The policy in force, as the JSON a report states it.
trait PolicyJson {
    fn policy_json(&self) -> Value;
}

impl PolicyJson for Topology {
    fn policy_json(&self) -> Value {
        let p = &self.policy;
        json!({
            "arbitration": format!("{:?}", p.arbitration),
            "objection_window_hours": p.objection_window_hours,
            "ruling_deadline_hours": p.ruling_deadline_hours,
            "bounce_limit": p.bounce_limit,
            "extension_approval": p.extension_approval,
            "working_days": p.working_days,
            "check_in_hours": [p.check_in_daily_hours, p.check_in_tough_hours, p.check_in_emergency_minutes / 60.0],
            "triage_mode": p.triage_mode.as_str(),
        })
    }
}

/// A summary key as words: `ruling_time` → "ruling time".
fn words(key: &str) -> String {
    key.replace(['_', '.'], " ")
}

/// Minutes as people read a duration.
fn minutes(m: f64) -> String {
    human(std::time::Duration::from_secs_f64((m * 60.0).max(0.0)))
}

/// One summary value in a cell: a count as it is, a duration
/// distribution as its count, median, p90 and maximum, a breakdown as
/// "name n" pairs, nothing as a dash.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Object(m)
            if m.contains_key("p50_minutes") || (m.len() == 1 && m.contains_key("count")) =>
        {
            let at = |k: &str| m.get(k).and_then(Value::as_f64).map_or("—".into(), minutes);
            match m.get("count").and_then(Value::as_u64) {
                Some(0) | None => "none".into(),
                Some(n) => format!(
                    "{n}; median {}, p90 {}, longest {}",
                    at("p50_minutes"),
                    at("p90_minutes"),
                    at("max_minutes")
                ),
            }
        }
        Value::Object(m) if m.is_empty() => "none".into(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{} {}", words(k), cell(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// A table of `keys` of one part of the summary, each with its value.
fn part_table(part: &Value, keys: &[&str]) -> Table {
    let mut t = Table::new(["", "value"]);
    for k in keys {
        t.row([words(k), cell(&part[*k])]);
    }
    t
}

/// A percentage cell from a number, or a dash.
fn percent_cell(v: &Value) -> String {
    v.as_f64().map_or("—".into(), |x| format!("{x:.1}"))
}

/// The terminal summary.
pub fn print(r: &Report) {
    let s = &r.summary;
    println!(
        "Simulation {} (seed {}, {} days from {})",
        s.scenario, s.seed, s.days, s.start
    );
    println!("\nVolume");
    print!(
        "{}",
        part_table(
            &s.volume,
            &[
                "contacts",
                "consultations",
                "answered_at_intake",
                "dispatched",
                "reopened",
                "dispositions",
                "callbacks",
            ]
        )
    );
    println!("\nDisputes (durations: count; median, p90, longest)");
    print!(
        "{}",
        part_table(
            &s.disputes,
            &[
                "objections",
                "rulings",
                "ruled_by_tier",
                "ruling_time",
                "ruling_overdue",
                "redirects",
                "bounce_limit_hits",
            ]
        )
    );
    println!("\nEscalations");
    print!(
        "{}",
        part_table(
            &s.escalations,
            &[
                "whistles",
                "summonses",
                "check_in_latency",
                "missed_check_ins",
                "supervisions",
                "escalated",
                "extensions_granted",
            ]
        )
    );
    println!(
        "\nOverdue: {} orders passed a handler deadline; their leads by tier",
        cell(&s.overdue_by_tier["overdue_orders"])
    );
    let mut t = Table::new(["tier", "late leads", "leads of overdue orders"]).right(&[1, 2]);
    for (tier, v) in s.overdue_by_tier["late_leads_by_tier"]
        .as_object()
        .into_iter()
        .flatten()
    {
        t.row([
            words(tier),
            cell(&v["late"]),
            cell(&v["leads_of_overdue_orders"]),
        ]);
    }
    if !t.is_empty() {
        print!("{t}");
    }
    println!("\nThe three rates by peer group, %");
    let mut t = Table::new([
        "month",
        "peer group",
        "response",
        "resolution",
        "satisfaction",
        "units ranked",
    ])
    .right(&[2, 3, 4, 5]);
    for (month, m) in s.rates["months"].as_object().into_iter().flatten() {
        for (group, g) in m["peer_groups"].as_object().into_iter().flatten() {
            let v = |k: &str| {
                g[k]["value"]
                    .as_f64()
                    .map_or("—".to_string(), |x| format!("{:.1}", x * 100.0))
            };
            t.row([
                month.clone(),
                words(group),
                v("response"),
                v("resolution"),
                v("satisfaction"),
                cell(&g["ranked_units"]),
            ]);
        }
    }
    print!("{t}");
    println!("\nKnowledge base (Art. 31)");
    print!(
        "{}",
        part_table(
            &s.knowledge,
            &[
                "consultations",
                "answered_at_intake",
                "entries_seeded",
                "entries_published_by_units",
            ]
        )
    );
    if let Some(share) = s.knowledge["share_answered_at_intake"].as_f64() {
        println!(
            "{:.1} % of consultations were answered at intake from the knowledge base.",
            share * 100.0
        );
    }
    if s.triage["enabled"] == true {
        println!(
            "\nText triage at intake (callers' words from {})",
            s.triage["text_source"].as_str().unwrap_or("")
        );
        print!(
            "{}",
            part_table(
                &s.triage,
                &[
                    "submitted_as_text",
                    "chosen_by_triage",
                    "confirmed_by_operator",
                    "misclassified",
                    "accuracy_of_chosen",
                    "reclassified",
                    "without_text",
                ]
            )
        );
    }
    println!("\nFinal handler shares, % of each way of counting, beside the published");
    let h = &s.handler_shares;
    let mut t = Table::new([
        "handler type",
        "at intake",
        "final leads",
        "all final handlers",
        "published",
    ])
    .right(&[1, 2, 3, 4]);
    for (k, published) in PUBLISHED_SHARES {
        let v = |way: &str| percent_cell(&h[way]["by_type"][k]["share_percent"]);
        t.row([
            words(k),
            v("at_intake"),
            v("final_leads"),
            v("final_handlers"),
            format!("{published:.1}"),
        ]);
    }
    print!("{t}");
    println!("\nInputs (fitted to a published figure, or assumed)");
    let mut t = Table::new(["input", "basis"]);
    for i in &s.inputs {
        let basis = match i["basis"].as_str() {
            Some("fitted") => format!("fitted to {}", i["fitted_to"].as_str().unwrap_or("")),
            _ => format!("assumption: {}", i["meaning"].as_str().unwrap_or("")),
        };
        t.row([i["input"].as_str().unwrap_or("").to_string(), basis]);
    }
    print!("{t}");
    println!("\nOutputs (emergent, in %, or per 100 dispatched orders)");
    let seeds = &r.evidence["seeds"]["outputs"];
    let runs = &r.evidence["seeds"]["runs"];
    let mut t =
        Table::new(["output", "this run", "mean over seeds", "95 % interval"]).right(&[1, 2, 3]);
    for (k, v) in &s.outputs {
        let (mean, interval) = match seeds[k.as_str()]["interval_95"].as_array() {
            Some(iv) => (
                format!("{:.2}", seeds[k.as_str()]["mean"].as_f64().unwrap_or(0.0)),
                format!("[{}, {}] ({runs} seeds)", iv[0], iv[1]),
            ),
            None => ("—".into(), "—".into()),
        };
        t.row([words(k), format!("{v:.2}"), mean, interval]);
    }
    print!("{t}");
    print_sensitivity(&r.evidence["sensitivity"]);
    print_out_of_sample(&r.evidence["out_of_sample"]);
    println!(
        "\nThroughput ({} transport, {})",
        r.timings.transport, r.timings.backend
    );
    println!(
        "{} of wall time: {:.0} contacts/s, {:.0} dispatched orders/s, {:.0} simulated orders/s;",
        human(std::time::Duration::from_secs_f64(
            r.timings.wall_seconds.max(0.0)
        )),
        r.timings.contacts_per_second,
        r.timings.dispatched_orders_per_second,
        r.timings.simulated_orders_per_second
    );
    println!(
        "{} advancing the clock, {} submitting, {} in behaviours.",
        human(std::time::Duration::from_secs_f64(
            r.timings.advance_seconds.max(0.0)
        )),
        human(std::time::Duration::from_secs_f64(
            r.timings.submit_seconds.max(0.0)
        )),
        human(std::time::Duration::from_secs_f64(
            r.timings.behaviour_seconds.max(0.0)
        ))
    );
    println!("{}", cost_line(&r.timings));
}

/// The sensitivity table: one line per variant, the change of each main
/// output from the base.
fn print_sensitivity(v: &Value) {
    let (Some(base), Some(rows)) = (v["base"].as_object(), v["variants"].as_array()) else {
        return;
    };
    let keys = [
        ("answered_at_intake_percent", "answered at intake"),
        ("final_lead_share_percent.townships", "townships lead"),
        ("final_lead_share_percent.enterprises", "enterprises lead"),
        ("resolution_rate_percent", "resolution"),
        ("satisfaction_rate_percent", "satisfaction"),
        ("overdue_percent", "overdue"),
    ];
    println!(
        "\nSensitivity (the base in %, each variant's change in points; {} run(s) each)",
        v["runs_per_variant"]
    );
    let mut t = Table::new(std::iter::once("variant").chain(keys.iter().map(|(_, h)| *h)))
        .right(&[1, 2, 3, 4, 5, 6]);
    t.row(
        std::iter::once("base".to_string()).chain(keys.iter().map(|(k, _)| {
            base.get(*k)
                .and_then(Value::as_f64)
                .map_or("—".into(), |x| format!("{x:.2}"))
        })),
    );
    for row in rows {
        t.row(
            std::iter::once(row["variant"].as_str().unwrap_or("").to_string()).chain(
                keys.iter().map(|(k, _)| {
                    row["outputs"][*k]["change"]
                        .as_f64()
                        .map_or("—".into(), |x| format!("{x:+.2}"))
                }),
            ),
        );
    }
    print!("{t}");
}

fn print_out_of_sample(v: &Value) {
    let Some(switches) = v["switches"].as_array() else {
        return;
    };
    println!(
        "\nOut of sample: the published rise 2019 → 2024 is resolution 53 → 97 %, satisfaction 65 → 97 %."
    );
    for s in switches {
        if s["modelled"] == true {
            println!(
                "Switching {} moves resolution {:+} points and satisfaction {:+} points ({} % and {} % of the published rise).",
                s["switch"].as_str().unwrap_or(""),
                s["resolution_change_points"],
                s["satisfaction_change_points"],
                s["share_of_published_rise_percent"]["resolution"],
                s["share_of_published_rise_percent"]["satisfaction"]
            );
        } else {
            println!(
                "{} is not modelled: {}.",
                s["switch"].as_str().unwrap_or(""),
                s["why"].as_str().unwrap_or("").trim_end_matches('.')
            );
        }
    }
}

/// `--compare`: each output's difference and whether it exceeds the seeds'
/// spread.
pub fn print_significance(v: &Value) {
    let Some(rows) = v["outputs"].as_object() else {
        return;
    };
    println!(
        "\nDifferences beyond the seeds' spread ({} seeds a side; 95 % interval of B − A)",
        v["seeds_per_side"][0]
    );
    let mut t =
        Table::new(["output", "A", "B", "B − A", "95 % interval", "verdict"]).right(&[1, 2, 3]);
    for (k, r) in rows {
        let verdict = match r["differs"].as_bool() {
            Some(true) => "differs",
            Some(false) => "within the spread",
            None => "needs --seeds 2 or more",
        };
        let interval = match r["interval_95"].as_array() {
            Some(iv) if iv.len() == 2 => format!("[{}, {}]", cell(&iv[0]), cell(&iv[1])),
            _ => "—".into(),
        };
        t.row([
            words(k),
            cell(&r["a"]),
            cell(&r["b"]),
            format!("{:+.2}", r["difference"].as_f64().unwrap_or(0.0)),
            interval,
            verdict.to_string(),
        ]);
    }
    print!("{t}");
}

/// Where the CPU went: per contact, and by process.
pub fn cost_line(t: &Timings) -> String {
    let mut by: Vec<(&String, &f64)> = t.cpu_seconds.iter().collect();
    by.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    let by: Vec<String> = by.iter().map(|(n, s)| format!("{n} {s:.1}")).collect();
    format!(
        "{:.2} ms CPU and {:.1} gateway calls per contact; CPU seconds: {}",
        t.cpu_ms_per_contact,
        t.gateway_calls_per_contact,
        by.join(", ")
    )
}

#[cfg(test)]
mod print_tests {
    use super::*;

    #[test]
    fn summary_values_read_as_words_not_json() {
        let ruling = json!({"count": 13, "max_minutes": 420.0, "p50_minutes": 270.0, "p90_minutes": 380.0, "p99_minutes": 420.0});
        assert_eq!(
            cell(&ruling),
            "13; median 4 h 30 min, p90 6 h 20 min, longest 7 h"
        );
        assert_eq!(cell(&json!({"count": 0})), "none");
        assert_eq!(
            cell(&json!({"keep": 6, "redirect": 7})),
            "keep 6, redirect 7"
        );
        assert_eq!(cell(&json!({})), "none");
        assert_eq!(cell(&Value::Null), "—");
        assert_eq!(words("late_leads_by_tier"), "late leads by tier");
        let t = part_table(
            &json!({"rulings": {"keep": 6}, "ruling_time": ruling}),
            &["rulings", "ruling_time"],
        )
        .to_string();
        assert!(!t.contains('{') && !t.contains('"'), "{t}");
        assert!(t.contains("ruling time │ 13; median 4 h 30 min"), "{t}");
    }
}
