//! Hot spots: spatial clusters of one catalogue item's located requests.
//! Points are clustered with DBSCAN (geo's, on an R-tree) in a local
//! metric frame: members lie within [`EPS_METRES`] of another member and a
//! cluster holds at least [`MIN_POINTS`]. A week's cluster is new unless a
//! member lies within [`EPS_METRES`] of a member of a cluster the four weeks
//! before had. Pure: no I/O.

use geo::{Dbscan, Point};

/// Neighbourhood radius: requests this close count as one place.
pub const EPS_METRES: f64 = 200.0;
/// Requests a cluster needs (each counts itself).
pub const MIN_POINTS: usize = 4;

/// Longitude and latitude, WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// A local plane in metres around a reference latitude: exact to well
/// under a metre across a city (hotline_geo::metric).
#[derive(Debug, Clone, Copy)]
struct Frame {
    origin: LonLat,
    kx: f64,
    ky: f64,
}

impl Frame {
    fn around(points: &[LonLat]) -> Frame {
        let n = points.len().max(1) as f64;
        let origin = LonLat {
            lon: points.iter().map(|p| p.lon).sum::<f64>() / n,
            lat: points.iter().map(|p| p.lat).sum::<f64>() / n,
        };
        let (kx, ky) = hotline_geo::metric::scale_at(origin.lat);
        Frame { origin, kx, ky }
    }

    fn xy(&self, p: LonLat) -> Point<f64> {
        Point::new(
            (p.lon - self.origin.lon) * self.kx,
            (p.lat - self.origin.lat) * self.ky,
        )
    }

    fn metres(&self, a: LonLat, b: LonLat) -> f64 {
        let (a, b) = (self.xy(a), self.xy(b));
        (a.x() - b.x()).hypot(a.y() - b.y())
    }
}

/// The clusters among `points`: each a list of indices into `points`,
/// ascending; clusters in order of their first member.
pub fn clusters(points: &[LonLat]) -> Vec<Vec<usize>> {
    if points.len() < MIN_POINTS {
        return Vec::new();
    }
    let frame = Frame::around(points);
    let planar: Vec<Point<f64>> = points.iter().map(|p| frame.xy(*p)).collect();
    let labels = planar.dbscan(EPS_METRES, MIN_POINTS);
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut slot: Vec<Option<usize>> = Vec::new();
    for (i, label) in labels.into_iter().enumerate() {
        let Some(k) = label else { continue };
        if slot.len() <= k {
            slot.resize(k + 1, None);
        }
        let at = *slot[k].get_or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[at].push(i);
    }
    out
}

/// A cluster's centroid and its radius (metres from the centroid to the
/// farthest member).
pub fn centroid(members: &[LonLat]) -> (LonLat, f64) {
    let frame = Frame::around(members);
    let c = frame.origin;
    let radius = members
        .iter()
        .map(|m| frame.metres(c, *m))
        .fold(0.0, f64::max);
    (c, radius)
}

/// Whether a cluster this week is new: none of its members lies within
/// [`EPS_METRES`] of a member of any earlier cluster.
pub fn is_new(members: &[LonLat], earlier: &[Vec<LonLat>]) -> bool {
    let all: Vec<LonLat> = members
        .iter()
        .chain(earlier.iter().flatten())
        .copied()
        .collect();
    let frame = Frame::around(&all);
    !earlier
        .iter()
        .flatten()
        .any(|e| members.iter().any(|m| frame.metres(*m, *e) <= EPS_METRES))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `p` moved `east` and `north` metres.
    fn moved(p: LonLat, east: f64, north: f64) -> LonLat {
        let (kx, ky) = hotline_geo::metric::scale_at(p.lat);
        LonLat {
            lon: p.lon + east / kx,
            lat: p.lat + north / ky,
        }
    }

    const AT: LonLat = LonLat {
        lon: 116.24,
        lat: 39.94,
    };

    #[test]
    fn five_requests_within_two_hundred_metres_are_one_cluster_and_strays_are_not() {
        let mut points: Vec<LonLat> = [
            (0.0, 0.0),
            (60.0, 10.0),
            (-40.0, 50.0),
            (20.0, -70.0),
            (90.0, 90.0),
        ]
        .iter()
        .map(|&(e, n)| moved(AT, e, n))
        .collect();
        // Strays a kilometre and more away, alone or in pairs.
        points.push(moved(AT, 1_000.0, 0.0));
        points.push(moved(AT, -1_500.0, 300.0));
        points.push(moved(AT, -1_550.0, 300.0));
        let found = clusters(&points);
        assert_eq!(found, vec![vec![0, 1, 2, 3, 4]]);
        let members: Vec<LonLat> = found[0].iter().map(|&i| points[i]).collect();
        let (c, radius) = centroid(&members);
        let frame = Frame::around(&members);
        assert!(frame.metres(c, moved(AT, 26.0, 16.0)) < 1.0, "{c:?}");
        // The farthest, (90, 90), is 98 m from the centroid (26, 16).
        assert!((97.0..99.0).contains(&radius), "{radius}");
        // Three are too few.
        assert!(clusters(&points[..3]).is_empty());
    }

    #[test]
    fn a_cluster_is_new_unless_an_earlier_one_was_near_it() {
        let now: Vec<LonLat> = (0..4).map(|i| moved(AT, 30.0 * i as f64, 0.0)).collect();
        let near: Vec<LonLat> = (0..4)
            .map(|i| moved(AT, 250.0 + 20.0 * i as f64, 0.0))
            .collect();
        let far: Vec<LonLat> = (0..4)
            .map(|i| moved(AT, 2_000.0 + 20.0 * i as f64, 0.0))
            .collect();
        assert!(is_new(&now, &[]));
        assert!(is_new(&now, std::slice::from_ref(&far)));
        assert!(!is_new(&now, &[far, near]));
    }
}
