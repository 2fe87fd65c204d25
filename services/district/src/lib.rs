//! The district sub-centre: receives a copy of every dispatch into its area
//! for supervision, leads where only the district is known (Art. 12), and
//! registers its townships' whistles and the departments' check-ins (Art. 16).

mod proactive;

use hotline_core::Tier;
use hotline_handler::TierRules;
use hotline_proto::v1::proactive_service_server::ProactiveServiceServer;
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

/// The hotline.v1 services a district serves, for health.
pub const SERVED: &[&str] = &[
    "hotline.v1.DispatchService",
    "hotline.v1.EscalationService",
    "hotline.v1.ReportingService",
    "hotline.v1.InboxService",
    "hotline.v1.ProactiveService",
];

/// The district service: the handling tier's routes and timers, and
/// proactive governance within the district.
pub fn tier(ctx: Ctx) -> server::Tier {
    let mut t = hotline_handler::tier(ctx.clone(), District);
    t.routes = t.routes.add_service(ProactiveServiceServer::new(
        proactive::DistrictProactive::new(ctx),
    ));
    t.served = SERVED;
    t
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
