//! The boundaries side file: a GeoJSON FeatureCollection whose features
//! carry `properties.unit_id` and a Polygon or MultiPolygon geometry.
//! Each feature keeps its byte offset so errors can name its line.

use geo::MultiPolygon;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::shape::{self, Rings};

/// One feature: the unit it bounds and its shape.
#[derive(Debug, Clone)]
pub struct Feature {
    pub unit_id: String,
    pub shape: MultiPolygon,
    /// Byte offset of the feature in the source.
    pub offset: usize,
}

/// A problem at a byte offset of the source.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoJsonError {
    pub offset: usize,
    pub problem: String,
}

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawFeature {
    #[serde(rename = "type")]
    kind: String,
    properties: Properties,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Properties {
    unit_id: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Rings),
    MultiPolygon(Vec<Rings>),
}

/// Byte offset of a line and column (both from 1), as serde_json reports.
fn offset_of(src: &str, line: usize, column: usize) -> usize {
    let start: usize = src.split_inclusive('\n').take(line - 1).map(str::len).sum();
    (start + column.saturating_sub(1)).min(src.len())
}

pub fn parse(src: &str) -> Result<Vec<Feature>, GeoJsonError> {
    let json_err = |base: usize, sub: &str, e: serde_json::Error| GeoJsonError {
        offset: base + offset_of(sub, e.line().max(1), e.column()),
        problem: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let c: Collection = serde_json::from_str(src).map_err(|e| json_err(0, src, e))?;
    if c.kind != "FeatureCollection" {
        return Err(GeoJsonError {
            offset: 0,
            problem: format!("expected a FeatureCollection, found {:?}", c.kind),
        });
    }
    c.features
        .into_iter()
        .map(|raw| {
            let text = raw.get();
            // The raw feature is a slice of `src`: its address gives its offset.
            let offset = text.as_ptr() as usize - src.as_ptr() as usize;
            let f: RawFeature =
                serde_json::from_str(text).map_err(|e| json_err(offset, text, e))?;
            let at = |problem: String| GeoJsonError { offset, problem };
            if f.kind != "Feature" {
                return Err(at(format!("expected a Feature, found {:?}", f.kind)));
            }
            let polygons = match f.geometry {
                Geometry::Polygon(rings) => vec![rings],
                Geometry::MultiPolygon(polygons) => polygons,
            };
            let shape = shape::from_rings(polygons)
                .map_err(|p| at(format!("unit {}: boundary {p}", f.properties.unit_id)))?;
            Ok(Feature {
                unit_id: f.properties.unit_id,
                shape,
                offset,
            })
        })
        .collect()
}

/// A FeatureCollection of `(unit_id, shape)`, one feature per line so that
/// errors point at the feature and diffs stay readable.
pub fn write<'a>(features: impl IntoIterator<Item = (&'a str, &'a MultiPolygon)>) -> String {
    let mut out = String::from("{\"type\": \"FeatureCollection\", \"features\": [\n");
    let mut first = true;
    for (id, shape) in features {
        if !first {
            out.push_str(",\n");
        }
        first = false;
        let polygons: Vec<Vec<Vec<[f64; 2]>>> = shape
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.0.iter().map(|c| [c.x, c.y]).collect())
                    .collect()
            })
            .collect();
        let (kind, coordinates) = match polygons.as_slice() {
            [one] => ("Polygon", serde_json::to_string(one)),
            _ => ("MultiPolygon", serde_json::to_string(&polygons)),
        };
        out.push_str(&format!(
            "{{\"type\": \"Feature\", \"properties\": {{\"unit_id\": {}}}, \"geometry\": {{\"type\": \"{kind}\", \"coordinates\": {}}}}}",
            serde_json::Value::from(id),
            coordinates.expect("numbers serialise")
        ));
    }
    out.push_str("\n]}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"{"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"unit_id": "c1", "name": "x"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
{"type": "Feature", "properties": {"unit_id": "c2"}, "geometry": {"type": "MultiPolygon", "coordinates": [[[[2, 0], [3, 0], [3, 1], [2, 0]]], [[[4, 0], [5, 0], [5, 1], [4, 0]]]]}}
]}"#;

    fn line(src: &str, offset: usize) -> usize {
        src[..offset].matches('\n').count() + 1
    }

    #[test]
    fn features_round_trip_with_their_lines() {
        let fs = parse(TWO).unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!((fs[1].unit_id.as_str(), fs[1].shape.0.len()), ("c2", 2));
        assert_eq!(line(TWO, fs[1].offset), 3);
        let again = write(fs.iter().map(|f| (f.unit_id.as_str(), &f.shape)));
        let back = parse(&again).unwrap();
        assert_eq!(back[0].shape, fs[0].shape);
        assert_eq!(back[1].shape, fs[1].shape);
        assert_eq!(line(&again, back[1].offset), 3, "one feature per line");
    }

    #[test]
    fn errors_point_at_the_feature() {
        let bad = TWO.replace("[3, 1], [2, 0]", "[2, 0]");
        let e = parse(&bad).unwrap_err();
        assert_eq!(line(&bad, e.offset), 3);
        assert!(e.problem.contains("unit c2: boundary polygon 0"), "{e:?}");

        let bad = TWO.replace("\"Polygon\"", "\"Point\"");
        let e = parse(&bad).unwrap_err();
        assert_eq!(line(&bad, e.offset), 2, "{e:?}");

        let broken = "{\"type\": \"FeatureCollection\",\n \"features\": [}";
        let e = parse(broken).unwrap_err();
        assert_eq!(line(broken, e.offset), 2, "{e:?}");
        let e = parse("{\"type\": \"Topology\", \"features\": []}").unwrap_err();
        assert!(e.problem.contains("FeatureCollection"), "{e:?}");
    }

    proptest::proptest! {
        /// GeoJSON as a user's file may be: any text, or a good file with
        /// one character changed. Parsed or refused with a reason; never a
        /// panic.
        #[test]
        fn any_text_parses_or_is_refused(src in ".{0,400}") {
            let _ = parse(&src);
        }

        #[test]
        fn a_good_file_with_one_character_changed_parses_or_is_refused(
            at in 0usize..TWO.len(),
            c in proptest::prelude::any::<char>(),
        ) {
            let mut src: Vec<char> = TWO.chars().collect();
            let at = at.min(src.len() - 1);
            src[at] = c;
            let src: String = src.into_iter().collect();
            if let Err(e) = parse(&src) {
                proptest::prop_assert!(!e.problem.is_empty());
            }
        }
    }
}
