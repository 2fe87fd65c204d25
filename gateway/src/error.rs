//! Every error the gateway produces itself, and the one table that maps them
//! to gRPC statuses.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    #[error("x-hotline-target: missing target unit")]
    MissingTarget,
    #[error("x-hotline-target: not a valid unit id")]
    InvalidTarget,
    #[error("unit {0} is not in the topology")]
    UnknownUnit(String),
    #[error("service {service} hosting unit {unit} has not announced")]
    NotAnnounced { service: String, unit: String },
    #[error("service {0} is unreachable")]
    Unreachable(String),
    #[error("deadline exceeded waiting for service {0}")]
    DeadlineExceeded(String),
    #[error("path {0} is not a hotline.v1 method")]
    UnknownPath(String),
    #[error("gateway is overloaded")]
    Overloaded,
    #[error("service: {0:?} is not a service in the topology")]
    UnknownService(String),
    #[error("address: {0}")]
    InvalidAddress(&'static str),
    #[error("no client certificate from the mesh CA")]
    Unauthenticated,
    #[error("the client certificate is revoked or expired")]
    Revoked,
    #[error("x-hotline-unit: missing the unit the caller acts for")]
    MissingUnit,
    #[error("x-hotline-unit: not a valid unit id")]
    InvalidUnit,
    #[error("{0}")]
    Denied(String),
    #[error("{0} is not a method of the hotline.v1 contract")]
    NoSuchMethod(String),
    /// A layer found no mark the layer above it should have left: the
    /// stack in `lib.rs` is put together wrongly.
    #[error("gateway stack: no {0} on the call")]
    Unmarked(&'static str),
}

impl From<hotline_identity::Unproven> for GatewayError {
    fn from(err: hotline_identity::Unproven) -> Self {
        match err {
            hotline_identity::Unproven::NoCertificate => GatewayError::Unauthenticated,
            hotline_identity::Unproven::Revoked => GatewayError::Revoked,
        }
    }
}

impl From<GatewayError> for Status {
    fn from(err: GatewayError) -> Self {
        use GatewayError::*;
        let message = err.to_string();
        match err {
            MissingTarget | InvalidTarget => bad_request("x-hotline-target", message),
            UnknownService(_) => bad_request("service", message),
            InvalidAddress(_) => bad_request("address", message),
            MissingUnit | InvalidUnit => bad_request("x-hotline-unit", message),
            Unauthenticated | Revoked => Status::unauthenticated(message),
            Denied(_) => Status::permission_denied(message),
            NoSuchMethod(_) => Status::unimplemented(message),
            UnknownUnit(_) => Status::not_found(message),
            // UNAVAILABLE tells senders to retry: the service may announce or
            // come back. Mutating RPCs carry a request_id, so a retry is safe.
            NotAnnounced { .. } | Unreachable(_) => Status::unavailable(message),
            // Shed load: the caller should slow down (still retried by
            // the outbox, with backoff).
            Overloaded => Status::resource_exhausted(message),
            DeadlineExceeded(_) => Status::deadline_exceeded(message),
            UnknownPath(_) => Status::unimplemented(message),
            Unmarked(_) => Status::internal(message),
        }
    }
}

fn bad_request(field: &str, message: String) -> Status {
    let details = ErrorDetails::with_bad_request_violation(field, message.clone());
    Status::with_error_details(Code::InvalidArgument, message, details)
}
