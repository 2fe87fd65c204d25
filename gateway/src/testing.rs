//! What the layers' unit tests share: a small routing table and an inner
//! service that answers with what reached it.

#![allow(clippy::unwrap_used)]

use std::{collections::HashMap, sync::Arc};

use hotline_proto::v1::Tier;
use http::{Request, Response};
use tonic::body::Body;

use crate::{UnitRoute, error::GatewayError, registry::Registry};

pub(crate) const REPORT: &str = "/hotline.v1.ReportingService/GetUnitReport";

/// The demo city, for the authorization table.
pub(crate) fn topology() -> Arc<hotline_core::Topology> {
    let src = include_str!("../../topology/demo-city.toml");
    Arc::new(hotline_core::Topology::parse("demo-city.toml", src).unwrap())
}

/// Three units of the demo city: `city` (its service not announced),
/// `d-riverside` and `t-harbour` (theirs announced, at a port where
/// nothing listens: channels connect lazily, and no test calls them).
pub(crate) fn registry() -> Arc<Registry> {
    registry_at("http://127.0.0.1:9")
}

/// [`registry`], with the announced services at `address`.
pub(crate) fn registry_at(address: &str) -> Arc<Registry> {
    let routes = [
        ("city", Tier::City, "city"),
        ("d-riverside", Tier::District, "district"),
        ("t-harbour", Tier::Township, "township"),
    ]
    .map(|(unit, tier, service)| UnitRoute {
        unit_id: unit.to_owned(),
        tier,
        service: service.to_owned(),
    });
    let addresses = HashMap::from(
        ["district", "township"].map(|service| (service.to_owned(), address.to_owned())),
    );
    let security = hotline_identity::Security::Plaintext;
    Arc::new(Registry::new(&routes, &addresses, security).unwrap())
}

/// Answers every call with an empty response carrying the request's
/// headers and extensions, so a test sees what a layer added.
pub(crate) fn echo<B>() -> impl tower::Service<
    Request<B>,
    Response = Response<Body>,
    Error = GatewayError,
    Future = impl Future<Output = Result<Response<Body>, GatewayError>> + Send + 'static,
> + Clone {
    tower::service_fn(|request: Request<B>| {
        let (parts, _) = request.into_parts();
        let mut response = Response::new(Body::empty());
        *response.headers_mut() = parts.headers;
        *response.extensions_mut() = parts.extensions;
        std::future::ready(Ok(response))
    })
}

/// The status of a trailers-only response, as the gateway writes refusals.
pub(crate) fn status_of(response: &Response<Body>) -> Option<tonic::Code> {
    crate::trace_context::grpc_status(response.headers())
}
