//! Generated territories: a jittered lattice of cells whose neighbours
//! share exactly the same vertices (so the tiling has no gaps and no
//! overlaps by construction), with wobbling edges (so cells look like
//! blocks between real streets, not a grid), optionally squeezed towards a
//! core (so a city's centre has small communities and its outskirts large
//! villages). Cells are grouped into larger territories by growing regions
//! across shared edges, which keeps every group in one piece.

use std::collections::VecDeque;

use crate::metric::METRES_PER_DEGREE;

/// SplitMix64: a seed gives the same city on every platform and version,
/// which a library generator does not promise.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    pub fn signed(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

/// Maps a plane in kilometres around a centre to longitude and latitude,
/// squeezing distances near the centre by `core` (1 = no squeeze; 1/3
/// makes central cells a fifth the width of cells at `radius_km`).
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub centre: [f64; 2],
    pub radius_km: f64,
    pub core: f64,
}

impl Frame {
    fn km_per_degree(&self) -> (f64, f64) {
        let k = METRES_PER_DEGREE / 1000.0;
        (k * self.centre[1].to_radians().cos(), k)
    }

    /// Plane (km) → lon/lat. The squeeze f(r) = r·(core + (1−core)·r/R) is
    /// increasing, so the map is one-to-one and keeps the tiling intact.
    pub fn to_lonlat(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let r = x.hypot(y);
        let s = self.core + (1.0 - self.core) * r / self.radius_km;
        let (kx, ky) = self.km_per_degree();
        [self.centre[0] + x * s / kx, self.centre[1] + y * s / ky]
    }

    /// Lon/lat → plane (km), the inverse of [`Frame::to_lonlat`].
    pub fn from_lonlat(&self, [lon, lat]: [f64; 2]) -> [f64; 2] {
        let (kx, ky) = self.km_per_degree();
        let (x, y) = ((lon - self.centre[0]) * kx, (lat - self.centre[1]) * ky);
        let rho = x.hypot(y);
        if rho == 0.0 || self.core >= 1.0 {
            return [x, y];
        }
        let a = (1.0 - self.core) / self.radius_km;
        let r = (-self.core + (self.core * self.core + 4.0 * a * rho).sqrt()) / (2.0 * a);
        [x * r / rho, y * r / rho]
    }
}

#[derive(Debug, Clone)]
pub struct LatticeSpec {
    pub cols: usize,
    pub rows: usize,
    /// Plane position (km) of the lattice's south-west corner.
    pub origin_km: [f64; 2],
    pub cell_km: f64,
    /// How far corners move, as a fraction of a cell. Up to 0.15 keeps
    /// every cell a simple polygon with the wobble below.
    pub jitter: f64,
    /// Points along each edge and how far they swerve (fraction of a cell).
    pub edge_points: usize,
    pub wobble: f64,
    /// Decimal places of the degrees kept; neighbours share the rounded value.
    pub decimals: i32,
}

/// A lattice of `cols × rows` cells; cell (c, r) has its south-west corner
/// at corner (c, r).
#[derive(Debug, Clone)]
pub struct Lattice {
    pub cols: usize,
    pub rows: usize,
    corners: Vec<[f64; 2]>,
    /// Points along the edge from corner (c, r) east to (c+1, r).
    east: Vec<Vec<[f64; 2]>>,
    /// Points along the edge from corner (c, r) north to (c, r+1).
    north: Vec<Vec<[f64; 2]>>,
    /// Cell centres in the plane (km), before jitter.
    centres: Vec<[f64; 2]>,
}

impl Lattice {
    pub fn new(spec: &LatticeSpec, frame: &Frame, rng: &mut Rng) -> Self {
        let (cols, rows) = (spec.cols, spec.rows);
        let corner_at = |c: usize, r: usize| r * (cols + 1) + c;
        let mut plane = Vec::with_capacity((cols + 1) * (rows + 1));
        for r in 0..=rows {
            for c in 0..=cols {
                let jx = rng.signed() * spec.jitter;
                let jy = rng.signed() * spec.jitter;
                plane.push([
                    spec.origin_km[0] + (c as f64 + jx) * spec.cell_km,
                    spec.origin_km[1] + (r as f64 + jy) * spec.cell_km,
                ]);
            }
        }
        let round = |p: [f64; 2]| {
            let k = 10f64.powi(spec.decimals);
            let [lon, lat] = frame.to_lonlat(p);
            [(lon * k).round() / k, (lat * k).round() / k]
        };
        let mut edge = |a: [f64; 2], b: [f64; 2]| -> Vec<[f64; 2]> {
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let len = dx.hypot(dy);
            let (nx, ny) = (-dy / len, dx / len);
            (1..=spec.edge_points)
                .map(|i| {
                    let t = i as f64 / (spec.edge_points + 1) as f64;
                    let w = rng.signed() * spec.wobble * spec.cell_km;
                    round([a[0] + t * dx + w * nx, a[1] + t * dy + w * ny])
                })
                .collect()
        };
        let mut east = Vec::with_capacity((cols + 1) * (rows + 1));
        let mut north = Vec::with_capacity((cols + 1) * (rows + 1));
        for r in 0..=rows {
            for c in 0..=cols {
                let here = plane[corner_at(c, r)];
                east.push(if c < cols {
                    edge(here, plane[corner_at(c + 1, r)])
                } else {
                    Vec::new()
                });
                north.push(if r < rows {
                    edge(here, plane[corner_at(c, r + 1)])
                } else {
                    Vec::new()
                });
            }
        }
        let centres = (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (c, r)))
            .map(|(c, r)| {
                [
                    spec.origin_km[0] + (c as f64 + 0.5) * spec.cell_km,
                    spec.origin_km[1] + (r as f64 + 0.5) * spec.cell_km,
                ]
            })
            .collect();
        Lattice {
            cols,
            rows,
            corners: plane.into_iter().map(round).collect(),
            east,
            north,
            centres,
        }
    }

    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cell index of (c, r).
    pub fn cell(&self, c: usize, r: usize) -> usize {
        r * self.cols + c
    }

    /// Centre of a cell in the plane (km), before jitter.
    pub fn centre_km(&self, cell: usize) -> [f64; 2] {
        self.centres[cell]
    }

    /// The cells sharing an edge with `cell`.
    pub fn adjacent(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let (c, r) = ((cell % self.cols) as isize, (cell / self.cols) as isize);
        [(c - 1, r), (c + 1, r), (c, r - 1), (c, r + 1)]
            .into_iter()
            .filter(|&(c, r)| c >= 0 && r >= 0 && c < self.cols as isize && r < self.rows as isize)
            .map(|(c, r)| self.cell(c as usize, r as usize))
    }

    /// The cell's boundary, counter-clockwise and closed, as `[lon, lat]`.
    pub fn ring(&self, cell: usize) -> Vec<[f64; 2]> {
        let (c, r) = (cell % self.cols, cell / self.cols);
        let at = |c: usize, r: usize| r * (self.cols + 1) + c;
        let mut ring = Vec::with_capacity(4 * (self.east[0].len() + 1) + 1);
        ring.push(self.corners[at(c, r)]);
        ring.extend(&self.east[at(c, r)]);
        ring.push(self.corners[at(c + 1, r)]);
        ring.extend(&self.north[at(c + 1, r)]);
        ring.push(self.corners[at(c + 1, r + 1)]);
        ring.extend(self.east[at(c, r + 1)].iter().rev());
        ring.push(self.corners[at(c, r + 1)]);
        ring.extend(self.north[at(c, r)].iter().rev());
        ring.push(self.corners[at(c, r)]);
        ring
    }
}

/// Splits `cells` into groups grown from `seeds` across `adjacent` cells,
/// each towards its `target` size: the group furthest below its target
/// grows next, and cells left over join an adjacent group. Every group is
/// connected. Returns each cell's group (`usize::MAX` for cells not in
/// `cells` or unreachable from any seed).
pub fn grow(
    n: usize,
    cells: &[usize],
    adjacent: impl Fn(usize) -> Vec<usize>,
    seeds: &[usize],
    targets: &[usize],
) -> Vec<usize> {
    const FREE: usize = usize::MAX - 1;
    let mut group = vec![usize::MAX; n];
    for &c in cells {
        group[c] = FREE;
    }
    let mut size = vec![0usize; seeds.len()];
    let mut frontier: Vec<VecDeque<usize>> = vec![VecDeque::new(); seeds.len()];
    for (g, &s) in seeds.iter().enumerate() {
        assert_eq!(group[s], FREE, "seed {s} is not a free cell");
        group[s] = g;
        size[g] = 1;
        frontier[g].extend(adjacent(s));
    }
    loop {
        let next = (0..seeds.len())
            .filter(|&g| size[g] < targets[g] && !frontier[g].is_empty())
            .min_by(|&a, &b| {
                let (fa, fb) = (
                    size[a] as f64 / targets[a] as f64,
                    size[b] as f64 / targets[b] as f64,
                );
                fa.total_cmp(&fb).then(a.cmp(&b))
            });
        let Some(g) = next else { break };
        while let Some(c) = frontier[g].pop_front() {
            if group[c] == FREE {
                group[c] = g;
                size[g] += 1;
                frontier[g].extend(adjacent(c).into_iter().filter(|&a| group[a] == FREE));
                break;
            }
        }
    }
    // Leftovers join the smallest adjacent group, sweeping until none moves.
    loop {
        let mut moved = false;
        for &c in cells {
            if group[c] != FREE {
                continue;
            }
            let best = adjacent(c)
                .into_iter()
                .map(|a| group[a])
                .filter(|&g| g < seeds.len())
                .min_by_key(|&g| (size[g], g));
            if let Some(g) = best {
                group[c] = g;
                size[g] += 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    group
        .into_iter()
        .map(|g| if g == FREE { usize::MAX } else { g })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape;

    fn small() -> Lattice {
        let spec = LatticeSpec {
            cols: 6,
            rows: 5,
            origin_km: [-3.0, -2.5],
            cell_km: 1.0,
            jitter: 0.15,
            edge_points: 2,
            wobble: 0.08,
            decimals: 6,
        };
        let frame = Frame {
            centre: [116.4, 39.9],
            radius_km: 5.0,
            core: 0.4,
        };
        Lattice::new(&spec, &frame, &mut Rng::new(7))
    }

    #[test]
    fn the_same_seed_gives_the_same_cells() {
        assert_eq!(small().ring(7), small().ring(7));
        let other = Lattice::new(
            &LatticeSpec {
                cols: 6,
                rows: 5,
                origin_km: [-3.0, -2.5],
                cell_km: 1.0,
                jitter: 0.15,
                edge_points: 2,
                wobble: 0.08,
                decimals: 6,
            },
            &Frame {
                centre: [116.4, 39.9],
                radius_km: 5.0,
                core: 0.4,
            },
            &mut Rng::new(8),
        );
        assert_ne!(small().ring(7), other.ring(7));
    }

    #[test]
    fn cells_are_valid_irregular_and_share_their_edges() {
        let l = small();
        for cell in 0..l.len() {
            let ring = l.ring(cell);
            assert_eq!(ring.len(), 13, "12 vertices and the closing one");
            shape::from_rings(vec![vec![ring.clone()]]).expect("a simple polygon");
        }
        // The east edge of a cell is its eastern neighbour's west edge,
        // vertex for vertex, in reverse.
        let (a, b) = (l.ring(l.cell(2, 3)), l.ring(l.cell(3, 3)));
        let east_of_a: Vec<_> = a[3..=6].to_vec();
        let mut west_of_b: Vec<_> = b[9..=12].to_vec();
        west_of_b.reverse();
        assert_eq!(east_of_a, west_of_b);
    }

    #[test]
    fn frame_round_trips_and_squeezes_the_core() {
        let f = Frame {
            centre: [116.4, 39.9],
            radius_km: 100.0,
            core: 1.0 / 3.0,
        };
        for p in [[0.0, 0.0], [10.0, -3.0], [-80.0, 60.0]] {
            let q = f.from_lonlat(f.to_lonlat(p));
            assert!(
                (q[0] - p[0]).abs() < 1e-9 && (q[1] - p[1]).abs() < 1e-9,
                "{p:?} {q:?}"
            );
        }
        let near = f.to_lonlat([1.0, 0.0])[0] - 116.4;
        let far = f.to_lonlat([100.0, 0.0])[0] - f.to_lonlat([99.0, 0.0])[0];
        assert!(
            far > 4.0 * near,
            "central cells are smaller: {near} vs {far}"
        );
    }

    #[test]
    fn groups_grow_connected_towards_their_targets() {
        let l = small();
        let cells: Vec<usize> = (0..l.len()).collect();
        let g = grow(
            l.len(),
            &cells,
            |c| l.adjacent(c).collect(),
            &[0, 29],
            &[10, 20],
        );
        assert!(g.iter().all(|&x| x < 2), "every cell has a group");
        let sizes = [0, 1].map(|k| g.iter().filter(|&&x| x == k).count());
        assert_eq!(sizes, [10, 20]);
        for (k, (start, size)) in [(0, sizes[0]), (29, sizes[1])].into_iter().enumerate() {
            // Flood from the seed within the group reaches all of it.
            let mut seen = vec![false; l.len()];
            let mut todo = vec![start];
            seen[start] = true;
            while let Some(c) = todo.pop() {
                for a in l.adjacent(c) {
                    if g[a] == k && !seen[a] {
                        seen[a] = true;
                        todo.push(a);
                    }
                }
            }
            assert_eq!(seen.iter().filter(|s| **s).count(), size);
        }
    }
}
