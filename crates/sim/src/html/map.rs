//! The township map: each community's boundary shaded by its township's
//! request volume, township names where they fit, every shape's name and
//! count as a tooltip, and the colour scale with its ticks. Drawn by the
//! territory map the web dashboard draws too (`hotline_charts::map`).

use std::collections::BTreeMap;
use std::fmt::Write;

use hotline_charts::map::{BLUES, Map, Shade, choropleth};
use hotline_core::{Tier, Topology, Unit};

use super::charts::value_label;

/// Requests received by township, drawn on the communities' boundaries.
pub fn township_map(t: &Topology, volume: &BTreeMap<String, u64>) -> String {
    let city = t.city().id.clone();
    let map = Map {
        topology: t,
        within: &city,
        caption: "Requests received by township, whole run",
        measure: "requests",
        ramp: &BLUES,
        ramp_id: "township-ramp",
        counts: true,
        top: None,
    };
    let svg = choropleth(&map, |u| shade(t, volume, u));
    if svg.is_empty() {
        return svg;
    }
    super::beside(&svg, &busiest(t, volume))
}

/// A township's volume; a community's is its township's; a district's
/// the sum of its townships'.
fn shade(t: &Topology, volume: &BTreeMap<String, u64>, u: &Unit) -> Shade {
    let of = |id: &str| volume.get(id).copied().unwrap_or(0);
    match u.tier {
        Tier::Township => {
            let n = of(&u.id);
            Shade {
                value: Some(n as f64),
                tip: format!("{}: {n} requests", u.name),
            }
        }
        Tier::Community => match t.parent_of(&u.id).filter(|p| p.tier == Tier::Township) {
            Some(tw) => {
                let n = of(&tw.id);
                Shade {
                    value: Some(n as f64),
                    tip: format!(
                        "{} — {}: the township received {n} requests",
                        tw.name, u.name
                    ),
                }
            }
            None => Shade {
                value: None,
                tip: format!("{}: no township", u.name),
            },
        },
        _ => {
            let n: u64 = volume
                .iter()
                .filter(|(id, _)| t.is_within(id, &u.id))
                .map(|(_, n)| n)
                .sum();
            Shade {
                value: None,
                tip: format!("{}: {n} requests in its townships", u.name),
            }
        }
    }
}
/// The busiest townships by name, with their district and share.
fn busiest(t: &Topology, volume: &BTreeMap<String, u64>) -> String {
    const SHOWN: usize = 12;
    let total: u64 = volume.values().sum();
    let mut rows: Vec<(&String, &u64)> = volume.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let cells: Vec<Vec<String>> = rows
        .iter()
        .take(SHOWN)
        .map(|(id, n)| {
            let unit = t.unit(id);
            let district = t.parent_of(id).map_or(String::new(), |d| d.name.clone());
            vec![
                unit.map_or((*id).clone(), |u| u.name.clone()),
                district,
                n.to_string(),
                value_label((**n as f64 * 1000.0 / total.max(1) as f64).round() / 10.0),
            ]
        })
        .collect();
    let mut out = super::tables::classed_table(
        " class=\"names\"",
        &["township", "district", "requests", "share %"],
        &cells,
    );
    if rows.len() > SHOWN {
        let _ = write!(
            out,
            "<p>and {} more townships; every one is named on the map (hover a shape).</p>",
            rows.len() - SHOWN
        );
    }
    let _ = write!(out, "<p>{total} requests received in townships in all.</p>");
    out
}
