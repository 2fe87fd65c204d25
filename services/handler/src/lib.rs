//! Behaviour every handling tier shares, written once: the assignment inbox
//! (DispatchService), coordination upward (EscalationService) and the unit
//! report (ReportingService). A tier crate supplies only its [`TierRules`].

mod dispatch;
mod escalation;
pub mod handdown;
pub mod objection;
mod reporting;

use std::sync::Arc;

use hotline_core::{Role, Tier};
use hotline_proto::v1::dispatch_service_server::DispatchServiceServer;
use hotline_proto::v1::escalation_service_server::EscalationServiceServer;
use hotline_proto::v1::reporting_service_server::ReportingServiceServer;
use hotline_runtime::Ctx;
use tonic::service::Routes;

pub use dispatch::Inbox;
pub use escalation::Coordination;
pub use reporting::{Reporting, unit_name};

/// What is particular to a tier.
pub trait TierRules: Send + Sync + 'static {
    fn tier(&self) -> Tier;
    /// The roles this tier takes on; a delivery in another role is refused.
    /// The city consults the same table before it issues an assignment.
    fn takes(&self, role: Role) -> bool {
        self.tier().takes(role)
    }
}

/// The three families for a handling tier.
pub fn routes(ctx: Ctx, rules: impl TierRules) -> Routes {
    let rules: Arc<dyn TierRules> = Arc::new(rules);
    Routes::new(DispatchServiceServer::new(Inbox::new(ctx.clone(), rules)))
        .add_service(EscalationServiceServer::new(Coordination::new(ctx.clone())))
        .add_service(ReportingServiceServer::new(Reporting::new(ctx)))
}
