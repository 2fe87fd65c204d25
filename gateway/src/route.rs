//! Route: which unit a call is for and which service hosts it, from the
//! method path and `x-hotline-target`. The chosen [`Route`] goes on in the
//! request's extensions for the layers below.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderMap, HeaderValue, Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::registry::{Registry, UnitHome, Upstream};
use crate::{TARGET_HEADER, error::GatewayError};

const SERVED_HERE: &str = "hotline.v1.GatewayService";

/// Where a call goes: the target unit, its home service and, once that
/// service has announced, where it listens. A service that has not
/// announced is refused by [`crate::forward`], below identity, so that an
/// unproven caller learns nothing of it. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// `x-hotline-target`, checked to be a visible-ASCII unit id.
    target: HeaderValue,
    pub home: UnitHome,
    pub upstream: Option<Arc<Upstream>>,
}

impl Route {
    /// The unit the call is for.
    pub(crate) fn target(&self) -> &str {
        self.target.to_str().unwrap_or_default()
    }

    /// The route chosen for `request`; every call below the route layer
    /// has one.
    pub(crate) fn of<B>(request: &Request<B>) -> Result<&Self, GatewayError> {
        request
            .extensions()
            .get::<Self>()
            .ok_or(GatewayError::Unmarked("route"))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RouteLayer {
    registry: Arc<Registry>,
}

impl RouteLayer {
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        Self { registry }
    }

    fn route(&self, path: &str, headers: &HeaderMap) -> Result<Route, GatewayError> {
        if !is_forwarded(path) {
            return Err(GatewayError::UnknownPath(path.to_owned()));
        }
        let target = match headers.get(TARGET_HEADER) {
            None => return Err(GatewayError::MissingTarget),
            Some(value) if value.is_empty() => return Err(GatewayError::MissingTarget),
            Some(value) if value.to_str().is_err() => return Err(GatewayError::InvalidTarget),
            Some(value) => value.clone(),
        };
        let unit = target.to_str().unwrap_or_default();
        let home = self
            .registry
            .unit(unit)
            .ok_or_else(|| GatewayError::UnknownUnit(unit.to_owned()))?
            .clone();
        let upstream = self.registry.upstream(&home.service);
        Ok(Route {
            target,
            home,
            upstream,
        })
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = RouteService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RouteService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RouteService<S> {
    inner: S,
    layer: RouteLayer,
}

impl<S, B> Service<Request<B>> for RouteService<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = GatewayError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = GatewayError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, GatewayError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.layer.route(request.uri().path(), request.headers()) {
            Ok(route) => {
                request.extensions_mut().insert(route);
                Box::pin(self.inner.call(request))
            }
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }
}

/// `/hotline.v1.<Service>/<Method>` for every service but the gateway's own.
fn is_forwarded(path: &str) -> bool {
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return false;
    };
    service != SERVED_HERE
        && hotline_proto::SERVICE_NAMES.contains(&service)
        && !method.is_empty()
        && !method.contains('/')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tonic::Code;
    use tower::ServiceExt as _;

    use super::*;
    use crate::testing::{self, REPORT};

    async fn route(path: &str, target: Option<&[u8]>) -> Result<Route, Code> {
        let mut request = Request::builder().uri(path);
        if let Some(target) = target {
            request = request.header(TARGET_HEADER, HeaderValue::from_bytes(target).unwrap());
        }
        let layer = RouteLayer::new(testing::registry());
        let response = layer
            .layer(testing::echo())
            .oneshot(request.body(()).unwrap())
            .await
            .map_err(|err| tonic::Status::from(err).code())?;
        Ok(response.extensions().get::<Route>().unwrap().clone())
    }

    #[tokio::test]
    async fn marks_the_call_with_its_route() {
        let route_of = |r: Route| (r.target().to_owned(), r.home.service, r.upstream.is_some());
        let chosen = route(REPORT, Some(b"t-harbour")).await.unwrap();
        assert_eq!(
            route_of(chosen),
            ("t-harbour".into(), "township".into(), true)
        );
        // Not announced yet: routed all the same, refused further down.
        let chosen = route(REPORT, Some(b"city")).await.unwrap();
        assert_eq!(route_of(chosen), ("city".into(), "city".into(), false));
    }

    #[tokio::test]
    async fn refuses_what_it_cannot_route() {
        let own = "/hotline.v1.GatewayService/ListRoutes";
        let cases: [(&str, Option<&[u8]>, Code); 5] = [
            (own, Some(b"t-harbour"), Code::Unimplemented),
            (REPORT, None, Code::InvalidArgument),
            (REPORT, Some(b""), Code::InvalidArgument),
            (REPORT, Some(b"t-\xe4st"), Code::InvalidArgument),
            (REPORT, Some(b"t-nowhere"), Code::NotFound),
        ];
        for (path, target, code) in cases {
            let refused = route(path, target).await.unwrap_err();
            assert_eq!(refused, code, "{path} {target:?}");
        }
    }

    #[test]
    fn forwards_hotline_methods_except_the_gateways_own() {
        assert!(is_forwarded(REPORT));
        assert!(is_forwarded(
            "/hotline.v1.DispatchService/DeliverAssignment"
        ));
        assert!(!is_forwarded("/hotline.v1.GatewayService/ListRoutes"));
        assert!(!is_forwarded("/hotline.v1.NoSuchService/Get"));
        assert!(!is_forwarded("/hotline.v1.ReportingService/"));
        assert!(!is_forwarded("/other.v1.ReportingService/GetUnitReport"));
        assert!(!is_forwarded("/"));
    }
}
