//! Open311 GeoReport v2 at `/open311/v2/`, in `.json` and `.xml`
//! (<http://wiki.open311.org/GeoReport_v2>):
//!
//! | method | resource | what |
//! |---|---|---|
//! | GET | `services.{fmt}` | the dispatch catalogue ([`services`]) |
//! | GET | `services/{service_code}.{fmt}` | an item's attributes |
//! | POST | `requests.{fmt}` | a request, as an intake ([`requests`]) |
//! | GET | `requests.{fmt}` | requests by ids, codes, status and dates |
//! | GET | `requests/{id}.{fmt}` | one request |
//! | GET | `tokens/{token}.{fmt}` | the id a token was issued for ([`token`]) |
//!
//! and the service discovery file at `/open311/discovery.{fmt}`. The
//! `jurisdiction_id` is the topology's name; one endpoint serves one
//! jurisdiction, so it may be left out, and any other is 404 (the
//! specification's "jurisdiction_id provided was not found"). Errors are
//! the specification's list ([`error`]).

pub mod error;
pub mod keys;
pub mod params;
pub mod render;
pub mod requests;
pub mod services;
pub mod time;
pub mod token;

use std::path::Path;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use hotline_core::{CatalogueItem, Topology};
use http::{HeaderMap, StatusCode};

use crate::WebState;
use error::Open311Error;
use params::Params;
use render::{Doc, Format, Record, Value};

/// The specification this endpoint follows.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// Open311's configuration: the API keys the operator issued (hashes
/// only) and the token signer.
pub struct Open311 {
    pub keys: keys::Keys,
    pub tokens: token::Tokens,
}

impl Open311 {
    /// Reads the keys and the token key from `DATA_DIR/open311/`, making
    /// them on first start.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            keys: keys::Keys::provision(data_dir)?,
            tokens: token::Tokens::open(data_dir)?,
        })
    }
}

/// Open311's routes.
pub fn routes() -> axum::Router<WebState> {
    axum::Router::new()
        .route("/open311/{file}", get(discovery))
        .route("/open311/v2/{file}", get(get_resource).post(post_resource))
        .route("/open311/v2/services/{file}", get(get_service))
        .route("/open311/v2/requests/{file}", get(get_request))
        .route("/open311/v2/tokens/{file}", get(get_token))
}

/// The jurisdiction_id, when given, is this endpoint's.
pub fn check_jurisdiction(topology: &Topology, params: &Params) -> Result<(), Open311Error> {
    match params.get("jurisdiction_id") {
        Some(j) if j != topology.name => Err(Open311Error::not_found(format!(
            "jurisdiction_id not found: this endpoint serves {}",
            topology.name
        ))),
        _ => Ok(()),
    }
}

/// The catalogue item of a service code, or 404.
pub fn item<'t>(topology: &'t Topology, code: &str) -> Result<&'t CatalogueItem, Open311Error> {
    topology.item(code).ok_or_else(|| {
        Open311Error::not_found(format!(
            "service_code {code} not found: GET services lists them"
        ))
    })
}

/// The centre's refusal, as the client is to see it; logged by its code
/// and the call only (its message may quote what the client sent).
pub fn refused(call: &str, status: &tonic::Status) -> Open311Error {
    let e = Open311Error::from_status(status);
    if e.status.is_server_error() {
        tracing::warn!(call, code = ?status.code(), "open311: the centre did not answer");
    }
    e
}

/// The response: `doc` with 200, or the error, in `format`.
fn respond(format: Format, result: Result<Doc, Open311Error>) -> Response {
    match result {
        Ok(doc) => doc.render(format, StatusCode::OK),
        Err(e) => e.render(format),
    }
}

/// Splits `file` into its name and format; a request for no format or an
/// unknown one is answered in XML, the required format.
fn split(file: &str) -> Result<(&str, Format), Open311Error> {
    Format::split(file).map_err(|(_, why)| Open311Error::bad_request(why))
}

async fn get_resource(
    State(state): State<WebState>,
    UrlPath(file): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (name, format) = match split(&file) {
        Ok(f) => f,
        Err(e) => return e.render(Format::Xml),
    };
    let params = Params::parse(query.as_deref(), b"");
    let result = match check_jurisdiction(&state.topology, &params) {
        Err(e) => Err(e),
        Ok(()) => match name {
            "services" => Ok(services::list(&state.topology)),
            "requests" => requests::list(&state, &params).await,
            _ => Err(Open311Error::not_found(format!("no resource {name}"))),
        },
    };
    respond(format, result)
}

async fn post_resource(
    State(state): State<WebState>,
    UrlPath(file): UrlPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (name, format) = match split(&file) {
        Ok(f) => f,
        Err(e) => return e.render(Format::Xml),
    };
    if name != "requests" {
        return Open311Error::not_found(format!("no resource {name} to POST to: POST requests"))
            .render(format);
    }
    let form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Open311Error::bad_request(
            "POST requests takes application/x-www-form-urlencoded arguments",
        )
        .render(format);
    }
    let params = Params::parse(query.as_deref(), &body);
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    respond(format, requests::post(&state, &params, key).await)
}

async fn get_service(
    State(state): State<WebState>,
    UrlPath(file): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (code, format) = match split(&file) {
        Ok(f) => f,
        Err(e) => return e.render(Format::Xml),
    };
    let params = Params::parse(query.as_deref(), b"");
    let result = check_jurisdiction(&state.topology, &params)
        .and_then(|()| item(&state.topology, code))
        .map(services::definition);
    respond(format, result)
}

async fn get_request(
    State(state): State<WebState>,
    UrlPath(file): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (id, format) = match split(&file) {
        Ok(f) => f,
        Err(e) => return e.render(Format::Xml),
    };
    let params = Params::parse(query.as_deref(), b"");
    let result = match check_jurisdiction(&state.topology, &params) {
        Err(e) => Err(e),
        Ok(()) => requests::one(&state, id).await,
    };
    respond(format, result)
}

async fn get_token(
    State(state): State<WebState>,
    UrlPath(file): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (token, format) = match split(&file) {
        Ok(f) => f,
        Err(e) => return e.render(Format::Xml),
    };
    let params = Params::parse(query.as_deref(), b"");
    let result =
        check_jurisdiction(&state.topology, &params).and_then(|()| requests::token(&state, token));
    respond(format, result)
}

/// The service discovery file: where GeoReport v2 is served, in which
/// formats.
async fn discovery(
    State(state): State<WebState>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let (name, format) = match split(&file) {
        Ok(f) => f,
        Err(e) => return e.render(Format::Xml),
    };
    if name != "discovery" {
        return Open311Error::not_found(format!("no resource {name}")).render(format);
    }
    let scheme = if state.config.security.is_mtls() {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let endpoint = Record::default()
        .with("specification", Value::text(SPECIFICATION))
        .with("url", Value::text(format!("{scheme}://{host}/open311/v2")))
        .with("changeset", Value::text(&state.topology.catalogue_version))
        .with("type", Value::text("production"))
        .with(
            "formats",
            Value::Strings("format", vec!["text/xml".into(), "application/json".into()]),
        );
    let doc = Doc::One {
        root: "discovery",
        record: Record::default()
            .with("changeset", Value::text(&state.topology.catalogue_version))
            .with("contact", Value::text(&state.topology.city().name))
            .with(
                "key_service",
                Value::text(
                    "API keys are issued by the hotline's operators (hotline web --issue-key)",
                ),
            )
            .with("endpoints", Value::List("endpoint", vec![endpoint])),
    };
    doc.render(format, StatusCode::OK)
}
