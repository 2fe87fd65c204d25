//! The township map: each community's boundary shaded by its township's
//! request volume, township names where they fit, every shape's name and
//! count as a tooltip, and the colour scale with its ticks. Hand-drawn
//! SVG: a choropleth of the topology's own polygons, not a chart.

use std::collections::BTreeMap;
use std::fmt::Write;

use hotline_core::{Tier, Topology};

use super::charts::{text_width, ticks, value_label};
use super::esc;

const WIDTH: f64 = 560.0;
const MAX_HEIGHT: f64 = 420.0;
/// Space under the map for the colour scale.
const SCALE_H: f64 = 56.0;
/// ColorBrewer's Blues, light to dark.
const RAMP: [(f64, f64, f64); 5] = [
    (239.0, 243.0, 255.0),
    (189.0, 215.0, 231.0),
    (107.0, 174.0, 214.0),
    (49.0, 130.0, 189.0),
    (8.0, 81.0, 156.0),
];

/// The ramp's colour at `t` in 0..=1.
fn colour(t: f64) -> String {
    let t = t.clamp(0.0, 1.0) * (RAMP.len() - 1) as f64;
    let i = (t.floor() as usize).min(RAMP.len() - 2);
    let f = t - i as f64;
    let (a, b) = (RAMP[i], RAMP[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round();
    format!("rgb({},{},{})", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// What a township covers on the page: its area-weighted centre and its
/// bounding box, in pixels.
struct Extent {
    area: f64,
    cx: f64,
    cy: f64,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Extent {
    fn new() -> Self {
        Extent {
            area: 0.0,
            cx: 0.0,
            cy: 0.0,
            x0: f64::MAX,
            y0: f64::MAX,
            x1: f64::MIN,
            y1: f64::MIN,
        }
    }

    fn add_ring(&mut self, pts: &[(f64, f64)]) {
        let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
        for w in pts.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            let cross = x0 * y1 - x1 * y0;
            a += cross;
            cx += (x0 + x1) * cross;
            cy += (y0 + y1) * cross;
        }
        let a = a / 2.0;
        if a.abs() > 1e-9 {
            let (rx, ry) = (cx / (6.0 * a), cy / (6.0 * a));
            let total = self.area + a.abs();
            self.cx = (self.cx * self.area + rx * a.abs()) / total;
            self.cy = (self.cy * self.area + ry * a.abs()) / total;
            self.area = total;
        }
        for (x, y) in pts {
            self.x0 = self.x0.min(*x);
            self.y0 = self.y0.min(*y);
            self.x1 = self.x1.max(*x);
            self.y1 = self.y1.max(*y);
        }
    }
}

/// Requests received by township, drawn on the communities' boundaries.
pub fn township_map(t: &Topology, volume: &BTreeMap<String, u64>) -> String {
    let atlas = t.atlas();
    if atlas.is_empty() {
        return String::new();
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for s in atlas.shapes() {
        for p in &s.0 {
            for c in &p.exterior().0 {
                x0 = x0.min(c.x);
                y0 = y0.min(c.y);
                x1 = x1.max(c.x);
                y1 = y1.max(c.y);
            }
        }
    }
    // Longitude shrinks with the cosine of the latitude.
    let aspect = ((y0 + y1) / 2.0).to_radians().cos().max(0.1);
    let scale =
        ((WIDTH - 20.0) / ((x1 - x0) * aspect).max(1e-9)).min(MAX_HEIGHT / (y1 - y0).max(1e-9));
    let map_w = (x1 - x0) * aspect * scale;
    let map_h = (y1 - y0) * scale;
    let left = (WIDTH - map_w) / 2.0;
    let px = |x: f64, y: f64| (left + (x - x0) * aspect * scale, 10.0 + (y1 - y) * scale);
    let ticks = ticks(volume.values().copied().max().unwrap_or(0) as f64, true);
    let top = ticks.last().copied().unwrap_or(1.0);
    let height = map_h + 20.0 + SCALE_H;
    let mut s = format!(
        "<figure class=\"map\"><figcaption>Requests received by township, whole run</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Requests received by township\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\">"
    );
    let mut extents: BTreeMap<&str, (&str, u64, Extent)> = BTreeMap::new();
    for leaf in 0..atlas.len() as u32 {
        let unit = t.leaf_unit(leaf);
        let township = t.parent_of(&unit.id).filter(|u| u.tier == Tier::Township);
        let (fill, tip) = match township {
            Some(tw) => {
                let n = volume.get(&tw.id).copied().unwrap_or(0);
                (
                    colour(n as f64 / top),
                    format!(
                        "{} — {}: the township received {n} requests",
                        tw.name, unit.name
                    ),
                )
            }
            None => ("#eee".to_string(), format!("{}: no township", unit.name)),
        };
        for p in &atlas.shape(leaf).0 {
            let pts: Vec<(f64, f64)> = p.exterior().0.iter().map(|c| px(c.x, c.y)).collect();
            if let Some(tw) = township {
                let n = volume.get(&tw.id).copied().unwrap_or(0);
                extents
                    .entry(tw.id.as_str())
                    .or_insert_with(|| (tw.name.as_str(), n, Extent::new()))
                    .2
                    .add_ring(&pts);
            }
            let points: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                s,
                "<polygon points=\"{}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"0.6\"><title>{}</title></polygon>",
                points.join(" "),
                esc(&tip)
            );
        }
    }
    // Names where they fit inside the township's box; a white halo keeps
    // them legible on the dark shades.
    for (name, n, e) in extents.values() {
        let w = text_width(name, 12.0);
        if w > (e.x1 - e.x0) * 0.95 || e.y1 - e.y0 < 30.0 {
            continue;
        }
        let _ = write!(
            s,
            "<text class=\"township\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222\" stroke=\"#fff\" stroke-width=\"3\" stroke-opacity=\"0.8\" paint-order=\"stroke\">{}<tspan x=\"{:.1}\" dy=\"14\" font-size=\"11\">{n}</tspan><title>{}: {n} requests</title></text>",
            e.cx,
            e.cy - 2.0,
            esc(name),
            e.cx,
            esc(name)
        );
    }
    s += &scale_legend(map_h + 30.0, &ticks);
    s += "</svg></figure>";
    super::beside(&s, &busiest(t, volume))
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

/// The colour scale: the ramp from zero to the top tick, ticks below it.
fn scale_legend(y: f64, ticks: &[f64]) -> String {
    let (x, w, h) = (WIDTH / 2.0 - 130.0, 260.0, 12.0);
    let top = ticks.last().copied().unwrap_or(1.0);
    let mut s = String::from("<g class=\"scale\"><defs><linearGradient id=\"township-ramp\">");
    for i in 0..RAMP.len() {
        let t = i as f64 / (RAMP.len() - 1) as f64;
        let _ = write!(
            s,
            "<stop offset=\"{:.0}%\" stop-color=\"{}\"/>",
            t * 100.0,
            colour(t)
        );
    }
    let _ = write!(
        s,
        "</linearGradient></defs><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#333\">requests</text><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w}\" height=\"{h}\" fill=\"url(#township-ramp)\" stroke=\"#999\" stroke-width=\"0.5\"/>",
        x - 8.0,
        y + h - 2.0
    );
    for t in ticks {
        let tx = x + t / top * w;
        let _ = write!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#333\"/><text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333\">{}</text>",
            y + h,
            y + h + 4.0,
            y + h + 16.0,
            value_label(*t)
        );
    }
    s + "</g>"
}
