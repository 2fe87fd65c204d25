//! An order's timeline at `/orders/{id}`: the rows `hotline trace` prints
//! (its data function, `hotline_client::trace`): every step with the
//! business time since intake and since the step before, every handoff
//! between units with the latency of the call through the gateway, each
//! lead assignment's dispatch→accept→contact→reply times; and where the
//! order's spans are in Jaeger.
//!
//! The dashboard reads the order in the operations form (the centre gives
//! the web front's other reads the citizen's): every step with its
//! detail, every assignment, and the trace id, which the Jaeger link
//! opens; an order without one is searched by its `hotline.order_id`.

use std::time::Duration;

use hotline_client::duration::human;
use serde_json::Value;

use super::page::{bi, encode, esc, section, table, td};

/// Seconds from the trace as a human duration; "—" when not reached.
fn span(secs: &Value) -> String {
    secs.as_f64()
        .map(|s| human(Duration::try_from_secs_f64(s).unwrap_or_default()))
        .unwrap_or_else(|| "—".into())
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// A proto enum name as a word: `ORDER_STATE_REPLIED` → `replied`.
fn word(v: &Value, prefix: &str) -> String {
    text(v)
        .trim_start_matches(prefix)
        .to_lowercase()
        .replace('_', " ")
}

/// Where Jaeger shows the order's spans: its trace, or else a search by
/// the attribute every span of the order carries.
pub fn jaeger_link(base: &str, order_id: &str, trace_id: Option<&str>) -> String {
    if let Some(id) = trace_id {
        return format!("{}/trace/{}", base.trim_end_matches('/'), encode(id));
    }
    let tags = format!("{{\"hotline.order_id\":\"{order_id}\"}}");
    format!(
        "{}/search?service=hotline-gateway&tags={}",
        base.trim_end_matches('/'),
        encode(&tags)
    )
}

/// The timeline's sections.
pub fn body(t: &Value, order_id: &str, jaeger: &str) -> String {
    let due = match t["due"].as_str() {
        Some(due) if t["overdue"] == true => format!(
            "{} {} <b class=\"overdue\">{}</b>",
            bi("时限", "due"),
            esc(due),
            bi("已超期", "overdue")
        ),
        Some(due) => format!("{} {}", bi("时限", "due"), esc(due)),
        None => String::new(),
    };
    let head = format!(
        "<p class=\"order\" data-order=\"{}\" data-state=\"{}\"><b>{}</b> · {} <b>{}</b> · {} {} · {due}</p>\
         <p class=\"trace\">{} <a href=\"{}\" rel=\"noopener\">{}</a> <small>{}</small></p>",
        esc(order_id),
        esc(&word(&t["state"], "ORDER_STATE_")),
        esc(text(&t["order"])),
        bi("状态", "state"),
        esc(&word(&t["state"], "ORDER_STATE_")),
        bi("受理", "received"),
        esc(text(&t["received"])),
        bi("链路追踪", "Trace"),
        esc(&jaeger_link(jaeger, order_id, t["trace_id"].as_str())),
        bi(
            "在 Jaeger 中查看此工单的全部链路",
            "this order's spans in Jaeger"
        ),
        match t["trace_id"].as_str() {
            Some(id) => format!("trace <code class=\"trace-id\">{}</code>", esc(id)),
            None => bi("按 hotline.order_id 检索", "found by hotline.order_id"),
        },
    );
    let steps: Vec<String> = t["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "<tr data-seq=\"{}\" data-unit=\"{}\" data-action=\"{}\">{}{}{}{}{}</tr>",
                s["seq"].as_u64().unwrap_or(0),
                esc(text(&s["unit"])),
                esc(text(&s["action"])),
                td(&span(&s["business_s"])),
                td(&span(&s["since_previous_s"])),
                td(text(&s["unit"])),
                td(text(&s["action"])),
                td(text(&s["detail"])),
            )
        })
        .collect();
    let handoffs: Vec<String> = t["handoffs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            let took = h["rpc_latency_ms"]
                .as_f64()
                .map(|ms| human(Duration::try_from_secs_f64(ms / 1e3).unwrap_or_default()))
                .unwrap_or_else(|| "—".into());
            format!(
                "<tr data-from=\"{}\" data-to=\"{}\" data-call=\"{}\" data-latency-ms=\"{}\">{}{}{}{}{}{}</tr>",
                esc(text(&h["from"])),
                esc(text(&h["to"])),
                esc(text(&h["call"])),
                h["rpc_latency_ms"].as_f64().unwrap_or(0.0),
                td(&span(&h["business_s"])),
                td(text(&h["from"])),
                td(text(&h["to"])),
                td(text(&h["call"])),
                td(&took),
                td(&h["attempts"].as_u64().unwrap_or(0).to_string()),
            )
        })
        .collect();
    let assignments: Vec<String> = t["assignments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            format!(
                "<tr data-unit=\"{}\" data-role=\"{}\">{}{}{}{}{}{}{}</tr>",
                esc(text(&a["unit"])),
                esc(&word(&a["role"], "ASSIGNMENT_ROLE_")),
                td(text(&a["unit"])),
                td(&word(&a["role"], "ASSIGNMENT_ROLE_")),
                td(&a["epoch"].as_u64().unwrap_or(0).to_string()),
                td(&span(&a["dispatch_to_accept_s"])),
                td(&span(&a["accept_to_contact_s"])),
                td(&span(&a["dispatch_to_reply_s"])),
                td(a["due"].as_str().unwrap_or("—")),
            )
        })
        .collect();
    let mut out = section("order", "工单时间线", "Order timeline", &head);
    out += &section(
        "steps",
        "步骤",
        "Steps, in business time since intake",
        &table(
            "steps",
            &[
                ("距受理", "Since intake"),
                ("距上一步", "After the step before"),
                ("单位", "Unit"),
                ("动作", "Action"),
                ("详情", "Detail"),
            ],
            &steps,
        ),
    );
    let handoffs = if handoffs.is_empty() {
        format!(
            "<p class=\"note\">{}</p>",
            bi(
                "没有经网关的单位间交接",
                "No handoff between units went through the gateway"
            )
        )
    } else {
        table(
            "handoffs",
            &[
                ("距受理", "Since intake"),
                ("发出", "From"),
                ("接收", "To"),
                ("调用", "Call"),
                ("耗时", "Call took"),
                ("尝试", "Attempts"),
            ],
            &handoffs,
        )
    };
    out += &section(
        "handoffs",
        "交接",
        "Handoffs between units, through the gateway",
        &handoffs,
    );
    out += &section(
        "assignments",
        "承办",
        "Assignments (— : not reached)",
        &table(
            "assignments",
            &[
                ("单位", "Unit"),
                ("角色", "Role"),
                ("轮次", "Epoch"),
                ("派单→签收", "Dispatch → accept"),
                ("签收→联系", "Accept → contact"),
                ("派单→答复", "Dispatch → reply"),
                ("时限", "Due"),
            ],
            &assignments,
        ),
    );
    let unreachable = hotline_client::trace::unreachable_services(t);
    if !unreachable.is_empty() {
        out += &format!(
            "<p class=\"note error\">{} {}</p>",
            bi(
                "未显示（服务未应答）的交接",
                "Not shown: the handoffs kept by"
            ),
            esc(&unreachable.join(", "))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_step_and_handoff_is_a_row_naming_its_units() {
        let t = json!({
            "order": "orders/HL1", "state": "ORDER_STATE_REPLIED",
            "received": "2026-11-16 09:00:00", "due": "2026-11-17 09:00:00", "overdue": false,
            "steps": [
                {"seq": 1, "business_s": 0.0, "since_previous_s": 0.0, "unit": "city", "action": "received"},
                {"seq": 2, "business_s": 7500.0, "since_previous_s": 7500.0, "unit": "t-harbour", "action": "replied"},
            ],
            "handoffs": [{"business_s": 0.01, "from": "city", "to": "t-harbour", "call": "DeliverAssignment", "rpc_latency_ms": 3.27, "attempts": 1}],
            "assignments": [{"unit": "t-harbour", "role": "ASSIGNMENT_ROLE_LEAD", "epoch": 1,
                "dispatch_to_accept_s": 1800.0, "accept_to_contact_s": null, "dispatch_to_reply_s": null, "due": null}],
            "unreachable_services": ["township"],
        });
        let html = body(&t, "HL1", "http://127.0.0.1:16686/");
        assert!(html.contains("<tr data-seq=\"2\" data-unit=\"t-harbour\" data-action=\"replied\"><td>2 h 05 min</td>"), "{html}");
        assert!(html.contains("data-from=\"city\" data-to=\"t-harbour\" data-call=\"DeliverAssignment\" data-latency-ms=\"3.27\""), "{html}");
        assert!(html.contains("<td>3.3 ms</td>"), "{html}");
        assert!(html.contains("http://127.0.0.1:16686/search?service=hotline-gateway&amp;tags=%7B%22hotline.order_id%22%3A%22HL1%22%7D"), "{html}");
        assert!(html.contains("township"), "the silent service is named");
        assert!(!html.contains("null"), "{html}");
        let mut traced = t.clone();
        traced["trace_id"] = json!("4bf92f3577b34da6a3ce929d0e0e4736");
        let html = body(&traced, "HL1", "http://127.0.0.1:16686/");
        assert!(
            html.contains("href=\"http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736\""),
            "{html}"
        );
    }
}
