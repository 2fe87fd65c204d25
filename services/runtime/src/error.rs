//! One error enum for the services and the one table that maps it to gRPC
//! statuses with rich details (google.rpc ErrorInfo, BadRequest, ...).

use hotline_core::jurisdiction::{Breach, Refusal};
use hotline_core::lifecycle::TransitionError;
use hotline_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub const DOMAIN: &str = "hotline.v1";

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{field}: {description}")]
    InvalidArgument { field: String, description: String },
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    StaleEpoch(String),
    /// A rule of the regulation refuses the action; the message and the
    /// details name the rule.
    #[error(transparent)]
    Rule(#[from] Breach),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// No valid credential: none presented, or one unknown, expired or
    /// revoked.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0} is not served by this tier")]
    Unimplemented(&'static str),
    #[error("request_id {0} is being processed by a concurrent call; retry")]
    Concurrent(String),
    /// AIP-155: a request id already answered a different request (another
    /// body or another resource); the first effect stands.
    #[error(
        "request_id {request_id:?} was first used for a different request to {method}; \
         the first stands and nothing changed: send a new request_id"
    )]
    RequestIdReused { request_id: String, method: String },
    #[error("{0}")]
    Unavailable(String),
    /// Too much work already: RESOURCE_EXHAUSTED with a retry hint.
    #[error("{what}")]
    Overloaded {
        what: String,
        retry_after: std::time::Duration,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Upstream(Status),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ServiceError::InvalidArgument {
            field: field.into(),
            description: description.into(),
        }
    }

    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        ServiceError::NotFound {
            kind,
            name: name.into(),
        }
    }
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Transition(t) => ServiceError::Transition(t),
            Refusal::Rule(b) => ServiceError::Rule(b),
        }
    }
}

impl From<hotline_store::sqlx::Error> for ServiceError {
    fn from(e: hotline_store::sqlx::Error) -> Self {
        ServiceError::Store(StoreError::Sqlx(e))
    }
}

impl From<Status> for ServiceError {
    fn from(s: Status) -> Self {
        ServiceError::Upstream(s)
    }
}

fn reason(code: &str) -> ErrorDetails {
    ErrorDetails::with_error_info(code, DOMAIN, std::collections::HashMap::new())
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        let msg = e.to_string();
        match e {
            ServiceError::InvalidArgument { field, description } => Status::with_error_details(
                Code::InvalidArgument,
                msg,
                ErrorDetails::with_bad_request_violation(field, description),
            ),
            ServiceError::NotFound { kind, name } => Status::with_error_details(
                Code::NotFound,
                msg,
                ErrorDetails::with_resource_info(kind, name, "", "not found"),
            ),
            ServiceError::Transition(t) => Status::with_error_details(
                Code::FailedPrecondition,
                msg,
                ErrorDetails::with_precondition_failure_violation("STATE", t.subject, t.reason),
            ),
            ServiceError::StaleEpoch(_) => Status::with_error_details(
                Code::FailedPrecondition,
                msg.clone(),
                ErrorDetails::with_precondition_failure_violation("EPOCH", "assignment", msg),
            ),
            ServiceError::Rule(b) => Status::with_error_details(
                Code::FailedPrecondition,
                msg,
                ErrorDetails::with_precondition_failure_violation(
                    b.rule.code(),
                    b.rule.name(),
                    b.detail,
                ),
            ),
            ServiceError::FailedPrecondition(_) => {
                Status::with_error_details(Code::FailedPrecondition, msg, reason("PRECONDITION"))
            }
            ServiceError::PermissionDenied(_) => {
                Status::with_error_details(Code::PermissionDenied, msg, reason("NOT_YOUR_UNIT"))
            }
            ServiceError::Unauthenticated(_) => {
                Status::with_error_details(Code::Unauthenticated, msg, reason("UNAUTHENTICATED"))
            }
            ServiceError::Unimplemented(_) => Status::new(Code::Unimplemented, msg),
            ServiceError::Concurrent(_) => {
                Status::with_error_details(Code::Aborted, msg, reason("CONCURRENT_RETRY"))
            }
            // Not ABORTED: a retry with the same id can never succeed.
            ServiceError::RequestIdReused { request_id, method } => Status::with_error_details(
                Code::AlreadyExists,
                msg,
                ErrorDetails::with_error_info(
                    "REQUEST_ID_REUSED",
                    DOMAIN,
                    [
                        ("field".to_string(), "request_id".to_string()),
                        ("request_id".to_string(), request_id),
                        ("method".to_string(), method),
                    ],
                ),
            ),
            ServiceError::Unavailable(_) => Status::new(Code::Unavailable, msg),
            ServiceError::Overloaded { retry_after, .. } => {
                crate::admit::overloaded(&msg, retry_after)
            }
            ServiceError::Store(s) if s.is_conflict() => Status::with_error_details(
                Code::Aborted,
                "concurrent update; retry",
                reason("CONFLICT"),
            ),
            // A store that may come back is worth a retry; one that fails
            // the same way every time (a corrupt row, a broken constraint)
            // is INTERNAL, so senders park the message rather than retry
            // it forever.
            ServiceError::Store(s) if s.is_transient() => {
                tracing::error!(error = %s, "store unavailable");
                Status::new(Code::Unavailable, "store unavailable")
            }
            ServiceError::Store(s) => {
                tracing::error!(error = %s, "store failure");
                Status::new(Code::Internal, "store failure")
            }
            ServiceError::Upstream(s) => s,
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Checks that a required string field is set.
pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    if value.trim().is_empty() {
        Err(ServiceError::invalid(field, "required"))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_request_names_the_field() {
        let s: Status =
            ServiceError::invalid("category_code", "\"x\" is not in the catalogue").into();
        assert_eq!(s.code(), Code::InvalidArgument);
        let d = s.get_details_bad_request().expect("bad request details");
        assert_eq!(d.field_violations[0].field, "category_code");
        let s: Status =
            ServiceError::StaleEpoch("epoch 1 is revoked; current epoch is 2".into()).into();
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.get_details_precondition_failure().is_some());
        let b = hotline_core::jurisdiction::Breach {
            rule: hotline_core::jurisdiction::Rule::FirstReceiver,
            detail: "the window has closed".into(),
        };
        let s: Status = ServiceError::from(Refusal::Rule(b)).into();
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(s.message(), "first-receiver rule: the window has closed");
        let v = &s.get_details_precondition_failure().unwrap().violations[0];
        assert_eq!(v.r#type, "FIRST_RECEIVER");
    }

    #[test]
    fn a_reused_request_id_names_field_method_and_conflict() {
        let s: Status = ServiceError::RequestIdReused {
            request_id: "r1".into(),
            method: "AcceptAssignment".into(),
        }
        .into();
        assert_eq!(s.code(), Code::AlreadyExists);
        for part in [
            "request_id",
            "\"r1\"",
            "AcceptAssignment",
            "different request",
        ] {
            assert!(s.message().contains(part), "{part}: {}", s.message());
        }
        let info = s.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "REQUEST_ID_REUSED");
        assert_eq!(info.metadata["field"], "request_id");
        assert_eq!(info.metadata["method"], "AcceptAssignment");
    }

    #[test]
    fn a_store_that_may_come_back_is_unavailable_and_a_broken_one_internal() {
        use hotline_store::sqlx::Error as Sqlx;
        let code = |e: StoreError| Status::from(ServiceError::Store(e)).code();
        assert_eq!(code(StoreError::Sqlx(Sqlx::PoolClosed)), Code::Unavailable);
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(code(StoreError::Sqlx(Sqlx::Io(io))), Code::Unavailable);
        assert_eq!(
            code(StoreError::Corrupt("orders.state \"x\"".into())),
            Code::Internal
        );
        assert_eq!(code(StoreError::Sqlx(Sqlx::RowNotFound)), Code::Internal);
        let s = Status::from(ServiceError::Store(StoreError::Corrupt("secret".into())));
        assert!(
            !s.message().contains("secret"),
            "no store detail leaks: {}",
            s.message()
        );
    }
}
