//! Classification and dispatch rules at intake (Art. 11, 12).

use crate::model::{RequestKind, Role};
use crate::topology::{Place, Topology};

/// An assignment the city is about to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub unit_id: String,
    pub role: Role,
}

/// What intake does with a classified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A consultation answered at intake from the catalogue item's answer.
    Answer(String),
    /// Dispatch: leads (two for dual dispatch) and supervision copies.
    Dispatch {
        territory: Option<String>,
        assignments: Vec<Planned>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("category_code: {0:?} is not in the dispatch catalogue")]
    UnknownCategory(String),
    #[error(
        "address: an address or a location is required for category {0}, which its territory handles"
    )]
    MissingAddress(String),
    #[error("address: {0:?} is not in the topology's address index")]
    UnknownAddress(String),
    #[error("kind: category {0} is answered at intake only; submit it as a consultation")]
    AnswerOnly(String),
}

/// Where a request is: an address for the topology's address index, or a
/// place already resolved (from a location).
#[derive(Debug, Clone, Copy)]
pub enum Site<'a> {
    Address(&'a str),
    Place(&'a Place),
}

/// Decides how intake handles a request of `kind` in `category_code` at
/// `address`: answer it, or dispatch it to the territory (with a copy to its
/// district for supervision) and/or the line department.
pub fn decide(
    topology: &Topology,
    kind: RequestKind,
    category_code: &str,
    address: &str,
) -> Result<Decision, DecisionError> {
    decide_at(topology, kind, category_code, Site::Address(address))
}

/// [`decide`] for a request at `site`.
pub fn decide_at(
    topology: &Topology,
    kind: RequestKind,
    category_code: &str,
    site: Site<'_>,
) -> Result<Decision, DecisionError> {
    let item = topology
        .item(category_code)
        .ok_or_else(|| DecisionError::UnknownCategory(category_code.to_string()))?;
    if let (RequestKind::Consultation, Some(answer)) = (kind, &item.answer) {
        return Ok(Decision::Answer(answer.clone()));
    }
    if !item.territory && item.department.is_none() {
        return Err(DecisionError::AnswerOnly(item.code.clone()));
    }
    let mut assignments = Vec::new();
    let mut territory = None;
    if item.territory {
        let place = match site {
            Site::Place(place) => place,
            Site::Address(address) if address.trim().is_empty() => {
                return Err(DecisionError::MissingAddress(item.code.clone()));
            }
            Site::Address(address) => topology
                .place(address)
                .ok_or_else(|| DecisionError::UnknownAddress(address.to_string()))?,
        };
        assignments.push(Planned {
            unit_id: place.township.clone(),
            role: Role::Lead,
        });
        if let Some(district) = topology.parent_of(&place.township) {
            assignments.push(Planned {
                unit_id: district.id.clone(),
                role: Role::Copy,
            });
        }
        territory = Some(place.township.clone());
    }
    if let Some(dept) = &item.department {
        assignments.push(Planned {
            unit_id: dept.clone(),
            role: Role::Lead,
        });
    }
    Ok(Decision::Dispatch {
        territory,
        assignments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPO: &str = r#"
name = "t"
[[unit]]
id = "city"
tier = "city"
name = "C"
[[unit]]
id = "d1"
tier = "district"
parent = "city"
name = "D"
[[unit]]
id = "t1"
tier = "township"
parent = "d1"
name = "T"
addresses = ["1 Main St"]
[[unit]]
id = "heat"
tier = "department"
parent = "city"
level = "city"
name = "H"
[[category]]
code = "k"
name = "K"
[[subcategory]]
code = "k.s"
category = "k"
name = "S"
[[catalogue]]
code = "road"
subcategory = "k.s"
name = "Road"
urgency = "general"
territory = true
answer = "roads are repaired within a week"
[[catalogue]]
code = "heating"
subcategory = "k.s"
name = "Heating"
urgency = "utility"
territory = true
department = "heat"
[[catalogue]]
code = "policy"
subcategory = "k.s"
name = "Policy"
urgency = "general"
answer = "see the website"
"#;

    fn topo() -> Topology {
        Topology::parse("t.toml", TOPO).unwrap()
    }

    #[test]
    fn consultation_with_an_answer_is_answered_at_intake() {
        let d = decide(&topo(), RequestKind::Consultation, "road", "").unwrap();
        assert_eq!(
            d,
            Decision::Answer("roads are repaired within a week".into())
        );
    }

    #[test]
    fn territory_item_goes_to_township_with_a_copy_to_its_district() {
        let d = decide(&topo(), RequestKind::Complaint, "road", "1 Main St").unwrap();
        let Decision::Dispatch {
            territory,
            assignments,
        } = d
        else {
            panic!("{d:?}")
        };
        assert_eq!(territory.as_deref(), Some("t1"));
        assert_eq!(
            assignments,
            vec![
                Planned {
                    unit_id: "t1".into(),
                    role: Role::Lead
                },
                Planned {
                    unit_id: "d1".into(),
                    role: Role::Copy
                },
            ]
        );
    }

    #[test]
    fn dual_dispatch_has_two_leads() {
        let d = decide(&topo(), RequestKind::Help, "heating", "1 Main St").unwrap();
        let Decision::Dispatch { assignments, .. } = d else {
            panic!()
        };
        let leads: Vec<_> = assignments
            .iter()
            .filter(|a| a.role == Role::Lead)
            .map(|a| a.unit_id.as_str())
            .collect();
        assert_eq!(leads, vec!["t1", "heat"]);
    }

    #[test]
    fn a_resolved_place_dispatches_like_its_address() {
        let t = topo();
        let place = t.place("1 Main St").unwrap().clone();
        let by_place = decide_at(&t, RequestKind::Help, "heating", Site::Place(&place)).unwrap();
        assert_eq!(
            by_place,
            decide(&t, RequestKind::Help, "heating", "1 Main St").unwrap()
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let t = topo();
        let e = decide(&t, RequestKind::Help, "nope", "").unwrap_err();
        assert!(e.to_string().starts_with("category_code:"));
        let e = decide(&t, RequestKind::Help, "road", "9 Nowhere").unwrap_err();
        assert!(e.to_string().starts_with("address:"));
        let e = decide(&t, RequestKind::Help, "road", " ").unwrap_err();
        assert_eq!(e, DecisionError::MissingAddress("road".into()));
        let e = decide(&t, RequestKind::Complaint, "policy", "").unwrap_err();
        assert!(e.to_string().starts_with("kind:"));
    }
}
