//! Lengths in metres from longitude/latitude. A city is a few hundred
//! kilometres across at most, so a local equirectangular frame around the
//! point in question is exact to well under a metre at the distances that
//! matter here (tens of metres), and costs two multiplications.

use geo::{Coord, LineString, MultiPolygon};

/// Metres per degree of latitude on the mean-radius sphere (6,371,008.8 m).
pub const METRES_PER_DEGREE: f64 = 111_195.08;

/// Metres per degree of longitude and of latitude around `lat`.
pub fn scale_at(lat: f64) -> (f64, f64) {
    // Near the poles a degree of longitude vanishes; clamp so that padding
    // an envelope by metres stays finite.
    let cos = lat.to_radians().cos().max(1e-6);
    (METRES_PER_DEGREE * cos, METRES_PER_DEGREE)
}

/// Distance in metres from `p` to the segment `a`–`b`, in the frame of
/// `scale` (metres per degree of lon, lat).
fn to_segment(p: Coord, a: Coord, b: Coord, (kx, ky): (f64, f64)) -> f64 {
    let (ax, ay) = ((a.x - p.x) * kx, (a.y - p.y) * ky);
    let (bx, by) = ((b.x - p.x) * kx, (b.y - p.y) * ky);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (ax + t * dx, ay + t * dy);
    (cx * cx + cy * cy).sqrt()
}

fn to_ring(p: Coord, ring: &LineString, scale: (f64, f64), best: f64) -> f64 {
    ring.0
        .windows(2)
        .fold(best, |best, w| best.min(to_segment(p, w[0], w[1], scale)))
}

/// Distance in metres from `p` to the nearest boundary of `shape`.
pub fn to_boundary(p: Coord, shape: &MultiPolygon) -> f64 {
    let scale = scale_at(p.y);
    shape.0.iter().fold(f64::INFINITY, |best, poly| {
        let best = to_ring(p, poly.exterior(), scale, best);
        poly.interiors()
            .iter()
            .fold(best, |best, hole| to_ring(p, hole, scale, best))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    #[test]
    fn distances_are_metres() {
        let square: MultiPolygon = polygon![
            (x: 116.0, y: 40.0), (x: 116.01, y: 40.0), (x: 116.01, y: 40.01), (x: 116.0, y: 40.01), (x: 116.0, y: 40.0)
        ]
        .into();
        // 0.0001° of latitude south of the bottom edge: about 11.1 m.
        let d = to_boundary(
            Coord {
                x: 116.005,
                y: 39.9999,
            },
            &square,
        );
        assert!((d - 11.12).abs() < 0.01, "{d}");
        // 0.0001° of longitude west at 40°N: about 8.5 m.
        let d = to_boundary(
            Coord {
                x: 115.9999,
                y: 40.005,
            },
            &square,
        );
        assert!((d - 11.12 * 40f64.to_radians().cos()).abs() < 0.01, "{d}");
        // Past a corner the distance is to the corner itself.
        let d = to_boundary(
            Coord {
                x: 116.0,
                y: 39.9999,
            },
            &square,
        );
        assert!((d - 11.12).abs() < 0.01, "{d}");
    }
}
