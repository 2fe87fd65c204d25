//! The territory map: every bounded unit of an area drawn from the
//! topology's own boundaries and shaded by a figure, the townships' names
//! where they fit, and the colour scale with its ticks. Hand-drawn SVG: a
//! choropleth of the topology's polygons, not a chart.
//!
//! Each unit is one element naming it (`data-unit`, `data-tier`, and
//! `data-value` when it has a figure) with its tooltip (`<title>`): a leaf
//! (a unit carrying a boundary: a community, or a township whose
//! communities carry none) is a `<polygon>`, or a `<g>` of polygons when
//! its territory is in parts; every unit above a leaf, up to the area
//! drawn, is a `<g>` around its children.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use hotline_core::{Tier, Topology, Unit};

use crate::charts::{text_width, ticks, value_label};
use crate::esc;

const WIDTH: f64 = 560.0;
const MAX_HEIGHT: f64 = 420.0;
/// Space under the map for the colour scale.
const SCALE_H: f64 = 56.0;

/// Five colours, light to dark.
pub type Ramp = [(f64, f64, f64); 5];

/// ColorBrewer's Blues: volumes.
pub const BLUES: Ramp = [
    (239.0, 243.0, 255.0),
    (189.0, 215.0, 231.0),
    (107.0, 174.0, 214.0),
    (49.0, 130.0, 189.0),
    (8.0, 81.0, 156.0),
];

/// ColorBrewer's Reds: shares of something gone wrong (overdue).
pub const REDS: Ramp = [
    (254.0, 229.0, 217.0),
    (252.0, 174.0, 145.0),
    (251.0, 106.0, 74.0),
    (222.0, 45.0, 38.0),
    (165.0, 15.0, 21.0),
];

/// A unit with no figure.
const NO_FIGURE: &str = "#eee";

/// The ramp's colour at `t` in 0..=1.
fn colour(ramp: &Ramp, t: f64) -> String {
    let t = t.clamp(0.0, 1.0) * (ramp.len() - 1) as f64;
    let i = (t.floor() as usize).min(ramp.len() - 2);
    let f = t - i as f64;
    let (a, b) = (ramp[i], ramp[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round();
    format!("rgb({},{},{})", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// What a unit shows: the figure it is shaded by (`None`: none, drawn
/// grey) and its tooltip.
pub struct Shade {
    pub value: Option<f64>,
    pub tip: String,
}

/// A map to draw.
pub struct Map<'a> {
    pub topology: &'a Topology,
    /// The area drawn: every leaf within this unit (the city: all).
    pub within: &'a str,
    /// The figure's caption.
    pub caption: &'a str,
    /// What the figure measures, beside the scale, e.g. "requests".
    pub measure: &'a str,
    pub ramp: &'a Ramp,
    /// The scale's gradient id: unique on its page.
    pub ramp_id: &'a str,
    /// Counts: whole ticks on the scale.
    pub counts: bool,
    /// The scale's top when fixed (100 for a percentage); otherwise the
    /// first tick past the largest figure.
    pub top: Option<f64>,
}

/// What a unit covers on the page: its area-weighted centre and its
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

/// The units a map of `within` draws: every leaf within it, and each
/// leaf's ancestors up to `within` itself. Empty when no leaf is within
/// it (a department's, or a topology without boundaries).
pub fn drawn_units(t: &Topology, within: &str) -> BTreeSet<String> {
    let mut units = BTreeSet::new();
    for leaf in 0..t.atlas().len() as u32 {
        let unit = t.leaf_unit(leaf);
        if !t.is_within(&unit.id, within) {
            continue;
        }
        let mut cur = Some(unit);
        while let Some(u) = cur {
            units.insert(u.id.clone());
            if u.id == within {
                break;
            }
            cur = t.parent_of(&u.id);
        }
    }
    units
}

/// The map: the area's leaves shaded by `shade` of each (a leaf's shade
/// may well be its township's figure), every unit's tooltip its own
/// shade's, the townships named where their name fits. Empty when there
/// is nothing to draw.
pub fn choropleth(m: &Map, shade: impl Fn(&Unit) -> Shade) -> String {
    let t = m.topology;
    let atlas = t.atlas();
    let leaves: Vec<u32> = (0..atlas.len() as u32)
        .filter(|l| t.is_within(&t.leaf_unit(*l).id, m.within))
        .collect();
    if leaves.is_empty() {
        return String::new();
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for leaf in &leaves {
        for p in &atlas.shape(*leaf).0 {
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

    let units = drawn_units(t, m.within);
    let shades: BTreeMap<&str, Shade> = units
        .iter()
        .filter_map(|id| t.unit(id))
        .map(|u| (u.id.as_str(), shade(u)))
        .collect();
    // The scale spans the leaves' figures: the colours drawn.
    let largest = leaves
        .iter()
        .filter_map(|l| shades.get(t.leaf_unit(*l).id.as_str()))
        .filter_map(|s| s.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let ticks = ticks(m.top.unwrap_or(largest), m.counts);
    let top = ticks.last().copied().unwrap_or(1.0);

    // Each leaf's rings in pixels; each unit's extent over its leaves.
    let mut rings: BTreeMap<&str, Vec<Vec<(f64, f64)>>> = BTreeMap::new();
    let mut extents: BTreeMap<&str, Extent> = BTreeMap::new();
    for leaf in &leaves {
        let unit = t.leaf_unit(*leaf);
        for p in &atlas.shape(*leaf).0 {
            let pts: Vec<(f64, f64)> = p.exterior().0.iter().map(|c| px(c.x, c.y)).collect();
            let mut cur = Some(unit);
            while let Some(u) = cur.filter(|u| units.contains(&u.id)) {
                extents
                    .entry(u.id.as_str())
                    .or_insert_with(Extent::new)
                    .add_ring(&pts);
                cur = t.parent_of(&u.id);
            }
            rings.entry(unit.id.as_str()).or_default().push(pts);
        }
    }
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in &units {
        if id != m.within
            && let Some(p) = t.parent_of(id)
        {
            children.entry(p.id.as_str()).or_default().push(id);
        }
    }

    let height = map_h + 20.0 + SCALE_H;
    let mut s = format!(
        "<figure class=\"map\"><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\">",
        esc(m.caption),
        esc(m.caption)
    );
    let draw = Draw {
        m,
        top,
        shades: &shades,
        rings: &rings,
        children: &children,
    };
    draw.unit(&mut s, m.within);
    // Names where they fit inside the township's box; a white halo keeps
    // them legible on the dark shades.
    for (id, e) in &extents {
        let Some(u) = t.unit(id).filter(|u| u.tier == Tier::Township) else {
            continue;
        };
        let w = text_width(&u.name, 12.0);
        if w > (e.x1 - e.x0) * 0.95 || e.y1 - e.y0 < 30.0 {
            continue;
        }
        let (figure, tip) = shades.get(id).map_or(("–".to_string(), ""), |s| {
            (s.value.map_or("–".into(), value_label), s.tip.as_str())
        });
        let _ = write!(
            s,
            "<text class=\"township\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222\" stroke=\"#fff\" stroke-width=\"3\" stroke-opacity=\"0.8\" paint-order=\"stroke\">{}<tspan x=\"{:.1}\" dy=\"14\" font-size=\"11\">{figure}</tspan><title>{}</title></text>",
            e.cx,
            e.cy - 2.0,
            esc(&u.name),
            e.cx,
            esc(tip)
        );
    }
    s += &scale_legend(m, map_h + 30.0, &ticks);
    s + "</svg></figure>"
}

/// Draws units, each with its children inside.
struct Draw<'a> {
    m: &'a Map<'a>,
    top: f64,
    shades: &'a BTreeMap<&'a str, Shade>,
    rings: &'a BTreeMap<&'a str, Vec<Vec<(f64, f64)>>>,
    children: &'a BTreeMap<&'a str, Vec<&'a str>>,
}

impl Draw<'_> {
    fn unit(&self, s: &mut String, id: &str) {
        let tier = self.m.topology.unit(id).map_or("", |u| u.tier.as_str());
        let shade = self.shades.get(id);
        let tip = esc(shade.map_or(id, |s| s.tip.as_str()));
        let value = shade
            .and_then(|s| s.value)
            .filter(|v| v.is_finite())
            .map_or(String::new(), |v| format!(" data-value=\"{v}\""));
        let attrs = format!("data-unit=\"{}\" data-tier=\"{tier}\"{value}", esc(id));
        if let Some(rings) = self.rings.get(id) {
            let fill = shade
                .and_then(|s| s.value)
                .filter(|v| v.is_finite())
                .map_or(NO_FIGURE.to_string(), |v| colour(self.m.ramp, v / self.top));
            let polygon = |s: &mut String, ring: &[(f64, f64)], attrs: &str, title: &str| {
                let points: Vec<String> =
                    ring.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(
                    s,
                    "<polygon {attrs}points=\"{}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"0.6\">{title}</polygon>",
                    points.join(" ")
                );
            };
            match rings.as_slice() {
                [ring] => polygon(
                    s,
                    ring,
                    &format!("{attrs} "),
                    &format!("<title>{tip}</title>"),
                ),
                parts => {
                    let _ = write!(s, "<g {attrs}><title>{tip}</title>");
                    for ring in parts {
                        polygon(s, ring, "", "");
                    }
                    s.push_str("</g>");
                }
            }
            return;
        }
        let _ = write!(s, "<g {attrs}><title>{tip}</title>");
        for child in self.children.get(id).into_iter().flatten() {
            self.unit(s, child);
        }
        s.push_str("</g>");
    }
}

/// The colour scale: the ramp from zero to the top tick, ticks below it.
fn scale_legend(m: &Map, y: f64, ticks: &[f64]) -> String {
    let (x, w, h) = (WIDTH / 2.0 - 130.0, 260.0, 12.0);
    let top = ticks.last().copied().unwrap_or(1.0);
    let id = esc(m.ramp_id);
    let mut s = format!("<g class=\"scale\"><defs><linearGradient id=\"{id}\">");
    for i in 0..m.ramp.len() {
        let t = i as f64 / (m.ramp.len() - 1) as f64;
        let _ = write!(
            s,
            "<stop offset=\"{:.0}%\" stop-color=\"{}\"/>",
            t * 100.0,
            colour(m.ramp, t)
        );
    }
    let _ = write!(
        s,
        "</linearGradient></defs><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#333\">{}</text><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w}\" height=\"{h}\" fill=\"url(#{id})\" stroke=\"#999\" stroke-width=\"0.5\"/>",
        x - 8.0,
        y + h - 2.0,
        esc(m.measure)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const DEMO: &str = include_str!("../../../topology/demo-city.toml");

    fn demo() -> Topology {
        Topology::parse("demo-city.toml", DEMO).unwrap()
    }

    fn shade(u: &Unit) -> Shade {
        Shade {
            value: (u.tier == Tier::Township).then_some(u.name.len() as f64),
            tip: format!("{}: tip", u.name),
        }
    }

    fn map<'a>(t: &'a Topology, within: &'a str) -> Map<'a> {
        Map {
            topology: t,
            within,
            caption: "requests by township",
            measure: "requests",
            ramp: &BLUES,
            ramp_id: "ramp",
            counts: true,
            top: None,
        }
    }

    /// `data-unit="…"` of every element, in order.
    fn units(svg: &str) -> Vec<&str> {
        svg.split("data-unit=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect()
    }

    #[test]
    fn every_bounded_unit_and_each_above_it_is_one_element_with_a_tooltip() {
        let t = demo();
        let svg = choropleth(&map(&t, &t.city().id), shade);
        let drawn = units(&svg);
        let want = drawn_units(&t, &t.city().id);
        // 8 communities, 4 townships, 2 districts and the city.
        assert_eq!(want.len(), 15, "{want:?}");
        let mut sorted = drawn.clone();
        sorted.sort();
        assert_eq!(sorted, want.iter().map(String::as_str).collect::<Vec<_>>());
        for u in want {
            let name = &t.unit(&u).unwrap().name;
            assert!(svg.contains(&format!("<title>{name}: tip</title>")), "{u}");
        }
        // Nested: the city around everything, a township around its
        // communities.
        assert!(svg.contains("<g data-unit=\"city\" data-tier=\"city\"><title>"));
        let harbour = &svg[svg.find("data-unit=\"t-harbour\"").unwrap()..];
        let end = harbour.find("</g>").unwrap();
        assert_eq!(units(&harbour[..end]).len(), 3, "{harbour}");
    }

    #[test]
    fn a_district_map_draws_its_own_territory_only() {
        let t = demo();
        let svg = choropleth(&map(&t, "d-hillview"), shade);
        let mut drawn = units(&svg);
        drawn.sort();
        assert_eq!(
            drawn,
            [
                "c-lake-mill",
                "c-lake-shore",
                "c-pine-orchard",
                "c-pine-village",
                "d-hillview",
                "t-lake",
                "t-pine"
            ]
        );
        // A department has no territory: nothing to draw.
        assert_eq!(choropleth(&map(&t, "dept-urban"), shade), "");
    }

    #[test]
    fn a_unit_without_a_figure_is_grey_and_the_scale_spans_the_figures() {
        let t = demo();
        let svg = choropleth(&map(&t, &t.city().id), |u| Shade {
            value: (u.id != "c-lake-mill").then_some(if u.id == "c-pine-village" {
                42.0
            } else {
                1.0
            }),
            tip: u.id.clone(),
        });
        let mill = &svg[svg.find("data-unit=\"c-lake-mill\"").unwrap()..];
        assert!(mill[..mill.find("</polygon>").unwrap()].contains("fill=\"#eee\""));
        let pine = &svg[svg.find("data-unit=\"c-pine-village\"").unwrap()..];
        assert!(
            pine.starts_with(
                "data-unit=\"c-pine-village\" data-tier=\"community\" data-value=\"42\""
            )
        );
        assert!(
            svg.contains("url(#ramp)") && svg.contains(">50</text>"),
            "{svg}"
        );
    }
}
