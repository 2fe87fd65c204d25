//! Scorecards and rankings as a readable table, JSON or CSV. The
//! renderers are pure functions of the wire answers, so golden files pin
//! their output.

use std::fmt::Write as _;

use hotline_proto::v1::*;
use serde_json::{Value, json};

use crate::table::Table;

/// The peer groups a tier's units are ranked in.
pub fn groups_of_tier(tier: &str) -> anyhow::Result<Vec<PeerGroup>> {
    Ok(match tier {
        "township" => vec![PeerGroup::Townships],
        "district" => vec![PeerGroup::Districts],
        "department" => vec![
            PeerGroup::CityDepartments,
            PeerGroup::DistrictDepartments,
            PeerGroup::Enterprises,
        ],
        "central" => vec![PeerGroup::CentralUnits],
        other => anyhow::bail!(
            "--tier {other}: ranked tiers are township, district, department and central"
        ),
    })
}

fn group_name(g: i32) -> &'static str {
    use hotline_runtime::wire::WireEnum;
    hotline_core::scoring::PeerGroup::from_wire(g).map_or("unspecified", |g| g.as_str())
}

fn unit_id(name: &str) -> &str {
    name.trim_start_matches("units/")
}

fn rate_json(r: &Option<Rate>) -> Value {
    let r = r.unwrap_or_default();
    json!({"numerator": r.numerator, "denominator": r.denominator, "value": r.value})
}

/// Lead assignments on requests the centre marked unreasonable (Art. 9)
/// or malicious (Art. 37), over every lead assignment in the scorecard's
/// scope: `dispatched` holds the marked ones only when the policy
/// assesses them (docs/assessment.md).
pub fn marked_share(s: &Scorecard) -> (u64, u64) {
    let all = if s.marked_assessed {
        s.dispatched
    } else {
        s.dispatched + s.marked_requests
    };
    (s.marked_requests, all)
}

/// The sum of [`marked_share`] over `cards`, and whether the marked are
/// assessed (one policy holds for a whole mesh).
fn marked_total<'a>(cards: impl Iterator<Item = &'a Scorecard>) -> (u64, u64, bool) {
    cards.fold((0, 0, false), |(m, all, assessed), s| {
        let (sm, sall) = marked_share(s);
        (m + sm, all + sall, assessed || s.marked_assessed)
    })
}

fn marked_json((marked, all, assessed): (u64, u64, bool)) -> Value {
    json!({
        "numerator": marked,
        "denominator": all,
        "value": (all > 0).then(|| marked as f64 / all as f64),
        "assessed": assessed,
    })
}

/// The readable line of [`marked_share`] for `scope`, e.g. "marked
/// unreasonable/malicious, t-market and below: 1 of 2 lead assignments
/// (50.0%), outside the rates".
fn marked_line(scope: &str, (marked, all, assessed): (u64, u64, bool)) -> String {
    let share = if all > 0 {
        format!("{:.1}%", marked as f64 * 100.0 / all as f64)
    } else {
        "—".into()
    };
    let rates = if assessed {
        "counted in the rates"
    } else {
        "outside the rates"
    };
    format!(
        "marked unreasonable/malicious, {scope}: {marked} of {all} lead assignments ({share}), {rates}"
    )
}

/// A scorecard as JSON: the rates with their numerators and denominators,
/// and the columns beside them.
pub fn scorecard_json(s: &Scorecard) -> Value {
    let tier = Tier::try_from(s.tier)
        .map(|t| t.as_str_name().trim_start_matches("TIER_").to_lowercase())
        .unwrap_or_default();
    let scope = match ScorecardScope::try_from(s.scope) {
        Ok(ScorecardScope::Subtree) => "subtree",
        _ => "own",
    };
    json!({
        "unit": unit_id(&s.unit),
        "name": s.name,
        "tier": tier,
        "month": s.month,
        "scope": scope,
        "response": rate_json(&s.response),
        "resolution": rate_json(&s.resolution),
        "satisfaction": rate_json(&s.satisfaction),
        "composite": s.composite,
        "dispatched": s.dispatched,
        "callbacks": s.callbacks,
        "satisfied": s.satisfied,
        "basically_satisfied": s.basically_satisfied,
        "dissatisfied": s.dissatisfied,
        "whistles": s.whistles,
        "summoned": s.summoned,
        "checked_in_on_time": s.checked_in_on_time,
        "objections_lost": s.objections_lost,
        "bounce_limit_hits": s.bounce_limit_hits,
        "marked_requests": s.marked_requests,
        "marked_share": marked_json(marked_total(std::iter::once(s))),
        "overdue": s.overdue,
    })
}

fn entry_json(e: &RankEntry) -> Value {
    let mut v = e.scorecard.as_ref().map(scorecard_json).unwrap_or_default();
    v["rank"] = json!(e.rank);
    v
}

/// Rankings as JSON: per peer group, every ranked unit in order, the top
/// and bottom lists by unit, and the unrated.
pub fn rankings_json(r: &GetRankingsResponse) -> Value {
    let groups: Vec<Value> = r
        .rankings
        .iter()
        .map(|g| {
            json!({
                "peer_group": group_name(g.peer_group),
                "within": unit_id(&g.within),
                "entries": g.entries.iter().map(entry_json).collect::<Vec<_>>(),
                "top": g.top.iter().filter_map(|e| e.scorecard.as_ref()).map(|s| unit_id(&s.unit)).collect::<Vec<_>>(),
                "bottom": g.bottom.iter().filter_map(|e| e.scorecard.as_ref()).map(|s| unit_id(&s.unit)).collect::<Vec<_>>(),
                "unrated": g.unrated.iter().map(|u| unit_id(u)).collect::<Vec<_>>(),
                "marked_share": marked_json(marked_total(ranked_cards(g))),
            })
        })
        .collect();
    json!({"month": r.month, "rankings": groups})
}

/// The scorecards of a peer group's ranked units.
fn ranked_cards(g: &Ranking) -> impl Iterator<Item = &Scorecard> {
    g.entries.iter().filter_map(|e| e.scorecard.as_ref())
}

pub fn roll_up_json(r: &RollUpScorecardsResponse) -> Value {
    json!({
        "combined": r.combined.as_ref().map(scorecard_json),
        "own": r.own.as_ref().map(scorecard_json),
        "children": r.children.iter().map(scorecard_json).collect::<Vec<_>>(),
        "missing": r.missing.iter().map(|m| json!({"unit": unit_id(&m.unit), "reason": m.reason})).collect::<Vec<_>>(),
    })
}

/// A rate with its numerator and denominator, e.g. "97.5% (19.5/20)";
/// "— (0/0)" when absent.
fn pct(r: &Option<Rate>) -> String {
    match r.as_ref().and_then(|r| r.value.map(|v| (v, r))) {
        Some((v, r)) => format!(
            "{:.1}% ({}/{})",
            v * 100.0,
            trim(r.numerator),
            r.denominator
        ),
        None => "— (0/0)".into(),
    }
}

/// A numerator: an integer, or one decimal when a weight made it
/// fractional.
fn trim(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The scorecard table: rank, unit, its rates and the columns beside them.
fn table() -> Table {
    Table::new([
        "rank",
        "unit",
        "name",
        "composite",
        "response",
        "resolution",
        "satisfaction",
        "overdue",
        "objections lost",
        "bounce limit hits",
    ])
    .right(&[0, 3, 4, 5, 6, 7, 8, 9])
}

fn row(t: &mut Table, rank: &str, s: &Scorecard) {
    let composite = s
        .composite
        .map(|c| format!("{:.3}", c))
        .unwrap_or_else(|| "—".into());
    t.row([
        rank.to_string(),
        unit_id(&s.unit).to_string(),
        s.name.clone(),
        composite,
        pct(&s.response),
        pct(&s.resolution),
        pct(&s.satisfaction),
        s.overdue.to_string(),
        s.objections_lost.to_string(),
        s.bounce_limit_hits.to_string(),
    ]);
}

/// The readable ranking table: per peer group, the top and the bottom ten
/// (every unit when the group is small), then the unrated.
pub fn rankings_table(r: &GetRankingsResponse) -> String {
    let mut out = String::new();
    for g in &r.rankings {
        let within = if g.within.is_empty() {
            String::new()
        } else {
            format!(" within {}", unit_id(&g.within))
        };
        let ranked = match g.entries.len() {
            0 => "none ranked".to_string(),
            n => format!("{n} ranked by composite, best first"),
        };
        let _ = writeln!(
            out,
            "{} {}{}: {ranked}; {} unrated.",
            r.month,
            group_name(g.peer_group).replace('_', " "),
            within,
            g.unrated.len()
        );
        let mut t = table();
        let shown = g.top.len() + g.bottom.len();
        let lines: Vec<&RankEntry> = if shown >= g.entries.len() {
            g.entries.iter().collect()
        } else {
            g.top.iter().chain(g.bottom.iter()).collect()
        };
        for (i, e) in lines.iter().enumerate() {
            if shown < g.entries.len() && i == g.top.len() {
                t.row(["…"]);
            }
            if let Some(s) = &e.scorecard {
                row(&mut t, &e.rank.to_string(), s);
            }
        }
        if !lines.is_empty() {
            let _ = write!(out, "{t}");
        }
        if !g.unrated.is_empty() {
            let names: Vec<&str> = g.unrated.iter().map(|u| unit_id(u)).collect();
            let _ = writeln!(out, "Unrated (no rate to score yet): {}.", names.join(", "));
        }
        let marked = marked_total(ranked_cards(g));
        let _ = writeln!(out, "{}", marked_line("ranked units", marked));
        out.push('\n');
    }
    out
}

pub fn roll_up_table(r: &RollUpScorecardsResponse) -> String {
    let mut out = String::new();
    let month = r.combined.as_ref().map(|c| c.month.as_str()).unwrap_or("");
    let _ = writeln!(
        out,
        "{month} roll-up: \"all\" is the unit and every unit below it, \"own\" the unit's own orders, then each unit below."
    );
    let mut t = table();
    if let Some(c) = &r.combined {
        row(&mut t, "all", c);
    }
    if let Some(o) = &r.own {
        row(&mut t, "own", o);
    }
    for c in &r.children {
        row(&mut t, "", c);
    }
    let _ = write!(out, "{t}");
    for m in &r.missing {
        let _ = writeln!(out, "Missing {}: {}.", unit_id(&m.unit), m.reason);
    }
    if let Some(c) = &r.combined {
        let scope = format!("{} and below", unit_id(&c.unit));
        let _ = writeln!(
            out,
            "{}",
            marked_line(&scope, marked_total(std::iter::once(c)))
        );
    }
    out
}

/// The CSV's columns: a unit, then each rate as numerator, denominator and
/// value, then the counts beside the rates.
pub const CSV_HEADER: [&str; 21] = [
    "unit",
    "name",
    "tier",
    "month",
    "scope",
    "response_num",
    "response_den",
    "response",
    "resolution_num",
    "resolution_den",
    "resolution",
    "satisfaction_num",
    "satisfaction_den",
    "satisfaction",
    "composite",
    "overdue",
    "objections_lost",
    "bounce_limit_hits",
    "whistles",
    "summoned",
    "checked_in_on_time",
];

/// One CSV record per scorecard. The csv crate quotes what needs it: a
/// unit's name may hold a comma ("National Railway Group, Demo City
/// Bureau") or a quote.
/// One CSV record per scorecard, through the csv crate (names with
/// commas or quotes stay one field).
pub fn csv<'a>(cards: impl Iterator<Item = &'a Scorecard>) -> anyhow::Result<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    let value = |x: Option<f64>| x.map(|x| format!("{x:.6}")).unwrap_or_default();
    for s in cards {
        let j = scorecard_json(s);
        let field = |k: &str| j[k].as_str().unwrap_or("").to_string();
        let mut record = vec![
            field("unit"),
            s.name.clone(),
            field("tier"),
            s.month.clone(),
            field("scope"),
        ];
        for r in [&s.response, &s.resolution, &s.satisfaction] {
            let r = r.unwrap_or_default();
            record.extend([
                r.numerator.to_string(),
                r.denominator.to_string(),
                value(r.value),
            ]);
        }
        record.push(value(s.composite));
        record.extend(
            [
                s.overdue,
                s.objections_lost,
                s.bounce_limit_hits,
                s.whistles,
                s.summoned,
                s.checked_in_on_time,
            ]
            .map(|n| n.to_string()),
        );
        w.write_record(&record)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(n: f64, d: u64) -> Option<Rate> {
        Some(Rate {
            numerator: n,
            denominator: d,
            value: (d > 0).then(|| n / d as f64),
        })
    }

    fn card(unit: &str, name: &str, r: (f64, u64), res: (f64, u64), sat: (f64, u64)) -> Scorecard {
        let w = [(0.2, r), (0.4, res), (0.4, sat)];
        let present: Vec<(f64, f64)> = w
            .iter()
            .filter(|(_, (_, d))| *d > 0)
            .map(|(w, (n, d))| (*w, n / *d as f64))
            .collect();
        let total: f64 = present.iter().map(|(w, _)| w).sum();
        Scorecard {
            unit: format!("units/{unit}"),
            name: name.into(),
            tier: Tier::Township as i32,
            month: "2026-11".into(),
            scope: ScorecardScope::Subtree as i32,
            response: rate(r.0, r.1),
            resolution: rate(res.0, res.1),
            satisfaction: rate(sat.0, sat.1),
            composite: (total > 0.0)
                .then(|| present.iter().map(|(w, v)| w * v).sum::<f64>() / total),
            dispatched: r.1,
            responded: r.0 as u64,
            callbacks: res.1,
            resolved: res.0 as u64,
            overdue: 1,
            objections_lost: 2,
            bounce_limit_hits: 1,
            ..Default::default()
        }
    }

    /// Twelve townships (so the table cuts to top and bottom five), one
    /// tie, one with only a response rate, one unrated; two departments.
    fn sample() -> GetRankingsResponse {
        let mut towns: Vec<Scorecard> = (0..12)
            .map(|i| {
                card(
                    &format!("t-{i:02}"),
                    &format!("第{i}街道"),
                    (10.0 - (i % 3) as f64, 10),
                    (20.0 - i as f64, 20),
                    (19.5 - i as f64, 20),
                )
            })
            .collect();
        towns[11] = card("t-11", "新区", (3.0, 4), (0.0, 0), (0.0, 0));
        // Two rounds marked malicious, outside t-00's rates.
        towns[0].marked_requests = 2;
        towns[7] = towns[6].clone();
        towns[7].unit = "units/t-07".into();
        let scored: Vec<(String, Option<f64>)> = towns
            .iter()
            .map(|c| (c.unit.clone(), c.composite))
            .collect();
        let (ranked, _) = hotline_core::scoring::rank(&scored);
        let entries: Vec<RankEntry> = ranked
            .iter()
            .map(|r| RankEntry {
                rank: r.rank,
                scorecard: towns.iter().find(|c| c.unit == r.unit).cloned(),
            })
            .collect();
        let depts = vec![
            RankEntry {
                rank: 1,
                scorecard: Some(card("dept-housing", "住房", (0.0, 0), (1.0, 1), (0.5, 1))),
            },
            RankEntry {
                rank: 2,
                scorecard: Some(card("dept-urban", "城管", (0.0, 1), (2.0, 3), (2.0, 3))),
            },
        ];
        GetRankingsResponse {
            month: "2026-11".into(),
            rankings: vec![
                Ranking {
                    peer_group: PeerGroup::Townships as i32,
                    within: String::new(),
                    top: entries[..5].to_vec(),
                    bottom: entries[entries.len() - 5..].to_vec(),
                    entries,
                    unrated: vec!["units/t-99".into()],
                },
                Ranking {
                    peer_group: PeerGroup::CityDepartments as i32,
                    within: String::new(),
                    top: depts.clone(),
                    bottom: depts.clone(),
                    entries: depts,
                    unrated: vec![],
                },
            ],
        }
    }

    /// Compares with the golden file; `UPDATE_GOLDEN=1` rewrites it.
    fn golden(name: &str, got: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, got).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert_eq!(
            got,
            want,
            "{} differs (UPDATE_GOLDEN=1 rewrites it)",
            path.display()
        );
    }

    #[test]
    fn ranking_table_matches_its_golden_file() {
        golden("rankings.txt", &rankings_table(&sample()));
    }

    #[test]
    fn ranking_json_matches_its_golden_file() {
        let json = serde_json::to_string_pretty(&rankings_json(&sample())).unwrap() + "\n";
        golden("rankings.json", &json);
    }

    #[test]
    fn scorecard_csv_matches_its_golden_file() {
        let r = sample();
        let cards = r
            .rankings
            .iter()
            .flat_map(|g| &g.entries)
            .filter_map(|e| e.scorecard.as_ref());
        golden("scorecards.csv", &csv(cards).unwrap());
    }

    #[test]
    fn the_marked_share_is_over_every_lead_assignment_in_scope() {
        let mut s = card("t-market", "市场街道", (3.0, 4), (0.0, 0), (0.0, 0));
        s.marked_requests = 1;
        // By default the marked round is outside `dispatched`…
        assert_eq!(marked_share(&s), (1, 5));
        // …and inside it when the policy assesses marked requests.
        s.marked_assessed = true;
        assert_eq!(marked_share(&s), (1, 4));
        s.marked_assessed = false;
        let r = RollUpScorecardsResponse {
            combined: Some(s.clone()),
            own: Some(s),
            ..Default::default()
        };
        let table = roll_up_table(&r);
        let line = "\nmarked unreasonable/malicious, t-market and below: \
                    1 of 5 lead assignments (20.0%), outside the rates\n";
        assert!(table.ends_with(line), "{table}");
        let j = roll_up_json(&r);
        assert_eq!(j["combined"]["marked_share"]["numerator"], 1);
        assert_eq!(j["combined"]["marked_share"]["denominator"], 5);
        assert_eq!(j["combined"]["marked_share"]["value"], 0.2);
        assert_eq!(j["combined"]["marked_share"]["assessed"], false);
    }

    #[test]
    fn tiers_map_to_their_peer_groups() {
        assert_eq!(
            groups_of_tier("district").unwrap(),
            vec![PeerGroup::Districts]
        );
        assert_eq!(groups_of_tier("department").unwrap().len(), 3);
        assert!(
            groups_of_tier("community").is_err(),
            "communities are not ranked"
        );
    }
}
