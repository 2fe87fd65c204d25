//! Identity: who is calling (the principal proven by the client
//! certificate), the unit it acts for, and the authorization table's word
//! on the call. The gateway passes the proven principal on in
//! `x-hotline-principal`, replacing whatever the caller sent there, and
//! marks the request with it (a [`Principal`] in its extensions).
//!
//! The certificate is proven by the identity layer every server shares
//! (`hotline_identity::door`, just above this one); this layer reads its
//! mark. [`IdentityLayer`] admits forwarded calls, below the route layer,
//! whose target the table is read against; [`Admission`] alone also serves
//! the gateway's own API.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use hotline_core::Topology;
use hotline_core::authz::{self, Call, Principal};
use hotline_identity::{PRINCIPAL_HEADER, Security, door};
use http::{HeaderValue, Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::{UNIT_HEADER, error::GatewayError, route::Route};

#[derive(Clone)]
pub(crate) struct Admission {
    /// Over mTLS the certificate proves the caller; over plaintext the
    /// headers are believed (`--insecure-plaintext`).
    security: Security,
    /// The topology the authorization table is read against.
    topology: Option<Arc<Topology>>,
}

impl Admission {
    pub(crate) fn new(security: Security, topology: Option<Arc<Topology>>) -> Self {
        Self { security, topology }
    }

    /// Whether callers are checked at all: not over plaintext without a
    /// topology (the gateway crate's own routing tests, with no table).
    fn checks(&self) -> bool {
        self.security.is_mtls() || self.topology.is_some()
    }

    /// The caller of a call to the gateway's own API; `None` when nothing
    /// is checked.
    pub(crate) fn caller(
        &self,
        extensions: &http::Extensions,
        headers: &http::HeaderMap,
    ) -> Result<Option<Principal>, GatewayError> {
        if !self.checks() {
            return Ok(None);
        }
        self.principal(extensions, headers).map(Some)
    }

    /// The caller of a call to the gateway's own API.
    pub(crate) fn principal(
        &self,
        extensions: &http::Extensions,
        headers: &http::HeaderMap,
    ) -> Result<Principal, GatewayError> {
        // Over mTLS the certificate, as the shared identity layer proved it
        // (`hotline_identity::door`); a call to the gateway's own API,
        // which skips that layer, is proven the same way here.
        if let Some(principal) = door::prove(&self.security, extensions)? {
            return Ok(principal);
        }
        if self.security.is_mtls() {
            return Err(GatewayError::Unauthenticated);
        }
        let claimed = headers
            .get(PRINCIPAL_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(Principal::from_path);
        let unit = headers
            .get(UNIT_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| authz::valid_name(v))
            .map(|u| Principal::Unit(u.to_owned()));
        claimed.or(unit).ok_or(GatewayError::Unauthenticated)
    }

    /// Proves and authorizes a call to be forwarded to its route's target,
    /// and marks it with the proven principal (and its unit, when it named
    /// none).
    fn admit<B>(&self, request: &mut Request<B>) -> Result<(), GatewayError> {
        if !self.checks() {
            return Ok(());
        }
        let principal = self.principal(request.extensions(), request.headers())?;
        let acting = match request.headers().get(UNIT_HEADER) {
            Some(v) => v
                .to_str()
                .ok()
                .filter(|v| authz::valid_name(v))
                .ok_or(GatewayError::InvalidUnit)?
                .to_owned(),
            None => match &principal {
                Principal::Unit(u) => u.clone(),
                _ => return Err(GatewayError::MissingUnit),
            },
        };
        if let Some(topology) = &self.topology {
            if authz::rule(request.uri().path()).is_none() {
                return Err(GatewayError::NoSuchMethod(request.uri().path().to_owned()));
            }
            let call = Call {
                method: request.uri().path(),
                principal: &principal,
                acting: &acting,
                target: Route::of(request)?.target(),
            };
            authz::authorize(topology, &call).map_err(|d| GatewayError::Denied(d.0))?;
        }
        let headers = request.headers_mut();
        headers.insert(
            PRINCIPAL_HEADER,
            HeaderValue::from_str(&principal.path()).map_err(|_| GatewayError::Unauthenticated)?,
        );
        if !headers.contains_key(UNIT_HEADER) {
            headers.insert(
                UNIT_HEADER,
                HeaderValue::from_str(&acting).map_err(|_| GatewayError::InvalidUnit)?,
            );
        }
        request.extensions_mut().insert(principal);
        Ok(())
    }
}

#[derive(Clone)]
pub(crate) struct IdentityLayer {
    admission: Admission,
}

impl IdentityLayer {
    pub(crate) fn new(admission: Admission) -> Self {
        Self { admission }
    }
}

impl<S> Layer<S> for IdentityLayer {
    type Service = Identity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Identity {
            inner,
            admission: self.admission.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Identity<S> {
    inner: S,
    admission: Admission,
}

impl<S, B> Service<Request<B>> for Identity<S>
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
        // Nothing goes on until the caller is proven and may make this call.
        match self.admission.admit(&mut request) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tonic::Code;
    use tower::ServiceExt as _;

    use super::*;
    use crate::route::RouteLayer;
    use crate::testing::{self, REPORT};
    use crate::{TARGET_HEADER, UNIT_HEADER};

    /// A call to GetUnitReport on t-harbour, through route and identity,
    /// from a plaintext caller (whose headers are believed).
    async fn admit(headers: &[(&str, &str)]) -> Result<Response<Body>, Code> {
        let mut request = Request::builder()
            .uri(REPORT)
            .header(TARGET_HEADER, "t-harbour");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let admission = Admission::new(Security::Plaintext, Some(testing::topology()));
        let stack = tower::ServiceBuilder::new()
            .layer(RouteLayer::new(testing::registry()))
            .layer(IdentityLayer::new(admission))
            .service(testing::echo());
        stack
            .oneshot(request.body(()).unwrap())
            .await
            .map_err(|err| tonic::Status::from(err).code())
    }

    fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn marks_an_admitted_call_with_its_principal() {
        // The district over the township may read its report.
        let admitted = admit(&[(UNIT_HEADER, "d-riverside")]).await.unwrap();
        let principal = Principal::Unit("d-riverside".into());
        assert_eq!(admitted.extensions().get(), Some(&principal));
        assert_eq!(
            header(&admitted, PRINCIPAL_HEADER),
            Some("unit/d-riverside")
        );

        // A service names the unit it acts for; a unit acts for itself.
        let service = [
            (PRINCIPAL_HEADER, "service/district"),
            (UNIT_HEADER, "d-riverside"),
        ];
        let admitted = admit(&service).await.unwrap();
        let principal = Principal::Service("district".into());
        assert_eq!(admitted.extensions().get(), Some(&principal));
        let admitted = admit(&[(PRINCIPAL_HEADER, "unit/t-harbour")])
            .await
            .unwrap();
        assert_eq!(header(&admitted, UNIT_HEADER), Some("t-harbour"));
    }

    #[tokio::test]
    async fn refuses_unproven_and_unauthorized_callers() {
        let cases: [(&[(&str, &str)], Code); 4] = [
            (&[], Code::Unauthenticated),
            (&[(UNIT_HEADER, "t-pine")], Code::PermissionDenied),
            (
                &[(PRINCIPAL_HEADER, "service/district")],
                Code::InvalidArgument,
            ),
            (
                &[
                    (PRINCIPAL_HEADER, "unit/t-harbour"),
                    (UNIT_HEADER, "no such/unit"),
                ],
                Code::InvalidArgument,
            ),
        ];
        for (headers, code) in cases {
            assert_eq!(admit(headers).await.unwrap_err(), code, "{headers:?}");
        }
    }

    #[tokio::test]
    async fn checks_nothing_without_mtls_or_a_table() {
        let request = Request::builder().uri(REPORT).body(()).unwrap();
        let identity = IdentityLayer::new(Admission::new(Security::Plaintext, None));
        let response = identity.layer(testing::echo()).oneshot(request).await;
        let response = response.unwrap();
        assert!(response.extensions().get::<Principal>().is_none());
        assert!(response.headers().get(PRINCIPAL_HEADER).is_none());
    }
}
