//! The community or village (社区/村): assists its township, and leads only duty-list matters its township hands down to it, never assist items (Art. 17).

use hotline_core::Tier;
use hotline_handler::TierRules;
use hotline_runtime::Ctx;
use hotline_runtime::server;

pub struct Community;

impl TierRules for Community {
    fn tier(&self) -> Tier {
        Tier::Community
    }
}

/// The community service: its routes and timers.
pub fn tier(ctx: Ctx) -> server::Tier {
    hotline_handler::tier(ctx, Community)
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
            .filter(|r| Community.takes(*r))
            .collect();
        assert_eq!(taken, vec![Role::Lead, Role::Assist]);
        assert_eq!(Community.tier(), Tier::Community);
    }
}
