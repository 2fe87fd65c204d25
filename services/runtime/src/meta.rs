//! Call metadata: every call names its target unit and its calling unit.

use tonic::Request;
use tonic::metadata::MetadataValue;

use crate::error::{Result, ServiceError};
use hotline_core::authz::Principal;

pub const TARGET: &str = "x-hotline-target";
pub const UNIT: &str = "x-hotline-unit";

/// Who is calling which unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub unit: String,
    pub target: String,
    /// Who proved itself for the call (from its certificate, as the
    /// gateway passed it on); `None` only where no door checked it.
    pub principal: Option<Principal>,
}

fn value<T>(req: &Request<T>, key: &'static str) -> Result<String> {
    let v = req
        .metadata()
        .get(key)
        .ok_or_else(|| ServiceError::invalid(key, "missing"))?
        .to_str()
        .map_err(|_| ServiceError::invalid(key, "not ascii"))?;
    if v.is_empty() {
        return Err(ServiceError::invalid(key, "missing"));
    }
    Ok(v.to_string())
}

pub fn caller<T>(req: &Request<T>) -> Result<Caller> {
    Ok(Caller {
        unit: value(req, UNIT)?,
        target: value(req, TARGET)?,
        principal: req.extensions().get::<Principal>().cloned(),
    })
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
