//! The weekly digest (民情摘报) and the 举一反三 sweep: their calls, and
//! their JSON and readable text forms (what `hotline digest` and `hotline
//! proactive sweep` print). The renderers are pure functions of the wire
//! answers.

use std::fmt::Write as _;
use std::time::Duration;

use hotline_proto::v1::proactive_service_client::ProactiveServiceClient;
use hotline_proto::v1::reporting_service_client::ReportingServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use serde_json::{Value, json};
use tonic::Status;

use crate::MeshClient;
use crate::duration::human;
use crate::instant::show_instant;
use crate::table::Table;
use crate::views::{micros_json, state_name};

impl MeshClient {
    /// The weekly digest of `area` (the city or a district; empty: the
    /// unit itself) for `week` (`2026-W49`; empty: the last complete
    /// week), asked of `unit`'s own ReportingService as that unit.
    pub async fn digest(
        &self,
        unit: &str,
        area: &str,
        week: &str,
    ) -> Result<GetDigestResponse, Status> {
        let mut c = ReportingServiceClient::new(self.channel());
        let req = GetDigestRequest {
            area: match area {
                "" => String::new(),
                a => format!("units/{}", a.trim_start_matches("units/")),
            },
            week: week.to_string(),
        };
        Ok(c.get_digest(routed(req, unit, unit)).await?.into_inner())
    }

    /// The 举一反三 sweep from a task resolved at its root, asked of
    /// `unit`'s own ProactiveService (the city or a district) as that unit.
    pub async fn sweep_similar(
        &self,
        unit: &str,
        req: SweepSimilarRequest,
    ) -> Result<SweepSimilarResponse, Status> {
        let mut c = ProactiveServiceClient::new(self.channel());
        Ok(c.sweep_similar(routed(req, unit, unit)).await?.into_inner())
    }
}

fn micros(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref()
        .map(|t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000)
        .unwrap_or_default()
}

fn duration_of(d: &Option<prost_types::Duration>) -> Duration {
    d.as_ref()
        .map(|d| {
            Duration::new(
                u64::try_from(d.seconds).unwrap_or(0),
                u32::try_from(d.nanos).unwrap_or(0),
            )
        })
        .unwrap_or_default()
}

fn duration_json(d: &Option<prost_types::Duration>) -> Value {
    json!(duration_of(d).as_micros() as u64)
}

fn unit_json(u: &Option<DigestUnit>) -> Value {
    let u = u.clone().unwrap_or_default();
    json!({"unit_id": u.unit_id, "name": u.name})
}

fn order_json(o: &Option<DigestOrder>) -> Value {
    let o = o.clone().unwrap_or_default();
    json!({
        "order_id": o.order_id,
        "category_code": o.category_code,
        "category_name": o.category_name,
        "state": state_name(o.state).to_lowercase(),
        "territory_unit": o.territory_unit,
        "territory_name": o.territory_name,
        "received_us": micros_json(&o.received_time),
        "due_us": micros_json(&o.due_time),
        "unresolved": o.unresolved,
        "business_time_us": duration_json(&o.business_time),
    })
}

fn event_json(e: &DigestEvent) -> Value {
    json!({
        "order": order_json(&e.order),
        "event": e.event,
        "time_us": micros_json(&e.time),
        "unit_id": e.unit_id,
        "unit_name": e.unit_name,
    })
}

/// The digest as JSON for `--json` (instants in UTC microseconds,
/// durations in microseconds).
pub fn digest_json(r: &GetDigestResponse) -> Value {
    json!({
        "area": unit_json(&r.area),
        "week": r.week,
        "week_start_us": micros_json(&r.week_start_time),
        "week_end_us": micros_json(&r.week_end_time),
        "prior_start_us": micros_json(&r.prior_start_time),
        "requests": r.requests,
        "prior_mean": r.prior_mean,
        "rising": r.rising.iter().map(|p| json!({
            "category_code": p.category_code,
            "category_name": p.category_name,
            "subcategory_name": p.subcategory_name,
            "group_name": p.group_name,
            "count": p.count,
            "prior_mean": p.prior_mean,
            "ratio": p.ratio,
            "prior_weeks": p.prior_weeks,
        })).collect::<Vec<_>>(),
        "hot_spots": r.hot_spots.iter().map(|h| json!({
            "category_code": h.category_code,
            "category_name": h.category_name,
            "latitude": h.latitude,
            "longitude": h.longitude,
            "radius_meters": h.radius_meters,
            "count": h.count,
            "township_unit": h.township_unit,
            "township_name": h.township_name,
            "order_ids": h.order_ids,
        })).collect::<Vec<_>>(),
        "repeat_requesters": r.repeat_requesters.iter().map(|q| json!({
            "pseudonym": q.pseudonym,
            "unresolved": q.unresolved,
            "orders": q.orders.iter().map(|o| order_json(&Some(o.clone()))).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "overdue_orders": r.overdue_orders,
        "overdue": r.overdue.iter().map(event_json).collect::<Vec<_>>(),
        "bounced_orders": r.bounced_orders,
        "bounced": r.bounced.iter().map(event_json).collect::<Vec<_>>(),
        "children": r.children.iter().map(|u| unit_json(&Some(u.clone()))).collect::<Vec<_>>(),
    })
}

fn state_word(s: i32) -> String {
    state_name(s).to_lowercase().replace('_', " ")
}

/// The days a week spans, `2026-12-14 – 2026-12-20`.
fn days(r: &GetDigestResponse) -> String {
    let start = micros(&r.week_start_time);
    let last = micros(&r.week_end_time) - 1;
    let day = |us: i64| show_instant(us)[..10].to_string();
    format!("{} – {}", day(start), day(last))
}

/// The digest as people read it: a line of totals, then a table per
/// section (or a line saying there is nothing in it).
pub fn digest_text(r: &GetDigestResponse) -> String {
    let area = r.area.clone().unwrap_or_default();
    let mut out = format!(
        "Weekly digest (民情摘报) of {} ({}), week {}, {} (Asia/Shanghai).\n\
         {} requests this week; {:.1} a week over the four weeks before.\n",
        area.name,
        area.unit_id,
        r.week,
        days(r),
        r.requests,
        r.prior_mean
    );

    out += "\nRising problems: at least 3 this week and at least twice the weekly mean of the four weeks before.\n";
    if r.rising.is_empty() {
        out += "None.\n";
    } else {
        let mut t = Table::new([
            "category",
            "name",
            "this week",
            "weekly mean before",
            "ratio",
            "weeks before",
        ])
        .right(&[2, 3, 4]);
        for p in &r.rising {
            let weeks: Vec<String> = p.prior_weeks.iter().map(u64::to_string).collect();
            t.row([
                p.category_code.clone(),
                p.category_name.clone(),
                p.count.to_string(),
                format!("{:.2}", p.prior_mean),
                p.ratio.map_or("new".to_string(), |x| format!("{x:.1}×")),
                weeks.join(", "),
            ]);
        }
        out += &t.to_string();
    }

    out += "\nNew hot spots: 4 or more located requests of one item within 200 m of each other, with none there the four weeks before.\n";
    if r.hot_spots.is_empty() {
        out += "None.\n";
    } else {
        let mut t = Table::new([
            "category", "township", "requests", "centre", "radius", "orders",
        ])
        .right(&[2, 4]);
        for h in &r.hot_spots {
            t.row([
                h.category_code.clone(),
                format!("{} ({})", h.township_name, h.township_unit),
                h.count.to_string(),
                format!("{:.5}, {:.5}", h.latitude, h.longitude),
                format!("{:.0} m", h.radius_meters),
                h.order_ids.join(", "),
            ]);
        }
        out += &t.to_string();
    }

    out += "\nRepeat requesters: two or more requests this week, some unresolved (pseudonyms hold for this digest only).\n";
    if r.repeat_requesters.is_empty() {
        out += "None.\n";
    } else {
        let mut t = Table::new(["requester", "requests", "unresolved", "orders"]).right(&[1, 2]);
        for q in &r.repeat_requesters {
            let orders: Vec<String> = q
                .orders
                .iter()
                .map(|o| {
                    format!(
                        "{} {} ({})",
                        o.order_id,
                        o.category_code,
                        state_word(o.state)
                    )
                })
                .collect();
            t.row([
                q.pseudonym.clone(),
                q.orders.len().to_string(),
                q.unresolved.to_string(),
                orders.join("; "),
            ]);
        }
        out += &t.to_string();
    }

    let _ = writeln!(
        out,
        "\nOverdue: {} order(s) passed a handler's limit this week.",
        r.overdue_orders
    );
    if !r.overdue.is_empty() {
        out += &events_table(&r.overdue).to_string();
    }
    let _ = writeln!(
        out,
        "\nBounced: {} order(s) objected to (退单) or reopened this week.",
        r.bounced_orders
    );
    if !r.bounced.is_empty() {
        out += &events_table(&r.bounced).to_string();
    }
    out
}

fn events_table(events: &[DigestEvent]) -> Table {
    let mut t = Table::new([
        "order",
        "category",
        "event",
        "unit",
        "when",
        "state",
        "business time",
    ])
    .right(&[6]);
    for e in events {
        let o = e.order.clone().unwrap_or_default();
        t.row([
            o.order_id.clone(),
            o.category_code.clone(),
            e.event.clone(),
            if e.unit_id.is_empty() {
                "—".to_string()
            } else {
                format!("{} ({})", e.unit_name, e.unit_id)
            },
            show_instant(micros(&e.time))[..16].to_string(),
            state_word(o.state),
            human(duration_of(&o.business_time)),
        ]);
    }
    t
}

/// The sweep as JSON for `--json`.
pub fn sweep_json(r: &SweepSimilarResponse) -> Value {
    json!({
        "source": r.source.as_ref().map(crate::views::task_json),
        "category_code": r.category_code,
        "category_name": r.category_name,
        "source_townships": r.source_townships,
        "place_types": r.place_types,
        "window_days": r.window_days,
        "min_similarity": r.min_similarity,
        "problems": r.problems.iter().map(|p| json!({
            "township_unit": p.township_unit,
            "township_name": p.township_name,
            "district_unit": p.district_unit,
            "district_name": p.district_name,
            "place_type": p.place_type,
            "similarity": p.similarity,
            "orders": p.orders.iter().map(|o| json!({
                "order_id": o.order_id,
                "state": state_name(o.state).to_lowercase(),
                "received_us": micros_json(&o.received_time),
                "similarity": o.similarity,
                "place_type": o.place_type,
                "community_unit": o.community_unit,
            })).collect::<Vec<_>>(),
            "proposed_instructions": p.proposed_instructions,
            "task_order_id": p.task_order_id,
            "issued": p.issued,
        })).collect::<Vec<_>>(),
    })
}

/// The sweep as people read it.
pub fn sweep_text(r: &SweepSimilarResponse) -> String {
    let source = r.source.clone().unwrap_or_default();
    let types = if r.place_types.is_empty() {
        "any place".to_string()
    } else {
        r.place_types.join(", ")
    };
    let mut out = format!(
        "举一反三 from task {} ({}, {}), resolved at its root in {}: {} in {} found elsewhere, \
         open or received in the last {} days, with wording at least {:.2} alike.\n",
        source.order_id,
        r.category_code,
        r.category_name,
        r.source_townships.join(", "),
        r.category_code,
        types,
        r.window_days,
        r.min_similarity
    );
    if r.problems.is_empty() {
        out += "No township has the same problem.\n";
        return out;
    }
    let mut t = Table::new([
        "township",
        "district",
        "place",
        "similarity",
        "requests",
        "task",
    ])
    .right(&[3]);
    for p in &r.problems {
        let orders: Vec<&str> = p.orders.iter().map(|o| o.order_id.as_str()).collect();
        let task = match (p.task_order_id.as_str(), p.issued) {
            ("", _) => "proposed".to_string(),
            (id, true) => format!("issued {id}"),
            (id, false) => format!("already open: {id}"),
        };
        t.row([
            format!("{} ({})", p.township_name, p.township_unit),
            p.district_name.clone(),
            p.place_type.clone(),
            format!("{:.2}", p.similarity),
            orders.join(", "),
            task,
        ]);
    }
    out += &t.to_string();
    out += "Proposed instructions:\n";
    for p in &r.problems {
        let _ = writeln!(out, "- {}: {}", p.township_unit, p.proposed_instructions);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GetDigestResponse {
        let ts = |s: i64| {
            Some(prost_types::Timestamp {
                seconds: s,
                nanos: 0,
            })
        };
        let order = |id: &str| DigestOrder {
            order_id: id.into(),
            category_code: "heating.no_heat".into(),
            state: OrderState::Dispatched as i32,
            received_time: ts(1_797_638_400),
            business_time: Some(prost_types::Duration {
                seconds: 3 * 86_400 + 5 * 3_600,
                nanos: 0,
            }),
            unresolved: true,
            ..Default::default()
        };
        GetDigestResponse {
            area: Some(DigestUnit {
                unit_id: "d-riverside".into(),
                name: "Riverside District".into(),
                tier: Tier::District as i32,
            }),
            week: "2026-W51".into(),
            // 2026-12-14 00:00 and 2026-12-21 00:00 in Shanghai.
            week_start_time: ts(1_797_177_600),
            week_end_time: ts(1_797_782_400),
            requests: 12,
            prior_mean: 6.5,
            rising: vec![RisingProblem {
                category_code: "sanitation.garbage".into(),
                category_name: "垃圾未清运".into(),
                count: 3,
                prior_mean: 1.0,
                ratio: Some(3.0),
                prior_weeks: vec![1, 1, 1, 1],
                ..Default::default()
            }],
            overdue: vec![DigestEvent {
                order: Some(order("HL00000042")),
                event: "breached".into(),
                time: ts(1_797_724_800),
                unit_id: "t-harbour".into(),
                unit_name: "Harbour Street".into(),
            }],
            overdue_orders: 1,
            ..Default::default()
        }
    }

    #[test]
    fn the_digest_reads_as_sentences_and_aligned_tables() {
        let text = digest_text(&sample());
        assert!(
            text.starts_with(
                "Weekly digest (民情摘报) of Riverside District (d-riverside), week 2026-W51, 2026-12-14 – 2026-12-20"
            ),
            "{text}"
        );
        assert!(text.contains("12 requests this week; 6.5 a week"), "{text}");
        assert!(text.contains("sanitation.garbage │ 垃圾未清运"), "{text}");
        assert!(text.contains("3.0×"), "{text}");
        assert!(text.contains("Harbour Street (t-harbour)"), "{text}");
        assert!(
            text.contains("3 d 5 h"),
            "durations read as people say them: {text}"
        );
        // Empty sections say so.
        assert!(text.contains("New hot spots"), "{text}");
        assert_eq!(text.matches("None.\n").count(), 2, "{text}");
        assert!(text.contains("Bounced: 0 order(s)"), "{text}");
        assert!(!text.contains("ORDER_STATE_"), "{text}");
        // No line ends in blanks; every row's rules stand under its
        // header's, in display columns (CJK characters take two).
        assert!(text.lines().all(|l| l == l.trim_end()), "{text:?}");
        assert_eq!(
            crate::table::aligned_tables(&text).map_err(|e| format!("{e} in\n{text}")),
            Ok(2)
        );
    }

    #[test]
    fn the_digest_json_names_units_and_keeps_instants_in_microseconds() {
        let v = digest_json(&sample());
        assert_eq!(v["area"]["name"], "Riverside District");
        assert_eq!(v["rising"][0]["ratio"], 3.0);
        assert_eq!(v["overdue"][0]["order"]["state"], "dispatched");
        assert_eq!(
            v["overdue"][0]["order"]["business_time_us"],
            (3 * 86_400 + 5 * 3_600) as u64 * 1_000_000
        );
        assert_eq!(v["week_start_us"], 1_797_177_600_i64 * 1_000_000);
    }
}
