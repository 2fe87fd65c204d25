//! Shapes from plain coordinate lists (a topology's inline `boundary`, a
//! GeoJSON geometry), checked once so the locator can trust them.

use geo::{LineString, MultiPolygon, Polygon, Validation};

/// Rings of one polygon: the exterior first, then any holes; each a list
/// of `[lon, lat]`.
pub type Rings = Vec<Vec<[f64; 2]>>;

/// Builds a shape from polygons' rings, closing open rings, and refuses
/// what the locator cannot trust: non-finite or out-of-range coordinates,
/// rings of fewer than three points, self-intersections, holes outside
/// their polygon, polygons that overlap.
pub fn from_rings(polygons: Vec<Rings>) -> Result<MultiPolygon, String> {
    if polygons.is_empty() {
        return Err("has no polygon".into());
    }
    let mut out = Vec::with_capacity(polygons.len());
    for (p, rings) in polygons.into_iter().enumerate() {
        let mut rings = rings
            .into_iter()
            .map(|r| ring(r).map_err(|e| format!("polygon {p}: {e}")));
        let exterior = rings
            .next()
            .ok_or_else(|| format!("polygon {p}: no exterior ring"))??;
        let holes = rings.collect::<Result<Vec<_>, _>>()?;
        out.push(Polygon::new(exterior, holes));
    }
    let shape = MultiPolygon::new(out);
    shape
        .check_validation()
        .map_err(|e| format!("is not a valid polygon: {e}"))?;
    Ok(shape)
}

fn ring(mut points: Vec<[f64; 2]>) -> Result<LineString, String> {
    for [lon, lat] in &points {
        if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return Err(format!("[{lon}, {lat}] is not a longitude, latitude pair"));
        }
    }
    if points.first() != points.last() {
        points.push(points[0]);
    }
    if points.len() < 4 {
        return Err("a ring needs at least 3 distinct points".into());
    }
    Ok(points.into_iter().map(|[x, y]| (x, y)).collect())
}

/// Vertices of a shape, not counting each ring's closing repeat.
pub fn vertex_count(shape: &MultiPolygon) -> usize {
    shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| r.0.len().saturating_sub(1))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_closed_and_checked() {
        let open = vec![vec![vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]]];
        let s = from_rings(open).unwrap();
        assert_eq!(s.0[0].exterior().0.len(), 4);
        assert_eq!(vertex_count(&s), 3);

        let bowtie = vec![vec![vec![[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]]];
        let e = from_rings(bowtie).unwrap_err();
        assert!(e.contains("self-intersection"), "{e}");

        let e = from_rings(vec![vec![vec![[0.0, 0.0], [1.0, 0.0]]]]).unwrap_err();
        assert!(e.contains("at least 3"), "{e}");
        let e = from_rings(vec![vec![vec![[0.0, 0.0], [1.0, 0.0], [0.0, 95.0]]]]).unwrap_err();
        assert!(e.contains("[0, 95]"), "{e}");
        assert!(from_rings(Vec::new()).is_err());
    }
}
