//! Behaviour every handling tier shares, written once: the assignment inbox
//! (DispatchService), coordination upward (EscalationService) and the unit
//! report (ReportingService). What differs between tiers is a table in
//! [`hotline_core::Tier`] (the roles taken, who whistles, who registers
//! whistles); the district adds proactive governance in its subtree.

mod dispatch;
pub mod effects;
mod escalation;
pub mod handdown;
mod inbox;
pub mod notice;
pub mod objection;
mod proactive;
mod reporting;
mod schema;
pub mod scorecards;
pub mod tables;
mod tell;
pub mod watch;
mod whistle;

use std::sync::Arc;

use hotline_core::Tier;
use hotline_proto::v1::dispatch_service_server::DispatchServiceServer;
use hotline_proto::v1::escalation_service_server::EscalationServiceServer;
use hotline_proto::v1::inbox_service_server::InboxServiceServer;
use hotline_proto::v1::proactive_service_server::ProactiveServiceServer;
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
) -> Result<hotline_runtime::tables::assignments::Assignment, hotline_runtime::error::ServiceError>
{
    hotline_runtime::tables::assignments::get(conn, order_id, unit)
        .await?
        .ok_or_else(|| not_held(order_id, unit))
}

/// [`held`] among the order's assignments already read.
pub fn held_among(
    given: &[hotline_runtime::tables::assignments::Assignment],
    order_id: &str,
    unit: &str,
) -> Result<hotline_runtime::tables::assignments::Assignment, hotline_runtime::error::ServiceError>
{
    given
        .iter()
        .find(|a| a.unit_id == unit)
        .cloned()
        .ok_or_else(|| not_held(order_id, unit))
}

fn not_held(order_id: &str, unit: &str) -> hotline_runtime::error::ServiceError {
    hotline_runtime::error::ServiceError::not_found(
        "assignment",
        format!("orders/{order_id} for unit {unit}"),
    )
}

/// The three families for a handling tier, and its timers.
pub fn tier(ctx: Ctx, tier: Tier) -> server::Tier {
    let effects: Option<Arc<dyn TimerEffects>> = tier
        .registers_whistles()
        .then(|| Arc::new(whistle::RegistryTimers { ctx: ctx.clone() }) as Arc<dyn TimerEffects>);
    let routes = Routes::new(DispatchServiceServer::new(Inbox::new(ctx.clone(), tier)))
        .add_service(EscalationServiceServer::new(Escalation::new(
            ctx.clone(),
            tier,
        )))
        .add_service(ReportingServiceServer::new(Reporting::new(ctx.clone())))
        .add_service(InboxServiceServer::new(watch::Inbox::new(ctx.clone())));
    // The district sub-centre also governs proactively within its subtree.
    if tier == Tier::District {
        let proactive = proactive::DistrictProactive::new(ctx);
        return server::Tier {
            routes: routes.add_service(ProactiveServiceServer::new(proactive)),
            served: DISTRICT_SERVICES,
            effects,
        };
    }
    server::Tier {
        routes,
        served: server::TIER_SERVICES,
        effects,
    }
}

/// The hotline.v1 services a district serves, for health.
pub const DISTRICT_SERVICES: &[&str] = &[
    "hotline.v1.DispatchService",
    "hotline.v1.EscalationService",
    "hotline.v1.ReportingService",
    "hotline.v1.InboxService",
    "hotline.v1.ProactiveService",
];
