//! The city hotline centre (12345). It alone owns the order: intake and
//! classification, dispatch, the record of every assignment, the contact
//! relay, callbacks and reopening. It alone holds requester identity.

mod arbitration;
mod audit;
mod citizen;
mod clocks;
mod credential;
mod digest;
mod disposition;
mod escalation;
mod events;
mod extension;
mod handdown;
mod history;
mod intake;
mod knowledge;
mod mark;
mod planning;
mod proactive;
mod reclassify;
mod record;
mod redact;
mod relay;
mod reporting;
mod requester;
mod schema;
pub mod scorecards;
mod sweep;
pub mod tables;
mod triage;
mod urge;
mod wire;

pub use clocks::CityTimers;
pub use schema::SCHEMA;

use hotline_proto::v1::contact_relay_service_server::ContactRelayServiceServer;
use hotline_proto::v1::dispatch_service_server::DispatchServiceServer;
use hotline_proto::v1::escalation_service_server::EscalationServiceServer;
use hotline_proto::v1::intake_service_server::IntakeServiceServer;
use hotline_proto::v1::knowledge_service_server::KnowledgeServiceServer;
use hotline_proto::v1::privacy_service_server::PrivacyServiceServer;
use hotline_proto::v1::proactive_service_server::ProactiveServiceServer;
use hotline_proto::v1::reporting_service_server::ReportingServiceServer;
use hotline_proto::v1::requester_service_server::RequesterServiceServer;
use std::sync::Arc;

use hotline_runtime::{Ctx, server};
use tonic::service::Routes;

/// The hotline.v1 services the city serves, for health.
pub const SERVED: &[&str] = &[
    "hotline.v1.IntakeService",
    "hotline.v1.ContactRelayService",
    "hotline.v1.DispatchService",
    "hotline.v1.EscalationService",
    "hotline.v1.ReportingService",
    "hotline.v1.ProactiveService",
    "hotline.v1.RequesterService",
    "hotline.v1.PrivacyService",
    "hotline.v1.KnowledgeService",
];

/// The city service: its routes and its clocks.
pub fn tier(ctx: Ctx) -> server::Tier {
    let key = intake::CityKey::default();
    let routes = Routes::new(IntakeServiceServer::new(intake::Intake::new(
        ctx.clone(),
        key,
    )))
    .add_service(ContactRelayServiceServer::new(relay::Relay::new(
        ctx.clone(),
    )))
    .add_service(DispatchServiceServer::new(events::Events::new(ctx.clone())))
    .add_service(EscalationServiceServer::new(
        escalation::CityEscalation::new(ctx.clone()),
    ))
    .add_service(ReportingServiceServer::new(reporting::CityReporting::new(
        ctx.clone(),
    )))
    .add_service(ProactiveServiceServer::new(proactive::CityProactive::new(
        ctx.clone(),
    )))
    .add_service(RequesterServiceServer::new(requester::Requesters::new(
        ctx.clone(),
    )))
    .add_service(PrivacyServiceServer::new(audit::Privacy::new(ctx.clone())))
    .add_service(KnowledgeServiceServer::new(knowledge::Knowledge::new(
        ctx.clone(),
    )));
    server::Tier {
        routes,
        served: SERVED,
        effects: Some(Arc::new(clocks::CityTimers { ctx })),
    }
}
