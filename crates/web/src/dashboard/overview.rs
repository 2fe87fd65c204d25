//! The overview at `/`: the three rates of the operator's area and of
//! each unit under it, the rankings by peer group, the map, the deadlines
//! due soon and the whistles open.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hotline_charts::charts::{self, Bars, series};
use hotline_charts::map::{self, BLUES, Map, REDS, Shade};
use hotline_client::instant::show_instant;
use hotline_core::{Tier, Topology, Unit};
use hotline_proto::v1::*;
use hotline_runtime::wire::{WireEnum, micros};
use serde_json::Value;

use super::access::Viewer;
use super::data::{DEADLINES_SHOWN, ranked_cards};
use super::page::{bi, esc, note, order_link, rate_cell, section, table, td, unavailable};

/// What the map is shaded by (`?colour=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Lead assignments dispatched this month.
    Volume,
    /// Overdue over dispatched.
    Overdue,
}

impl Colour {
    pub fn parse(s: Option<&str>) -> Colour {
        match s {
            Some("overdue") => Colour::Overdue,
            _ => Colour::Volume,
        }
    }
}

/// Everything the overview shows, as read.
pub struct Overview {
    pub rates: Option<Result<RollUpScorecardsResponse, String>>,
    pub rankings: Option<Result<GetRankingsResponse, String>>,
    pub deadlines: Result<Vec<Value>, String>,
    pub whistles: Result<Vec<Whistle>, String>,
}

pub fn body(t: &Topology, v: &Viewer, o: &Overview, colour: Colour) -> String {
    let mut out = rates(t, o);
    out += &rankings(o);
    out += &map_section(t, v, o, colour);
    out += &deadlines(t, o);
    out += &whistles(t, o);
    out
}

const RATE_HEAD: [(&str, &str); 7] = [
    ("单位", "Unit"),
    ("响应率", "Response rate"),
    ("解决率", "Resolution rate"),
    ("满意率", "Satisfaction rate"),
    ("综合", "Composite"),
    ("派单", "Dispatched"),
    ("超期", "Overdue"),
];

fn unit_id(name: &str) -> &str {
    name.trim_start_matches("units/")
}

/// A scorecard's row: its unit, the three rates, composite and counts.
fn card_row(s: &Scorecard, class: &str) -> String {
    let id = unit_id(&s.unit);
    format!(
        "<tr class=\"{class}\" data-unit=\"{}\"><td>{} <small>{}</small></td>{}{}{}{}{}{}</tr>",
        esc(id),
        esc(&s.name),
        esc(id),
        rate_cell("response", &s.response),
        rate_cell("resolution", &s.resolution),
        rate_cell("satisfaction", &s.satisfaction),
        s.composite.map_or("<td>—</td>".into(), |c| format!(
            "<td data-value=\"{c}\">{c:.3}</td>"
        )),
        td(&s.dispatched.to_string()),
        td(&s.overdue.to_string()),
    )
}

fn rates(t: &Topology, o: &Overview) -> String {
    let body = match &o.rates {
        None => note("无权查看", "Not within your roles or scope"),
        Some(Err(e)) => unavailable(e),
        Some(Ok(r)) => {
            let mut rows: Vec<String> = r.combined.iter().map(|s| card_row(s, "total")).collect();
            // The units under it: districts first, then the rest, by tier.
            let mut children = r.children.clone();
            children.sort_by_key(|s| (s.tier, s.unit.clone()));
            rows.extend(children.iter().map(|s| card_row(s, "child")));
            let month = r.combined.as_ref().map_or("", |s| s.month.as_str());
            let mut out = format!(
                "<p>{} {} · {}</p>",
                bi("月份", "Month"),
                esc(month),
                bi(
                    "范围内及其下级单位（含下级全部）",
                    "the area, then each unit under it over its whole subtree"
                )
            );
            out += &table("rates", &RATE_HEAD, &rows);
            for m in &r.missing {
                let _ = write!(
                    out,
                    "<p class=\"note error\">{} {}: {}</p>",
                    bi("缺少", "Missing"),
                    esc(unit_id(&m.unit)),
                    esc(&m.reason)
                );
            }
            out += &rates_chart(t, &children);
            out
        }
    };
    section("rates", "三率", "The three rates", &body)
}

/// The three rates of the districts under the area (or of every unit
/// under it, when it has no districts) as bars.
fn rates_chart(t: &Topology, children: &[Scorecard]) -> String {
    let districts: Vec<&Scorecard> = children
        .iter()
        .filter(|s| s.tier == Tier::District.to_wire())
        .collect();
    let shown: Vec<&Scorecard> = if districts.is_empty() {
        children.iter().collect()
    } else {
        districts
    };
    if shown.is_empty() {
        return String::new();
    }
    let pct = |r: &Option<Rate>| {
        r.as_ref()
            .and_then(|r| r.value)
            .map_or(f64::NAN, |v| v * 100.0)
    };
    let name = |s: &Scorecard| {
        t.unit(unit_id(&s.unit))
            .map_or_else(|| s.name.clone(), |u| u.name.clone())
    };
    charts::bars(&Bars {
        title: "三率 The three rates, this month",
        categories: shown.iter().map(|s| name(s)).collect(),
        series: vec![
            series(
                "响应率 Response",
                shown.iter().map(|s| pct(&s.response)).collect(),
            ),
            series(
                "解决率 Resolved",
                shown.iter().map(|s| pct(&s.resolution)).collect(),
            ),
            series(
                "满意率 Satisfied",
                shown.iter().map(|s| pct(&s.satisfaction)).collect(),
            ),
        ],
        category_axis: "单位 Unit",
        value_axis: "% 百分比 percent",
        counts: false,
        upright: false,
    })
}

/// A peer group's name in both languages.
fn group_label(g: i32) -> (&'static str, &'static str) {
    match PeerGroup::try_from(g).unwrap_or(PeerGroup::Unspecified) {
        PeerGroup::Townships => ("乡镇街道", "Townships and streets"),
        PeerGroup::Districts => ("区", "Districts"),
        PeerGroup::CityDepartments => ("市级部门", "City departments"),
        PeerGroup::DistrictDepartments => ("区级部门", "District departments"),
        PeerGroup::Enterprises => ("公共服务企业", "Public-service enterprises"),
        PeerGroup::CentralUnits => ("中央单位", "Central units"),
        PeerGroup::Unspecified => ("其他", "Other"),
    }
}

/// The peer group as `hotline report --json` names it (`townships`).
fn group_name(g: i32) -> &'static str {
    hotline_core::scoring::PeerGroup::from_wire(g).map_or("unspecified", |g| g.as_str())
}

fn rankings(o: &Overview) -> String {
    let body = match &o.rankings {
        None => note("无权查看", "Not within your roles or scope"),
        Some(Err(e)) => unavailable(e),
        Some(Ok(r)) if r.rankings.is_empty() => note("本月暂无排名", "No rankings this month"),
        Some(Ok(r)) => {
            let mut out = format!("<p>{} {}</p>", bi("月份", "Month"), esc(&r.month));
            for g in &r.rankings {
                let (zh, en) = group_label(g.peer_group);
                let within = if g.within.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", esc(unit_id(&g.within)))
                };
                let unrated: Vec<String> = g.unrated.iter().map(|u| esc(unit_id(u))).collect();
                let attrs = format!(
                    "data-group=\"{}\" data-within=\"{}\"",
                    group_name(g.peer_group),
                    esc(unit_id(&g.within))
                );
                if g.entries.is_empty() {
                    // A group with no unit rated takes one line.
                    let _ = write!(
                        out,
                        "<div class=\"ranking empty\" {attrs}><p class=\"note\"><b>{}{within}</b>: {}{}</p></div>",
                        bi(zh, en),
                        bi("无已评分单位", "no unit rated"),
                        if unrated.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " · {} {}",
                                bi("本月无可评", "nothing to rate:"),
                                unrated.join(", ")
                            )
                        }
                    );
                    continue;
                }
                let _ = write!(
                    out,
                    "<div class=\"ranking\" {attrs}><h3>{}{within}</h3>",
                    bi(zh, en)
                );
                let rows: Vec<String> = g
                    .entries
                    .iter()
                    .filter_map(|e| e.scorecard.as_ref().map(|s| (e.rank, s)))
                    .map(|(rank, s)| {
                        let row = card_row(s, "ranked");
                        row.replacen("<td>", &format!("<td class=\"rank\">{rank}</td><td>"), 1)
                    })
                    .collect();
                let mut head = vec![("名次", "Rank")];
                head.extend(RATE_HEAD);
                out += &table("rankings", &head, &rows);
                if !unrated.is_empty() {
                    let _ = write!(
                        out,
                        "<p class=\"note\">{}: {}</p>",
                        bi("本月无可评", "Nothing to rate this month"),
                        unrated.join(", ")
                    );
                }
                out += "</div>";
            }
            out
        }
    };
    section("rankings", "分组排名", "Rankings by peer group", &body)
}

fn map_section(t: &Topology, v: &Viewer, o: &Overview, colour: Colour) -> String {
    let cards = match &o.rankings {
        Some(Ok(r)) => ranked_cards(r),
        _ => BTreeMap::new(),
    };
    let month = match &o.rankings {
        Some(Ok(r)) => r.month.clone(),
        _ => String::new(),
    };
    let (caption, measure, ramp, top, counts) = match colour {
        Colour::Volume => (
            format!("派单量 Lead assignments dispatched by township, {month}"),
            "派单 dispatched",
            &BLUES,
            None,
            true,
        ),
        Colour::Overdue => (
            format!("超期占比 Overdue share by township, {month}"),
            "% 超期 overdue",
            &REDS,
            Some(100.0),
            false,
        ),
    };
    let m = Map {
        topology: t,
        within: v.scope(),
        caption: &caption,
        measure,
        ramp,
        ramp_id: "map-ramp",
        counts,
        top,
    };
    let svg = map::choropleth(&m, |u| shade(t, &cards, colour, u));
    let switch = format!(
        "<p class=\"switch\">{}: <a href=\"/\"{}>{}</a> · <a href=\"/?colour=overdue\"{}>{}</a></p>",
        bi("着色", "Colour by"),
        if colour == Colour::Volume {
            " aria-current=\"true\""
        } else {
            ""
        },
        bi("派单量", "volume"),
        if colour == Colour::Overdue {
            " aria-current=\"true\""
        } else {
            ""
        },
        bi("超期占比", "overdue share"),
    );
    let body = if svg.is_empty() {
        note(
            "范围内没有带边界的单位",
            "No unit within your scope carries a boundary",
        )
    } else {
        // The units without a territory are listed beside the map.
        let drawn = map::drawn_units(t, v.scope());
        let others: Vec<String> = t
            .units()
            .filter(|u| v.sees(&u.id) && !drawn.contains(&u.id))
            .map(|u| format!("{} <small>{}</small>", esc(&u.name), esc(&u.id)))
            .collect();
        let aside = if others.is_empty() {
            String::new()
        } else {
            format!(
                "<aside><h3>{}</h3><p>{}</p></aside>",
                bi("无辖区的单位", "Units without a territory"),
                others.join(" · ")
            )
        };
        format!("<div class=\"beside\">{svg}{aside}</div>")
    };
    section("map", "地图", "Map", &format!("{switch}{body}"))
}

/// A unit's figure on the map: a township's own (its subtree, this
/// month), a community's its township's, a district's its own.
fn shade(t: &Topology, cards: &BTreeMap<String, Scorecard>, colour: Colour, u: &Unit) -> Shade {
    let figure = |id: &str| -> (Option<f64>, String) {
        let s = cards.get(id);
        let dispatched = s.map_or(0, |s| s.dispatched);
        let overdue = s.map_or(0, |s| s.overdue);
        match colour {
            Colour::Volume => (
                Some(dispatched as f64),
                format!("派单 {dispatched} dispatched, 超期 {overdue} overdue"),
            ),
            Colour::Overdue => (
                (dispatched > 0).then(|| overdue as f64 * 100.0 / dispatched as f64),
                format!("超期 {overdue} overdue of {dispatched} dispatched"),
            ),
        }
    };
    let owner = match u.tier {
        Tier::Community => t
            .parent_of(&u.id)
            .filter(|p| p.tier == Tier::Township)
            .unwrap_or(u),
        _ => u,
    };
    let (value, what) = figure(&owner.id);
    let tip = if owner.id == u.id {
        format!("{} ({}): {what}", u.name, u.id)
    } else {
        format!("{} — {} ({}): {what}", owner.name, u.name, u.id)
    };
    Shade { value, tip }
}

fn deadlines(t: &Topology, o: &Overview) -> String {
    let body = match &o.deadlines {
        Err(e) => unavailable(e),
        Ok(all) if all.is_empty() => note("没有待到期的时限", "No deadline pending"),
        Ok(all) => {
            let rows: Vec<String> = all
                .iter()
                .take(DEADLINES_SHOWN)
                .map(|d| {
                    // A clock of no unit (the callback's) is the centre's.
                    let unit = d["unit"]
                        .as_str()
                        .filter(|u| !u.is_empty())
                        .unwrap_or(&t.city().id);
                    format!(
                        "<tr data-timer=\"{}\">{}{}<td>{}</td><td>{} <small>{}</small></td>{}</tr>",
                        esc(d["timer_id"].as_str().unwrap_or("")),
                        td(d["due"].as_str().unwrap_or("")),
                        td(d["kind"].as_str().unwrap_or("")),
                        order_link(d["order_id"].as_str().unwrap_or("")),
                        esc(t.unit(unit).map_or(unit, |u| u.name.as_str())),
                        esc(unit),
                        td(d["service"].as_str().unwrap_or("")),
                    )
                })
                .collect();
            let mut out = format!(
                "<p>{} {} · {}</p>",
                bi("共", "In all"),
                all.len(),
                bi("最早到期的在前", "soonest first")
            );
            out += &table(
                "deadlines",
                &[
                    ("到期", "Due"),
                    ("类型", "Kind"),
                    ("工单", "Order"),
                    ("单位", "Unit"),
                    ("服务", "Service"),
                ],
                &rows,
            );
            out
        }
    };
    section("deadlines", "即将到期", "Deadlines due soon", &body)
}

fn whistles(t: &Topology, o: &Overview) -> String {
    let name = |id: &str| t.unit(id).map_or(id.to_string(), |u| u.name.clone());
    let body = match &o.whistles {
        Err(e) => unavailable(e),
        Ok(all) if all.is_empty() => note("没有未结的吹哨", "No whistle open"),
        Ok(all) => {
            let rows: Vec<String> = all
                .iter()
                .map(|w| {
                    let kind = WhistleKind::try_from(w.kind)
                        .map(|k| {
                            k.as_str_name()
                                .trim_start_matches("WHISTLE_KIND_")
                                .to_lowercase()
                        })
                        .unwrap_or_default();
                    let summons: Vec<String> = w
                        .summonses
                        .iter()
                        .map(|s| {
                            let due = s
                                .due_time
                                .as_ref()
                                .map_or(String::new(), |d| show_instant(micros(d)));
                            format!(
                                "<li data-department=\"{}\" data-state=\"{}\">{} · {} · {} {}</li>",
                                esc(&s.department),
                                esc(&s.state),
                                esc(&name(&s.department)),
                                esc(&s.state),
                                bi("报到时限", "check in by"),
                                esc(&due)
                            )
                        })
                        .collect();
                    format!(
                        "<tr data-whistle=\"{}\">{}<td>{}</td>{}{}{}<td><ul>{}</ul></td></tr>",
                        esc(&w.whistle_id),
                        td(&w.whistle_id),
                        order_link(&w.order_id),
                        td(&name(&w.from_unit)),
                        td(&name(&w.district_unit)),
                        td(&kind),
                        summons.join("")
                    )
                })
                .collect();
            table(
                "whistles",
                &[
                    ("吹哨", "Whistle"),
                    ("工单", "Order"),
                    ("乡镇街道", "Township"),
                    ("区", "District"),
                    ("类型", "Kind"),
                    ("报到", "Summoned"),
                ],
                &rows,
            )
        }
    };
    section("whistles", "未结吹哨", "Whistles open", &body)
}
