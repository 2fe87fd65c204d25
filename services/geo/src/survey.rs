//! A survey of an atlas for `topology check`: how detailed the boundaries
//! are, and whether the leaves tile the city without gaps or overlaps.
//!
//! Method: project every leaf onto a plane in metres (equirectangular at
//! the city's mean latitude), union them all, and compare. Overlap area is
//! the sum of the leaves' areas minus the area of their union; each hole in
//! the union is a gap (a place inside the city that no unit owns). When
//! the overlap area is above the tolerance, leaf pairs whose bounding boxes
//! meet are intersected to count the overlapping pairs.

use geo::{Area, BooleanOps, Coord, MapCoords, MultiPolygon, unary_union};

use crate::atlas::Atlas;
use crate::metric::scale_at;
use crate::shape::vertex_count;

/// Areas below this (m²) are float noise from the union, not territory.
pub const TOLERANCE_M2: f64 = 1.0;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Survey {
    pub leaves: usize,
    pub mean_vertices: f64,
    pub area_km2: f64,
    /// Separate pieces of the city (1 when it is all of a piece).
    pub pieces: usize,
    pub gaps: usize,
    pub gap_area_m2: f64,
    pub overlaps: usize,
    pub overlap_area_m2: f64,
}

pub fn survey(atlas: &Atlas) -> Survey {
    if atlas.is_empty() {
        return Survey::default();
    }
    let mean_lat = atlas
        .shapes()
        .iter()
        .flat_map(|s| s.0.iter().flat_map(|p| p.exterior().0.iter()))
        .map(|c| c.y)
        .sum::<f64>()
        / atlas
            .shapes()
            .iter()
            .map(|s| s.0.iter().map(|p| p.exterior().0.len()).sum::<usize>())
            .sum::<usize>() as f64;
    let (kx, ky) = scale_at(mean_lat);
    let planar: Vec<MultiPolygon> = atlas
        .shapes()
        .iter()
        .map(|s| {
            s.map_coords(|c| Coord {
                x: c.x * kx,
                y: c.y * ky,
            })
        })
        .collect();
    let union = unary_union(&planar);
    let summed: f64 = planar.iter().map(|s| s.unsigned_area()).sum();
    let union_area = union.unsigned_area();
    let holes: Vec<f64> = union
        .0
        .iter()
        .flat_map(|p| p.interiors().iter())
        .map(|h| geo::Polygon::new(h.clone(), Vec::new()).unsigned_area())
        .filter(|a| *a > TOLERANCE_M2)
        .collect();
    let overlap_area = (summed - union_area).max(0.0);
    let overlaps = if overlap_area > TOLERANCE_M2 {
        overlapping_pairs(atlas, &planar)
    } else {
        0
    };
    let vertices: usize = atlas.shapes().iter().map(vertex_count).sum();
    Survey {
        leaves: atlas.len(),
        mean_vertices: vertices as f64 / atlas.len() as f64,
        area_km2: union_area / 1e6,
        pieces: union.0.len(),
        gaps: holes.len(),
        gap_area_m2: holes.iter().fold(0.0, |a, h| a + h),
        overlaps,
        overlap_area_m2: if overlaps > 0 { overlap_area } else { 0.0 },
    }
}

fn overlapping_pairs(atlas: &Atlas, planar: &[MultiPolygon]) -> usize {
    let mut count = 0;
    for (i, shape) in atlas.shapes().iter().enumerate() {
        let Some(r) = geo::BoundingRect::bounding_rect(shape) else {
            continue;
        };
        let min = [r.min().x, r.min().y];
        let max = [r.max().x, r.max().y];
        for j in atlas.candidates(min, max) {
            let j = j as usize;
            if j > i && planar[i].intersection(&planar[j]).unsigned_area() > TOLERANCE_M2 {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x: f64, y: f64, size: f64) -> MultiPolygon {
        polygon![(x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size)]
            .into()
    }

    #[test]
    fn a_clean_tiling_has_no_gaps_or_overlaps() {
        let s = survey(&Atlas::new(
            vec![square(116.0, 40.0, 0.01), square(116.01, 40.0, 0.01)],
            30.0,
        ));
        assert_eq!((s.leaves, s.pieces, s.gaps, s.overlaps), (2, 1, 0, 0));
        assert_eq!(s.mean_vertices, 4.0);
        assert!(
            (s.area_km2 - 2.0 * 0.852 * 1.112).abs() < 0.01,
            "{}",
            s.area_km2
        );
    }

    #[test]
    fn gaps_and_overlaps_are_found() {
        // A ring of eight squares around a missing ninth: one gap.
        let mut ring = Vec::new();
        for (i, j) in [
            (0, 0),
            (1, 0),
            (2, 0),
            (0, 1),
            (2, 1),
            (0, 2),
            (1, 2),
            (2, 2),
        ] {
            ring.push(square(
                116.0 + 0.01 * f64::from(i),
                40.0 + 0.01 * f64::from(j),
                0.01,
            ));
        }
        let s = survey(&Atlas::new(ring.clone(), 30.0));
        assert_eq!((s.gaps, s.overlaps), (1, 0));
        assert!(
            (s.gap_area_m2 - 0.852e6 * 1.112).abs() < 2e4,
            "{}",
            s.gap_area_m2
        );

        // A ninth square shifted half a cell east: it overlaps its eastern
        // neighbour by half a cell and leaves half the gap open.
        ring.push(square(116.015, 40.01, 0.01));
        let s = survey(&Atlas::new(ring, 30.0));
        assert_eq!((s.gaps, s.overlaps), (1, 1), "{s:?}");
        let half = 0.852e6 * 1.112 / 2.0;
        assert!((s.overlap_area_m2 - half).abs() < 1e4, "{s:?}");
        assert!((s.gap_area_m2 - half).abs() < 1e4, "{s:?}");
    }
}
