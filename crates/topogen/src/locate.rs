//! `hotline locate`: the unit path of a location and its near-boundary
//! neighbours; `hotline bench locate`: locate calls per second on one core.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use hotline_client::table::Table;
use hotline_core::Topology;
use hotline_geo::geo::BoundingRect;
use hotline_geo::tiling::Rng;
use serde_json::{Value, json};

#[derive(Args)]
pub struct LocateArgs {
    /// Topology file (TOML); its boundaries side file is read beside it.
    #[arg(long)]
    pub topology: PathBuf,
    #[arg(long, allow_hyphen_values = true)]
    pub lat: f64,
    #[arg(long, allow_hyphen_values = true)]
    pub lon: f64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BenchLocateArgs {
    #[arg(long)]
    pub topology: PathBuf,
    /// How long to measure, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Distinct points, drawn uniformly inside the city.
    #[arg(long, default_value_t = 100_000)]
    pub points: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

fn unit_json(t: &Topology, id: &str) -> Value {
    let u = t.unit(id);
    json!({"id": id, "tier": u.map(|u| u.tier.as_str()), "name": u.map(|u| u.name.as_str())})
}

pub fn locate(a: LocateArgs) -> anyhow::Result<()> {
    let t = hotline_node::load_topology(&a.topology)?;
    let l = t
        .locate(a.lat, a.lon)
        .map_err(|e| anyhow::anyhow!("location: {e}"))?;
    let district = t.parent_of(&l.place.township).map(|d| d.id.clone());
    let path: Vec<Value> = [
        l.place.community.clone(),
        Some(l.place.township.clone()),
        district,
    ]
    .into_iter()
    .flatten()
    .map(|id| unit_json(&t, &id))
    .collect();
    let near: Vec<Value> = l.near_boundary.iter().map(|id| unit_json(&t, id)).collect();
    if a.json {
        let v = json!({
            "lat": a.lat, "lon": a.lon, "path": path,
            "near_boundary": !near.is_empty(),
            "near_boundary_meters": t.policy.near_boundary_meters,
            "neighbours": near,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let units = |units: &[Value]| {
        let mut t = Table::new(["tier", "unit", "name"]);
        for u in units {
            t.row(["tier", "id", "name"].map(|k| u[k].as_str().unwrap_or("").to_string()));
        }
        t
    };
    print!("The point lies in:\n{}", units(&path));
    if near.is_empty() {
        println!(
            "It is not near a boundary: no other unit within {} m.",
            t.policy.near_boundary_meters
        );
    } else {
        print!(
            "It is near the boundary (within {} m) of:\n{}",
            t.policy.near_boundary_meters,
            units(&near)
        );
    }
    Ok(())
}

/// Points drawn uniformly over the city's bounding box, kept when inside.
fn points_inside(t: &Topology, n: usize, seed: u64) -> anyhow::Result<Vec<(f64, f64)>> {
    let atlas = t.atlas();
    let Some(bbox) = atlas
        .shapes()
        .iter()
        .filter_map(|s| s.bounding_rect())
        .reduce(|a, b| {
            hotline_geo::geo::Rect::new(
                (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
            )
        })
    else {
        bail!("the topology has no boundaries to locate against");
    };
    let mut rng = Rng::new(seed);
    let mut points = Vec::with_capacity(n);
    while points.len() < n {
        let lon = bbox.min().x + rng.unit() * bbox.width();
        let lat = bbox.min().y + rng.unit() * bbox.height();
        if atlas.locate(lon, lat).is_some() {
            points.push((lon, lat));
        }
    }
    Ok(points)
}

/// Runs `f` over `points` in rounds until `budget` has passed; calls/s.
fn measure(
    points: &[(f64, f64)],
    budget: Duration,
    mut f: impl FnMut(f64, f64) -> bool,
) -> (f64, f64) {
    let started = Instant::now();
    let (mut calls, mut flagged) = (0u64, 0u64);
    while started.elapsed() < budget {
        for &(lon, lat) in points {
            flagged += f(black_box(lon), black_box(lat)) as u64;
        }
        calls += points.len() as u64;
    }
    let secs = started.elapsed().as_secs_f64();
    (calls as f64 / secs, flagged as f64 / calls as f64)
}

pub fn bench(a: BenchLocateArgs) -> anyhow::Result<()> {
    let loading = Instant::now();
    let t = hotline_node::load_topology(&a.topology)?;
    let load_seconds = loading.elapsed().as_secs_f64();
    let points = points_inside(&t, a.points.max(1), a.seed)?;
    let atlas = t.atlas();
    let budget = Duration::from_secs_f64(a.seconds);
    // The locator itself: leaf and neighbours, no allocation.
    let (per_second, near_share) = measure(&points, budget, |lon, lat| {
        black_box(atlas.locate(lon, lat)).is_some_and(|h| h.near_boundary())
    });
    // The topology's answer with unit ids, as intake uses it.
    let (full_per_second, _) = measure(&points, budget / 3, |lon, lat| {
        black_box(t.locate(lat, lon)).is_ok_and(|l| !l.near_boundary.is_empty())
    });
    let r = json!({
        "topology": a.topology.display().to_string(),
        "leaves": atlas.len(),
        "points": points.len(),
        "threads": 1,
        "locate_per_second": per_second.round(),
        "near_boundary_share": (near_share * 1e4).round() / 1e4,
        "topology_locate_per_second": full_per_second.round(),
        "load_seconds": (load_seconds * 100.0).round() / 100.0,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "locate on {} ({} leaves), one thread, {} distinct points inside the city:",
            a.topology.display(),
            atlas.len(),
            points.len()
        );
        println!(
            "  atlas locate     {:>12.0} calls/s ({:.2} % near a boundary)",
            per_second,
            near_share * 100.0
        );
        println!(
            "  topology locate  {:>12.0} calls/s (unit ids and neighbours as strings)",
            full_per_second
        );
        println!(
            "  topology loaded in {}",
            hotline_client::duration::human(Duration::from_secs_f64(load_seconds))
        );
    }
    Ok(())
}
