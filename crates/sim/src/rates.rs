//! The three rates (response, resolution, satisfaction) by peer group and
//! the rankings. They come from the centre's assessment —
//! `ReportingService.GetRankings` and `GetScorecard` — never from the
//! simulator's own arithmetic, and are rendered with the same JSON as
//! `hotline report --json`, so that command on the run's data states the
//! same figures.

use std::collections::BTreeMap;

use hotline_core::Micros;
use hotline_core::calendar::Date;
use hotline_proto::v1 as pb;
use serde_json::{Value, json};

use hotline_client::MeshClient;

/// The months (YYYY-MM, Shanghai) a span touches.
pub fn months(start: Micros, end: Micros) -> Vec<String> {
    let (a, b) = (Date::of(start), Date::of((end - 1).max(start)));
    let mut out = Vec::new();
    let (mut y, mut m) = (a.year, a.month);
    while (y, m) <= (b.year, b.month) {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

fn rate(numerator: f64, denominator: u64) -> Value {
    let value = (denominator > 0).then(|| (numerator / denominator as f64 * 1e4).round() / 1e4);
    json!({"numerator": numerator, "denominator": denominator, "value": value})
}

/// Response, resolution and satisfaction of several scorecards:
/// numerators and denominators summed.
fn summed<'a>(cards: impl IntoIterator<Item = &'a pb::Scorecard>) -> [(f64, u64); 3] {
    let mut sums = [(0.0, 0u64); 3];
    for s in cards {
        for (i, r) in [&s.response, &s.resolution, &s.satisfaction]
            .into_iter()
            .enumerate()
        {
            let r = r.unwrap_or_default();
            sums[i].0 += r.numerator;
            sums[i].1 += r.denominator;
        }
    }
    sums
}

/// A peer group's rates: the members' numerators and denominators summed.
fn group_rates(g: &pb::Ranking) -> Value {
    let sums = summed(g.entries.iter().filter_map(|e| e.scorecard.as_ref()));
    json!({
        "ranked_units": g.entries.len(),
        "unrated_units": g.unrated.len(),
        "response": rate(sums[0].0, sums[0].1),
        "resolution": rate(sums[1].0, sums[1].1),
        "satisfaction": rate(sums[2].0, sums[2].1),
    })
}

/// The rates section: per month, each peer group's rates and its ranking.
pub async fn rates(c: &MeshClient, start: Micros, end: Micros) -> anyhow::Result<Value> {
    let mut by_month = BTreeMap::new();
    for month in months(start, end) {
        let req = pb::GetRankingsRequest {
            month: month.clone(),
            ..Default::default()
        };
        let r = c.rankings(&c.city, req).await?;
        let groups: BTreeMap<String, Value> = r
            .rankings
            .iter()
            .filter(|g| g.within.is_empty())
            .map(|g| {
                let name = hotline_client::scorecards::rankings_json(&pb::GetRankingsResponse {
                    month: r.month.clone(),
                    rankings: vec![g.clone()],
                })["rankings"][0]["peer_group"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                (name, group_rates(g))
            })
            .collect();
        by_month.insert(
            month,
            json!({"peer_groups": groups, "rankings": hotline_client::scorecards::rankings_json(&r)}),
        );
    }
    Ok(json!({"source": "ReportingService.GetRankings", "months": by_month}))
}

/// The city-wide scorecard (the centre's subtree) so far this month: a
/// point of the rates-over-time chart.
pub async fn city_point(c: &MeshClient, now: Micros) -> anyhow::Result<Value> {
    let month = months(now - 1, now).pop().unwrap_or_default();
    let s = c
        .scorecard(&c.city, &c.city, &month, pb::ScorecardScope::Subtree)
        .await?;
    let v = |r: &Option<pb::Rate>| r.and_then(|r| r.value);
    Ok(json!({
        "month": month,
        "response": v(&s.response),
        "resolution": v(&s.resolution),
        "satisfaction": v(&s.satisfaction),
        "composite": s.composite,
    }))
}

/// The city-wide rates over the whole span: the centre's subtree
/// scorecards of every month the span touches, numerators and
/// denominators summed, in percent.
pub async fn city_rates(c: &MeshClient, start: Micros, end: Micros) -> anyhow::Result<Value> {
    let mut cards = Vec::new();
    for month in months(start, end) {
        cards.push(
            c.scorecard(&c.city, &c.city, &month, pb::ScorecardScope::Subtree)
                .await?,
        );
    }
    let sums = summed(&cards);
    let pct = |(n, d): (f64, u64)| (d > 0).then(|| (n * 1e4 / d as f64).round() / 100.0);
    Ok(json!({
        "source": "ReportingService.GetScorecard (the centre's subtree, every month of the run)",
        "response_percent": pct(sums[0]),
        "resolution_percent": pct(sums[1]),
        "satisfaction_percent": pct(sums[2]),
        "assessed": [sums[0].1, sums[1].1, sums[2].1],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_names_each_month_it_touches() {
        let t = |s| hotline_node::parse_instant(s).unwrap();
        assert_eq!(
            months(t("2026-11-16T00:00"), t("2026-11-23T00:00")),
            ["2026-11"]
        );
        assert_eq!(
            months(t("2026-12-20T00:00"), t("2027-02-01T00:00")),
            ["2026-12", "2027-01"]
        );
    }
}
