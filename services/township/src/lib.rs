//! The township or street (街道/乡镇): the main territorial handler. It accepts or objects, handles, contacts the requester through the city's relay, and replies.

use hotline_core::Tier;
use hotline_handler::TierRules;
use hotline_runtime::Ctx;
use hotline_runtime::server;

pub struct Township;

impl TierRules for Township {
    fn tier(&self) -> Tier {
        Tier::Township
    }

    fn may_whistle(&self) -> bool {
        true
    }
}

/// The township service: its routes and timers.
pub fn tier(ctx: Ctx) -> server::Tier {
    hotline_handler::tier(ctx, Township)
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
            .filter(|r| Township.takes(*r))
            .collect();
        assert_eq!(taken, vec![Role::Lead, Role::CoHandler, Role::Assist]);
        assert_eq!(Township.tier(), Tier::Township);
    }
}
