//! Server-side SVG, drawn once and shared: the charts (plotters' SVG
//! backend, titled axes from zero, no font files) and the territory map
//! (the topology's own boundaries as a choropleth). The simulator's HTML
//! report and the web dashboard (一张图) both draw with them, so a chart
//! reads the same in either.
//!
//! Everything here is a pure function from figures to markup: no script,
//! nothing fetched, text left to the browser as SVG `<text>`.

pub mod charts;
pub mod map;

/// `s` safe inside HTML or SVG text and double-quoted attributes.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
