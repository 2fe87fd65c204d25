//! The identity layer every server of the mesh puts first, the gateway's
//! and each service's: over mTLS it resolves the peer's certificate to its
//! principal once per request, refuses a call without one or with a
//! revoked or expired one (UNAUTHENTICATED), and marks the request with a
//! [`Proven`] principal for the layers and handlers below. Over plaintext
//! nothing is proven and nothing is marked; what a caller's headers may
//! claim is for the layer below to decide (the gateway's admission, a
//! service's gate), as is the authorization table.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hotline_core::authz::Principal;
use http::{Extensions, Request, Response};
use tonic::Status;

use crate::{Peer, Security};

/// The principal the peer's certificate proves, still valid when the
/// request arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven(pub Principal);

/// Why a peer is not believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unproven {
    /// No certificate naming a principal of the mesh.
    NoCertificate,
    /// The certificate was revoked or has expired since the handshake.
    Revoked,
}

impl std::fmt::Display for Unproven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unproven::NoCertificate => "no client certificate from the mesh CA",
            Unproven::Revoked => "the client certificate is revoked or expired",
        })
    }
}

impl std::error::Error for Unproven {}

impl From<Unproven> for Status {
    fn from(err: Unproven) -> Self {
        Status::unauthenticated(err.to_string())
    }
}

/// The principal proven for a request: `None` over plaintext; over mTLS
/// the [`Proven`] mark when [`IdentityLayer`] left one, else resolved
/// here from the connection's [`Peer`] (calls that skip the layer).
pub fn prove(security: &Security, extensions: &Extensions) -> Result<Option<Principal>, Unproven> {
    if !security.is_mtls() {
        return Ok(None);
    }
    if let Some(Proven(principal)) = extensions.get::<Proven>() {
        return Ok(Some(principal.clone()));
    }
    let peer = extensions.get::<Peer>().ok_or(Unproven::NoCertificate)?;
    let principal = peer.principal.clone().ok_or(Unproven::NoCertificate)?;
    // The connection may outlive the certificate's revocation.
    if !security.peer_valid(peer) {
        return Err(Unproven::Revoked);
    }
    Ok(Some(principal))
}

/// Proves the peer of every call; see the module.
#[derive(Clone)]
pub struct IdentityLayer {
    security: Security,
}

impl IdentityLayer {
    pub fn new(security: Security) -> Self {
        Self { security }
    }
}

impl<S> tower::Layer<S> for IdentityLayer {
    type Service = Identity<S>;

    fn layer(&self, inner: S) -> Identity<S> {
        Identity {
            inner,
            security: self.security.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Identity<S> {
    inner: S,
    security: Security,
}

impl<S, B, R> tower::Service<Request<B>> for Identity<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match prove(&self.security, request.extensions()) {
            Ok(proven) => {
                if let Some(principal) = proven {
                    request.extensions_mut().insert(Proven(principal));
                }
                Box::pin(self.inner.call(request))
            }
            Err(err) => {
                tracing::info!(path = %request.uri().path(), %err, "call refused: peer not proven");
                Box::pin(std::future::ready(Ok(Status::from(err).into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tonic::Code;
    use tower::{Layer as _, ServiceExt as _};

    use super::*;
    use crate::{IssueOptions, MeshTls, Pki};

    fn unit(id: &str) -> Principal {
        Principal::Unit(id.into())
    }

    /// A mesh CA with the township service's and two units' certificates;
    /// t-pine's is revoked. The township's security, and a peer for each unit.
    fn mesh() -> (tempfile::TempDir, Security, Peer, Peer) {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open(dir.path());
        pki.init().unwrap();
        let township = Principal::Service("township".into());
        let opts = IssueOptions::default();
        pki.issue(&township, &opts).unwrap();
        pki.issue(&unit("t-harbour"), &opts).unwrap();
        pki.issue(&unit("t-pine"), &opts).unwrap();
        let peer = |principal: Principal| {
            let cert = std::fs::read(pki.files(&principal).cert).unwrap();
            let (_, pem) = x509_parser::pem::parse_x509_pem(&cert).unwrap();
            let parsed = pem.parse_x509().unwrap();
            Peer {
                remote: None,
                principal: Some(principal),
                serial: parsed.raw_serial().to_vec(),
                not_after: parsed.validity().not_after.timestamp(),
            }
        };
        let (harbour, pine) = (peer(unit("t-harbour")), peer(unit("t-pine")));
        pki.revoke(&unit("t-pine")).unwrap();
        let tls = MeshTls::load(pki.files(&township)).unwrap();
        (dir, Security::Mtls(tls), harbour, pine)
    }

    /// A call through the layer to a service that answers with the mark it
    /// found: its status code, and the proven principal.
    async fn call(security: Security, peer: Option<Peer>) -> (Code, Option<Principal>) {
        let echo = tower::service_fn(|request: Request<()>| async move {
            let mut response = Response::new(tonic::body::Body::empty());
            if let Some(proven) = request.extensions().get::<Proven>() {
                response.extensions_mut().insert(proven.clone());
            }
            Ok::<_, std::convert::Infallible>(response)
        });
        let mut request = Request::builder()
            .uri("/hotline.v1.DispatchService/GetOrder")
            .body(())
            .unwrap();
        if let Some(peer) = peer {
            request.extensions_mut().insert(peer);
        }
        let response = IdentityLayer::new(security)
            .layer(echo)
            .oneshot(request)
            .await
            .unwrap();
        let code = response
            .headers()
            .get("grpc-status")
            .map_or(Code::Ok, |v| Code::from_bytes(v.as_bytes()));
        (
            code,
            response.extensions().get::<Proven>().map(|p| p.0.clone()),
        )
    }

    #[tokio::test]
    async fn marks_a_call_with_the_principal_its_certificate_proves() {
        let (_dir, security, harbour, _) = mesh();
        let (code, proven) = call(security, Some(harbour)).await;
        assert_eq!(code, Code::Ok);
        assert_eq!(proven, Some(unit("t-harbour")));
    }

    #[tokio::test]
    async fn refuses_a_call_without_a_certificate() {
        let (_dir, security, _, _) = mesh();
        assert_eq!(
            call(security.clone(), None).await,
            (Code::Unauthenticated, None)
        );
        // A certificate naming no principal of the mesh proves nothing.
        let nameless = Peer {
            remote: None,
            principal: None,
            serial: vec![1],
            not_after: i64::MAX,
        };
        assert_eq!(
            call(security, Some(nameless)).await,
            (Code::Unauthenticated, None)
        );
    }

    #[tokio::test]
    async fn refuses_a_revoked_or_expired_certificate() {
        let (_dir, security, harbour, pine) = mesh();
        assert_eq!(
            call(security.clone(), Some(pine)).await,
            (Code::Unauthenticated, None)
        );
        let expired = Peer {
            not_after: 0,
            ..harbour
        };
        assert_eq!(
            call(security.clone(), Some(expired.clone())).await,
            (Code::Unauthenticated, None)
        );
        let mut extensions = Extensions::new();
        extensions.insert(expired);
        assert_eq!(prove(&security, &extensions), Err(Unproven::Revoked));
    }

    #[tokio::test]
    async fn proves_nothing_over_plaintext() {
        assert_eq!(call(Security::Plaintext, None).await, (Code::Ok, None));
    }
}
