//! What a dispatch decision leaves in the record: the history lines
//! naming the planned units and the dispatch rules applied, and the
//! INVALID_ARGUMENT a refused decision becomes. Intake and
//! reclassification both dispatch.

use hotline_core::Tier;
use hotline_core::dispatch::{self, DecisionError};
use hotline_runtime::error::ServiceError;

/// The dispatch history line: each planned unit with its role.
pub fn planned_units(planned: &[dispatch::Planned]) -> String {
    planned
        .iter()
        .map(|p| format!("{}:{}", p.unit_id, p.role))
        .collect::<Vec<_>>()
        .join(" ")
}

/// History lines for dispatch rules worth reading later: a matter
/// forwarded to a central unit (Art. 22), a district organising (Art. 12).
pub fn dispatch_notes(
    topology: &hotline_core::Topology,
    planned: &[dispatch::Planned],
) -> Vec<(&'static str, String)> {
    let mut notes = Vec::new();
    for p in planned.iter().filter(|p| p.role.is_lead()) {
        match topology.unit(&p.unit_id).map(|u| u.tier) {
            Some(Tier::Central) => notes.push((
                "forwarded",
                format!(
                    "{} is a central unit; forwarded for coordination",
                    p.unit_id
                ),
            )),
            Some(Tier::District) => notes.push((
                "organised",
                format!(
                    "{} organises: no handler known below the district",
                    p.unit_id
                ),
            )),
            _ => {}
        }
    }
    notes
}

pub fn decision_error(e: DecisionError) -> ServiceError {
    let field = match &e {
        DecisionError::UnknownCategory(_) => "category_code",
        DecisionError::MissingAddress(_) | DecisionError::UnknownAddress(_) => "address",
        DecisionError::AnswerOnly(_) => "kind",
    };
    let text = e.to_string();
    let description = text
        .split_once(": ")
        .map(|(_, d)| d.to_string())
        .unwrap_or(text);
    ServiceError::invalid(field, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_errors_name_their_field() {
        let e = decision_error(DecisionError::UnknownAddress("9 Nowhere".into()));
        let ServiceError::InvalidArgument { field, description } = e else {
            panic!()
        };
        assert_eq!(field, "address");
        assert!(description.contains("9 Nowhere"));
    }
}
