//! Behaviour every handling tier shares, written once: the assignment inbox
//! (DispatchService), coordination upward (EscalationService) and the unit
//! report (ReportingService). A tier crate supplies only its [`TierRules`].

mod dispatch;
mod escalation;
pub mod handdown;
mod inbox;
pub mod notice;
pub mod objection;
mod reporting;
mod schema;
pub mod scorecards;
mod tell;
pub mod watch;
mod whistle;

use std::sync::Arc;

use hotline_core::{Role, Tier};
use hotline_proto::v1::dispatch_service_server::DispatchServiceServer;
use hotline_proto::v1::escalation_service_server::EscalationServiceServer;
use hotline_proto::v1::inbox_service_server::InboxServiceServer;
use hotline_proto::v1::reporting_service_server::ReportingServiceServer;
use hotline_runtime::Ctx;
use hotline_runtime::server;
use hotline_runtime::sweeper::TimerEffects;
use tonic::service::Routes;

pub use escalation::{
    Escalation, answer_coordination, list_coordinations, request_coordination, tell_city,
};
pub use inbox::Inbox;
pub use reporting::{Reporting, list_deadlines, list_handoffs, unit_name};
pub use schema::SCHEMA;
pub use whistle::{check_in, get as get_whistle, register as register_whistle, whistle};

/// A unit's assignment on an order in this service's store, or NOT_FOUND.
pub async fn held(
    conn: &mut hotline_store::Conn,
    order_id: &str,
    unit: &str,
) -> Result<hotline_store::assignments::Assignment, hotline_runtime::error::ServiceError> {
    hotline_store::assignments::get(conn, order_id, unit)
        .await?
        .ok_or_else(|| {
            hotline_runtime::error::ServiceError::not_found(
                "assignment",
                format!("orders/{order_id} for unit {unit}"),
            )
        })
}

/// What is particular to a tier.
pub trait TierRules: Send + Sync + 'static {
    fn tier(&self) -> Tier;
    /// The roles this tier takes on; a delivery in another role is refused.
    /// The city consults the same table before it issues an assignment.
    fn takes(&self, role: Role) -> bool {
        self.tier().takes(role)
    }
    /// Only a territorial lead (a township or street) whistles (Art. 16).
    fn may_whistle(&self) -> bool {
        false
    }
    /// The district registers whistles and keeps the check-in clocks.
    fn registers_whistles(&self) -> bool {
        false
    }
}

/// The three families for a handling tier, and its timers.
pub fn tier(ctx: Ctx, rules: impl TierRules) -> server::Tier {
    let rules: Arc<dyn TierRules> = Arc::new(rules);
    let effects: Option<Arc<dyn TimerEffects>> = rules
        .registers_whistles()
        .then(|| Arc::new(whistle::RegistryTimers { ctx: ctx.clone() }) as Arc<dyn TimerEffects>);
    let routes = Routes::new(DispatchServiceServer::new(Inbox::new(
        ctx.clone(),
        rules.clone(),
    )))
    .add_service(EscalationServiceServer::new(Escalation::new(
        ctx.clone(),
        rules,
    )))
    .add_service(ReportingServiceServer::new(Reporting::new(ctx.clone())))
    .add_service(InboxServiceServer::new(watch::Inbox::new(ctx)));
    server::Tier {
        routes,
        served: server::TIER_SERVICES,
        effects,
    }
}
