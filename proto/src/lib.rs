//! The `hotline.v1` wire contract: generated messages, clients and servers.

pub mod limits;

/// Generated code for package `hotline.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("hotline.v1");
    include!(concat!(env!("OUT_DIR"), "/limits.rs"));
}

/// Encoded `FileDescriptorSet` of the whole contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hotline_descriptor.bin"));

/// Fully qualified names of every service in the contract.
pub const SERVICE_NAMES: &[&str] = &[
    "hotline.v1.IntakeService",
    "hotline.v1.ContactRelayService",
    "hotline.v1.DispatchService",
    "hotline.v1.EscalationService",
    "hotline.v1.ReportingService",
    "hotline.v1.ProactiveService",
    "hotline.v1.GatewayService",
    "hotline.v1.ControlService",
    "hotline.v1.InboxService",
    "hotline.v1.RequesterService",
    "hotline.v1.PrivacyService",
    "hotline.v1.KnowledgeService",
];
