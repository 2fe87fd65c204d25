//! The HTML report: one self-contained page, charts as inline SVG (no
//! script, no external resource), and the side-by-side comparison.

use std::fmt::Write;

use hotline_core::{Tier, Topology};
use serde_json::{Value, json};

use super::report::Report;

const W: f64 = 560.0;
const H: f64 = 220.0;
const COLOURS: [&str; 4] = ["#3b6ea8", "#d9822b", "#3a9a5b", "#9b59b6"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Grouped bars: one group per label, one bar per series.
pub fn bars(title: &str, labels: &[String], series: &[(&str, Vec<f64>)]) -> String {
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{}\" viewBox=\"0 0 {W} {}\">",
        esc(title),
        H + 60.0,
        H + 60.0
    );
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let n = labels.len().max(1) as f64;
    let group = (W - 40.0) / n;
    let bw = (group * 0.8 / series.len().max(1) as f64).max(1.0);
    let _ = write!(
        s,
        "<line x1=\"35\" y1=\"{H}\" x2=\"{W}\" y2=\"{H}\" stroke=\"#999\"/>"
    );
    let _ = write!(
        s,
        "<text x=\"0\" y=\"12\" font-size=\"10\">{}</text>",
        fmt(max)
    );
    for (i, label) in labels.iter().enumerate() {
        let x0 = 40.0 + i as f64 * group;
        for (j, (_, v)) in series.iter().enumerate() {
            let val = v.get(i).copied().unwrap_or(0.0);
            let h = val / max * (H - 20.0);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
                x0 + j as f64 * bw,
                H - h,
                bw * 0.95,
                h,
                COLOURS[j % COLOURS.len()],
                esc(label),
                fmt(val)
            );
        }
        if labels.len() <= 30 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" transform=\"rotate(35 {:.1} {:.1})\">{}</text>",
                x0,
                H + 12.0,
                x0,
                H + 12.0,
                esc(label)
            );
        }
    }
    s += "</svg>";
    s += &legend(series.iter().map(|(n, _)| *n));
    s += "</figure>";
    s
}

/// Lines over a shared x axis (days).
pub fn lines(title: &str, xs: &[f64], series: &[(&str, Vec<f64>)]) -> String {
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{}\" viewBox=\"0 0 {W} {}\">",
        esc(title),
        H + 30.0,
        H + 30.0
    );
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let (xmin, xmax) = (
        xs.first().copied().unwrap_or(0.0),
        xs.last().copied().unwrap_or(1.0),
    );
    let span = (xmax - xmin).max(1.0);
    let px = |x: f64| 40.0 + (x - xmin) / span * (W - 50.0);
    let py = |y: f64| H - y / max * (H - 20.0);
    let _ = write!(
        s,
        "<line x1=\"35\" y1=\"{H}\" x2=\"{W}\" y2=\"{H}\" stroke=\"#999\"/>"
    );
    let _ = write!(
        s,
        "<text x=\"0\" y=\"12\" font-size=\"10\">{}</text>",
        fmt(max)
    );
    for (j, (_, v)) in series.iter().enumerate() {
        let pts: Vec<String> = xs
            .iter()
            .zip(v)
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            COLOURS[j % COLOURS.len()],
            pts.join(" ")
        );
    }
    for x in xs {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\">{}</text>",
            px(*x) - 3.0,
            H + 14.0,
            x
        );
    }
    s += "</svg>";
    s += &legend(series.iter().map(|(n, _)| *n));
    s += "</figure>";
    s
}

fn legend<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::from("<div class=\"legend\">");
    for (j, n) in names.enumerate() {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            COLOURS[j % COLOURS.len()],
            esc(n)
        );
    }
    s + "</div>"
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn map_entries(v: &Value) -> (Vec<String>, Vec<f64>) {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), num(v))).unzip())
        .unwrap_or_default()
}

fn histogram(title: &str, v: &Value, bin: &str) -> String {
    let counts: Vec<f64> = v
        .as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default();
    let labels: Vec<String> = (0..counts.len())
        .map(|i| {
            if i + 1 == counts.len() {
                format!("≥{i}{bin}")
            } else {
                format!("{i}{bin}")
            }
        })
        .collect();
    bars(title, &labels, &[("count", counts)])
}

/// The request volume by township, drawn on the communities' boundaries.
pub fn volume_map(t: &Topology, r: &Report) -> String {
    let atlas = t.atlas();
    if atlas.is_empty() {
        return String::new();
    }
    let vol = &r.summary.volume_by_township;
    let max = vol.values().copied().max().unwrap_or(1).max(1) as f64;
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for s in atlas.shapes() {
        for p in &s.0 {
            for c in p.exterior().0.iter() {
                x0 = x0.min(c.x);
                y0 = y0.min(c.y);
                x1 = x1.max(c.x);
                y1 = y1.max(c.y);
            }
        }
    }
    let scale = (W / (x1 - x0).max(1e-9)).min(360.0 / (y1 - y0).max(1e-9));
    let height = (y1 - y0) * scale;
    let mut s = format!(
        "<figure><figcaption>Requests by township (darker: more)</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height:.0}\" viewBox=\"0 0 {W} {height:.0}\">"
    );
    for leaf in 0..atlas.len() as u32 {
        let unit = t.leaf_unit(leaf);
        let Some(township) = t.parent_of(&unit.id).filter(|u| u.tier == Tier::Township) else {
            continue;
        };
        let n = vol.get(&township.id).copied().unwrap_or(0) as f64;
        let shade = 240.0 - 200.0 * (n / max);
        for p in &atlas.shape(leaf).0 {
            let pts: Vec<String> = p
                .exterior()
                .0
                .iter()
                .map(|c| format!("{:.1},{:.1}", (c.x - x0) * scale, (y1 - c.y) * scale))
                .collect();
            let _ = write!(
                s,
                "<polygon points=\"{}\" fill=\"rgb({shade:.0},{:.0},255)\" stroke=\"#fff\" stroke-width=\"0.3\"><title>{}: {n}</title></polygon>",
                pts.join(" "),
                shade + 10.0,
                esc(&township.name)
            );
        }
    }
    s + "</svg></figure>"
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1200px}figure{display:inline-block;margin:1em;vertical-align:top}figcaption{font-weight:bold;margin-bottom:.3em}.legend span{margin-right:1em;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}pre{background:#f6f6f6;padding:1em;overflow:auto}";

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>",
        esc(title),
        esc(title)
    )
}

fn charts(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let days: Vec<&Value> = s.daily.iter().collect();
    let xs: Vec<f64> = days.iter().map(|d| num(&d["day"])).collect();
    let col = |k: &str| days.iter().map(|d| num(&d[k])).collect::<Vec<_>>();
    out += "<h2>Three rates and rankings</h2>";
    let pts = &s.rates_over_time;
    let rx: Vec<f64> = pts.iter().map(|p| num(&p["day"])).collect();
    let rcol = |k: &str| pts.iter().map(|p| num(&p[k]) * 100.0).collect::<Vec<_>>();
    out += &lines(
        "City-wide rates, month to date (%)",
        &rx,
        &[
            ("response", rcol("response")),
            ("resolution", rcol("resolution")),
            ("satisfaction", rcol("satisfaction")),
        ],
    );
    out += &ranking_tables(&s.rates);
    out += &lines(
        "Orders per day",
        &xs,
        &[
            ("received", col("received")),
            ("dispatched", col("dispatched")),
            ("closed", col("closed")),
        ],
    );
    out += "<h2>Disputes</h2>";
    let pairs = s.disputes["by_unit_pair"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (pl, pv): (Vec<String>, Vec<f64>) = pairs
        .iter()
        .map(|p| {
            (
                p["pair"].as_str().unwrap_or("").to_string(),
                num(&p["objections"]),
            )
        })
        .unzip();
    out += &bars(
        "Objections by unit pair (objector → proposed)",
        &pl,
        &[("objections", pv)],
    );
    let (cl, cv) = map_entries(&s.disputes["by_category"]);
    out += &bars("Objections by category", &cl, &[("objections", cv)]);
    out += &histogram(
        "Ruling time (hours, 2-hour bins)",
        &s.disputes["ruling_time_histogram_hours"],
        "×2h",
    );
    out += &bars(
        "Redirects and bounce-limit hits",
        &[
            "redirects".into(),
            "bounce-limit hits".into(),
            "rulings overdue".into(),
        ],
        &[(
            "count",
            vec![
                num(&s.disputes["redirects"]),
                num(&s.disputes["bounce_limit_hits"]),
                num(&s.disputes["ruling_overdue"]),
            ],
        )],
    );
    out += "<h2>Escalations</h2>";
    out += &histogram(
        "Whistle → check-in latency (hours)",
        &s.escalations["check_in_histogram_hours"],
        "h",
    );
    let (sl, sv) = map_entries(&s.escalations["summonses"]);
    out += &bars("Summonses by outcome", &sl, &[("summonses", sv)]);
    out += "<h2>Overdue by tier</h2>";
    let tiers = s.overdue_by_tier["late_leads_by_tier"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let tl: Vec<String> = tiers.keys().cloned().collect();
    out += &bars(
        "Late leads of overdue orders, by tier",
        &tl,
        &[("late", tiers.values().map(|v| num(&v["late"])).collect())],
    );
    out += "<h2>Handler shares</h2>";
    let h = &s.handler_shares;
    let hl: Vec<String> = crate::report::PUBLISHED_SHARES
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    let series = |way: &str| -> Vec<f64> {
        hl.iter()
            .map(|k| num(&h[way]["by_type"][k.as_str()]["share_percent"]))
            .collect()
    };
    out += &bars(
        "Share by handler type (%): at intake, final leads, published",
        &hl,
        &[
            ("at intake", series("at_intake")),
            ("final leads", series("final_leads")),
            (
                "published",
                crate::report::PUBLISHED_SHARES
                    .iter()
                    .map(|(_, v)| *v)
                    .collect(),
            ),
        ],
    );
    for way in ["at_intake", "final_leads", "final_handlers"] {
        let _ = write!(
            out,
            "<p>{}: {} ({} in all).</p>",
            way.replace('_', " "),
            esc(h[way]["denominator"].as_str().unwrap_or("")),
            h[way]["total"]
        );
    }
    out += &evidence_tables(r);
    out += "<h2>Proactive tasks</h2>";
    for task in s.proactive["tasks"].as_array().cloned().unwrap_or_default() {
        let days = task["days"].as_array().cloned().unwrap_or_default();
        let xs: Vec<f64> = days.iter().map(|d| num(&d["day"])).collect();
        out += &lines(
            &format!(
                "Before/after: {} requests (effect {})",
                task["category"].as_str().unwrap_or(""),
                task["effect"]
            ),
            &xs,
            &[
                (
                    "would have called",
                    days.iter().map(|d| num(&d["matching"])).collect(),
                ),
                (
                    "called",
                    days.iter()
                        .map(|d| num(&d["matching"]) - num(&d["prevented"]))
                        .collect(),
                ),
            ],
        );
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
            out += "<table><tr>";
            for (head, _) in COLUMNS {
                let _ = write!(out, "<th>{head}</th>");
            }
            out += "</tr>";
            for t in &issued {
                out += "<tr>";
                for (_, k) in COLUMNS {
                    let v = t[k]
                        .as_str()
                        .map_or_else(|| t[k].to_string(), str::to_string);
                    let _ = write!(out, "<td>{}</td>", esc(&v));
                }
                out += "</tr>";
            }
            out += "</table>";
        }
    }
    out
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out += "</tr>";
    for row in rows {
        out += "<tr>";
        for c in row {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out += "</tr>";
    }
    out + "</table>"
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Inputs apart from outputs, the outputs' intervals over seeds, the
/// sensitivity table and the out-of-sample check.
fn evidence_tables(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::from("<h2>Inputs (given to the model)</h2>");
    let rows: Vec<Vec<String>> = s
        .inputs
        .iter()
        .map(|i| {
            vec![
                text(&i["input"]),
                text(&i["value"]),
                text(&i["basis"]),
                text(if i["basis"] == "fitted" {
                    &i["fitted_to"]
                } else {
                    &i["meaning"]
                }),
                text(&i["source"]).replace("null", ""),
            ]
        })
        .collect();
    out += &table(
        &["input", "value", "basis", "fitted to / meaning", "source"],
        &rows,
    );
    out += "<h2>Outputs (produced by the mesh)</h2>";
    let seeds = &r.evidence["seeds"]["outputs"];
    let rows: Vec<Vec<String>> = s
        .outputs
        .iter()
        .map(|(k, v)| {
            vec![
                k.clone(),
                format!("{v:.2}"),
                text(&seeds[k.as_str()]["mean"]).replace("null", ""),
                text(&seeds[k.as_str()]["interval_95"]).replace("null", ""),
            ]
        })
        .collect();
    out += &table(
        &["output", "this seed", "mean over seeds", "95 % interval"],
        &rows,
    );
    let sens = &r.evidence["sensitivity"];
    if let Some(variants) = sens["variants"].as_array() {
        out += "<h2>Sensitivity (change from the base, points)</h2>";
        let keys: Vec<String> = sens["base"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut head = vec!["variant"];
        head.extend(keys.iter().map(String::as_str));
        let mut rows = vec![
            std::iter::once("base".to_string())
                .chain(keys.iter().map(|k| text(&sens["base"][k.as_str()])))
                .collect::<Vec<_>>(),
        ];
        for v in variants {
            rows.push(
                std::iter::once(text(&v["variant"]))
                    .chain(
                        keys.iter()
                            .map(|k| text(&v["outputs"][k.as_str()]["change"]).replace("null", "")),
                    )
                    .collect(),
            );
        }
        out += &table(&head, &rows);
    }
    if let Some(switches) = r.evidence["out_of_sample"]["switches"].as_array() {
        out += "<h2>Out of sample: the published rise 2019 → 2024 (resolution 53 → 97 %, satisfaction 65 → 97 %)</h2>";
        let rows: Vec<Vec<String>> = switches
            .iter()
            .map(|x| {
                vec![
                    text(&x["switch"]),
                    text(&x["resolution_change_points"]).replace("null", "–"),
                    text(&x["satisfaction_change_points"]).replace("null", "–"),
                    text(&x["why"]).replace("null", ""),
                ]
            })
            .collect();
        out += &table(
            &[
                "switch",
                "resolution (points)",
                "satisfaction (points)",
                "note",
            ],
            &rows,
        );
    }
    out
}

/// Per month and peer group: the group's rates, then its ranking.
fn ranking_tables(rates: &Value) -> String {
    let mut out = String::new();
    let pct = |v: &Value| {
        v.as_f64()
            .map_or("–".to_string(), |x| format!("{:.1}%", x * 100.0))
    };
    for (month, m) in rates["months"].as_object().into_iter().flatten() {
        for g in m["rankings"]["rankings"].as_array().into_iter().flatten() {
            let name = g["peer_group"].as_str().unwrap_or("");
            let within = g["within"].as_str().unwrap_or("");
            if !within.is_empty() {
                continue;
            }
            let sum = &m["peer_groups"][name];
            let _ = write!(
                out,
                "<h3>{month} · {} — response {}, resolution {}, satisfaction {}</h3><table><tr><th>rank</th><th>unit</th><th>response</th><th>resolution</th><th>satisfaction</th><th>composite</th><th>dispatched</th></tr>",
                esc(name),
                pct(&sum["response"]["value"]),
                pct(&sum["resolution"]["value"]),
                pct(&sum["satisfaction"]["value"])
            );
            for e in g["entries"].as_array().into_iter().flatten().take(20) {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td style=\"text-align:left\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    e["rank"],
                    esc(e["name"].as_str().unwrap_or("")),
                    pct(&e["response"]["value"]),
                    pct(&e["resolution"]["value"]),
                    pct(&e["satisfaction"]["value"]),
                    e["composite"]
                        .as_f64()
                        .map_or("–".to_string(), |x| format!("{x:.3}")),
                    e["dispatched"]
                );
            }
            out += "</table>";
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
        r.timings.transport,
        r.timings.backend,
        r.timings.contacts_per_second,
        r.timings.dispatched_orders_per_second
    );
    out += &r.map_svg;
    out += &charts(r);
    let _ = write!(
        out,
        "<h2>Summary (JSON)</h2><pre>{}</pre>",
        esc(&serde_json::to_string_pretty(&r.summary).unwrap_or_default())
    );
    out + "</body></html>"
}

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
    println!(
        "{:<26} {:>14} {:>14} {:>10}",
        "", a.summary.scenario, b.summary.scenario, "B − A"
    );
    for d in cmp["differences"].as_array().into_iter().flatten() {
        println!(
            "{:<26} {:>14} {:>14} {:>10}",
            d["figure"].as_str().unwrap_or(""),
            fmt(num(&d["a"])),
            fmt(num(&d["b"])),
            fmt(num(&d["difference"]))
        );
    }
}

/// The comparison page: a table and paired charts.
pub fn compare_page(a: &Report, b: &Report) -> String {
    let (na, nb) = (a.summary.scenario.as_str(), b.summary.scenario.as_str());
    let mut out = head(&format!("Comparison: {na} vs {nb}"));
    let cmp = compare_json(a, b);
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
            idx.iter().map(|i| labels[*i].clone()).collect::<Vec<_>>(),
            idx.iter().map(|i| va[*i]).collect::<Vec<_>>(),
            idx.iter().map(|i| vb[*i]).collect::<Vec<_>>(),
        )
    };
    let (l, x, y) = pick(&["ruling time", "check-in"]);
    out += &bars("Times (minutes)", &l, &[(na, x), (nb, y)]);
    let (l, x, y) = pick(&[
        "objections",
        "redirects",
        "bounce-limit",
        "rulings overdue",
        "whistles",
        "missed",
        "overdue",
        "reopened",
    ]);
    out += &bars("Counts", &l, &[(na, x), (nb, y)]);
    let ha = &a.summary.disputes["ruling_time_histogram_hours"];
    let hb = &b.summary.disputes["ruling_time_histogram_hours"];
    let n = ha.as_array().map(Vec::len).unwrap_or(0);
    let hl: Vec<String> = (0..n).map(|i| format!("{}h", i * 2)).collect();
    let col = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(num).collect())
            .unwrap_or_default()
    };
    out += &bars(
        "Ruling time distribution (2-hour bins)",
        &hl,
        &[(na, col(ha)), (nb, col(hb))],
    );
    out += "<h2>A</h2>";
    out += &charts(a);
    out += "<h2>B</h2>";
    out += &charts(b);
    out + "</body></html>"
}
