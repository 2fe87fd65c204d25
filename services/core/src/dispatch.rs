//! Classification and dispatch rules at intake (Art. 11, 12).

use crate::model::{RequestKind, Role};
use crate::topology::{CatalogueItem, Place, Topology};

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
        "address: an address or a location is required for category {0}, whose handler depends on the location"
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
/// `address`: answer it, or dispatch it by [`plan`].
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
    plan(topology, item, site)
}

/// Where a site lies, as far as the topology knows.
enum Where {
    Township(String),
    /// Known only down to the district.
    District(String),
}

fn locate(topology: &Topology, item: &str, site: Site<'_>) -> Result<Where, DecisionError> {
    match site {
        Site::Place(place) => Ok(Where::Township(place.township.clone())),
        Site::Address(a) if a.trim().is_empty() => {
            Err(DecisionError::MissingAddress(item.to_string()))
        }
        Site::Address(a) => {
            if let Some(place) = topology.place(a) {
                Ok(Where::Township(place.township.clone()))
            } else if let Some(d) = topology.district_area(a) {
                Ok(Where::District(d.id.clone()))
            } else {
                Err(DecisionError::UnknownAddress(a.to_string()))
            }
        }
    }
}

/// The dispatch of an item at an address (Art. 12, 22): direct to the
/// township with a copy to its district; to the district, which organises,
/// when only the district is known; to the line department the catalogue
/// names, or the line's department at the city or at the location's
/// district; to a central unit for matters of central organs. Dual
/// dispatch is two leads.
pub fn plan(
    topology: &Topology,
    item: &CatalogueItem,
    site: Site<'_>,
) -> Result<Decision, DecisionError> {
    if !item.territory && item.department.is_none() && item.line.is_none() {
        return Err(DecisionError::AnswerOnly(item.code.clone()));
    }
    let district_line = item.line.as_ref().is_some_and(|l| l.district_level);
    let located = if item.territory || district_line {
        Some(locate(topology, &item.code, site)?)
    } else {
        None
    };
    let district = match &located {
        Some(Where::Township(t)) => topology.district_of(t).map(|d| d.id.clone()),
        Some(Where::District(d)) => Some(d.clone()),
        None => None,
    };
    let mut assignments = Vec::new();
    // One assignment per unit; a lead outranks a copy.
    let mut add = |unit_id: &str, role: Role| match assignments
        .iter_mut()
        .find(|p: &&mut Planned| p.unit_id == unit_id)
    {
        Some(p) if role == Role::Lead => p.role = Role::Lead,
        Some(_) => {}
        None => assignments.push(Planned {
            unit_id: unit_id.to_string(),
            role,
        }),
    };
    let mut territory = None;
    if item.territory {
        match located.as_ref().expect("located above") {
            Where::Township(t) => {
                add(t, Role::Lead);
                if let Some(d) = &district {
                    add(d, Role::Copy);
                }
                territory = Some(t.clone());
            }
            Where::District(d) => {
                add(d, Role::Lead);
                territory = Some(d.clone());
            }
        }
    }
    // Without dual dispatch (a policy switch) the territory alone leads and
    // a line department joins it as co-handler, reporting to it (Art. 14).
    let single = territory.is_some() && !topology.policy.dual_dispatch;
    let department_role = |id: &str| match topology.unit(id) {
        Some(u) if single && u.tier == crate::model::Tier::Department => Role::CoHandler,
        _ => Role::Lead,
    };
    if let Some(dept) = &item.department {
        add(dept, department_role(dept));
    }
    if let Some(line) = &item.line {
        match topology.line_department(line, district.as_deref()) {
            Some(dept) => add(&dept.id, department_role(&dept.id)),
            // No department of the line in this district: the district
            // organises (Art. 12).
            None => add(
                district.as_deref().expect("a district-level line"),
                Role::Lead,
            ),
        }
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
[[unit]]
id = "d2"
tier = "district"
parent = "city"
name = "D2"
[[unit]]
id = "t2"
tier = "township"
parent = "d2"
name = "T2"
addresses = ["2 Hill St"]
[[unit]]
id = "park1"
tier = "department"
parent = "d1"
level = "district"
name = "P1"
lines = ["parking"]
[[unit]]
id = "rail"
tier = "central"
parent = "city"
name = "R"
[[district_area]]
district = "d1"
name = "Ring Road"
addresses = ["Ring Road"]
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
code = "parking"
subcategory = "k.s"
name = "Parking"
urgency = "general"
line = "parking"
level = "district"
[[catalogue]]
code = "railway"
subcategory = "k.s"
name = "Railway"
urgency = "general"
department = "rail"
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
    fn without_dual_dispatch_the_territory_leads_and_the_department_co_handles() {
        let mut t = topo();
        t.policy.dual_dispatch = false;
        let d = decide(&t, RequestKind::Help, "heating", "1 Main St").unwrap();
        let got = leads(d);
        assert!(got.contains(&("t1".into(), Role::Lead)), "{got:?}");
        assert!(got.contains(&("heat".into(), Role::CoHandler)), "{got:?}");
    }

    fn leads(d: Decision) -> Vec<(String, Role)> {
        let Decision::Dispatch { assignments, .. } = d else {
            panic!("{d:?}")
        };
        assignments
            .into_iter()
            .map(|p| (p.unit_id, p.role))
            .collect()
    }

    #[test]
    fn the_district_organises_when_only_the_district_is_known() {
        let d = decide(&topo(), RequestKind::Complaint, "road", "Ring Road").unwrap();
        let Decision::Dispatch { territory, .. } = &d else {
            panic!()
        };
        assert_eq!(territory.as_deref(), Some("d1"));
        assert_eq!(leads(d), vec![("d1".into(), Role::Lead)]);
    }

    #[test]
    fn district_level_lines_go_to_the_locations_district() {
        let d = decide(&topo(), RequestKind::Complaint, "parking", "1 Main St").unwrap();
        assert_eq!(leads(d), vec![("park1".into(), Role::Lead)]);
        // No parking department in d2: the district organises.
        let d = decide(&topo(), RequestKind::Complaint, "parking", "2 Hill St").unwrap();
        assert_eq!(leads(d), vec![("d2".into(), Role::Lead)]);
        let e = decide(&topo(), RequestKind::Complaint, "parking", "").unwrap_err();
        assert_eq!(e, DecisionError::MissingAddress("parking".into()));
    }

    #[test]
    fn central_matters_are_forwarded_to_the_central_unit() {
        let d = decide(&topo(), RequestKind::Complaint, "railway", "").unwrap();
        assert_eq!(leads(d), vec![("rail".into(), Role::Lead)]);
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
