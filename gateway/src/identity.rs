//! Who is calling: the principal proven by the client certificate, the unit
//! it acts for, and the authorization table's word on the call. The
//! gateway passes the proven principal on in `x-hotline-principal`,
//! replacing whatever the caller sent there.

use std::sync::Arc;

use hotline_core::Topology;
use hotline_core::authz::{self, Call, Principal};
use hotline_identity::{PRINCIPAL_HEADER, Peer, Security};
use http::{HeaderValue, Request};

use crate::{UNIT_HEADER, error::GatewayError};

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
        if self.security.is_mtls() {
            let peer = extensions
                .get::<Peer>()
                .filter(|p| p.principal.is_some())
                .ok_or(GatewayError::Unauthenticated)?;
            // The connection may outlive the certificate's revocation.
            if !self.security.peer_valid(peer) {
                return Err(GatewayError::Revoked);
            }
            return peer.principal.clone().ok_or(GatewayError::Unauthenticated);
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

    /// Proves and authorizes a call to be forwarded to `target`, and marks
    /// it with the proven principal (and its unit, when it named none).
    pub(crate) fn admit<B>(
        &self,
        request: &mut Request<B>,
        target: &str,
    ) -> Result<(), GatewayError> {
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
            let call = Call {
                method: request.uri().path(),
                principal: &principal,
                acting: &acting,
                target,
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
        Ok(())
    }
}
