//! The services: the dispatch catalogue, item by item. A service code is
//! the item's catalogue code (`water.outage`), its group the item's
//! subcategory, its keywords the category's and subcategory's names.
//!
//! An item whose handler depends on where the matter is (a territory
//! item, or a line at the location's district) needs a place; an item
//! the catalogue can answer at intake may be asked as a consultation.
//! Such items say so in their definition's attributes (`metadata` true);
//! the others have none.

use hotline_core::{CatalogueItem, RequestKind, Topology, Urgency};

use super::render::{Doc, Record, Value};

/// The attribute that says where the request must be (information only).
pub const LOCATION: &str = "location";
/// The attribute choosing what is asked for.
pub const REQUEST_KIND: &str = "request_kind";

/// The kinds a request may be, as `request_kind` offers them.
const KINDS: &[(RequestKind, &str)] = &[
    (RequestKind::Complaint, "Complaint: something is wrong"),
    (RequestKind::Report, "Report: something others should know"),
    (RequestKind::Help, "Help: I need something done"),
    (RequestKind::Suggestion, "Suggestion"),
    (
        RequestKind::Consultation,
        "Consultation: a question, answered at once where the hotline knows the answer",
    ),
];

/// Whether the item's handler depends on where the matter is.
pub fn needs_place(item: &CatalogueItem) -> bool {
    item.territory || item.line.as_ref().is_some_and(|l| l.district_level)
}

/// Whether the item is only answered, never handled: a consultation.
pub fn answer_only(item: &CatalogueItem) -> bool {
    item.answer.is_some() && !item.territory && item.department.is_none() && item.line.is_none()
}

/// The kinds a request for the item may be.
pub fn kinds(item: &CatalogueItem) -> Vec<RequestKind> {
    if answer_only(item) {
        vec![RequestKind::Consultation]
    } else if item.answer.is_some() {
        KINDS.iter().map(|(k, _)| *k).collect()
    } else {
        KINDS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| *k != RequestKind::Consultation)
            .collect()
    }
}

/// The kind a request is when the client does not say.
pub fn default_kind(item: &CatalogueItem) -> RequestKind {
    if answer_only(item) {
        RequestKind::Consultation
    } else {
        RequestKind::Complaint
    }
}

/// Whether the item's definition has attributes.
pub fn has_metadata(item: &CatalogueItem) -> bool {
    needs_place(item) || item.answer.is_some()
}

/// The time limit of an urgency, in words: `7 days`, `2 hours`.
pub fn limit_words(topology: &Topology, urgency: Urgency) -> String {
    let limit_s = topology.policy.limit(urgency) / 1_000_000;
    let working = hotline_core::deadline::counts_working_days(&topology.policy, urgency);
    // Days for the day-based limits (general, complex), as Art. 13 words them.
    let day_based = matches!(urgency, Urgency::General | Urgency::Complex);
    let (n, unit) = if day_based && limit_s % 86_400 == 0 {
        (
            limit_s / 86_400,
            if working { "working day" } else { "day" },
        )
    } else if limit_s % 3_600 == 0 {
        (limit_s / 3_600, "hour")
    } else {
        (limit_s / 60, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// One service of the list.
fn service(topology: &Topology, item: &CatalogueItem) -> Record {
    let path = topology.item_path(&item.code);
    let sub = path.map(|(_, s, _)| s.name.clone()).unwrap_or_default();
    let cat = path.map(|(c, _, _)| c.name.clone()).unwrap_or_default();
    let description = if answer_only(item) {
        format!("{}: answered at once.", item.name)
    } else {
        format!(
            "{}: handled within {} ({}).",
            item.name,
            limit_words(topology, item.urgency),
            item.urgency
        )
    };
    let keywords = [cat.as_str(), sub.as_str()]
        .into_iter()
        .chain(item.code.split(['.', '_']))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    Record::default()
        .with("service_code", Value::text(&item.code))
        .with("service_name", Value::text(&item.name))
        .with("description", Value::text(description))
        .with("metadata", Value::Bool(has_metadata(item)))
        .with("type", Value::text("realtime"))
        .with("keywords", Value::text(keywords))
        .with("group", Value::text(sub))
}

/// `GET services`: every item of the catalogue, by code.
pub fn list(topology: &Topology) -> Doc {
    Doc::List {
        root: "services",
        item: "service",
        records: topology
            .catalogue()
            .map(|item| service(topology, item))
            .collect(),
    }
}

/// `GET services/{service_code}`: the item's attributes.
pub fn definition(item: &CatalogueItem) -> Doc {
    let mut attributes = Vec::new();
    if needs_place(item) {
        let who = if item.territory {
            "the township or street where it is"
        } else {
            "the district where it is"
        };
        attributes.push(
            Record::default()
                .with("variable", Value::Bool(false))
                .with("code", Value::text(LOCATION))
                .with("datatype", Value::text("string"))
                .with("required", Value::Bool(false))
                .with("datatype_description", Value::Null)
                .with("order", Value::Int(1))
                .with(
                    "description",
                    Value::text(format!(
                        "Handled by {who}: give lat and long inside the city, or an \
                         address_string from the city's address index."
                    )),
                )
                .with("values", Value::List("value", Vec::new())),
        );
    }
    if item.answer.is_some() {
        let values = kinds(item)
            .into_iter()
            .filter_map(|k| KINDS.iter().find(|(kind, _)| *kind == k))
            .map(|(k, name)| {
                Record::default()
                    .with("key", Value::text(k.as_str()))
                    .with("name", Value::text(*name))
            })
            .collect();
        attributes.push(
            Record::default()
                .with("variable", Value::Bool(true))
                .with("code", Value::text(REQUEST_KIND))
                .with("datatype", Value::text("singlevaluelist"))
                .with("required", Value::Bool(false))
                .with(
                    "datatype_description",
                    Value::text(format!(
                        "one of the keys; {} when not given",
                        default_kind(item)
                    )),
                )
                .with("order", Value::Int(attributes.len() as i64 + 1))
                .with(
                    "description",
                    Value::text(
                        "What you ask for. A consultation the hotline can answer is \
                         answered at once, in status_notes.",
                    ),
                )
                .with("values", Value::List("value", values)),
        );
    }
    Doc::One {
        root: "service_definition",
        record: Record::default()
            .with("service_code", Value::text(&item.code))
            .with("attributes", Value::List("attribute", attributes)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::open311::render::Format;

    fn demo() -> Topology {
        let src = include_str!("../../../../topology/demo-city.toml");
        Topology::parse("demo-city.toml", src).unwrap()
    }

    #[test]
    fn every_catalogue_item_is_a_service_under_its_code() {
        let t = demo();
        let Doc::List { records, .. } = list(&t) else {
            panic!("a list")
        };
        assert_eq!(records.len(), t.catalogue().count());
        let water = records
            .iter()
            .find(|r| r.get("service_code") == Some(&Value::text("water.outage")))
            .unwrap();
        assert_eq!(water.get("group"), Some(&Value::text("Water")));
        assert_eq!(water.get("type"), Some(&Value::text("realtime")));
        let words = format!("{:?}", water.get("keywords"));
        assert!(words.contains("Public utilities"), "{words}");
        assert!(
            format!("{:?}", water.get("description")).contains("24 hours"),
            "{water:?}"
        );
    }

    #[test]
    fn items_that_need_facts_have_attributes_and_others_none() {
        let t = demo();
        // A territory item needs a place.
        let pothole = t.item("road.pothole").unwrap();
        assert!(has_metadata(pothole));
        let xml = definition(pothole).body(Format::Xml);
        assert!(xml.contains("<code>location</code>"), "{xml}");
        // Answered at intake only: a consultation, nothing else.
        let hukou = t.item("policy.hukou").unwrap();
        assert_eq!(kinds(hukou), vec![RequestKind::Consultation]);
        assert_eq!(default_kind(hukou), RequestKind::Consultation);
        // A department's item with no answer and no place: no attributes.
        let signal = t.item("traffic.signal_broken").unwrap();
        assert!(!has_metadata(signal));
        let json: serde_json::Value =
            serde_json::from_str(&definition(signal).body(Format::Json)).unwrap();
        assert_eq!(json["service_code"], "traffic.signal_broken");
        assert_eq!(json["attributes"], serde_json::json!([]));
        // A district-level line needs a place too.
        assert!(needs_place(t.item("parking.illegal").unwrap()));
    }
}
