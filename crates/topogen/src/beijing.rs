//! A Beijing-sized city: 16 districts with Beijing's names and township
//! counts (343 townships and streets), about 7,100 communities and
//! villages tiling a rough outline of the municipality, small in the core
//! and large at the edges, with populations, departments, utilities,
//! central units and a 300-item catalogue. Deterministic for a seed.

use std::fmt::Write;

use hotline_geo::geo::{Contains, MultiPolygon, Point, Polygon};
use hotline_geo::tiling::{Frame, Lattice, LatticeSpec, Rng, grow};

use super::catalogue::{self, CENTRAL, DEPARTMENTS, DISTRICT_DEPARTMENTS, UTILITIES};

/// About how many communities and villages Beijing has.
const COMMUNITIES: usize = 7_100;

/// Tian'anmen: the core the city is squeezed towards.
const CORE: [f64; 2] = [116.397, 39.908];

/// A rough outline of the municipality (lon, lat), clockwise from the west.
const OUTLINE: &[[f64; 2]] = &[
    [115.42, 39.95],
    [115.50, 40.15],
    [115.75, 40.50],
    [115.90, 40.62],
    [116.20, 40.75],
    [116.45, 41.05],
    [116.70, 41.06],
    [116.95, 40.80],
    [117.30, 40.70],
    [117.50, 40.45],
    [117.40, 40.10],
    [117.05, 39.98],
    [116.90, 39.70],
    [116.70, 39.55],
    [116.40, 39.44],
    [116.05, 39.55],
    [115.70, 39.50],
    [115.55, 39.65],
    [115.48, 39.80],
];

/// (slug, name, townships, approximate communities and villages, centre).
const DISTRICTS: &[(&str, &str, usize, usize, [f64; 2])] = &[
    (
        "dongcheng",
        "Dongcheng District",
        17,
        168,
        [116.418, 39.928],
    ),
    ("xicheng", "Xicheng District", 15, 263, [116.366, 39.912]),
    ("chaoyang", "Chaoyang District", 43, 600, [116.486, 39.948]),
    ("haidian", "Haidian District", 29, 700, [116.270, 40.030]),
    ("fengtai", "Fengtai District", 26, 400, [116.260, 39.840]),
    (
        "shijingshan",
        "Shijingshan District",
        9,
        150,
        [116.190, 39.920],
    ),
    (
        "mentougou",
        "Mentougou District",
        13,
        420,
        [115.850, 40.000],
    ),
    ("fangshan", "Fangshan District", 28, 580, [115.900, 39.680]),
    ("tongzhou", "Tongzhou District", 22, 600, [116.720, 39.800]),
    ("shunyi", "Shunyi District", 25, 540, [116.680, 40.140]),
    (
        "changping",
        "Changping District",
        22,
        600,
        [116.250, 40.220],
    ),
    ("daxing", "Daxing District", 22, 700, [116.400, 39.640]),
    ("huairou", "Huairou District", 16, 320, [116.600, 40.700]),
    ("pinggu", "Pinggu District", 18, 310, [117.150, 40.200]),
    ("miyun", "Miyun District", 20, 420, [116.950, 40.500]),
    ("yanqing", "Yanqing District", 18, 420, [115.980, 40.500]),
];

/// Within this distance (km, in the plane) of the core, townships are
/// streets and communities are urban; beyond it, towns and villages.
const URBAN_KM: f64 = 30.0;

/// Within this distance of the core, urban communities are old estates
/// (the old city's compounds); beyond it, new ones. Villages are villages.
const OLD_ESTATE_KM: f64 = 10.0;

const SYLLABLES: &[&str] = &[
    "an", "bai", "bei", "chang", "cheng", "da", "dong", "feng", "fu", "gao", "guang", "he", "hua",
    "jia", "jin", "kang", "le", "li", "long", "ma", "ming", "nan", "ning", "ping", "qing", "rui",
    "sha", "shan", "shun", "tai", "tian", "wan", "wang", "xi", "xin", "yang", "yong", "yuan",
    "zhong",
];

fn name(rng: &mut Rng) -> String {
    let a = SYLLABLES[rng.below(SYLLABLES.len())];
    let b = SYLLABLES[rng.below(SYLLABLES.len())];
    let mut s = format!("{a}{b}");
    s[..1].make_ascii_uppercase();
    s
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A generated city: the topology (TOML) and its boundaries (GeoJSON).
pub struct City {
    pub toml: String,
    pub geojson: String,
    pub communities: usize,
}

struct Plan {
    lattice: Lattice,
    frame: Frame,
    /// Cells in the city.
    cells: Vec<usize>,
}

/// Lays a lattice over the outline, fine enough for about `COMMUNITIES`
/// cells inside it, and keeps one solid piece of them.
fn plan(rng: &mut Rng) -> Plan {
    let frame = Frame {
        centre: CORE,
        radius_km: 150.0,
        core: 1.0 / 3.0,
    };
    let outline = Polygon::new(OUTLINE.iter().map(|p| (p[0], p[1])).collect(), Vec::new());
    let plane: Vec<[f64; 2]> = OUTLINE.iter().map(|p| frame.from_lonlat(*p)).collect();
    let (lo, hi) = plane
        .iter()
        .fold(([f64::MAX; 2], [f64::MIN; 2]), |(lo, hi), p| {
            (
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            )
        });
    let side = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let inside = |n: usize| -> Vec<usize> {
        let cell_km = side / n as f64;
        (0..n * n)
            .filter(|&i| {
                let (c, r) = (i % n, i / n);
                let x = lo[0] + (c as f64 + 0.5) * cell_km;
                let y = lo[1] + (r as f64 + 0.5) * cell_km;
                let [lon, lat] = frame.to_lonlat([x, y]);
                outline.contains(&Point::new(lon, lat))
            })
            .collect()
    };
    let mut n = 60;
    while inside(n).len() < COMMUNITIES {
        n += 1;
    }
    let spec = LatticeSpec {
        cols: n,
        rows: n,
        origin_km: lo,
        cell_km: side / n as f64,
        jitter: 0.15,
        edge_points: 2,
        wobble: 0.08,
        decimals: 6,
    };
    let lattice = Lattice::new(&spec, &frame, rng);
    let mut member = vec![false; n * n];
    for i in inside(n) {
        member[i] = true;
    }
    // One piece: keep what is reachable from the core, then fill any hole
    // the outline left, so the city has no enclave that nobody owns.
    let core_cell = nearest(&lattice, &member, frame.from_lonlat(CORE));
    let keep = flood(&lattice, core_cell, |c| member[c]);
    let outside = (0..n)
        .flat_map(|i| [i, n * (n - 1) + i, i * n, i * n + n - 1])
        .filter(|&c| !keep[c])
        .collect::<Vec<_>>();
    let mut open = vec![false; n * n];
    for c in outside {
        if !open[c] {
            let reach = flood(&lattice, c, |x| !keep[x]);
            for (o, r) in open.iter_mut().zip(reach) {
                *o |= r;
            }
        }
    }
    let cells = (0..n * n).filter(|&c| !open[c]).collect();
    Plan {
        lattice,
        frame,
        cells,
    }
}

fn flood(l: &Lattice, start: usize, within: impl Fn(usize) -> bool) -> Vec<bool> {
    let mut seen = vec![false; l.len()];
    let mut todo = vec![start];
    seen[start] = true;
    while let Some(c) = todo.pop() {
        for a in l.adjacent(c) {
            if !seen[a] && within(a) {
                seen[a] = true;
                todo.push(a);
            }
        }
    }
    seen
}

fn nearest(l: &Lattice, member: &[bool], p: [f64; 2]) -> usize {
    (0..l.len())
        .filter(|&c| member[c])
        .min_by(|&a, &b| dist(l.centre_km(a), p).total_cmp(&dist(l.centre_km(b), p)))
        .expect("the city has cells")
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Spreads `k` seeds over `cells`: each next seed is the cell farthest
/// from the seeds so far.
fn spread(l: &Lattice, cells: &[usize], k: usize, first: usize) -> Vec<usize> {
    let mut seeds = vec![first];
    let mut best: Vec<f64> = cells
        .iter()
        .map(|&c| dist(l.centre_km(c), l.centre_km(first)))
        .collect();
    while seeds.len() < k {
        let (i, _) = best
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .expect("cells");
        let s = cells[i];
        seeds.push(s);
        for (b, &c) in best.iter_mut().zip(cells) {
            *b = b.min(dist(l.centre_km(c), l.centre_km(s)));
        }
    }
    seeds
}

/// Targets proportional to `weights`, summing to `total`.
fn shares(weights: &[usize], total: usize) -> Vec<usize> {
    let sum: usize = weights.iter().sum();
    let mut out: Vec<usize> = weights.iter().map(|w| w * total / sum).collect();
    let short = total - out.iter().sum::<usize>();
    for o in out.iter_mut().take(short) {
        *o += 1;
    }
    out
}

pub fn generate(seed: u64, geojson_name: &str) -> City {
    let mut rng = Rng::new(seed);
    let Plan {
        lattice: l,
        frame,
        cells,
    } = plan(&mut rng);
    let mut member = vec![false; l.len()];
    for &c in &cells {
        member[c] = true;
    }
    let adjacent = |c: usize| l.adjacent(c).filter(|&a| member[a]).collect::<Vec<_>>();
    let mut seeds: Vec<usize> = Vec::new();
    for d in DISTRICTS {
        let s = nearest(&l, &member, frame.from_lonlat(d.4));
        assert!(!seeds.contains(&s), "district seeds collide");
        seeds.push(s);
    }
    let weights: Vec<usize> = DISTRICTS.iter().map(|d| d.3).collect();
    let district_of = grow(
        l.len(),
        &cells,
        adjacent,
        &seeds,
        &shares(&weights, cells.len()),
    );

    let mut units = String::new();
    let mut shapes: Vec<(String, MultiPolygon)> = Vec::new();
    let mut city_population = 0;
    let mut district_blocks = String::new();
    for (d, (slug, dname, townships, _, _)) in DISTRICTS.iter().enumerate() {
        let mine: Vec<usize> = cells
            .iter()
            .copied()
            .filter(|&c| district_of[c] == d)
            .collect();
        assert!(mine.len() >= *townships, "district {slug} is too small");
        let in_district = |c: usize| {
            l.adjacent(c)
                .filter(|&a| member[a] && district_of[a] == d)
                .collect::<Vec<_>>()
        };
        let t_seeds = spread(&l, &mine, *townships, seeds[d]);
        let even = shares(&vec![1; *townships], mine.len());
        let township_of = grow(l.len(), &mine, in_district, &t_seeds, &even);
        let mut d_population = 0;
        for (t, &t_seed) in t_seeds.iter().enumerate() {
            let tid = format!("t-{slug}-{:02}", t + 1);
            let urban = dist(l.centre_km(t_seed), [0.0, 0.0]) < URBAN_KM;
            let tname = format!(
                "{} {}",
                name(&mut rng),
                if urban { "Street" } else { "Town" }
            );
            let mut t_population = 0;
            let mut communities = String::new();
            let members = mine.iter().copied().filter(|&c| township_of[c] == t);
            for (k, c) in members.enumerate() {
                let cid = format!("c-{slug}-{:02}-{:03}", t + 1, k + 1);
                let urban = dist(l.centre_km(c), [0.0, 0.0]) < URBAN_KM;
                let base = name(&mut rng);
                let (cname, population) = if urban {
                    (format!("{base} Community"), 3_000 + rng.below(9_000) as u64)
                } else {
                    (format!("{base} Village"), 300 + rng.below(2_500) as u64)
                };
                let place_type = match urban {
                    true if dist(l.centre_km(c), [0.0, 0.0]) < OLD_ESTATE_KM => "old_estate",
                    true => "new_estate",
                    false => "village",
                };
                t_population += population;
                let _ = write!(
                    communities,
                    "\n[[unit]]\nid = \"{cid}\"\ntier = \"community\"\nparent = \"{tid}\"\nname = {}\npopulation = {population}\nplace_type = \"{place_type}\"\naddresses = [{}]\n",
                    quote(&cname),
                    quote(&format!("{c} {base} Lane"))
                );
                let ring: Vec<(f64, f64)> = l.ring(c).into_iter().map(|p| (p[0], p[1])).collect();
                shapes.push((cid, Polygon::new(ring.into(), Vec::new()).into()));
            }
            d_population += t_population;
            let _ = write!(
                units,
                "\n[[unit]]\nid = \"{tid}\"\ntier = \"township\"\nparent = \"d-{slug}\"\nname = {}\npopulation = {t_population}\nplace_type = \"{}\"\n{communities}",
                quote(&tname),
                if urban { "urban" } else { "rural" }
            );
        }
        city_population += d_population;
        let _ = write!(
            district_blocks,
            "\n[[unit]]\nid = \"d-{slug}\"\ntier = \"district\"\nparent = \"city\"\nname = {}\npopulation = {d_population}\n",
            quote(dname)
        );
        for (suffix, what) in DISTRICT_DEPARTMENTS {
            let _ = write!(
                district_blocks,
                "\n[[unit]]\nid = \"dept-{slug}-{suffix}\"\ntier = \"department\"\nparent = \"d-{slug}\"\nlevel = \"district\"\nname = {}\nlines = [\"{suffix}\"]\n",
                quote(&format!("{} {what}", dname.trim_end_matches(" District")))
            );
        }
    }
    let mut toml = format!(
        "# A Beijing-sized city generated by `hotline topology generate --scale beijing --seed {seed}`.\n\
         # Boundaries of its communities and villages are in {geojson_name}.\n\n\
         name = \"beijing-{seed}\"\ncatalogue_version = \"generated-{seed}\"\nboundaries = {}\n\
         # Day limits count working days on China's holiday calendar, shipped with the mesh.\n\
         calendar = \"builtin:china\"\n\n[policy]\nnear_boundary_meters = 30\nworking_days = true\n\n\
         [[unit]]\nid = \"city\"\ntier = \"city\"\nname = \"Beijing 12345 Citizen Hotline Centre\"\npopulation = {city_population}\n",
        quote(geojson_name)
    );
    toml += &district_blocks;
    for (id, uname, lines) in DEPARTMENTS.iter().chain(UTILITIES) {
        let enterprise = id.starts_with("util-");
        let lines: Vec<String> = lines.split(' ').map(quote).collect();
        let _ = write!(
            toml,
            "\n[[unit]]\nid = \"{id}\"\ntier = \"department\"\nparent = \"city\"\nlevel = \"city\"\nname = {}\nlines = [{}]\n{}",
            quote(uname),
            lines.join(", "),
            if enterprise {
                "enterprise = true\n"
            } else {
                ""
            }
        );
    }
    for (id, uname) in CENTRAL {
        let _ = write!(
            toml,
            "\n[[unit]]\nid = \"{id}\"\ntier = \"central\"\nparent = \"city\"\nname = {}\n",
            quote(uname)
        );
    }
    toml += &units;
    toml += &catalogue::toml();
    let geojson = hotline_geo::geojson::write(shapes.iter().map(|(id, s)| (id.as_str(), s)));
    City {
        toml,
        geojson,
        communities: shapes.len(),
    }
}
