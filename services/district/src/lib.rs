//! The district sub-centre: receives a copy of every dispatch into its area
//! for supervision, leads where only the district is known (Art. 12), and
//! registers its townships' whistles and the departments' check-ins (Art. 16).

use hotline_core::Tier;
use hotline_handler::TierRules;
use hotline_runtime::Ctx;
use hotline_runtime::server;

pub struct District;

impl TierRules for District {
    fn tier(&self) -> Tier {
        Tier::District
    }

    fn registers_whistles(&self) -> bool {
        true
    }
}

/// The district service: its routes and timers.
pub fn tier(ctx: Ctx) -> server::Tier {
    hotline_handler::tier(ctx, District)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_core::Role;

    #[test]
    fn roles_taken() {
        let taken: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| District.takes(*r))
            .collect();
        assert_eq!(taken, vec![Role::Lead, Role::Copy]);
        assert_eq!(District.tier(), Tier::District);
    }
}
