//! The community or village (社区/村): assists its township, and is never the lead (Art. 17), so it takes assist assignments only.

use hotline_core::{Role, Tier};
use hotline_handler::TierRules;
use hotline_runtime::Ctx;
use hotline_runtime::server;

pub struct Community;

impl TierRules for Community {
    fn tier(&self) -> Tier {
        Tier::Community
    }

    fn takes(&self, role: Role) -> bool {
        matches!(role, Role::Assist)
    }
}

/// The community service: its routes and timers.
pub fn tier(ctx: Ctx) -> server::Tier {
    hotline_handler::tier(ctx, Community)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_taken() {
        let taken: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| Community.takes(*r))
            .collect();
        assert_eq!(taken, vec![Role::Assist]);
        assert_eq!(Community.tier(), Tier::Community);
    }
}
