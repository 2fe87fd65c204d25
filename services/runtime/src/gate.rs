//! The door of every service: over mTLS only the gateway gets in (anyone
//! from the mesh CA may ask after health), the principal the gateway proved
//! is believed only from the gateway, and the call is checked against the
//! authorization table again before a handler sees it. The certificate is
//! proven by the identity layer the gateway shares (`hotline_identity::door`,
//! just above this one); the authorised [`Caller`] goes on in the request's
//! extensions for the handler.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hotline_core::Topology;
use hotline_core::authz::{self, Call, Principal};
use hotline_identity::door::{self, Unproven};
use hotline_identity::{PRINCIPAL_HEADER, Security, TARGET_HEADER, UNIT_HEADER};
use http::{Request, Response};
use tonic::Status;

use crate::meta::Caller;

/// The holder of the gateway's certificate.
pub fn gateway() -> Principal {
    Principal::Service("gateway".into())
}

#[derive(Clone)]
pub struct GateLayer {
    security: Security,
    topology: Arc<Topology>,
}

impl GateLayer {
    pub fn new(security: Security, topology: Arc<Topology>) -> Self {
        Self { security, topology }
    }
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    layer: GateLayer,
}

impl GateLayer {
    /// The principal a call is made for, or why it may not be made.
    fn check<B>(&self, request: &Request<B>) -> Result<Option<Principal>, Status> {
        let path = request.uri().path();
        let mtls = self.security.is_mtls();
        if mtls {
            // Proven once by the identity layer above (`door`).
            let peer = door::prove(&self.security, request.extensions())?
                .ok_or(Unproven::NoCertificate)?;
            if path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.") {
                return Ok(None);
            }
            if peer != gateway() {
                return Err(Status::permission_denied(format!(
                    "{peer} may not call a service directly: every call goes through the gateway"
                )));
            }
        }
        if !path.starts_with("/hotline.v1.") {
            return Ok(None);
        }
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
        };
        let principal = header(PRINCIPAL_HEADER)
            .and_then(Principal::from_path)
            .or_else(|| {
                // Over plaintext an unmarked call is its unit's own.
                (!mtls)
                    .then(|| header(UNIT_HEADER).map(|u| Principal::Unit(u.to_owned())))
                    .flatten()
            })
            .ok_or_else(|| {
                Status::unauthenticated(format!("{PRINCIPAL_HEADER}: the gateway names no caller"))
            })?;
        // Without both units the handler answers INVALID_ARGUMENT itself.
        if let (Some(acting), Some(target)) = (header(UNIT_HEADER), header(TARGET_HEADER)) {
            let call = Call {
                method: path,
                principal: &principal,
                acting,
                target,
            };
            authz::authorize(&self.topology, &call).map_err(|d| Status::permission_denied(d.0))?;
        }
        Ok(Some(principal))
    }
}

impl<S, B, R> tower::Service<Request<B>> for Gate<S>
where
    S: tower::Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.layer.check(&request) {
            Ok(principal) => {
                if let Some(p) = principal {
                    // The authorised caller, resolved once for the handler
                    // (`Caller::of`); without both units the handler
                    // answers INVALID_ARGUMENT itself.
                    if let Ok(caller) = Caller::from_headers(request.headers(), Some(p.clone())) {
                        request.extensions_mut().insert(caller);
                    }
                    request.extensions_mut().insert(p);
                }
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                tracing::info!(path = %request.uri().path(), code = ?status.code(), "call refused at the door");
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}
