//! A line department or public-service enterprise (条线部门): accepts its line's matters, co-handles when summoned, replies.

use hotline_core::Tier;
use hotline_handler::TierRules;
use hotline_runtime::Ctx;
use hotline_runtime::server;

pub struct Department;

impl TierRules for Department {
    fn tier(&self) -> Tier {
        Tier::Department
    }
}

/// A central unit (在京中央单位): matters of central organs and their
/// enterprises are forwarded to it for coordination and tracked like any
/// other order (Art. 22). It handles them as a department does.
pub struct Central;

impl TierRules for Central {
    fn tier(&self) -> Tier {
        Tier::Central
    }
}

/// The central-unit service: its routes.
pub fn central_tier(ctx: Ctx) -> server::Tier {
    hotline_handler::tier(ctx, Central)
}

/// The department service: its routes and timers.
pub fn tier(ctx: Ctx) -> server::Tier {
    hotline_handler::tier(ctx, Department)
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
            .filter(|r| Department.takes(*r))
            .collect();
        assert_eq!(taken, vec![Role::Lead, Role::CoHandler]);
        assert_eq!(Department.tier(), Tier::Department);
        let central: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| Central.takes(*r))
            .collect();
        assert_eq!(central, vec![Role::Lead]);
    }
}
