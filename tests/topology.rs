//! The topology commands on a generated Beijing, as a user runs them:
//! generate, check, locate (inside, on a shared vertex, outside) and the
//! locate benchmark.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .output()
        .unwrap()
}

fn json_ok(args: &[&str]) -> Value {
    let out = hotline(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

/// A vertex shared by two or more communities, and the smallest of their ids.
fn shared_vertex(geojson: &Path) -> ((f64, f64), String) {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(geojson).unwrap()).unwrap();
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in v["features"].as_array().unwrap() {
        let id = f["properties"]["unit_id"].as_str().unwrap().to_string();
        for p in f["geometry"]["coordinates"][0].as_array().unwrap() {
            owners.entry(p.to_string()).or_default().push(id.clone());
        }
    }
    let (point, ids) = owners
        .into_iter()
        .find(|(_, ids)| {
            let mut distinct = ids.clone();
            distinct.dedup();
            distinct.len() >= 3
        })
        .expect("a vertex where three communities meet");
    let p: Vec<f64> = serde_json::from_str(&point).unwrap();
    ((p[1], p[0]), ids.into_iter().min().unwrap())
}

#[test]
fn beijing_generates_checks_and_locates() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("beijing.toml");
    let toml_arg = toml.to_str().unwrap();
    let out = hotline(&[
        "topology", "generate", "--scale", "beijing", "--seed", "3", "--out", toml_arg,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let r = json_ok(&["topology", "check", toml_arg, "--json"]);
    assert_eq!(r["units"]["district"], 16, "{r}");
    assert_eq!(r["units"]["township"], 343, "{r}");
    assert!(r["units"]["community"].as_u64().unwrap() >= 7_000, "{r}");
    assert!(r["units"]["central"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["utilities"].as_u64().unwrap() >= 1, "{r}");
    let cat = &r["catalogue"];
    assert!(cat["items"].as_u64().unwrap() >= 300, "{r}");
    for u in ["emergency", "utility", "general", "complex"] {
        assert!(
            cat["by_urgency"][u].as_u64().unwrap() > 0,
            "no {u} item: {r}"
        );
    }
    assert!(cat["duty_list"].as_u64().unwrap() > 0 && cat["ambiguous"].as_u64().unwrap() > 0);
    let b = &r["boundaries"];
    assert_eq!(b["gaps"], 0, "{r}");
    assert_eq!(b["overlaps"], 0, "{r}");
    assert_eq!(b["pieces"], 1, "{r}");
    assert_eq!(b["communities_not_covered"], 0, "{r}");
    assert!(
        b["mean_vertices_per_community"].as_f64().unwrap() >= 8.0,
        "{r}"
    );

    // Tian'anmen lies in a community, township and district.
    let l = json_ok(&[
        "locate",
        "--topology",
        toml_arg,
        "--lat",
        "39.9087",
        "--lon",
        "116.3975",
        "--json",
    ]);
    let tiers: Vec<&str> = l["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["tier"].as_str().unwrap())
        .collect();
    assert_eq!(tiers, ["community", "township", "district"], "{l}");

    // A vertex where communities meet: the smallest id owns it, the others
    // are near-boundary neighbours.
    let ((lat, lon), owner) = shared_vertex(&dir.path().join("beijing.geojson"));
    let (lat, lon) = (lat.to_string(), lon.to_string());
    let l = json_ok(&[
        "locate",
        "--topology",
        toml_arg,
        "--lat",
        &lat,
        "--lon",
        &lon,
        "--json",
    ]);
    assert_eq!(l["path"][0]["id"].as_str(), Some(owner.as_str()), "{l}");
    assert_eq!(l["near_boundary"], true, "{l}");

    // Outside the city: refused, saying so.
    let out = hotline(&[
        "locate",
        "--topology",
        toml_arg,
        "--lat",
        "31.23",
        "--lon",
        "121.47",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("outside the city"), "{err}");

    // The benchmark runs and reports a rate (measured, not asserted).
    let bench = json_ok(&[
        "bench",
        "locate",
        "--topology",
        toml_arg,
        "--seconds",
        "0.05",
        "--points",
        "1000",
        "--json",
    ]);
    assert!(
        bench["locate_per_second"].as_f64().unwrap() > 0.0,
        "{bench}"
    );
    assert_eq!(bench["threads"], 1);
}

#[test]
fn check_refuses_a_broken_boundary_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.toml");
    // Swap two points of a community ring: the ring crosses itself.
    let demo = hotline::DEMO_TOPOLOGY;
    let line = demo
        .lines()
        .position(|l| l.starts_with("boundary"))
        .unwrap();
    let ring = demo.lines().nth(line).unwrap();
    let points: Vec<&str> = ring.split("], [").collect();
    let mut swapped = points.clone();
    swapped.swap(2, 4);
    std::fs::write(&path, demo.replace(ring, &swapped.join("], ["))).unwrap();
    let out = hotline(&["topology", "check", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("demo.toml:{}:", line + 1)), "{err}");
    assert!(err.contains("self-intersection"), "{err}");

    // The committed demo city checks clean.
    let r = json_ok(&["topology", "check", "topology/demo-city.toml", "--json"]);
    assert_eq!(
        (
            r["boundaries"]["gaps"].as_u64(),
            r["boundaries"]["overlaps"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(r["boundaries"]["community_boundaries"], 8);
}
