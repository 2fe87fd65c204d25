//! The locator: which territory a point lies in, and which others lie
//! within the near-boundary distance of it.
//!
//! An atlas holds the finest territories that have boundaries (its
//! *leaves*: communities, or townships without community boundaries), in
//! the caller's order. An R-tree over their bounding boxes narrows a query
//! to a handful of candidates; exact point-in-polygon (robust predicates)
//! decides. Boundaries are closed: a point on an edge lies in both
//! territories that share it, and the one with the lowest index owns it,
//! so every point has exactly one owner and the same point always gets the
//! same one.

use geo::coordinate_position::CoordPos;
use geo::{BoundingRect, Coord, CoordinatePosition, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, Envelope, RTree, RTreeObject};

use crate::metric;

/// At most this many neighbours are reported: the nearest ones.
pub const MAX_NEIGHBOURS: usize = 16;

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

#[derive(Debug, Clone)]
pub struct Atlas {
    shapes: Vec<MultiPolygon>,
    tree: RTree<Entry>,
    near_metres: f64,
}

/// Where a point lies: the owning leaf, and the other leaves within the
/// near-boundary distance. Fixed-size, so locating allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub leaf: u32,
    near: [(f64, u32); MAX_NEIGHBOURS],
    len: u8,
}

impl Hit {
    /// Whether another territory lies within the near-boundary distance.
    pub fn near_boundary(&self) -> bool {
        self.len > 0
    }

    /// The neighbouring leaves, in ascending index order.
    pub fn neighbours(&self) -> impl Iterator<Item = u32> + '_ {
        self.near[..self.len as usize].iter().map(|(_, i)| *i)
    }

    /// Keeps the nearest neighbours when there are more than fit.
    fn add(&mut self, metres: f64, leaf: u32) {
        let n = self.len as usize;
        if n < MAX_NEIGHBOURS {
            self.near[n] = (metres, leaf);
            self.len += 1;
            return;
        }
        let (far, _) =
            self.near.iter().enumerate().fold(
                (0, 0.0),
                |acc, (i, e)| {
                    if e.0 > acc.1 { (i, e.0) } else { acc }
                },
            );
        if metres < self.near[far].0 {
            self.near[far] = (metres, leaf);
        }
    }

    fn sort(&mut self) {
        self.near[..self.len as usize].sort_unstable_by_key(|(_, i)| *i);
    }
}

impl Atlas {
    /// An atlas of `shapes` (leaf `i` is `shapes[i]`, coordinates are
    /// longitude, latitude), flagging points within `near_metres` of
    /// another leaf.
    pub fn new(shapes: Vec<MultiPolygon>, near_metres: f64) -> Self {
        let entries = shapes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let r = s.bounding_rect()?;
                let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(GeomWithData::new(rect, i as u32))
            })
            .collect();
        Self {
            shapes,
            tree: RTree::bulk_load(entries),
            near_metres,
        }
    }

    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    pub fn shape(&self, leaf: u32) -> &MultiPolygon {
        &self.shapes[leaf as usize]
    }

    pub fn shapes(&self) -> &[MultiPolygon] {
        &self.shapes
    }

    pub fn near_metres(&self) -> f64 {
        self.near_metres
    }

    /// Leaves whose bounding boxes intersect `envelope` (lon, lat corners).
    pub fn candidates(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = u32> + '_ {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
            .map(|e| e.data)
    }

    /// The leaf owning (`lon`, `lat`) and its near neighbours; `None`
    /// outside every leaf.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<Hit> {
        let p = Coord { x: lon, y: lat };
        let (kx, ky) = metric::scale_at(lat);
        let (pad_x, pad_y) = (self.near_metres / kx, self.near_metres / ky);
        let envelope = AABB::from_corners([lon - pad_x, lat - pad_y], [lon + pad_x, lat + pad_y]);
        let mut hit = Hit {
            leaf: u32::MAX,
            near: [(0.0, 0); MAX_NEIGHBOURS],
            len: 0,
        };
        for e in self.tree.locate_in_envelope_intersecting(&envelope) {
            let leaf = e.data;
            let shape = &self.shapes[leaf as usize];
            let boxed = e.geom().envelope().contains_point(&[lon, lat]);
            if boxed && shape.coordinate_position(&p) != CoordPos::Outside {
                // Closed boundaries: on a shared edge the lowest index owns
                // the point and the other is a neighbour at distance zero.
                if leaf < hit.leaf {
                    if hit.leaf != u32::MAX {
                        hit.add(0.0, hit.leaf);
                    }
                    hit.leaf = leaf;
                } else {
                    hit.add(0.0, leaf);
                }
                continue;
            }
            if self.near_metres > 0.0 {
                let d = metric::to_boundary(p, shape);
                if d <= self.near_metres {
                    hit.add(d, leaf);
                }
            }
        }
        if hit.leaf == u32::MAX {
            return None;
        }
        hit.sort();
        Some(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    /// Two leaves sharing the edge lon = 116.01 (leaf 1 is the western),
    /// the eastern one with a zig-zag so the border is not straight.
    fn two() -> Atlas {
        let west: MultiPolygon = polygon![
            (x: 116.0, y: 40.0), (x: 116.01, y: 40.0), (x: 116.01, y: 40.005), (x: 116.01, y: 40.01), (x: 116.0, y: 40.01)
        ]
        .into();
        let east: MultiPolygon = polygon![
            (x: 116.01, y: 40.0), (x: 116.02, y: 40.0), (x: 116.025, y: 40.006), (x: 116.02, y: 40.01), (x: 116.01, y: 40.01), (x: 116.01, y: 40.005)
        ]
        .into();
        Atlas::new(vec![east, west], 30.0)
    }

    #[test]
    fn a_point_inside_has_one_owner_and_no_neighbours() {
        let a = two();
        let h = a.locate(116.005, 40.005).unwrap();
        assert_eq!(h.leaf, 1);
        assert!(!h.near_boundary());
        let h = a.locate(116.022, 40.006).unwrap();
        assert_eq!(h.leaf, 0, "in the eastern bulge");
    }

    #[test]
    fn a_point_near_the_border_names_the_neighbour() {
        let a = two();
        // About 17 m west of the shared edge (0.0002° at 40°N).
        let h = a.locate(116.0098, 40.003).unwrap();
        assert_eq!(h.leaf, 1);
        assert_eq!(h.neighbours().collect::<Vec<_>>(), [0]);
        // About 43 m: too far to be near.
        let h = a.locate(116.0095, 40.003).unwrap();
        assert!(!h.near_boundary());
    }

    #[test]
    fn a_point_on_a_shared_edge_or_vertex_has_one_deterministic_owner() {
        let a = two();
        for (lon, lat) in [(116.01, 40.003), (116.01, 40.005), (116.01, 40.0)] {
            for _ in 0..3 {
                let h = a.locate(lon, lat).unwrap();
                assert_eq!(h.leaf, 0, "the lowest index owns ({lon}, {lat})");
                assert_eq!(h.neighbours().collect::<Vec<_>>(), [1]);
            }
        }
    }

    #[test]
    fn a_point_outside_every_leaf_is_none() {
        let a = two();
        assert!(a.locate(116.03, 40.005).is_none());
        assert!(a.locate(115.9999, 40.005).is_none(), "8.5 m outside");
        assert!(Atlas::new(Vec::new(), 30.0).locate(116.0, 40.0).is_none());
    }

    #[test]
    fn only_the_nearest_neighbours_are_kept() {
        let mut h = Hit {
            leaf: 0,
            near: [(0.0, 0); MAX_NEIGHBOURS],
            len: 0,
        };
        for i in 0..40u32 {
            h.add(f64::from(40 - i), i + 1);
        }
        h.sort();
        let kept: Vec<u32> = h.neighbours().collect();
        assert_eq!(kept, (25..=40).collect::<Vec<_>>());
    }
}
