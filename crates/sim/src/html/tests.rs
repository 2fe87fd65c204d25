//! What an analyst checks on the page: titled axes from zero, names
//! rather than ids, the map's names and scale, the published figures
//! beside the simulated ones, and the JSON as a download.

use base64::Engine;
use serde_json::json;

use super::*;

fn demo_topology() -> Topology {
    Topology::parse("demo-city.toml", hotline_node::DEMO_TOPOLOGY).unwrap()
}

/// A report shaped as `collect` writes one, on the demo city's units.
fn sample() -> Report {
    let entry = |unit: &str, name: &str, rank: u32| {
        json!({"unit": unit, "name": name, "rank": rank,
               "response": {"value": 0.9}, "resolution": {"value": 0.8},
               "satisfaction": {"value": 0.7}, "composite": 0.8, "dispatched": 10})
    };
    let by_type = |shares: [f64; 5]| {
        let mut m = serde_json::Map::new();
        for ((k, _), s) in PUBLISHED_SHARES.iter().zip(shares) {
            m.insert(
                k.to_string(),
                json!({"count": s as u64, "share_percent": s}),
            );
        }
        Value::Object(m)
    };
    let summary = json!({
        "scenario": "demo", "seed": 1, "start": "2026-11-16T00:00", "days": 3.0,
        "policy": {},
        "volume": {"contacts": 900, "dispatched": 400, "consultation_share": 0.561},
        "handler_shares": {
            "published_source": "Beijing's three-year data report",
            "at_intake": {"denominator": "lead assignments at intake", "total": 100,
                          "by_type": by_type([30.0, 40.0, 20.0, 8.0, 2.0])},
            "final_leads": {"denominator": "final leads", "total": 100,
                            "by_type": by_type([35.0, 45.0, 12.0, 6.0, 2.0])},
            "final_handlers": {"denominator": "all handlers", "total": 120,
                               "by_type": by_type([35.0, 45.0, 12.0, 6.0, 2.0])},
        },
        "disputes": {
            "objections": 12, "redirects": 3, "bounce_limit_hits": 1, "ruling_overdue": 0,
            "by_unit_pair": [
                {"pair": "t-pine → dept-urban", "objections": 9},
                {"pair": "t-lake → t-pine", "objections": 1},
            ],
            "by_category": {"urban": 9, "utilities": 3},
            "ruling_time_histogram_hours": [0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        },
        "escalations": {
            "whistles": 2, "summonses": {"checked_in": 2, "missed": 1},
            "check_in_histogram_hours": [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        },
        "overdue_by_tier": {"overdue_orders": 5, "late_leads_by_tier": {
            "township": {"leads_of_overdue_orders": 4, "late": 3},
            "department": {"leads_of_overdue_orders": 1, "late": 1}}},
        "rates": {"months": {"2026-11": {
            "peer_groups": {"township": {}},
            "rankings": {"rankings": [{"peer_group": "township", "within": "", "entries": [
                entry("t-pine", "Pine Town", 1),
                entry("t-lake", "Lake Town", 2),
                entry("dept-urban", "City Urban Management Commission", 3),
            ]}]}}}},
        "city_rates": {},
        "rates_over_time": [
            {"day": 1.0, "response": null, "resolution": null, "satisfaction": null},
            {"day": 2.0, "response": 0.95, "resolution": 0.8, "satisfaction": 0.75},
            {"day": 3.0, "response": 0.97, "resolution": 0.85, "satisfaction": 0.8},
        ],
        "volume_by_township": {"t-pine": 120, "t-lake": 3, "t-harbour": 60},
        "daily": [
            {"day": 0, "received": 300, "dispatched": 130, "closed": 20},
            {"day": 1, "received": 310, "dispatched": 140, "closed": 90},
            {"day": 2, "received": 290, "dispatched": 130, "closed": 150},
        ],
        "proactive": {"tasks": [{"category": "utilities", "effect": 0.5, "issued": [],
            "days": [{"day": 0, "matching": 5, "prevented": 0},
                     {"day": 1, "matching": 6, "prevented": 3}]}]},
        "simulation": {}, "knowledge": {},
        "inputs": [
            {"input": "arrivals.consultation_share", "value": 0.585, "basis": "fitted",
             "fitted_to": "consultations 58.5 % of contacts, 2019–2021", "source": "DESIGN.md §9"},
            {"input": "catalogue routing", "value": "demo-city.toml", "basis": "fitted",
             "fitted_to": "the handler shares 37.8 / 36.0 / 16.1 / 7.4 / 2.7 % at intake",
             "source": "seeds/003"},
        ],
        "outputs": {"answered_at_intake_percent": 12.5},
    });
    let mut r = Report {
        summary: serde_json::from_value(summary).unwrap(),
        timings: crate::report::Timings {
            transport: "inproc".into(),
            backend: "sqlite".into(),
            ..Default::default()
        },
        map_svg: String::new(),
        evidence: Value::Null,
    };
    r.map_svg = volume_map(&demo_topology(), &r);
    r
}

/// Each `<figure class="chart">`: its axis titles (from the figure's
/// attributes) and its SVG.
fn chart_figures(page: &str) -> Vec<(String, String, String)> {
    let attr = |f: &str, name: &str| {
        let start = f.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        f[start..start + f[start..].find('"').unwrap()].to_string()
    };
    page.split("<figure class=\"chart\"")
        .skip(1)
        .map(|f| {
            let svg = &f[f.find("<svg").unwrap()..f.find("</svg>").unwrap()];
            (
                attr(f, "data-x-axis"),
                attr(f, "data-y-axis"),
                svg.to_string(),
            )
        })
        .collect()
}

/// The `<text>` elements of an SVG: (opening tag, content trimmed).
fn texts(svg: &str) -> Vec<(&str, &str)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let open = t.find('>')?;
            let close = t.find("</text>")?;
            Some((&t[..open], t[open + 1..close].trim()))
        })
        .collect()
}

#[test]
fn every_chart_has_both_axis_titles_and_a_zero_tick() {
    let page = page(&sample());
    let figures = chart_figures(&page);
    // Volume, rates, four dispute charts, two escalation charts, overdue,
    // handler shares, one proactive task.
    assert_eq!(figures.len(), 11, "{page}");
    for (x, y, svg) in &figures {
        let t = texts(svg);
        assert!(!x.is_empty() && !y.is_empty(), "untitled axis in {svg}");
        assert!(
            t.iter().any(|(_, s)| *s == x.as_str()),
            "x axis title {x:?} not drawn: {svg}"
        );
        // plotters turns the left axis's title upright.
        assert!(
            t.iter()
                .any(|(tag, s)| *s == y.as_str() && tag.contains("rotate(270")),
            "y axis title {y:?} not drawn upright: {svg}"
        );
        // A tick label "0" on an axis (left: right-aligned; bottom:
        // centred, hanging), not a bar's value.
        let zero_tick = t.iter().any(|(tag, s)| {
            *s == "0"
                && ((tag.contains("text-anchor=\"end\"") && tag.contains("dy=\"0.5ex\""))
                    || (tag.contains("text-anchor=\"middle\"") && tag.contains("dy=\"0.76em\"")))
        });
        assert!(zero_tick, "no zero tick in the chart of {y:?}: {svg}");
        // Gridlines (light grey) at the value ticks: zero and at least
        // one above it.
        assert!(
            svg.matches("<line opacity=\"1\" stroke=\"#DDDDDD\"")
                .count()
                >= 2,
            "no gridlines in {svg}"
        );
    }
}

#[test]
fn charts_name_units_and_handler_types_rather_than_ids() {
    let page = page(&sample());
    let svgs: String = chart_figures(&page).into_iter().map(|f| f.2).collect();
    assert!(
        svgs.contains("Pine Town → City Urban Management Commission"),
        "{svgs}"
    );
    assert!(svgs.contains("Lake Town → Pine Town"), "{svgs}");
    assert!(svgs.contains("District departments"), "{svgs}");
    for id in ["t-pine", "dept-urban", "district_departments", "checked_in"] {
        assert!(!svgs.contains(id), "{id} in a chart");
    }
}

#[test]
fn a_count_of_one_beside_a_thousand_is_drawn_and_labelled() {
    let svg = charts::bars(&Bars {
        title: "t",
        categories: vec!["many".into(), "one".into(), "none".into()],
        series: vec![series("n", vec![1000.0, 1.0, 0.0])],
        category_axis: "what",
        value_axis: "n (count)",
        counts: true,
        upright: false,
    });
    let bars: Vec<&str> = svg
        .split("<rect")
        .filter(|r| r.to_lowercase().contains("fill=\"#4e79a7\""))
        .collect();
    assert_eq!(bars.len(), 2, "the one and the thousand: {svg}");
    let width = |r: &str| -> f64 {
        let w = &r[r.find("width=\"").unwrap() + 7..];
        w[..w.find('"').unwrap()].parse().unwrap()
    };
    assert!(width(bars[1]) >= 2.0, "{svg}");
    let labels: Vec<&str> = texts(&svg)
        .into_iter()
        .filter(|(tag, _)| tag.contains("text-anchor=\"start\""))
        .map(|(_, s)| s)
        .collect();
    assert_eq!(labels, ["1000", "1", "0"], "{svg}");
}

#[test]
fn the_map_names_every_township_and_has_a_colour_scale() {
    let r = sample();
    let t = demo_topology();
    let map = &r.map_svg;
    let townships: Vec<_> = t
        .units()
        .filter(|u| u.tier == hotline_core::Tier::Township)
        .collect();
    assert_eq!(townships.len(), 4);
    let labels: Vec<&str> = map
        .split("<text class=\"township\"")
        .skip(1)
        .map(|l| &l[l.find('>').unwrap() + 1..l.find("<tspan").unwrap()])
        .collect();
    for u in &townships {
        assert!(
            labels.contains(&u.name.as_str()),
            "{} not labelled: {map}",
            u.name
        );
        assert!(map.contains(&format!("<title>{} — ", u.name)), "{}", u.name);
    }
    // The scale: the ramp, and ticks from zero past the busiest (120).
    assert!(map.contains("class=\"scale\"") && map.contains("url(#township-ramp)"));
    let scale = &map[map.find("class=\"scale\"").unwrap()..];
    let ticks: Vec<&str> = texts(scale)
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| s.parse::<f64>().is_ok())
        .collect();
    assert_eq!(ticks.first(), Some(&"0"), "{scale}");
    assert!(
        ticks.last().unwrap().parse::<f64>().unwrap() >= 120.0,
        "{scale}"
    );
    // Busier is darker: Pine Town (120) against Lake Town (3).
    let fill = |name: &str| {
        let at = map.find(&format!("<title>{name} — ")).unwrap();
        let poly = &map[map[..at].rfind("<polygon").unwrap()..at];
        let f = &poly[poly.find("fill=\"rgb(").unwrap() + 10..];
        f[..f.find(')').unwrap()]
            .split(',')
            .map(|c| c.parse::<u32>().unwrap())
            .sum::<u32>()
    };
    assert!(fill("Pine Town") < fill("Lake Town"));
}

#[test]
fn the_calibration_gap_is_stated_beside_the_handler_shares() {
    let page = page(&sample());
    let at = page.find("Share of requests by handler type").unwrap();
    let block = &page[page[..at].rfind("<div class=\"beside\">").unwrap()..];
    let aside = &block[block.find("<aside>").unwrap()..block.find("</aside>").unwrap()];
    // Townships: 40.0 % at intake against 36.0 % published.
    assert!(
        aside.contains("<td>Townships</td><td>36.0</td><td>40.0</td><td>+4.0</td>"),
        "{aside}"
    );
    assert!(
        aside.contains("Largest gap at intake: District departments, -7.8 points"),
        "{aside}"
    );
    assert!(
        aside.contains("fitted to the handler shares 37.8"),
        "{aside}"
    );
    // And the consultations' share beside the volume.
    assert!(page.contains("consultations 56.1% of contacts"), "{page}");
    assert!(page.contains("Published: consultations 58.5 % of contacts"));
}

#[test]
fn the_json_is_a_download_and_not_a_dump() {
    let r = sample();
    let page = page(&r);
    assert!(!page.contains("<pre"), "a raw dump");
    assert!(!page.contains("<script"), "no script");
    let prefix = "href=\"data:application/json;base64,";
    let at = page.find(prefix).unwrap() + prefix.len();
    let encoded = &page[at..at + page[at..].find('"').unwrap()];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let got: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(got, serde_json::to_value(&r).unwrap());
    assert!(page.contains("download=\"report-demo-seed1.json\""));
}

#[test]
fn the_comparison_page_draws_its_charts_the_same_way() {
    let (a, b) = (sample(), sample());
    let page = compare_page(&a, &b);
    let figures = chart_figures(&page);
    assert_eq!(figures.len(), 3 + 2 * 11);
    assert!(!page.contains("<pre") && page.contains("data:application/json;base64,"));
}
