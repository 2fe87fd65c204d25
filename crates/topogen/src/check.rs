//! `hotline topology check`: parse and validate (errors name the file,
//! line and problem), then count units, catalogue and addresses, and
//! survey the boundaries for gaps and overlaps (see `hotline_geo::survey`).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use hotline_core::{Tier, Topology, Urgency};
use hotline_geo::shape::vertex_count;
use serde_json::{Value, json};

pub fn report(t: &Topology) -> Value {
    let mut tiers: BTreeMap<&str, usize> = Tier::ALL.iter().map(|t| (t.as_str(), 0)).collect();
    for u in t.units() {
        *tiers.entry(u.tier.as_str()).or_default() += 1;
    }
    let utilities = t.units().filter(|u| u.enterprise).count();
    let mut urgencies: BTreeMap<&str, usize> =
        Urgency::ALL.iter().map(|u| (u.as_str(), 0)).collect();
    for i in t.catalogue() {
        *urgencies.entry(i.urgency.as_str()).or_default() += 1;
    }
    let atlas = t.atlas();
    let leaves: Vec<_> = (0..atlas.len() as u32)
        .map(|l| (l, t.leaf_unit(l)))
        .collect();
    let community_leaves: Vec<u32> = leaves
        .iter()
        .filter(|(_, u)| u.tier == Tier::Community)
        .map(|(l, _)| *l)
        .collect();
    let vertices: usize = community_leaves
        .iter()
        .map(|l| vertex_count(atlas.shape(*l)))
        .sum();
    let leaf_ids: HashSet<&str> = leaves.iter().map(|(_, u)| u.id.as_str()).collect();
    let bounded = |id: &str| leaf_ids.contains(id);
    let unbounded = t
        .units()
        .filter(|u| u.tier == Tier::Community)
        .filter(|u| !bounded(&u.id) && !u.parent.as_deref().is_some_and(bounded))
        .count();
    let survey = hotline_geo::survey::survey(atlas);
    json!({
        "name": t.name,
        "units": tiers,
        "utilities": utilities,
        "catalogue": {
            "categories": t.groups().filter(|g| g.parent.is_none()).count(),
            "subcategories": t.groups().filter(|g| g.parent.is_some()).count(),
            "items": t.catalogue().count(),
            "by_urgency": urgencies,
            "duty_list": t.catalogue().filter(|i| i.duty_list).count(),
            "ambiguous": t.catalogue().filter(|i| i.ambiguous).count(),
        },
        "addresses": t.addresses().len(),
        "boundaries": {
            "leaves": survey.leaves,
            "community_boundaries": community_leaves.len(),
            "township_boundaries": leaves.len() - community_leaves.len(),
            "communities_not_covered": unbounded,
            "mean_vertices_per_community": if community_leaves.is_empty() { 0.0 } else {
                (vertices as f64 / community_leaves.len() as f64 * 100.0).round() / 100.0
            },
            "area_km2": (survey.area_km2 * 10.0).round() / 10.0,
            "pieces": survey.pieces,
            "gaps": survey.gaps,
            "gap_area_m2": survey.gap_area_m2.round(),
            "overlaps": survey.overlaps,
            "overlap_area_m2": survey.overlap_area_m2.round(),
            "near_boundary_meters": t.policy.near_boundary_meters,
        },
    })
}

pub fn run(path: &Path, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let t = hotline_node::load_topology(path)?;
    let mut r = report(&t);
    r["seconds"] = json!((started.elapsed().as_secs_f64() * 100.0).round() / 100.0);
    let b = &r["boundaries"];
    let (gaps, overlaps) = (
        b["gaps"].as_u64().unwrap_or(0),
        b["overlaps"].as_u64().unwrap_or(0),
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_text(path, &r);
    }
    if gaps + overlaps > 0 {
        bail!(
            "{}: boundaries have {gaps} gaps and {overlaps} overlaps",
            path.display()
        );
    }
    Ok(())
}

fn print_text(path: &Path, r: &Value) {
    println!(
        "{}: {} is valid",
        path.display(),
        r["name"].as_str().unwrap_or("")
    );
    let units = r["units"].as_object().into_iter().flatten();
    let units: Vec<String> = units.map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "  units        {} (utilities {})",
        units.join(", "),
        r["utilities"]
    );
    let c = &r["catalogue"];
    println!(
        "  catalogue    {} categories, {} subcategories, {} items; by urgency {}; duty list {}, ambiguous {}",
        c["categories"],
        c["subcategories"],
        c["items"],
        c["by_urgency"],
        c["duty_list"],
        c["ambiguous"]
    );
    println!("  addresses    {}", r["addresses"]);
    let b = &r["boundaries"];
    println!(
        "  boundaries   {} communities, {} townships bounded directly, {} communities not covered",
        b["community_boundaries"], b["township_boundaries"], b["communities_not_covered"]
    );
    println!(
        "               mean {} vertices per community; {} km² in {} piece(s)",
        b["mean_vertices_per_community"], b["area_km2"], b["pieces"]
    );
    println!(
        "               gaps {} ({} m²), overlaps {} ({} m²); near boundary within {} m",
        b["gaps"], b["gap_area_m2"], b["overlaps"], b["overlap_area_m2"], b["near_boundary_meters"]
    );
    println!("  checked in {} s", r["seconds"]);
}
