//! The weekly digest (民情摘报) at `/digest` (`?week=2026-W49` for
//! another week): what `hotline digest` prints, for the operator's area
//! (the city, or their district): problems rising, new hot spots, repeat
//! requesters by pseudonym only, the orders overdue and bounced.

use std::fmt::Write as _;
use std::time::Duration;

use hotline_client::duration::human;
use hotline_client::instant::show_instant;
use hotline_proto::v1::*;
use hotline_runtime::wire::micros;

use super::page::{bi, esc, note, order_link, section, table, td};

fn at(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .map_or(String::new(), |t| show_instant(micros(t)))
}

fn day(t: &Option<prost_types::Timestamp>, last: bool) -> String {
    t.as_ref().map_or(String::new(), |t| {
        let us = micros(t) - i64::from(last);
        show_instant(us)[..10].to_string()
    })
}

fn business(d: &Option<prost_types::Duration>) -> String {
    d.as_ref().map_or("—".into(), |d| {
        human(Duration::new(
            u64::try_from(d.seconds).unwrap_or(0),
            u32::try_from(d.nanos).unwrap_or(0),
        ))
    })
}

fn state(s: i32) -> String {
    OrderState::try_from(s)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("ORDER_STATE_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

fn order_cells(o: &Option<DigestOrder>) -> String {
    let o = o.clone().unwrap_or_default();
    format!(
        "<td>{}</td>{}{}{}{}",
        order_link(&o.order_id),
        td(&o.category_name),
        td(&state(o.state)),
        td(&o.territory_name),
        td(&business(&o.business_time)),
    )
}

const ORDER_HEAD: [(&str, &str); 5] = [
    ("工单", "Order"),
    ("事项", "Item"),
    ("状态", "State"),
    ("属地", "Territory"),
    ("办理用时", "Business time"),
];

fn events(events: &[DigestEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "<tr data-event=\"{}\">{}{}{}{}</tr>",
                esc(&e.event),
                td(&at(&e.time)),
                td(&e.event),
                td(&e.unit_name),
                order_cells(&e.order)
            )
        })
        .collect()
}

/// The digest's sections.
pub fn body(r: &GetDigestResponse) -> String {
    let area = r.area.clone().unwrap_or_default();
    let mut out = format!(
        "<p class=\"digest\" data-area=\"{}\" data-week=\"{}\"><b>{}</b> · {} {} ({} – {}) · {} <b class=\"requests\">{}</b> · {} {:.1}</p>",
        esc(&area.unit_id),
        esc(&r.week),
        esc(&area.name),
        bi("周", "week"),
        esc(&r.week),
        day(&r.week_start_time, false),
        day(&r.week_end_time, true),
        bi("本周诉求", "requests this week"),
        r.requests,
        bi("前四周周均", "a week over the four weeks before"),
        r.prior_mean
    );
    let _ = write!(
        out,
        "<form class=\"week\" action=\"/digest\" method=\"get\"><label for=\"week\">{}</label> \
         <input id=\"week\" name=\"week\" value=\"{}\" pattern=\"[0-9]{{4}}-W[0-9]{{2}}\" size=\"9\"> \
         <button type=\"submit\">{}</button></form><p class=\"note\">{}</p>",
        bi("另一周", "Another week"),
        esc(&r.week),
        bi("查看", "Open"),
        bi(
            "规则见 docs/assessment.md「The weekly digest」",
            "The rules: docs/assessment.md, \"The weekly digest\""
        )
    );
    let mut all = section("digest", "民情摘报", "Weekly digest", &out);

    let rising: Vec<String> = r
        .rising
        .iter()
        .map(|p| {
            let prior: Vec<String> = p.prior_weeks.iter().map(u64::to_string).collect();
            format!(
                "<tr data-item=\"{}\">{}{}{}{}{}</tr>",
                esc(&p.category_code),
                td(&format!("{} · {}", p.group_name, p.category_name)),
                td(&p.count.to_string()),
                td(&format!("{:.1}", p.prior_mean)),
                td(&p.ratio.map_or("新 new".into(), |x| format!("×{x:.1}"))),
                td(&prior.join(" · ")),
            )
        })
        .collect();
    all += &section(
        "rising",
        "上升问题",
        "Problems rising",
        &if rising.is_empty() {
            note(
                "本周没有明显上升的问题",
                "Nothing rose well above the weeks before",
            )
        } else {
            table(
                "rising",
                &[
                    ("事项", "Item"),
                    ("本周", "This week"),
                    ("前四周周均", "Weekly mean before"),
                    ("倍数", "Ratio"),
                    ("前四周", "The four weeks before"),
                ],
                &rising,
            )
        },
    );

    let spots: Vec<String> = r
        .hot_spots
        .iter()
        .map(|h| {
            format!(
                "<tr>{}{}{}{}{}</tr>",
                td(&h.category_name),
                td(&h.township_name),
                td(&h.count.to_string()),
                td(&format!("{:.0} m", h.radius_meters)),
                td(&format!("{:.5}, {:.5}", h.latitude, h.longitude)),
            )
        })
        .collect();
    all += &section(
        "hot-spots",
        "新热点",
        "New hot spots",
        &if spots.is_empty() {
            note("本周没有新热点", "No new hot spot this week")
        } else {
            table(
                "hot-spots",
                &[
                    ("事项", "Item"),
                    ("乡镇街道", "Township"),
                    ("诉求", "Requests"),
                    ("半径", "Radius"),
                    ("中心", "Centre"),
                ],
                &spots,
            )
        },
    );

    let repeat: Vec<String> = r
        .repeat_requesters
        .iter()
        .map(|q| {
            let orders: Vec<String> = q.orders.iter().map(|o| order_link(&o.order_id)).collect();
            format!(
                "<tr>{}{}{}<td>{}</td></tr>",
                td(&q.pseudonym),
                td(&q.orders.len().to_string()),
                td(&q.unresolved.to_string()),
                orders.join(" ")
            )
        })
        .collect();
    all += &section(
        "repeat",
        "重复来电（化名）",
        "Repeat requesters (pseudonyms only)",
        &if repeat.is_empty() {
            note(
                "没有带未解决诉求的重复来电",
                "No repeat requester with an unresolved matter",
            )
        } else {
            table(
                "repeat",
                &[
                    ("化名", "Pseudonym"),
                    ("诉求", "Requests"),
                    ("未解决", "Unresolved"),
                    ("工单", "Orders"),
                ],
                &repeat,
            )
        },
    );

    let mut head = vec![("时间", "When"), ("事件", "Event"), ("单位", "Unit")];
    head.extend(ORDER_HEAD);
    let overdue = events(&r.overdue);
    all += &section(
        "overdue",
        "超期",
        &format!("Overdue ({} orders)", r.overdue_orders),
        &if overdue.is_empty() {
            note("本周没有超期", "No handler limit breached this week")
        } else {
            table("events", &head, &overdue)
        },
    );
    let bounced = events(&r.bounced);
    all += &section(
        "bounced",
        "退单与重办",
        &format!("Objected and reopened ({} orders)", r.bounced_orders),
        &if bounced.is_empty() {
            note("本周没有退单或重办", "No objection or reopen this week")
        } else {
            table("events", &head, &bounced)
        },
    );
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_week_says_so_in_every_section() {
        let r = GetDigestResponse {
            area: Some(DigestUnit {
                unit_id: "city".into(),
                name: "Demo City".into(),
                tier: 1,
            }),
            week: "2026-W47".into(),
            ..Default::default()
        };
        let html = body(&r);
        for id in [
            "digest",
            "rising",
            "hot-spots",
            "repeat",
            "overdue",
            "bounced",
        ] {
            assert!(html.contains(&format!("<section id=\"{id}\"")), "{id}");
        }
        assert!(html.contains("data-week=\"2026-W47\""));
        assert!(html.contains("No new hot spot this week"));
    }
}
