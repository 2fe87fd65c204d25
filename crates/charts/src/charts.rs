//! Charts, drawn by plotters' SVG backend. Every chart has a
//! value axis from zero with gridlines at round ticks, both axes titled
//! with their units, and each bar's value written at its end, so a count
//! of one still shows beside a count of a thousand. Text stays SVG
//! `<text>` the browser sets: no font files are read.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::esc;

const WIDTH: u32 = 560;
const FONT: &str = "sans-serif";
/// Tableau's first four: told apart in print and by most colour-blind
/// readers.
const PALETTE: [RGBColor; 4] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xb0, 0x7a, 0xa1),
];
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

/// One named row of values; NaN where there is no value.
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

pub fn series(name: &str, values: Vec<f64>) -> Series {
    Series {
        name: name.to_string(),
        values,
    }
}

/// Bars: named categories (drawn across, names on the left) or ordered
/// bins (drawn upright, bins along the bottom), one bar per series.
pub struct Bars<'a> {
    pub title: &'a str,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// What the categories are, e.g. "handler type".
    pub category_axis: &'a str,
    /// What the values are, with their unit, e.g. "objections (count)".
    pub value_axis: &'a str,
    /// Counts: ticks at whole numbers.
    pub counts: bool,
    /// Ordered bins along the bottom instead of names down the side.
    pub upright: bool,
}

/// Lines over days.
pub struct Lines<'a> {
    pub title: &'a str,
    pub xs: Vec<f64>,
    pub series: Vec<Series>,
    pub x_axis: &'a str,
    pub y_axis: &'a str,
    /// The y axis's top when fixed (100 for a percentage).
    pub y_top: Option<f64>,
}

/// A linear axis with the ticks given: plotters' own pick need not
/// include zero or land on round numbers.
struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

fn ticked(range: Range<f64>, ticks: &[f64]) -> Ticked {
    Ticked {
        range,
        ticks: ticks.to_vec(),
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span <= 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let t = (v - self.range.start) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Gridlines at the ticks only: no lighter lines between them.
        match hint.weight().allow_light_points() {
            true => Vec::new(),
            false => self.ticks.clone(),
        }
    }
}

/// Round ticks from zero past `max`: steps of 1, 2, 2.5 or 5 times a
/// power of ten, about five of them; whole steps for counts.
pub fn ticks(max: f64, counts: bool) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let steps: &[f64] = if counts && mag < 10.0 {
        &[1.0, 2.0, 5.0, 10.0]
    } else {
        &[1.0, 2.0, 2.5, 5.0, 10.0]
    };
    let mut step = steps
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    if counts {
        step = step.round().max(1.0);
    }
    let n = ((max / step) * (1.0 - 1e-9)).ceil().max(1.0) as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

/// A tick's label: as many decimals as the step needs.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = (0..6)
        .find(|d| {
            let x = step * 10f64.powi(*d);
            (x - x.round()).abs() < 1e-6
        })
        .unwrap_or(6) as usize;
    format!("{v:.decimals$}")
}

/// A value as written in a table or a legend.
pub fn value_label(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A value as written on a bar: counts whole, shares to one decimal.
fn bar_label(v: f64, counts: bool) -> String {
    match (v.is_finite(), counts) {
        (false, _) => "–".into(),
        (true, true) => format!("{v:.0}"),
        (true, false) => format!("{v:.1}"),
    }
}

/// Width in pixels of `s` at `px`, roughly (CJK a full em).
pub fn text_width(s: &str, px: f64) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.6 } else { 1.0 })
        .sum::<f64>()
        * px
}

/// plotters writes a font's size divided by 1.24 (its em-box ratio).
fn font(px: f64) -> TextStyle<'static> {
    (FONT, px * 1.24).into_font().color(&INK)
}

fn finite_max(series: &[Series]) -> f64 {
    series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

/// Value ticks with room past the longest bar for its label.
fn value_ticks(max: f64, counts: bool) -> Vec<f64> {
    let mut t = ticks(max, counts);
    let top = t.last().copied().unwrap_or(1.0);
    if max / top > 0.85 {
        let step = t.get(1).copied().unwrap_or(1.0);
        t.push(top + step);
    }
    t
}

/// The figure around a chart's SVG: its caption and what its axes are.
fn figure(title: &str, x: &str, y: &str, svg: &str) -> String {
    let svg = svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(title)),
        1,
    );
    format!(
        "<figure class=\"chart\" data-x-axis=\"{}\" data-y-axis=\"{}\"><figcaption>{}</figcaption>{svg}</figure>",
        esc(x),
        esc(y),
        esc(title)
    )
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

/// The series' names, each beside its colour, along the top.
fn legend(root: &Area, series: &[Series], left: i32) -> Drawn {
    if series.len() < 2 {
        return Ok(());
    }
    let mut x = left;
    for (j, s) in series.iter().enumerate() {
        let c = PALETTE[j % PALETTE.len()];
        root.draw(&Rectangle::new([(x, 8), (x + 12, 20)], c.filled()))?;
        root.draw(&Text::new(
            s.name.clone(),
            (x + 17, 14),
            font(12.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += 17 + text_width(&s.name, 12.0) as i32 + 18;
    }
    Ok(())
}

fn render(height: u32, draw: impl FnOnce(&Area) -> Drawn) -> String {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        draw(&root).and_then(|()| root.present().map_err(Into::into))
    };
    match drawn {
        Ok(()) => svg,
        Err(e) => format!(
            "<p class=\"error\">chart not drawn: {}</p>",
            esc(&e.to_string())
        ),
    }
}

pub fn bars(b: &Bars) -> String {
    let svg = if b.upright { upright(b) } else { across(b) };
    if b.upright {
        figure(b.title, b.category_axis, b.value_axis, &svg)
    } else {
        figure(b.title, b.value_axis, b.category_axis, &svg)
    }
}

/// Names down the left, bars across: long names stay level and legible;
/// names too long for the side are written above their bars.
fn across(b: &Bars) -> String {
    let n = b.categories.len().max(1);
    let k = b.series.len().max(1);
    let names_w = b
        .categories
        .iter()
        .map(|c| text_width(c, 12.0))
        .fold(0.0, f64::max);
    let above = names_w > 200.0;
    let name_px = if above { 16.0 } else { 0.0 };
    let bar_px = if k == 1 { 18.0 } else { 12.0 };
    let band_px = name_px + bar_px * k as f64 + 10.0;
    let legend_h = if k > 1 { 28 } else { 8 };
    let x_area = 46;
    let height = legend_h + (band_px * n as f64).ceil() as u32 + x_area + 6;
    let y_area = if above {
        28
    } else {
        (names_w + 34.0).max(60.0) as u32
    };
    let ticks = value_ticks(finite_max(&b.series), b.counts);
    let top = ticks.last().copied().unwrap_or(1.0);
    let step = ticks.get(1).copied().unwrap_or(1.0);
    let centres: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
    // The first category at the top.
    let name_at = |y: &f64| {
        let i = n - 1 - (y.floor().max(0.0) as usize).min(n - 1);
        match above {
            true => String::new(),
            false => b.categories.get(i).cloned().unwrap_or_default(),
        }
    };
    let tick = |v: &f64| tick_label(*v, step);
    render(height, |root| {
        root.fill(&WHITE)?;
        legend(root, &b.series, y_area as i32)?;
        let mut chart = ChartBuilder::on(root)
            .margin_top(legend_h)
            .margin_right(14)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(ticked(0.0..top, &ticks), ticked(0.0..n as f64, &centres))?;
        let mut mesh = chart.configure_mesh();
        if above {
            mesh.set_tick_mark_size(LabelAreaPosition::Left, 0);
        }
        mesh.disable_y_mesh()
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(font(12.0))
            .axis_desc_style(font(12.0))
            .x_desc(b.value_axis)
            .y_desc(b.category_axis)
            .x_label_formatter(&tick)
            .y_label_formatter(&name_at)
            .draw()?;
        let unit = top / chart.plotting_area().dim_in_pixel().0.max(1) as f64;
        let frac = bar_px / band_px;
        for (i, name) in b.categories.iter().enumerate() {
            let band_top = (n - i) as f64;
            if above {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((0.0, band_top))
                        + Text::new(
                            name.clone(),
                            (3, 4),
                            font(12.0).pos(Pos::new(HPos::Left, VPos::Top)),
                        ),
                ))?;
            }
            let bars_top = band_top - (name_px + 5.0) / band_px;
            for (j, s) in b.series.iter().enumerate() {
                let v = s.values.get(i).copied().unwrap_or(f64::NAN);
                let hi = bars_top - j as f64 * frac;
                let lo = hi - frac * 0.85;
                let c = PALETTE[j % PALETTE.len()];
                if v.is_finite() && v > 0.0 {
                    // At least two pixels: a small count never vanishes.
                    let end = v.max(2.0 * unit);
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(0.0, lo), (end, hi)],
                        c.filled(),
                    )))?;
                }
                let at = if v.is_finite() { v.max(0.0) } else { 0.0 };
                chart.draw_series(std::iter::once(
                    EmptyElement::at((at, (lo + hi) / 2.0))
                        + Text::new(
                            bar_label(v, b.counts),
                            (4, 0),
                            font(11.0).pos(Pos::new(HPos::Left, VPos::Center)),
                        ),
                ))?;
            }
        }
        Ok(())
    })
}

/// Ordered bins along the bottom, bars upright.
fn upright(b: &Bars) -> String {
    let n = b.categories.len().max(1);
    let k = b.series.len().max(1);
    let legend_h = if k > 1 { 28 } else { 10 };
    let height = 300;
    let ticks = value_ticks(finite_max(&b.series), b.counts);
    let top = ticks.last().copied().unwrap_or(1.0);
    let step = ticks.get(1).copied().unwrap_or(1.0);
    let y_area = 30
        + ticks
            .iter()
            .map(|t| text_width(&tick_label(*t, step), 12.0) as u32)
            .max()
            .unwrap_or(10);
    let plot_w = WIDTH as f64 - y_area as f64 - 14.0;
    let widest = b
        .categories
        .iter()
        .map(|c| text_width(c, 11.0))
        .fold(0.0, f64::max);
    // Every bin labelled when the labels fit, else every second or third.
    let every = ((widest + 6.0) / (plot_w / n as f64)).ceil().max(1.0) as usize;
    let centres: Vec<f64> = (0..n).step_by(every).map(|i| i as f64 + 0.5).collect();
    let bin_at = |x: &f64| {
        b.categories
            .get(x.floor().max(0.0) as usize)
            .cloned()
            .unwrap_or_default()
    };
    let tick = |v: &f64| tick_label(*v, step);
    render(height, |root| {
        root.fill(&WHITE)?;
        legend(root, &b.series, y_area as i32)?;
        let mut chart = ChartBuilder::on(root)
            .margin_top(legend_h)
            .margin_right(14)
            .x_label_area_size(46)
            .y_label_area_size(y_area)
            .build_cartesian_2d(ticked(0.0..n as f64, &centres), ticked(0.0..top, &ticks))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(font(12.0))
            .x_label_style(font(11.0))
            .axis_desc_style(font(12.0))
            .x_desc(b.category_axis)
            .y_desc(b.value_axis)
            .x_label_formatter(&bin_at)
            .y_label_formatter(&tick)
            .draw()?;
        let unit = top / chart.plotting_area().dim_in_pixel().1.max(1) as f64;
        let frac = 0.8 / k as f64;
        for i in 0..b.categories.len() {
            for (j, s) in b.series.iter().enumerate() {
                let v = s.values.get(i).copied().unwrap_or(f64::NAN);
                if !(v.is_finite() && v > 0.0) {
                    continue;
                }
                let lo = i as f64 + 0.1 + j as f64 * frac;
                let hi = lo + frac * 0.9;
                let c = PALETTE[j % PALETTE.len()];
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(lo, 0.0), (hi, v.max(2.0 * unit))],
                    c.filled(),
                )))?;
                chart.draw_series(std::iter::once(
                    EmptyElement::at(((lo + hi) / 2.0, v))
                        + Text::new(
                            bar_label(v, b.counts),
                            (0, -3),
                            font(10.0).pos(Pos::new(HPos::Center, VPos::Bottom)),
                        ),
                ))?;
            }
        }
        Ok(())
    })
}

pub fn lines(l: &Lines) -> String {
    let k = l.series.len().max(1);
    let legend_h = if k > 1 { 28 } else { 10 };
    let height = 300;
    let y_ticks = match l.y_top {
        Some(top) => ticks(top, false),
        None => ticks(finite_max(&l.series), false),
    };
    let y_step = y_ticks.get(1).copied().unwrap_or(1.0);
    let y_top = y_ticks.last().copied().unwrap_or(1.0);
    let x_min = l.xs.iter().copied().fold(0.0, f64::min);
    let x_max = l.xs.iter().copied().fold(x_min + 1.0, f64::max);
    // Whole days along the bottom.
    let x_ticks: Vec<f64> = ticks(x_max - x_min, true)
        .into_iter()
        .map(|t| t + x_min)
        .filter(|t| *t <= x_max * (1.0 + 1e-9))
        .collect();
    let x_step = x_ticks.get(1).map_or(1.0, |t| t - x_min);
    let y_area = 30
        + y_ticks
            .iter()
            .map(|t| text_width(&tick_label(*t, y_step), 12.0) as u32)
            .max()
            .unwrap_or(10);
    let x_tick = |v: &f64| tick_label(*v, x_step);
    let y_tick = |v: &f64| tick_label(*v, y_step);
    let svg = render(height, |root| {
        root.fill(&WHITE)?;
        legend(root, &l.series, y_area as i32)?;
        let mut chart = ChartBuilder::on(root)
            .margin_top(legend_h)
            .margin_right(18)
            .x_label_area_size(46)
            .y_label_area_size(y_area)
            .build_cartesian_2d(ticked(x_min..x_max, &x_ticks), ticked(0.0..y_top, &y_ticks))?;
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(font(12.0))
            .axis_desc_style(font(12.0))
            .x_desc(l.x_axis)
            .y_desc(l.y_axis)
            .x_label_formatter(&x_tick)
            .y_label_formatter(&y_tick)
            .draw()?;
        for (j, s) in l.series.iter().enumerate() {
            let c = PALETTE[j % PALETTE.len()];
            let points: Vec<(f64, f64)> =
                l.xs.iter().copied().zip(s.values.iter().copied()).collect();
            // A missing value breaks the line rather than dropping to zero.
            for run in points.split(|(_, y)| !y.is_finite()) {
                chart.draw_series(LineSeries::new(run.iter().copied(), c.stroke_width(2)))?;
            }
            if points.len() <= 60 {
                chart.draw_series(
                    points
                        .iter()
                        .filter(|(_, y)| y.is_finite())
                        .map(|p| Circle::new(*p, 3, c.filled())),
                )?;
            }
        }
        Ok(())
    });
    figure(l.title, l.x_axis, l.y_axis, &svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_start_at_zero_and_pass_the_maximum_in_round_steps() {
        assert_eq!(ticks(7.0, true), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(ticks(1.0, true), [0.0, 1.0]);
        assert_eq!(ticks(0.0, true), [0.0, 1.0]);
        assert_eq!(ticks(100.0, false), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(ticks(37.8, false), [0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(ticks(12.0, false), [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]);
        assert_eq!(tick_label(7.5, 2.5), "7.5");
        assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
    }
}
