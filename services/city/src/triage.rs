//! Text triage at the centre (智能派单, docs/triage.md): the model of
//! `hotline-triage`, trained once per process on the training requests of
//! this topology's catalogue; `IntakeService.SuggestCategory`; and intake's
//! item for a request that names none, by policy (`triage_mode`,
//! `triage_min_confidence`). A request's text never leaves this module in a
//! log, a span or an error: errors name items and confidences only.

use std::sync::{Arc, OnceLock};

use hotline_core::policy::TriageMode;
use hotline_core::{CatalogueItem, Topology, Urgency};
use hotline_proto::v1::{CategorySuggestion, SuggestCategoryRequest, SuggestCategoryResponse};
use hotline_runtime::error::{DOMAIN, Result, ServiceError, required};
use hotline_runtime::wire::WireEnum;
use hotline_triage::{LabelledSet, Suggestion, Triage, cues};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, PreconditionViolation, StatusExt};

/// How many items an operator is offered to confirm.
pub const CONFIRM: usize = 3;

/// The longest text triage reads, as SubmitRequest documents for `text`.
const MAX_TEXT: usize = 4000;

/// The item triage chose for a request that named none.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub code: String,
    pub confidence: f64,
    /// The item's urgency, raised by a cue in the text.
    pub urgency: Urgency,
    /// The cue that raised it, if any (a fixed phrase, not the caller's
    /// words).
    pub cue: Option<&'static str>,
}

impl Chosen {
    /// What the order's history records of the choice.
    pub fn detail(&self) -> String {
        let mut d = format!(
            "; chosen by triage (auto) with confidence {:.2}",
            self.confidence
        );
        if let Some(cue) = self.cue {
            d += &format!("; urgency emergency from the cue {cue}");
        }
        d
    }
}

/// The centre's triage: the model is trained at start when the policy uses
/// it at intake, else at the first SuggestCategory.
#[derive(Clone)]
pub struct CityTriage {
    topology: Arc<Topology>,
    model: Arc<OnceLock<Triage>>,
}

impl CityTriage {
    pub fn new(topology: Arc<Topology>) -> Self {
        let t = Self {
            topology,
            model: Arc::default(),
        };
        if t.topology.policy.triage_mode != TriageMode::Off {
            t.model();
        }
        t
    }

    fn model(&self) -> &Triage {
        self.model.get_or_init(|| {
            let t = &self.topology;
            let model = Triage::train(&LabelledSet::training().only(|code| t.item(code).is_some()));
            tracing::info!(
                items = model.codes().len(),
                temperature = model.temperature(),
                "triage model trained"
            );
            model
        })
    }

    /// The `k` likeliest items of this catalogue for `text`.
    fn suggest(&self, text: &str, k: usize) -> Vec<(Suggestion, &CatalogueItem)> {
        self.model()
            .suggest(text, k)
            .into_iter()
            .filter_map(|s| {
                let item = self.topology.item(&s.code)?;
                Some((s, item))
            })
            .collect()
    }

    /// Intake's item for a request without a `category_code`, by policy:
    /// none when triage is off (the code stays required); the top item in
    /// auto mode at or above the policy's confidence; otherwise
    /// FAILED_PRECONDITION carrying the likeliest items to confirm.
    pub fn choose(&self, text: &str) -> Result<Option<Chosen>> {
        let policy = &self.topology.policy;
        let min = policy.triage_min_confidence;
        match policy.triage_mode {
            TriageMode::Off => Ok(None),
            TriageMode::Suggest => Err(confirm(
                &self.suggest(text, CONFIRM),
                "triage_mode is suggest",
            )),
            TriageMode::Auto => {
                let s = self.suggest(text, CONFIRM);
                match s.first() {
                    Some((top, item)) if top.confidence >= min => Ok(Some(Chosen {
                        code: top.code.clone(),
                        confidence: top.confidence,
                        urgency: cues::urgency(item.urgency, text),
                        cue: cues::emergency_cue(text),
                    })),
                    _ => Err(confirm(
                        &s,
                        &format!("triage's confidence is below triage_min_confidence {min}"),
                    )),
                }
            }
        }
    }

    /// `IntakeService.SuggestCategory`.
    pub fn suggest_category(&self, r: &SuggestCategoryRequest) -> Result<SuggestCategoryResponse> {
        required("text", &r.text)?;
        if r.text.chars().count() > MAX_TEXT {
            return Err(ServiceError::invalid(
                "text",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        let k = match r.max_suggestions {
            0 => CONFIRM,
            n @ 1..=10 => n as usize,
            _ => {
                return Err(ServiceError::invalid(
                    "max_suggestions",
                    "must be 1 to 10 (3 when unset)",
                ));
            }
        };
        // The territory the city's own index gives, as intake finds it.
        let territory = match &r.location {
            Some(l) => {
                self.topology
                    .locate(l.latitude, l.longitude)
                    .map_err(|e| ServiceError::invalid("location", e.to_string()))?
                    .place
                    .township
            }
            None => self
                .topology
                .place(r.address.trim())
                .map(|p| p.township.clone())
                .unwrap_or_default(),
        };
        let s = self.suggest(&r.text, k);
        let urgency = s
            .first()
            .map(|(_, item)| cues::urgency(item.urgency, &r.text).to_wire())
            .unwrap_or_default();
        Ok(SuggestCategoryResponse {
            suggestions: s.iter().map(|(s, item)| self.to_wire(s, item)).collect(),
            urgency,
            territory_unit: territory,
        })
    }

    fn to_wire(&self, s: &Suggestion, item: &CatalogueItem) -> CategorySuggestion {
        let (category, subcategory) = match self.topology.item_path(&item.code) {
            Some((cat, sub, _)) => (cat.name.clone(), sub.name.clone()),
            None => Default::default(),
        };
        CategorySuggestion {
            category_code: s.code.clone(),
            item_name: item.name.clone(),
            subcategory,
            category,
            confidence: s.confidence,
        }
    }
}

/// FAILED_PRECONDITION for the operator to confirm an item: the message
/// lists the suggestions, and the details carry each as a precondition
/// violation (type `TRIAGE_SUGGESTION`, subject the code, description the
/// confidence and name) beside ErrorInfo `TRIAGE_CONFIRM` on field
/// `category_code`.
fn confirm(s: &[(Suggestion, &CatalogueItem)], why: &str) -> ServiceError {
    let listed: Vec<String> = s
        .iter()
        .map(|(s, item)| format!("{} {:?} ({:.2})", s.code, item.name, s.confidence))
        .collect();
    let message = if listed.is_empty() {
        format!("category_code: required ({why}; triage knows no item of this catalogue)")
    } else {
        format!(
            "category_code: confirm an item and submit again ({why}); suggested: {}",
            listed.join(", ")
        )
    };
    let violations: Vec<PreconditionViolation> = s
        .iter()
        .map(|(s, item)| {
            PreconditionViolation::new(
                "TRIAGE_SUGGESTION",
                s.code.clone(),
                format!("confidence {:.2}: {}", s.confidence, item.name),
            )
        })
        .collect();
    let mut details = ErrorDetails::with_precondition_failure(violations);
    details.set_error_info(
        "TRIAGE_CONFIRM",
        DOMAIN,
        [("field".to_string(), "category_code".to_string())],
    );
    ServiceError::Upstream(Status::with_error_details(
        Code::FailedPrecondition,
        message,
        details,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    fn city(mode: TriageMode, min: f64) -> CityTriage {
        let src = include_str!("../../../topology/demo-city.toml");
        let mut t = Topology::parse("demo-city.toml", src).unwrap();
        t.policy.triage_mode = mode;
        t.policy.triage_min_confidence = min;
        CityTriage::new(Arc::new(t))
    }

    fn status(e: ServiceError) -> Status {
        e.into()
    }

    const COLD: &str = "暖气一点都不热，屋里冷得不行";

    #[test]
    fn off_leaves_the_code_required() {
        assert_eq!(city(TriageMode::Off, 0.6).choose(COLD).unwrap(), None);
    }

    #[test]
    fn suggest_refuses_with_the_items_to_confirm() {
        let s = status(city(TriageMode::Suggest, 0.0).choose(COLD).unwrap_err());
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.message().contains("heating.no_heat"), "{}", s.message());
        assert!(
            !s.message().contains("屋里"),
            "no request text: {}",
            s.message()
        );
        let v = s.get_details_precondition_failure().unwrap().violations;
        assert_eq!(v.len(), CONFIRM);
        assert_eq!(
            (v[0].r#type.as_str(), v[0].subject.as_str()),
            ("TRIAGE_SUGGESTION", "heating.no_heat")
        );
        let info = s.get_details_error_info().unwrap();
        assert_eq!(info.reason, "TRIAGE_CONFIRM");
        assert_eq!(info.metadata["field"], "category_code");
    }

    #[test]
    fn auto_chooses_at_the_threshold_and_asks_below_it() {
        let chosen = city(TriageMode::Auto, 0.3).choose(COLD).unwrap().unwrap();
        assert_eq!(chosen.code, "heating.no_heat");
        assert!(chosen.confidence >= 0.3, "{chosen:?}");
        assert_eq!((chosen.urgency, chosen.cue), (Urgency::Utility, None));
        assert!(
            chosen.detail().contains("chosen by triage"),
            "{}",
            chosen.detail()
        );
        let s = status(city(TriageMode::Auto, 1.0).choose(COLD).unwrap_err());
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(
            s.message().contains("below triage_min_confidence 1"),
            "{}",
            s.message()
        );
        // A cue in the text raises the chosen item's urgency.
        let gas = city(TriageMode::Auto, 0.0)
            .choose("暖气不热，家里还一股煤气味")
            .unwrap()
            .unwrap();
        assert_eq!((gas.urgency, gas.cue), (Urgency::Emergency, Some("煤气味")));
        assert!(gas.detail().contains("煤气味"));
    }

    #[test]
    fn suggest_category_names_items_urgency_and_territory() {
        let t = city(TriageMode::Off, 0.6);
        let (address, place) = t.topology.addresses()[0];
        let township = place.township.clone();
        let r = t
            .suggest_category(&SuggestCategoryRequest {
                text: COLD.into(),
                address: address.into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(r.suggestions.len(), CONFIRM);
        let top = &r.suggestions[0];
        assert_eq!(top.category_code, "heating.no_heat");
        assert_eq!(
            (
                top.item_name.as_str(),
                top.subcategory.as_str(),
                top.category.as_str()
            ),
            (
                "Radiators cold in heating season",
                "Heating and gas",
                "Public utilities"
            )
        );
        assert!(
            r.suggestions
                .windows(2)
                .all(|w| w[0].confidence >= w[1].confidence)
        );
        assert_eq!(r.urgency, Urgency::Utility.to_wire());
        assert_eq!(r.territory_unit, township);
        let five = SuggestCategoryRequest {
            text: COLD.into(),
            max_suggestions: 5,
            ..Default::default()
        };
        assert_eq!(t.suggest_category(&five).unwrap().suggestions.len(), 5);
        assert_eq!(t.suggest_category(&five).unwrap().territory_unit, "");
    }

    #[test]
    fn bad_input_names_the_field() {
        let t = city(TriageMode::Off, 0.6);
        let field = |r: SuggestCategoryRequest| {
            let s = status(t.suggest_category(&r).unwrap_err());
            assert_eq!(s.code(), Code::InvalidArgument);
            s.get_details_bad_request().unwrap().field_violations[0]
                .field
                .clone()
        };
        assert_eq!(field(SuggestCategoryRequest::default()), "text");
        let long = SuggestCategoryRequest {
            text: "停".repeat(MAX_TEXT + 1),
            ..Default::default()
        };
        assert_eq!(field(long), "text");
        let many = SuggestCategoryRequest {
            text: COLD.into(),
            max_suggestions: 11,
            ..Default::default()
        };
        assert_eq!(field(many), "max_suggestions");
        let away = SuggestCategoryRequest {
            text: COLD.into(),
            location: Some(hotline_proto::v1::Location {
                latitude: 91.0,
                longitude: 0.0,
            }),
            ..Default::default()
        };
        assert_eq!(field(away), "location");
    }
}
