//! The HTML report: one self-contained page (no script, no external
//! resource). Charts are plotters' SVG with titled axes from zero; the
//! township map is shaded on the topology's boundaries; each calibrated
//! figure states the published one beside it; the full JSON report is a
//! download link, not a dump.

mod compare;
mod map;
mod tables;

// The charts are drawn where the web dashboard draws its own.
use hotline_charts::charts;

pub use compare::{compare_json, compare_page, print_compare};

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;
use hotline_core::Topology;
use serde_json::Value;

use charts::{Bars, Lines, series};
use tables::{evidence_tables, ranking_tables, table, text};

use super::report::{PUBLISHED_SHARES, Report, Summary};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt(v: f64) -> String {
    charts::value_label(v)
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// A number, or NaN where the report has none (a gap, not a zero).
fn opt(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// `snake_case` as words: "district_departments" → "District departments".
fn human(k: &str) -> String {
    let s = k.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "(none)".into(),
    }
}

/// Unit names by id, from the rankings: every ranked unit's scorecard
/// names it. A unit no scorecard names keeps its id.
fn unit_names(s: &Summary) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for m in s.rates["months"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, m)| m)
    {
        for g in m["rankings"]["rankings"].as_array().into_iter().flatten() {
            for e in g["entries"].as_array().into_iter().flatten() {
                if let (Some(id), Some(name)) = (e["unit"].as_str(), e["name"].as_str())
                    && !name.is_empty()
                {
                    names.insert(id.to_string(), name.to_string());
                }
            }
        }
    }
    names
}

/// Keys and values of a JSON object, keys as words.
fn entries(v: &Value) -> (Vec<String>, Vec<f64>) {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (human(k), num(v))).unzip())
        .unwrap_or_default()
}

fn column(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

/// The labels of `n` bins of `width` hours, the last open-ended.
fn bins(n: usize, width: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i + 1 == n {
            true => format!("≥{}", i * width),
            false => format!("{}–{}", i * width, (i + 1) * width),
        })
        .collect()
}

/// Counts in bins of `width` hours.
fn histogram(title: &str, v: &Value, width: usize, axis: &str, counted: &str) -> String {
    let counts = column(v);
    charts::bars(&Bars {
        title,
        categories: bins(counts.len(), width),
        series: vec![series(counted, counts)],
        category_axis: axis,
        value_axis: &format!("{counted} (count)"),
        counts: true,
        upright: true,
    })
}

/// Bars of counts across named categories.
fn counts(title: &str, categories: Vec<String>, values: Vec<f64>, what: &str, of: &str) -> String {
    charts::bars(&Bars {
        title,
        categories,
        series: vec![series(what, values)],
        category_axis: of,
        value_axis: &format!("{what} (count)"),
        counts: true,
        upright: false,
    })
}

/// A chart with its note beside it.
fn beside(chart: &str, note: &str) -> String {
    format!("<div class=\"beside\">{chart}<aside>{note}</aside></div>")
}

/// The fitted input named `input`: its value and the published figure.
fn fitted<'a>(s: &'a Summary, input: &str) -> Option<&'a Value> {
    s.inputs
        .iter()
        .find(|i| i["input"] == input && i["basis"] == "fitted")
}

/// The request volume by township, drawn on the communities' boundaries.
pub fn volume_map(t: &Topology, r: &Report) -> String {
    map::township_map(t, &r.summary.volume_by_township)
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1220px;padding:0 1em;color:#222}\
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}\
figure{display:inline-block;margin:.6em 1em .6em 0;vertical-align:top;max-width:100%}\
figure svg{max-width:100%;height:auto;display:block}\
figcaption{font-weight:bold;margin-bottom:.3em}\
.beside{display:flex;flex-wrap:wrap;gap:0 1.5em;align-items:flex-start}\
.beside aside{flex:1 1 320px;max-width:560px;font-size:14px}\
table{border-collapse:collapse;margin:.5em 0;max-width:100%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#eee}td:first-child,th:first-child{text-align:left}\
table.text td,table.text th{text-align:left}table.text td:nth-child(2){overflow-wrap:anywhere;min-width:14em}\
table.names td:nth-child(2),table.names th:nth-child(2){text-align:left}\
.gap{font-weight:bold}.download{background:#f3f6fa;border:1px solid #cdd;padding:.6em 1em}";

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>",
        esc(title),
        esc(title)
    )
}

/// The JSON `--json` writes, as a link that downloads it as `file`.
fn download(json: &impl serde::Serialize, file: &str) -> String {
    let json = serde_json::to_string_pretty(json).unwrap_or_default();
    let file: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "<p class=\"download\"><a download=\"{file}\" href=\"data:application/json;base64,{}\">Download the full report as JSON</a> ({:.0} kB: every figure on this page and more, as <code>hotline simulate --json</code> writes it).</p>",
        base64::engine::general_purpose::STANDARD.encode(json.as_bytes()),
        json.len() as f64 / 1024.0
    )
}

/// Published shares beside the simulated ones, and the gaps.
fn calibration_note(s: &Summary) -> String {
    let h = &s.handler_shares;
    let share = |way: &str, k: &str| opt(&h[way]["by_type"][k]["share_percent"]);
    let gap = |x: f64, p: f64| match x.is_finite() {
        true => format!("{:+.1}", x - p),
        false => "–".into(),
    };
    let pct = |x: f64| match x.is_finite() {
        true => format!("{x:.1}"),
        false => "–".into(),
    };
    let mut rows = Vec::new();
    let mut worst: Option<(f64, &str)> = None;
    for (k, p) in PUBLISHED_SHARES {
        let (at, fin) = (share("at_intake", k), share("final_leads", k));
        if at.is_finite() && worst.is_none_or(|(w, _)| (at - p).abs() > w.abs()) {
            worst = Some((at - p, k));
        }
        rows.push(vec![
            human(k),
            format!("{p:.1}"),
            pct(at),
            gap(at, p),
            pct(fin),
            gap(fin, p),
        ]);
    }
    let mut out = String::from("<h3>Calibration: published against simulated</h3>");
    out += &table(
        &[
            "handler type",
            "published %",
            "at intake %",
            "gap (points)",
            "final leads %",
            "gap (points)",
        ],
        &rows,
    );
    if let Some((g, k)) = worst {
        let _ = write!(
            out,
            "<p class=\"gap\">Largest gap at intake: {}, {g:+.1} points against the published share.</p>",
            esc(&human(k))
        );
    }
    if let Some(i) = fitted(s, "catalogue routing") {
        let _ = write!(
            out,
            "<p>The catalogue's routing is fitted to {} ({}).</p>",
            esc(&text(&i["fitted_to"])),
            esc(&text(&i["source"]))
        );
    }
    let _ = write!(
        out,
        "<p>Published: {}.</p>",
        esc(h["published_source"]
            .as_str()
            .unwrap_or("Beijing's published shares"))
    );
    for way in ["at_intake", "final_leads", "final_handlers"] {
        let _ = write!(
            out,
            "<p>{}: {} ({} in all).</p>",
            human(way),
            esc(h[way]["denominator"].as_str().unwrap_or("")),
            h[way]["total"]
        );
    }
    out
}

/// The consultations' share of contacts beside the published one.
fn volume_note(s: &Summary) -> String {
    let share = opt(&s.volume["consultation_share"]) * 100.0;
    let mut out = format!(
        "<p>{} contacts; {} orders dispatched; consultations {}% of contacts.</p>",
        s.volume["contacts"],
        s.volume["dispatched"],
        fmt(share)
    );
    if let Some(i) = fitted(s, "arrivals.consultation_share") {
        let _ = write!(
            out,
            "<p>Published: {} ({}); the input is {}.</p>",
            esc(&text(&i["fitted_to"])),
            esc(&text(&i["source"])),
            esc(&text(&i["value"]))
        );
    }
    out
}

/// Days as the scenario counts them (a task's `from_day`, say).
const DAY_AXIS: &str = "day of the run (0 = the first day)";

/// Every section of one run's report after the map.
fn sections(r: &Report) -> String {
    let s = &r.summary;
    let names = unit_names(s);
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut out = String::from("<h2>Volume</h2>");
    let xs: Vec<f64> = s.daily.iter().map(|d| num(&d["day"])).collect();
    let col = |k: &str| s.daily.iter().map(|d| num(&d[k])).collect::<Vec<_>>();
    out += &beside(
        &charts::lines(&Lines {
            title: "Orders per day",
            xs,
            series: vec![
                series("received", col("received")),
                series("dispatched", col("dispatched")),
                series("closed", col("closed")),
            ],
            x_axis: DAY_AXIS,
            y_axis: "orders per day (count)",
            y_top: None,
        }),
        &volume_note(s),
    );
    out += "<h2>Three rates and rankings</h2>";
    let pts = &s.rates_over_time;
    let rate = |k: &str| pts.iter().map(|p| opt(&p[k]) * 100.0).collect::<Vec<_>>();
    out += &charts::lines(&Lines {
        title: "City-wide rates, month to date",
        xs: pts.iter().map(|p| num(&p["day"])).collect(),
        series: vec![
            series("response", rate("response")),
            series("resolution", rate("resolution")),
            series("satisfaction", rate("satisfaction")),
        ],
        x_axis: "days since the start (at the end of each day)",
        y_axis: "rate, month to date (%)",
        y_top: Some(100.0),
    });
    out += &ranking_tables(&s.rates);
    out += "<h2>Disputes</h2>";
    let (pl, pv): (Vec<String>, Vec<f64>) = s.disputes["by_unit_pair"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let pair = p["pair"].as_str().unwrap_or("");
            let label = match pair.split_once(" → ") {
                Some((a, b)) => format!("{} → {}", name(a), name(b)),
                None => pair.to_string(),
            };
            (label, num(&p["objections"]))
        })
        .unzip();
    out += &counts(
        "Objections by unit pair",
        pl,
        pv,
        "objections",
        "objecting unit → unit it proposed",
    );
    let (cl, cv) = entries(&s.disputes["by_category"]);
    out += &counts("Objections by category", cl, cv, "objections", "category");
    out += &histogram(
        "Time from objection to ruling",
        &s.disputes["ruling_time_histogram_hours"],
        2,
        "hours from objection to ruling (2-hour bins)",
        "rulings",
    );
    out += &counts(
        "Redirects, bounce-limit hits and overdue rulings",
        vec![
            "Redirects".into(),
            "Bounce-limit hits".into(),
            "Rulings overdue".into(),
        ],
        vec![
            num(&s.disputes["redirects"]),
            num(&s.disputes["bounce_limit_hits"]),
            num(&s.disputes["ruling_overdue"]),
        ],
        "events",
        "event",
    );
    out += "<h2>Escalations</h2>";
    out += &histogram(
        "Time from whistle to check-in",
        &s.escalations["check_in_histogram_hours"],
        1,
        "hours from whistle to check-in (1-hour bins)",
        "check-ins",
    );
    let (sl, sv) = entries(&s.escalations["summonses"]);
    out += &counts("Summonses by outcome", sl, sv, "summonses", "outcome");
    out += "<h2>Overdue by tier</h2>";
    let tiers = s.overdue_by_tier["late_leads_by_tier"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    out += &charts::bars(&Bars {
        title: "Lead assignments of overdue orders, by tier",
        categories: tiers.keys().map(|k| human(k)).collect(),
        series: vec![
            series(
                "lead assignments",
                tiers
                    .values()
                    .map(|v| num(&v["leads_of_overdue_orders"]))
                    .collect(),
            ),
            series("late", tiers.values().map(|v| num(&v["late"])).collect()),
        ],
        category_axis: "tier",
        value_axis: "lead assignments (count)",
        counts: true,
        upright: false,
    });
    out += "<h2>Handler shares</h2>";
    let h = &s.handler_shares;
    let share = |way: &str| -> Vec<f64> {
        PUBLISHED_SHARES
            .iter()
            .map(|(k, _)| opt(&h[way]["by_type"][*k]["share_percent"]))
            .collect()
    };
    out += &beside(
        &charts::bars(&Bars {
            title: "Share of requests by handler type",
            categories: PUBLISHED_SHARES.iter().map(|(k, _)| human(k)).collect(),
            series: vec![
                series("at intake", share("at_intake")),
                series("final leads", share("final_leads")),
                series(
                    "published (Beijing)",
                    PUBLISHED_SHARES.iter().map(|(_, v)| *v).collect(),
                ),
            ],
            category_axis: "handler type",
            value_axis: "share of lead assignments (%)",
            counts: false,
            upright: false,
        }),
        &calibration_note(s),
    );
    out += &evidence_tables(r);
    out += &proactive(s);
    out
}

fn proactive(s: &Summary) -> String {
    let mut out = String::from("<h2>Proactive tasks</h2>");
    for task in s.proactive["tasks"].as_array().into_iter().flatten() {
        let days = task["days"].as_array().cloned().unwrap_or_default();
        out += &charts::lines(&Lines {
            title: &format!(
                "Before and after: {} requests (effect {})",
                human(task["category"].as_str().unwrap_or("")),
                task["effect"]
            ),
            xs: days.iter().map(|d| num(&d["day"])).collect(),
            series: vec![
                series(
                    "would have called",
                    days.iter().map(|d| num(&d["matching"])).collect(),
                ),
                series(
                    "called",
                    days.iter()
                        .map(|d| num(&d["matching"]) - num(&d["prevented"]))
                        .collect(),
                ),
            ],
            x_axis: DAY_AXIS,
            y_axis: "matching requests per day (count)",
            y_top: None,
        });
        let issued = task["issued"].as_array().cloned().unwrap_or_default();
        if !issued.is_empty() {
            const COLUMNS: [(&str, &str); 8] = [
                ("task order", "order_id"),
                ("issuer", "issuer"),
                ("area", "area"),
                ("state", "state"),
                ("replied", "replied"),
                ("overdue", "overdue"),
                ("matching before", "matching_before"),
                ("matching after", "matching_after"),
            ];
            let rows: Vec<Vec<String>> = issued
                .iter()
                .map(|t| COLUMNS.iter().map(|(_, k)| text(&t[*k])).collect())
                .collect();
            out += &table(&COLUMNS.map(|(h, _)| h), &rows);
        }
    }
    out
}

/// The single-run page.
pub fn page(r: &Report) -> String {
    let mut out = head(&format!("Simulation: {}", r.summary.scenario));
    let _ = write!(
        out,
        "<p>Seed {}, {} days from {}; {} transport on {}: {:.0} contacts/s, {:.0} dispatched orders/s.</p>",
        r.summary.seed,
        r.summary.days,
        esc(&r.summary.start),
        esc(&r.timings.transport),
        esc(&r.timings.backend),
        r.timings.contacts_per_second,
        r.timings.dispatched_orders_per_second
    );
    out += &download(
        r,
        &format!("report-{}-seed{}.json", r.summary.scenario, r.summary.seed),
    );
    if !r.map_svg.is_empty() {
        out += "<h2>Where requests came from</h2>";
        out += &r.map_svg;
    }
    out += &sections(r);
    out + "</body></html>"
}

#[cfg(test)]
mod tests;
