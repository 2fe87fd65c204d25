//! The district sub-centre: receives a copy of every dispatch into its area for supervision, and leads where only the district is known (Art. 12).

use hotline_core::Tier;
use hotline_handler::TierRules;
use hotline_runtime::Ctx;
use tonic::service::Routes;

pub struct District;

impl TierRules for District {
    fn tier(&self) -> Tier {
        Tier::District
    }
}

/// The district service's gRPC routes.
pub fn routes(ctx: Ctx) -> Routes {
    hotline_handler::routes(ctx, District)
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
