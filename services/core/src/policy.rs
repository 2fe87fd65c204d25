//! Policy defaults (DESIGN.md §8). Every number lives here so users can
//! simulate what changes when they change it.

use serde::Deserialize;

use crate::clock::{Micros, SECOND};
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
    /// A location this close (metres) to another territory is flagged
    /// near the boundary, with the neighbouring units recorded.
    pub near_boundary_meters: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            emergency_limit_hours: 2.0,
            utility_limit_hours: 24.0,
            general_limit_days: 7.0,
            complex_limit_days: 15.0,
            max_reopens: 2,
            near_boundary_meters: 30.0,
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

    /// Deadline of a clock started at `start`.
    pub fn due(&self, urgency: Urgency, start: Micros) -> Micros {
        start + self.limit(urgency)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let limits = [
            ("emergency_limit_hours", self.emergency_limit_hours),
            ("utility_limit_hours", self.utility_limit_hours),
            ("general_limit_days", self.general_limit_days),
            ("complex_limit_days", self.complex_limit_days),
        ];
        for (name, v) in limits {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("policy.{name} must be a positive number"));
            }
        }
        let near = self.near_boundary_meters;
        if !(near.is_finite() && near >= 0.0) {
            return Err("policy.near_boundary_meters must be a number of metres, 0 or more".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{DAY, HOUR};

    #[test]
    fn default_limits_follow_the_regulation() {
        let p = Policy::default();
        assert_eq!(p.limit(Urgency::Emergency), 2 * HOUR);
        assert_eq!(p.limit(Urgency::Utility), 24 * HOUR);
        assert_eq!(p.limit(Urgency::General), 7 * DAY);
        assert_eq!(p.limit(Urgency::Complex), 15 * DAY);
        assert_eq!(p.due(Urgency::Emergency, 5), 5 + 2 * HOUR);
    }
}
