//! Call metadata: every call names its target unit and its calling unit.

use tonic::Request;
use tonic::metadata::MetadataValue;

use crate::error::{Result, ServiceError};
use hotline_core::authz::Principal;
use http::HeaderMap;

pub const TARGET: &str = "x-hotline-target";
pub const UNIT: &str = "x-hotline-unit";
/// Metadata by which a channel front asks the centre for an order in the
/// operations form ([`OPERATIONS_VIEW`]) rather than the citizen's: the
/// dashboard's reads, for an operator the front has proven.
pub const VIEW: &str = "x-hotline-view";
/// The value of [`VIEW`] for the operations form.
pub const OPERATIONS_VIEW: &str = "operations";

/// Who is calling which unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub unit: String,
    pub target: String,
    /// Who proved itself for the call (from its certificate, as the
    /// gateway passed it on); `None` only where no door checked it.
    pub principal: Option<Principal>,
}

fn value(headers: &HeaderMap, key: &'static str) -> Result<String> {
    let v = headers
        .get(key)
        .ok_or_else(|| ServiceError::invalid(key, "missing"))?
        .to_str()
        .map_err(|_| ServiceError::invalid(key, "not ascii"))?;
    if v.is_empty() {
        return Err(ServiceError::invalid(key, "missing"));
    }
    Ok(v.to_string())
}

impl Caller {
    /// The caller of a call, as the gate authorised it (it leaves a
    /// `Caller` in the request's extensions); a call that did not pass
    /// the gate (a handler called in-process) is read from its metadata.
    /// Missing units are INVALID_ARGUMENT naming the header.
    pub fn of<T>(req: &Request<T>) -> Result<Caller> {
        if let Some(caller) = req.extensions().get::<Caller>() {
            return Ok(caller.clone());
        }
        let principal = req.extensions().get::<Principal>().cloned();
        Self::from_headers(req.metadata().as_ref(), principal)
    }

    /// The caller named by a call's headers, for `principal`.
    pub fn from_headers(headers: &HeaderMap, principal: Option<Principal>) -> Result<Caller> {
        Ok(Caller {
            unit: value(headers, UNIT)?,
            target: value(headers, TARGET)?,
            principal,
        })
    }
}

/// The same as [`Caller::of`].
pub fn caller<T>(req: &Request<T>) -> Result<Caller> {
    Caller::of(req)
}

/// Wraps a message for a call through the gateway.
pub fn routed<T>(message: T, target: &str, caller: &str) -> Request<T> {
    let mut req = Request::new(message);
    set_route(&mut req, target, caller);
    req
}

pub fn set_route<T>(req: &mut Request<T>, target: &str, caller: &str) {
    let md = req.metadata_mut();
    if let Ok(v) = MetadataValue::try_from(target) {
        md.insert(TARGET, v);
    }
    if let Ok(v) = MetadataValue::try_from(caller) {
        md.insert(UNIT, v);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_caller_is_the_one_the_gate_left_else_the_metadatas() {
        let mut req = routed((), "t-harbour", "d-riverside");
        let read = Caller::of(&req).unwrap();
        assert_eq!(
            (read.unit.as_str(), read.target.as_str()),
            ("d-riverside", "t-harbour")
        );
        assert_eq!(read.principal, None);
        let authorised = Caller {
            unit: "d-riverside".into(),
            target: "t-harbour".into(),
            principal: Some(Principal::Service("gateway".into())),
        };
        req.extensions_mut().insert(authorised.clone());
        assert_eq!(Caller::of(&req).unwrap(), authorised);
    }

    #[test]
    fn a_call_without_its_units_names_the_missing_header() {
        let err = Caller::of(&Request::new(())).unwrap_err();
        assert_eq!(
            tonic::Status::from(err).code(),
            tonic::Code::InvalidArgument
        );
        let mut req = Request::new(());
        set_route(&mut req, "t-harbour", "");
        let status = tonic::Status::from(Caller::of(&req).unwrap_err());
        assert!(status.message().contains(UNIT), "{status:?}");
    }
}
