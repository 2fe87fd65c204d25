//! Policy defaults (DESIGN.md §8). Every number lives here so users can
//! simulate what changes when they change it.

use serde::Deserialize;

use crate::clock::{DAY, HOUR, Micros, SECOND};
use crate::model::Urgency;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Time limit for emergencies and danger to life or property.
    pub emergency_limit_hours: f64,
    /// Water, power, gas, heating.
    pub utility_limit_hours: f64,
    pub general_limit_days: f64,
    pub complex_limit_days: f64,
    /// How many times an unresolved callback may reopen an order; after that
    /// the order closes unresolved.
    pub max_reopens: u32,
    /// Day-based limits (general, complex) count working days from the
    /// calendar instead of natural days. Hour-based limits stay natural:
    /// emergencies and utilities run 24/7 (Art. 19).
    pub working_days: bool,
    /// The handler is warned at this fraction of its limit.
    pub warning_fraction: f64,
    /// After a breach, the order escalates to the handler's parent once this
    /// further fraction of the limit has passed.
    pub escalation_grace_fraction: f64,
    /// Extensions need the parent's approval (some cities' rule).
    pub extension_approval: bool,
    /// An extension moves a deadline by at most this many days; a request
    /// for more is refused (INVALID_ARGUMENT), approval or not.
    pub max_extension_days: f64,
    /// When the centre's callback falls due (Art. 23): "limit" (the
    /// default, DESIGN.md §8: when the time limit ends, replied or not) or
    /// "reply" (a replied order at once; an unreplied one still at the
    /// limit).
    pub callback_at: String,
    /// Response (Art. 15, 32): accept within this window after dispatch…
    pub accept_window_minutes: f64,
    pub emergency_accept_window_minutes: f64,
    /// …and contact the requester within this window after accepting.
    pub contact_window_minutes: f64,
    pub emergency_contact_window_minutes: f64,
    /// Check-in deadlines per whistle kind (Art. 16).
    pub check_in_daily_hours: f64,
    pub check_in_tough_hours: f64,
    pub check_in_emergency_minutes: f64,
    /// A location this close (metres) to another territory is flagged
    /// near the boundary, with the neighbouring units recorded.
    pub near_boundary_meters: f64,
    /// A handler may object to a dispatch this long after it; later, the
    /// first-receiver rule holds (Art. 14). Zero makes every objection late.
    pub objection_window_hours: f64,
    /// The arbitration authority rules on an objection within this time.
    pub ruling_deadline_hours: f64,
    /// Redirections of an order's lead before the centre designates the
    /// handler and flags the order.
    pub bounce_limit: u32,
    /// Who rules on objections.
    pub arbitration: Arbitration,
    /// A request repeating an open order of the same requester, location
    /// and category received within this window is a duplicate (Art. 11).
    pub duplicate_window_hours: f64,
    /// A request repeating an order of the same requester, place and
    /// category that was closed (办理完毕) within this many days, and
    /// bringing no new facts or reasons, is a duplicate too (Art. 11(3)).
    pub finished_repeat_days: f64,
    /// Two located requests this close (metres) are at the same place.
    pub duplicate_radius_meters: f64,
    /// A handler's inbox events (WatchAssignments) are kept this many days
    /// of business time; a cursor older than that is out of range.
    pub inbox_retention_days: f64,
    /// A requester credential opens its order this many days of business
    /// time after intake issued it; later calls with it are refused.
    pub requester_token_days: f64,
    /// Only items on the community duty list may be handed to a community
    /// (Art. 17); off, a handler may hand any item down.
    pub community_duty_list: bool,
    /// Items both the territory and a department handle go to both as
    /// leads (dual dispatch, counted for both); off, the territory leads
    /// and the department co-handles.
    pub dual_dispatch: bool,
    /// Art. 22: matters of central units (在京中央单位) are forwarded to
    /// them and pushed (推动), never supervised (督办) or escalated. On, the
    /// centre also assesses and ranks them, in a group of their own; off
    /// (the default, as the regulation asks only to forward and push), they
    /// are in no ranking.
    pub assess_central_units: bool,
    /// Orders the centre marked unreasonable (Art. 9) or malicious
    /// (Art. 37) stay in assessment when on; off (the default, as Beijing
    /// excludes them), their dispatches and callbacks count for no unit.
    pub assess_marked_requests: bool,
    /// Composite score weights (Art. 32: resolution and satisfaction weigh
    /// more; Beijing does not publish its weights).
    pub score_weight_response: f64,
    pub score_weight_resolution: f64,
    pub score_weight_satisfaction: f64,
    /// What a "basically satisfied" callback counts for in the
    /// satisfaction rate (a "satisfied" one counts 1).
    pub basically_satisfied_weight: f64,
    /// Proactive analytics (未诉先办): windows, baselines, degree steps.
    pub proactive: crate::proactive::ProactivePolicy,
    /// Fixed seasons (`[[policy.season]]`): heating, the rainy season…
    pub season: Vec<crate::proactive::Season>,
    /// Text triage (智能派单) at intake, for a request without a
    /// catalogue code: off (the code is required), suggest (refused with
    /// the likeliest items for the operator to confirm) or auto (the
    /// likeliest item when its confidence reaches `triage_min_confidence`,
    /// refused like suggest below it). A code given always wins.
    pub triage_mode: TriageMode,
    /// The confidence (0 to 1) at which auto triage takes its top item.
    pub triage_min_confidence: f64,
}

/// What intake does with a request that names no catalogue item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageMode {
    /// The code is required, as without triage.
    #[default]
    Off,
    /// The operator confirms one of the suggested items.
    Suggest,
    /// Triage chooses above the confidence threshold.
    Auto,
}

impl TriageMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TriageMode::Off => "off",
            TriageMode::Suggest => "suggest",
            TriageMode::Auto => "auto",
        }
    }
}

/// The arbitration authority for jurisdiction objections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arbitration {
    /// The city hotline centre's dispatch-objection review rules on every
    /// objection (Art. 12).
    City,
    /// The district rules first on disputes inside one district; the city on
    /// the rest (Hangzhou's and Beijing districts' practice).
    DistrictFirst,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            emergency_limit_hours: 2.0,
            utility_limit_hours: 24.0,
            general_limit_days: 7.0,
            complex_limit_days: 15.0,
            max_reopens: 2,
            working_days: false,
            warning_fraction: 0.8,
            escalation_grace_fraction: 0.5,
            extension_approval: false,
            max_extension_days: 15.0,
            callback_at: "limit".into(),
            accept_window_minutes: 60.0,
            emergency_accept_window_minutes: 15.0,
            contact_window_minutes: 120.0,
            emergency_contact_window_minutes: 30.0,
            check_in_daily_hours: 24.0,
            check_in_tough_hours: 72.0,
            check_in_emergency_minutes: 30.0,
            near_boundary_meters: 30.0,
            objection_window_hours: 2.0,
            ruling_deadline_hours: 24.0,
            bounce_limit: 3,
            arbitration: Arbitration::City,
            duplicate_window_hours: 72.0,
            finished_repeat_days: 30.0,
            duplicate_radius_meters: 100.0,
            inbox_retention_days: 30.0,
            requester_token_days: 90.0,
            community_duty_list: true,
            dual_dispatch: true,
            assess_central_units: false,
            assess_marked_requests: false,
            score_weight_response: 0.2,
            score_weight_resolution: 0.4,
            score_weight_satisfaction: 0.4,
            basically_satisfied_weight: 1.0,
            proactive: crate::proactive::ProactivePolicy::default(),
            season: crate::proactive::Season::defaults(),
            triage_mode: TriageMode::Off,
            triage_min_confidence: 0.6,
        }
    }
}

impl Policy {
    /// The handling time limit of an urgency class, in natural time.
    pub fn limit(&self, urgency: Urgency) -> Micros {
        let secs = match urgency {
            Urgency::Emergency => self.emergency_limit_hours * 3600.0,
            Urgency::Utility => self.utility_limit_hours * 3600.0,
            Urgency::General => self.general_limit_days * 86400.0,
            Urgency::Complex => self.complex_limit_days * 86400.0,
        };
        (secs * SECOND as f64).round() as Micros
    }

    fn hours(h: f64) -> Micros {
        (h * HOUR as f64).round() as Micros
    }

    /// The end of the objection window of an assignment dispatched at `at`.
    pub fn objection_closes(&self, at: Micros) -> Micros {
        at + Self::hours(self.objection_window_hours)
    }

    /// When a ruling on an objection raised at `at` is due.
    pub fn ruling_due(&self, at: Micros) -> Micros {
        at + Self::hours(self.ruling_deadline_hours)
    }

    /// When a requester credential issued at `at` expires.
    pub fn requester_token_expires(&self, at: Micros) -> Micros {
        at + (self.requester_token_days * DAY as f64).round() as Micros
    }

    /// The earliest receipt time of an order a request at `now` may repeat.
    pub fn duplicate_since(&self, now: Micros) -> Micros {
        now - Self::hours(self.duplicate_window_hours)
    }

    /// The earliest closing time of a finished order a request at `now`
    /// may repeat.
    pub fn finished_repeat_since(&self, now: Micros) -> Micros {
        now - (self.finished_repeat_days * DAY as f64).round() as Micros
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let limits = [
            ("emergency_limit_hours", self.emergency_limit_hours),
            ("utility_limit_hours", self.utility_limit_hours),
            ("general_limit_days", self.general_limit_days),
            ("complex_limit_days", self.complex_limit_days),
            ("requester_token_days", self.requester_token_days),
        ];
        let windows = [
            ("accept_window_minutes", self.accept_window_minutes),
            (
                "emergency_accept_window_minutes",
                self.emergency_accept_window_minutes,
            ),
            ("contact_window_minutes", self.contact_window_minutes),
            (
                "emergency_contact_window_minutes",
                self.emergency_contact_window_minutes,
            ),
            ("check_in_daily_hours", self.check_in_daily_hours),
            ("check_in_tough_hours", self.check_in_tough_hours),
            (
                "check_in_emergency_minutes",
                self.check_in_emergency_minutes,
            ),
        ];
        for (name, v) in limits.into_iter().chain(windows) {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("policy.{name} must be a positive number"));
            }
        }
        if !(self.warning_fraction > 0.0 && self.warning_fraction < 1.0) {
            return Err("policy.warning_fraction must be between 0 and 1".into());
        }
        if !(self.escalation_grace_fraction.is_finite() && self.escalation_grace_fraction >= 0.0) {
            return Err("policy.escalation_grace_fraction must not be negative".into());
        }
        let weights = [
            ("score_weight_response", self.score_weight_response),
            ("score_weight_resolution", self.score_weight_resolution),
            ("score_weight_satisfaction", self.score_weight_satisfaction),
        ];
        for (name, v) in weights {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("policy.{name} must not be negative"));
            }
        }
        if weights.iter().map(|(_, v)| v).sum::<f64>() <= 0.0 {
            return Err("policy score weights must not all be zero".into());
        }
        if !(0.0..=1.0).contains(&self.basically_satisfied_weight) {
            return Err("policy.basically_satisfied_weight must be between 0 and 1".into());
        }
        if !matches!(self.callback_at.as_str(), "reply" | "limit") {
            return Err("policy.callback_at must be \"reply\" or \"limit\"".into());
        }
        let near = self.near_boundary_meters;
        if !(near.is_finite() && near >= 0.0) {
            return Err("policy.near_boundary_meters must be a number of metres, 0 or more".into());
        }
        let disputes = [
            ("objection_window_hours", self.objection_window_hours),
            ("ruling_deadline_hours", self.ruling_deadline_hours),
            ("duplicate_window_hours", self.duplicate_window_hours),
            ("finished_repeat_days", self.finished_repeat_days),
            ("duplicate_radius_meters", self.duplicate_radius_meters),
        ];
        for (name, v) in disputes {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("policy.{name} must be zero or more"));
            }
        }
        if self.bounce_limit == 0 {
            return Err("policy.bounce_limit must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.triage_min_confidence) {
            return Err("policy.triage_min_confidence must be between 0 and 1".into());
        }
        self.proactive.validate()?;
        for s in &self.season {
            s.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_follow_the_regulation() {
        let p = Policy::default();
        assert_eq!(p.limit(Urgency::Emergency), 2 * HOUR);
        assert_eq!(p.limit(Urgency::Utility), 24 * HOUR);
        assert_eq!(p.limit(Urgency::General), 7 * DAY);
        assert_eq!(p.limit(Urgency::Complex), 15 * DAY);
    }

    #[test]
    fn dispute_defaults_and_switches() {
        let p = Policy::default();
        assert_eq!(p.objection_closes(7), 7 + 2 * HOUR);
        assert_eq!(p.ruling_due(7), 7 + 24 * HOUR);
        assert_eq!(p.bounce_limit, 3);
        assert_eq!(p.arbitration, Arbitration::City);
        let p: Policy =
            toml::from_str("arbitration = \"district_first\"\nobjection_window_hours = 0").unwrap();
        assert_eq!(p.arbitration, Arbitration::DistrictFirst);
        assert_eq!(p.objection_closes(7), 7);
        assert!(p.validate().is_ok());
        let p = Policy {
            bounce_limit: 0,
            ..Policy::default()
        };
        assert!(p.validate().unwrap_err().contains("bounce_limit"));
        assert!(toml::from_str::<Policy>("arbitration = \"district\"").is_err());
    }

    #[test]
    fn triage_is_off_unless_the_policy_says_so() {
        let p = Policy::default();
        assert_eq!(p.triage_mode, TriageMode::Off);
        let p: Policy =
            toml::from_str("triage_mode = \"auto\"\ntriage_min_confidence = 0.75").unwrap();
        assert_eq!(
            (p.triage_mode, p.triage_min_confidence),
            (TriageMode::Auto, 0.75)
        );
        assert!(p.validate().is_ok());
        assert!(toml::from_str::<Policy>("triage_mode = \"always\"").is_err());
        let p = Policy {
            triage_min_confidence: 1.5,
            ..Policy::default()
        };
        assert!(p.validate().unwrap_err().contains("triage_min_confidence"));
    }

    #[test]
    fn requester_tokens_last_ninety_days_unless_configured() {
        let p = Policy::default();
        assert_eq!(p.requester_token_expires(7), 7 + 90 * DAY);
        let p: Policy = toml::from_str("requester_token_days = 1.5").unwrap();
        assert_eq!(p.requester_token_expires(0), 36 * HOUR);
        let p = Policy {
            requester_token_days: 0.0,
            ..Policy::default()
        };
        assert!(p.validate().unwrap_err().contains("requester_token_days"));
    }
}
