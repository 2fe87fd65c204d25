//! A line department or public-service enterprise (条线部门): accepts its line's matters, co-handles when summoned, replies.

use hotline_core::{Role, Tier};
use hotline_handler::TierRules;
use hotline_runtime::Ctx;
use tonic::service::Routes;

pub struct Department;

impl TierRules for Department {
    fn tier(&self) -> Tier {
        Tier::Department
    }

    fn takes(&self, role: Role) -> bool {
        matches!(role, Role::Lead | Role::CoHandler)
    }
}

/// The department service's gRPC routes.
pub fn routes(ctx: Ctx) -> Routes {
    hotline_handler::routes(ctx, Department)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_taken() {
        let taken: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| Department.takes(*r))
            .collect();
        assert_eq!(taken, vec![Role::Lead, Role::CoHandler]);
        assert_eq!(Department.tier(), Tier::Department);
    }
}
