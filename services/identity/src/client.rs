//! A client channel to the gateway that presents the right certificate for
//! each call: a department's system holds one; the demo, the simulator,
//! the tests and `hotline up`'s supervisor hold the CA and present, for
//! each call, the certificate of the unit named in `x-hotline-unit` (or an
//! operator's, for operator work), so that every unit still proves itself.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hotline_core::authz::Principal;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceExt as _;

use crate::PRINCIPAL_HEADER;
use crate::net::Security;
use crate::pki::{IssueOptions, Pki};
use crate::tls::MeshTls;

/// Whose certificates a client presents.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// No TLS (`--insecure-plaintext`): identities are claimed in headers.
    Plaintext,
    /// One holder's key and certificate.
    Holder(Arc<MeshTls>),
    /// The mesh CA itself: each unit's certificate is issued on first use.
    Mint(Pki),
}

impl Credentials {
    pub fn security(&self) -> anyhow::Result<Security> {
        match self {
            Credentials::Plaintext => Ok(Security::Plaintext),
            Credentials::Holder(tls) => Ok(Security::Mtls(tls.clone())),
            Credentials::Mint(pki) => {
                // The CA's holder of last resort: calls that name no unit.
                let files = pki.ensure(
                    &Principal::Operator(OPERATOR.into()),
                    &IssueOptions::default(),
                )?;
                Ok(Security::Mtls(MeshTls::load(files)?))
            }
        }
    }
}

/// The operator a minting client acts as for operator work: the default
/// one the topology grants when it names none.
pub const OPERATOR: &str = "ops";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A gateway channel choosing its certificate per call.
#[derive(Clone)]
pub struct MeshChannel {
    endpoint: Endpoint,
    credentials: Credentials,
    /// Present this holder on every call rather than the unit's.
    acting_as: Option<Principal>,
    channels: Arc<Mutex<HashMap<Option<Principal>, Channel>>>,
}

impl std::fmt::Debug for MeshChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshChannel")
            .field("endpoint", &self.endpoint.uri())
            .field("acting_as", &self.acting_as)
            .finish()
    }
}

impl MeshChannel {
    pub fn new(endpoint: Endpoint, credentials: Credentials) -> Self {
        Self {
            endpoint,
            credentials,
            acting_as: None,
            channels: Arc::default(),
        }
    }

    /// The same channel, presenting `principal` on every call (an operator
    /// for control and unmask work).
    pub fn acting_as(&self, principal: Principal) -> Self {
        Self {
            acting_as: Some(principal),
            ..self.clone()
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Who presents itself for a call made for `unit`.
    fn holder(&self, unit: Option<&str>) -> Option<Principal> {
        match (&self.credentials, &self.acting_as) {
            (Credentials::Holder(_), _) => None,
            (_, Some(p)) => Some(p.clone()),
            (Credentials::Mint(_), None) => Some(unit.map_or_else(
                || Principal::Operator(OPERATOR.into()),
                |u| Principal::Unit(u.into()),
            )),
            (Credentials::Plaintext, None) => None,
        }
    }

    fn channel(&self, holder: Option<Principal>) -> Result<Channel, BoxError> {
        if let Some(c) = self.lock().get(&holder) {
            return Ok(c.clone());
        }
        // Made without the lock: minting a unit's certificate must not
        // hold up the calls of units that have their channels. Should two
        // calls make one at once, the first kept serves both.
        let gateway = Some(Principal::Service("gateway".into()));
        let channel = match (&self.credentials, &holder) {
            (Credentials::Plaintext, _) => {
                Security::Plaintext.channel(self.endpoint.clone(), None)?
            }
            (Credentials::Holder(tls), _) => {
                Security::Mtls(tls.clone()).channel(self.endpoint.clone(), gateway)?
            }
            (Credentials::Mint(pki), Some(holder)) => {
                // In memory: a run acting as hundreds of units writes no
                // file for any of them.
                let minted = pki.mint(holder, &IssueOptions::default())?;
                let tls = MeshTls::minted(pki.files(holder), minted)?;
                Security::Mtls(tls).channel(self.endpoint.clone(), gateway)?
            }
            (Credentials::Mint(_), None) => return Err("no holder to present".into()),
        };
        Ok(self.lock().entry(holder).or_insert(channel).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<Principal>, Channel>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl tower::Service<http::Request<Body>> for MeshChannel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // The channel is chosen per call; its readiness is awaited there.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let unit = request
            .headers()
            .get(crate::UNIT_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty());
        let holder = self.holder(unit);
        if matches!(self.credentials, Credentials::Plaintext) {
            // Nothing proves it over plaintext: the gateway believes it.
            if let Some(p) = &self.acting_as
                && let Ok(v) = http::HeaderValue::from_str(&p.path())
            {
                request.headers_mut().insert(PRINCIPAL_HEADER, v);
            }
        }
        let channel = self.channel(holder);
        Box::pin(async move {
            let channel = channel?;
            Ok(channel.oneshot(request).await?)
        })
    }
}
