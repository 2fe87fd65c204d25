//! The comparison: two scenarios on the same seed, their figures side by
//! side in a table and in paired charts, then each one's own charts.

use std::fmt::Write;

use serde_json::{Value, json};

use super::charts::{self, Bars, series};
use super::{bins, column, download, esc, fmt, head, human, num, sections};
use crate::report::Report;

/// The figures a comparison sets side by side: (label, pointer).
const COMPARED: &[(&str, &str)] = &[
    ("contacts", "/volume/contacts"),
    ("dispatched", "/volume/dispatched"),
    ("objections", "/disputes/objections"),
    ("redirects", "/disputes/redirects"),
    ("bounce-limit hits", "/disputes/bounce_limit_hits"),
    ("ruling time p50 (min)", "/disputes/ruling_time/p50_minutes"),
    ("ruling time p90 (min)", "/disputes/ruling_time/p90_minutes"),
    ("rulings overdue", "/disputes/ruling_overdue"),
    ("whistles", "/escalations/whistles"),
    ("missed check-ins", "/escalations/missed_check_ins"),
    (
        "check-in p50 (min)",
        "/escalations/check_in_latency/p50_minutes",
    ),
    ("overdue orders", "/overdue_by_tier/overdue_orders"),
    ("reopened", "/volume/reopened"),
];

/// Both summaries and their differences.
pub fn compare_json(a: &Report, b: &Report) -> Value {
    let av = serde_json::to_value(&a.summary).unwrap_or_default();
    let bv = serde_json::to_value(&b.summary).unwrap_or_default();
    let diffs: Vec<Value> = COMPARED
        .iter()
        .map(|(label, p)| {
            let x = av.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
            let y = bv.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
            json!({"figure": label, "a": x, "b": y, "difference": ((y - x) * 10.0).round() / 10.0})
        })
        .collect();
    json!({"a": a, "b": b, "differences": diffs})
}

pub fn print_compare(a: &Report, b: &Report) {
    let cmp = compare_json(a, b);
    let mut t = hotline_client::table::Table::new([
        "figure",
        a.summary.scenario.as_str(),
        b.summary.scenario.as_str(),
        "B − A",
    ])
    .right(&[1, 2, 3]);
    for d in cmp["differences"].as_array().into_iter().flatten() {
        t.row([
            d["figure"].as_str().unwrap_or("").to_string(),
            fmt(num(&d["a"])),
            fmt(num(&d["b"])),
            fmt(num(&d["difference"])),
        ]);
    }
    print!("{t}");
}

/// The comparison page: a table and paired charts.
pub fn compare_page(a: &Report, b: &Report) -> String {
    let (na, nb) = (a.summary.scenario.as_str(), b.summary.scenario.as_str());
    let mut out = head(&format!("Comparison: {na} vs {nb}"));
    let cmp = compare_json(a, b);
    out += &download(&cmp, &format!("compare-{na}-{nb}.json"));
    let _ = write!(
        out,
        "<p>Same seed ({}) for both.</p><table><tr><th></th><th>{}</th><th>{}</th><th>B − A</th></tr>",
        a.summary.seed,
        esc(na),
        esc(nb)
    );
    let mut labels = Vec::new();
    let (mut va, mut vb) = (Vec::new(), Vec::new());
    for d in cmp["differences"].as_array().into_iter().flatten() {
        let label = d["figure"].as_str().unwrap_or("").to_string();
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&label),
            fmt(num(&d["a"])),
            fmt(num(&d["b"])),
            fmt(num(&d["difference"]))
        );
        labels.push(label);
        va.push(num(&d["a"]));
        vb.push(num(&d["b"]));
    }
    out += "</table>";
    let pick = |keys: &[&str]| {
        let idx: Vec<usize> = labels
            .iter()
            .enumerate()
            .filter(|(_, l)| keys.iter().any(|k| l.starts_with(k)))
            .map(|(i, _)| i)
            .collect();
        (
            idx.iter().map(|i| human(&labels[*i])).collect::<Vec<_>>(),
            idx.iter().map(|i| va[*i]).collect::<Vec<_>>(),
            idx.iter().map(|i| vb[*i]).collect::<Vec<_>>(),
        )
    };
    let paired = |title: &str, (l, x, y): (Vec<String>, Vec<f64>, Vec<f64>), axis: &str| {
        charts::bars(&Bars {
            title,
            categories: l,
            series: vec![series(na, x), series(nb, y)],
            category_axis: "figure",
            value_axis: axis,
            counts: axis.ends_with("(count)"),
            upright: false,
        })
    };
    out += &paired(
        "Times",
        pick(&["ruling time", "check-in"]),
        "time (minutes)",
    );
    out += &paired(
        "Counts",
        pick(&[
            "objections",
            "redirects",
            "bounce-limit",
            "rulings overdue",
            "whistles",
            "missed",
            "overdue",
            "reopened",
        ]),
        "events (count)",
    );
    let ha = column(&a.summary.disputes["ruling_time_histogram_hours"]);
    let hb = column(&b.summary.disputes["ruling_time_histogram_hours"]);
    out += &charts::bars(&Bars {
        title: "Time from objection to ruling",
        categories: bins(ha.len(), 2),
        series: vec![series(na, ha), series(nb, hb)],
        category_axis: "hours from objection to ruling (2-hour bins)",
        value_axis: "rulings (count)",
        counts: true,
        upright: true,
    });
    let _ = write!(out, "<h2>A: {}</h2>", esc(na));
    out += &sections(a);
    let _ = write!(out, "<h2>B: {}</h2>", esc(nb));
    out += &sections(b);
    out + "</body></html>"
}
