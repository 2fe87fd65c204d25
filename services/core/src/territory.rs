//! Territories: which units carry boundaries, and where a location lies.
//!
//! Boundaries are given on the finest tier at hand: on communities, or on
//! a township whose communities have none. A township's or district's
//! territory is the union of its children's, so the locator indexes only
//! these leaves and reads the township and district off the parent chain.
//! Leaves are indexed in unit-id order, so on a shared edge or vertex the
//! unit with the smallest id owns the point (see `hotline_geo::atlas`).

use std::collections::{BTreeMap, BTreeSet};

use hotline_geo::Atlas;
use hotline_geo::geo::MultiPolygon;

use crate::model::Tier;
use crate::units::{Place, TopologyError, Unit};

/// A boundary as read, with where it was written.
pub(crate) struct Bounded {
    pub unit: String,
    pub shape: MultiPolygon,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Territories {
    pub atlas: Atlas,
    /// Unit id of each leaf, by leaf index.
    pub leaves: Vec<String>,
    /// Each leaf's place and district, by leaf index, worked out once:
    /// `locate` reads them by index instead of walking the unit map (the
    /// walk was half of its time in `bench locate`).
    places: Vec<LeafPlace>,
}

#[derive(Debug, Clone)]
struct LeafPlace {
    place: Place,
    district: Option<String>,
}

/// Where a location lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub place: Place,
    /// Other units within the policy's `near_boundary_meters`: neighbouring
    /// communities, then townships, then districts, each sorted.
    pub near_boundary: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocateError {
    #[error("({lat}, {lon}) is not a latitude and longitude in degrees")]
    Invalid { lat: f64, lon: f64 },
    #[error("({lat}, {lon}) is outside the city")]
    Outside { lat: f64, lon: f64 },
    #[error("the topology has no boundaries to resolve a location against")]
    NoBoundaries,
}

pub(crate) fn build(
    units: &BTreeMap<String, Unit>,
    bounded: Vec<Bounded>,
    near_metres: f64,
) -> Result<Territories, TopologyError> {
    let mut shapes: BTreeMap<String, Bounded> = BTreeMap::new();
    for b in bounded {
        let err = |problem: String| TopologyError {
            file: b.file.clone(),
            line: b.line,
            problem,
        };
        match units.get(&b.unit).map(|u| u.tier) {
            None => {
                return Err(err(format!(
                    "boundary for unit {}, which is not defined",
                    b.unit
                )));
            }
            Some(Tier::Township | Tier::Community) => {}
            Some(tier) => {
                return Err(err(format!(
                    "unit {}: a {tier} has no boundary of its own; give its townships' or communities'",
                    b.unit
                )));
            }
        }
        if shapes.contains_key(&b.unit) {
            return Err(err(format!("unit {} has two boundaries", b.unit)));
        }
        shapes.insert(b.unit.clone(), b);
    }
    // Each township is bounded either by itself or by all its communities.
    let mut children: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
    for u in units.values().filter(|u| u.tier == Tier::Community) {
        children
            .entry(u.parent.as_deref().unwrap_or_default())
            .or_default()
            .push(u);
    }
    for (township, communities) in &children {
        let with: Vec<&&Unit> = communities
            .iter()
            .filter(|c| shapes.contains_key(&c.id))
            .collect();
        let Some(first) = with.first() else { continue };
        let b = &shapes[&first.id];
        let err = |problem: String| TopologyError {
            file: b.file.clone(),
            line: b.line,
            problem,
        };
        if shapes.contains_key(*township) {
            return Err(err(format!(
                "township {township} has a boundary and so do its communities; give one or the other"
            )));
        }
        if let Some(missing) = communities.iter().find(|c| !shapes.contains_key(&c.id)) {
            return Err(err(format!(
                "community {} has a boundary but its sibling {} has none",
                first.id, missing.id
            )));
        }
    }
    let (leaves, shapes): (Vec<String>, Vec<MultiPolygon>) =
        shapes.into_iter().map(|(id, b)| (id, b.shape)).unzip();
    let places = leaves
        .iter()
        .map(|id| {
            let place = place_of(&units[id]);
            let district = units.get(&place.township).and_then(|t| t.parent.clone());
            LeafPlace { place, district }
        })
        .collect();
    Ok(Territories {
        atlas: Atlas::new(shapes, near_metres),
        leaves,
        places,
    })
}

/// The place of a leaf unit: its township, and itself if a community.
fn place_of(leaf: &Unit) -> Place {
    match leaf.tier {
        Tier::Community => Place {
            township: leaf.parent.clone().unwrap_or_default(),
            community: Some(leaf.id.clone()),
        },
        _ => Place {
            township: leaf.id.clone(),
            community: None,
        },
    }
}

impl Territories {
    pub fn locate(&self, lat: f64, lon: f64) -> Result<Located, LocateError> {
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
            return Err(LocateError::Invalid { lat, lon });
        }
        if self.atlas.is_empty() {
            return Err(LocateError::NoBoundaries);
        }
        let hit = self
            .atlas
            .locate(lon, lat)
            .ok_or(LocateError::Outside { lat, lon })?;
        let here = &self.places[hit.leaf as usize];
        let mut tiers: [BTreeSet<&str>; 3] = Default::default();
        for n in hit.neighbours() {
            let there = &self.places[n as usize];
            if let Some(c) = &there.place.community
                && Some(c) != here.place.community.as_ref()
            {
                tiers[0].insert(c);
            }
            if there.place.township != here.place.township {
                if let Some(d) = &there.district
                    && Some(d) != here.district.as_ref()
                {
                    tiers[2].insert(d);
                }
                tiers[1].insert(&there.place.township);
            }
        }
        Ok(Located {
            place: here.place.clone(),
            near_boundary: tiers.into_iter().flatten().map(str::to_owned).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::topology::Topology;

    use super::*;

    /// Two districts; t1 (d1) bounded by its communities c1 and c2 side by
    /// side, t2 (d2) bounded by itself, north of both.
    const MAP: &str = r#"
name = "m"
[[unit]]
id = "city"
tier = "city"
name = "C"
[[unit]]
id = "d1"
tier = "district"
parent = "city"
name = "D1"
[[unit]]
id = "d2"
tier = "district"
parent = "city"
name = "D2"
[[unit]]
id = "t1"
tier = "township"
parent = "d1"
name = "T1"
[[unit]]
id = "t2"
tier = "township"
parent = "d2"
name = "T2"
boundary = [[116.0, 40.01], [116.02, 40.01], [116.02, 40.02], [116.0, 40.02]]
[[unit]]
id = "c1"
tier = "community"
parent = "t1"
name = "C1"
boundary = [[116.0, 40.0], [116.01, 40.0], [116.01, 40.01], [116.0, 40.01]]
[[unit]]
id = "c2"
tier = "community"
parent = "t1"
name = "C2"
boundary = [[116.01, 40.0], [116.02, 40.0], [116.02, 40.01], [116.01, 40.01]]
"#;

    fn map() -> Topology {
        Topology::parse("m.toml", MAP).unwrap()
    }

    fn place(t: &str, c: Option<&str>) -> Place {
        Place {
            township: t.into(),
            community: c.map(Into::into),
        }
    }

    #[test]
    fn a_location_resolves_to_community_and_township() {
        let l = map().locate(40.005, 116.005).unwrap();
        assert_eq!(l.place, place("t1", Some("c1")));
        assert!(l.near_boundary.is_empty());
        let l = map().locate(40.015, 116.015).unwrap();
        assert_eq!(l.place, place("t2", None), "a township bounded by itself");
    }

    #[test]
    fn near_a_border_the_neighbours_are_named_at_every_tier() {
        // 0.0001° of latitude (11 m) south of the t1/t2 border, inside c2.
        let l = map().locate(40.0099, 116.015).unwrap();
        assert_eq!(l.place, place("t1", Some("c2")));
        assert_eq!(l.near_boundary, ["t2", "d2"]);
        // Near the corner where c1, c2 and t2 meet.
        let l = map().locate(40.0099, 116.0101).unwrap();
        assert_eq!(l.near_boundary, ["c1", "t2", "d2"]);
    }

    #[test]
    fn on_a_shared_edge_the_smallest_unit_id_owns_the_point() {
        let l = map().locate(40.005, 116.01).unwrap();
        assert_eq!(l.place, place("t1", Some("c1")));
        assert_eq!(l.near_boundary, ["c2"]);
        // c1's northern edge is shared with t2: "c1" < "t2".
        let l = map().locate(40.01, 116.005).unwrap();
        assert_eq!(l.place, place("t1", Some("c1")));
        assert_eq!(l.near_boundary, ["t2", "d2"]);
    }

    #[test]
    fn outside_the_city_or_off_the_globe_is_refused() {
        let t = map();
        assert_eq!(
            t.locate(39.99, 116.005).unwrap_err().to_string(),
            "(39.99, 116.005) is outside the city"
        );
        assert!(matches!(
            t.locate(91.0, 116.0),
            Err(LocateError::Invalid { .. })
        ));
        assert!(matches!(
            t.locate(f64::NAN, 116.0),
            Err(LocateError::Invalid { .. })
        ));
        let bare = MAP
            .lines()
            .filter(|l| !l.starts_with("boundary"))
            .collect::<Vec<_>>()
            .join("\n");
        let t = Topology::parse("bare.toml", &bare).unwrap();
        assert_eq!(t.locate(40.005, 116.005), Err(LocateError::NoBoundaries));
    }

    #[test]
    fn boundary_errors_name_file_line_and_problem() {
        let bad = MAP.replacen(
            "name = \"D2\"",
            "name = \"D2\"\nboundary = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]",
            1,
        );
        let e = Topology::parse("m.toml", &bad).unwrap_err();
        assert_eq!(e.line, 17, "{e}");
        assert!(
            e.problem.contains("a district has no boundary of its own"),
            "{e}"
        );

        let bad = MAP.replacen(
            "name = \"T1\"",
            "name = \"T1\"\nboundary = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]",
            1,
        );
        let e = Topology::parse("m.toml", &bad).unwrap_err();
        assert!(e.problem.contains("give one or the other"), "{e}");

        let bad = MAP.replacen(
            "boundary = [[116.01, 40.0], [116.02, 40.0], [116.02, 40.01], [116.01, 40.01]]\n",
            "",
            1,
        );
        let e = Topology::parse("m.toml", &bad).unwrap_err();
        assert!(e.problem.contains("its sibling c2 has none"), "{e}");

        let bad = MAP.replacen(
            "[116.0, 40.01], [116.02, 40.01], [116.02, 40.02], [116.0, 40.02]",
            "[116.0, 40.01], [116.02, 40.02], [116.02, 40.01], [116.0, 40.02]",
            1,
        );
        let e = Topology::parse("m.toml", &bad).unwrap_err();
        assert_eq!(e.line, 27, "{e}");
        assert!(
            e.problem.contains("unit t2: boundary") && e.problem.contains("self-intersection"),
            "{e}"
        );
    }

    #[test]
    fn a_side_file_carries_boundaries_and_its_errors_name_it() {
        let bare: String = MAP
            .lines()
            .filter(|l| !l.starts_with("boundary"))
            .collect::<Vec<_>>()
            .join("\n");
        let with = format!("boundaries = \"m.geojson\"\n{bare}");
        let c1 = MAP
            .lines()
            .find(|l| l.contains("[116.0, 40.0], [116.01"))
            .unwrap();
        let feature = |id: &str, ring: &str| {
            format!(
                "{{\"type\": \"Feature\", \"properties\": {{\"unit_id\": \"{id}\"}}, \"geometry\": {{\"type\": \"Polygon\", \"coordinates\": [{}]}}}}",
                ring.trim_start_matches("boundary = ")
            )
        };
        let json = format!(
            "{{\"type\": \"FeatureCollection\", \"features\": [\n{}\n]}}",
            feature("c9", c1)
        );
        let e = Topology::parse_with("m.toml", &with, |name| {
            assert_eq!(name, "m.geojson");
            Ok(json.clone())
        })
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("m.geojson", 2), "{e}");
        assert!(e.problem.contains("unit c9, which is not defined"), "{e}");

        let e = Topology::parse("m.toml", &with).unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        assert!(
            e.problem.starts_with("boundaries: m.geojson was not read"),
            "{e}"
        );

        let json = json.replace("c9", "t1");
        let t = Topology::parse_with("m.toml", &with, |_| Ok(json)).unwrap();
        assert_eq!(t.locate(40.005, 116.005).unwrap().place, place("t1", None));
    }
}
