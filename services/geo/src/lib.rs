//! Territory geometry for hotline-mesh: the boundaries of districts,
//! townships and communities, and the locator that turns a longitude and
//! latitude into the unit that owns it. Pure: no I/O, no knowledge of
//! units beyond their shapes; the domain core maps leaves to units.

pub mod atlas;
pub mod geojson;
pub mod metric;
pub mod shape;
pub mod survey;
pub mod tiling;

pub use atlas::{Atlas, Hit};
pub use geo;
