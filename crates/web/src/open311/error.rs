//! Open311's errors: the specification's list, `[{code, description}]`
//! or `<errors><error><code>…`, with the HTTP status it names: 404 for a
//! resource that does not exist (a service, a request, a token, a
//! jurisdiction), 403 for a missing or wrong api_key, 400 for any other
//! request that cannot be fulfilled. Beyond the list, a mesh that cannot
//! be reached is 503 with the same body and a `Retry-After`: the client
//! did nothing wrong and may try again.

use axum::response::Response;
use http::{HeaderValue, StatusCode};
use tonic::Code;

use super::render::{Doc, Format, Record, Value};

/// How long a client is asked to wait when the mesh is unavailable.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// One Open311 error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open311Error {
    pub status: StatusCode,
    /// Meant for the person using the client: never the requester's data.
    pub description: String,
}

impl Open311Error {
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            description: description.into(),
        }
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            description: description.into(),
        }
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            description: description.into(),
        }
    }

    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            description: format!(
                "the hotline is unavailable for the moment: try again in {RETRY_AFTER_SECONDS} seconds"
            ),
        }
    }

    /// What the centre's answer means for the client. Field names the
    /// centre uses become the Open311 parameters the client sent.
    pub fn from_status(status: &tonic::Status) -> Self {
        match status.code() {
            Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::AlreadyExists => Self::bad_request(open311_words(status.message())),
            Code::NotFound => Self::not_found(open311_words(status.message())),
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Cancelled
            | Code::Aborted => Self::unavailable(),
            // The centre refused the web front itself, or failed: no
            // fault of the client's.
            _ => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                description: "the hotline could not handle the request".into(),
            },
        }
    }

    /// The response, in `format`.
    pub fn render(&self, format: Format) -> Response {
        let doc = Doc::List {
            root: "errors",
            item: "error",
            records: vec![
                Record::default()
                    .with("code", Value::Int(i64::from(self.status.as_u16())))
                    .with("description", Value::Str(self.description.clone())),
            ],
        };
        let mut r = doc.render(format, self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        r
    }
}

/// The centre's field names, as an Open311 client sent them.
const FIELDS: &[(&str, &str)] = &[
    ("requester.phone", "phone"),
    ("requester.email", "email"),
    ("requester.name", "first_name/last_name"),
    ("requester", "phone or email"),
    ("category_code", "service_code"),
    ("location", "lat/long"),
    ("address", "address_string"),
    ("text", "description"),
    ("kind", "attribute[request_kind]"),
    ("request_id", "Idempotency-Key"),
];

fn open311_words(message: &str) -> String {
    for (centre, open311) in FIELDS {
        if let Some(rest) = message.strip_prefix(centre)
            && rest.starts_with(':')
        {
            return format!("{open311}{rest}");
        }
    }
    if message.contains("was already used for another request") || message.contains("request_id") {
        return "the Idempotency-Key was used for another request".into();
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_centres_answers_become_the_lists_statuses() {
        let e = Open311Error::from_status(&tonic::Status::invalid_argument(
            "location: 0,0 is outside the city",
        ));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.description, "lat/long: 0,0 is outside the city");
        let e = Open311Error::from_status(&tonic::Status::invalid_argument(
            "requester.phone: must be a phone number of 5 to 20 digits",
        ));
        assert!(e.description.starts_with("phone:"), "{e:?}");
        let e = Open311Error::from_status(&tonic::Status::not_found("order orders/HL1"));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        for code in [Code::Unavailable, Code::DeadlineExceeded] {
            let e = Open311Error::from_status(&tonic::Status::new(code, "x"));
            assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        }
        let e = Open311Error::from_status(&tonic::Status::permission_denied("web may not"));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.description.contains("web may not"));
    }

    #[test]
    fn an_unavailable_mesh_says_when_to_try_again() {
        let r = Open311Error::unavailable().render(Format::Json);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "5");
    }
}
