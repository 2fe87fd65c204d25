//! The report's tables: inputs apart from outputs, the seeds' intervals,
//! sensitivity, the out-of-sample check, and the rankings.

use std::fmt::Write;

use serde_json::Value;

use super::{esc, human};
use crate::report::Report;

pub(super) fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    classed_table("", head, rows)
}

/// A table of words rather than figures: left-aligned, long values wrap.
fn text_table(head: &[&str], rows: &[Vec<String>]) -> String {
    classed_table(" class=\"text\"", head, rows)
}

pub(super) fn classed_table(class: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table{class}><tr>");
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

pub(super) fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Inputs apart from outputs, the outputs' intervals over seeds, the
/// sensitivity table and the out-of-sample check.
pub(super) fn evidence_tables(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::from("<h2>Inputs (given to the model)</h2>");
    let rows: Vec<Vec<String>> = s
        .inputs
        .iter()
        .map(|i| {
            vec![
                text(&i["input"]),
                // Room to wrap between a list's items.
                text(&i["value"]).replace(',', ", "),
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
    out += &text_table(
        &["input", "value", "basis", "fitted to / meaning", "source"],
        &rows,
    );
    out += "<h2>Outputs (produced by the mesh)</h2>";
    let seeds = &r.evidence["seeds"]["outputs"];
    let rows: Vec<Vec<String>> = s
        .outputs
        .iter()
        .map(|(k, v)| {
            let mut row = vec![k.clone(), format!("{v:.2}")];
            if seeds.is_object() {
                row.push(text(&seeds[k.as_str()]["mean"]).replace("null", ""));
                row.push(text(&seeds[k.as_str()]["interval_95"]).replace("null", ""));
            }
            row
        })
        .collect();
    // The seeds' columns only when several seeds ran.
    let head = ["output", "this seed", "mean over seeds", "95 % interval"];
    out += &table(&head[..rows.first().map_or(2, Vec::len)], &rows);
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
pub(super) fn ranking_tables(rates: &Value) -> String {
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
            let entries = g["entries"].as_array().map_or(&[][..], Vec::as_slice);
            if entries.is_empty() {
                let _ = write!(
                    out,
                    "<h3>{month} · {}: no unit ranked</h3>",
                    esc(&human(name))
                );
                continue;
            }
            let _ = write!(
                out,
                "<h3>{month} · {} — response {}, resolution {}, satisfaction {}</h3><table><tr><th>rank</th><th style=\"text-align:left\">unit</th><th>response</th><th>resolution</th><th>satisfaction</th><th>composite</th><th>dispatched</th></tr>",
                esc(&human(name)),
                pct(&sum["response"]["value"]),
                pct(&sum["resolution"]["value"]),
                pct(&sum["satisfaction"]["value"])
            );
            for e in entries.iter().take(20) {
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
