//! Who may do what: a unit acts on its own assignments and reads its own
//! subtree. (Proving the calling unit with credentials comes later.)

use crate::Ctx;
use crate::error::{Result, ServiceError};
use tonic::Request;

use crate::meta::Caller;

/// The target unit is hosted by this process.
pub fn hosted(ctx: &Ctx, unit: &str) -> Result<()> {
    if ctx.hosts(unit) {
        Ok(())
    } else if ctx.topology.unit(unit).is_none() {
        Err(ServiceError::not_found("unit", unit))
    } else {
        Err(ServiceError::FailedPrecondition(format!(
            "unit {unit} is not hosted by service {}",
            ctx.service.name
        )))
    }
}

/// The caller acts for itself only.
pub fn acts_for_itself(caller: &Caller) -> Result<()> {
    if caller.unit == caller.target {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "unit {} may not act for unit {}",
            caller.unit, caller.target
        )))
    }
}

/// The caller is the target unit or above it.
pub fn may_read(ctx: &Ctx, caller: &Caller) -> Result<()> {
    may_read_unit(ctx, &caller.unit, &caller.target)
}

pub fn may_read_unit(ctx: &Ctx, reader: &str, unit: &str) -> Result<()> {
    if ctx.topology.is_within(unit, reader) {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "unit {reader} may not read unit {unit}, which is outside its subtree"
        )))
    }
}

/// The caller is the hotline centre.
pub fn is_city(ctx: &Ctx, caller: &Caller) -> Result<()> {
    let city = &ctx.topology.city().id;
    if &caller.unit == city {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "only the hotline centre ({city}) may do this; caller is {}",
            caller.unit
        )))
    }
}

/// What a call's caller must be to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The hotline centre ([`is_city`]).
    Centre,
    /// The target or a unit above it ([`may_read`]).
    Reader,
    /// The target itself ([`acts_for_itself`]).
    Itself,
}

/// The caller obeys `rule` (else PERMISSION_DENIED) and the target is a
/// unit this process hosts (else NOT_FOUND or FAILED_PRECONDITION, as
/// [`hosted`]): who may ask is answered before what exists here.
pub fn check(ctx: &Ctx, caller: &Caller, rule: Rule) -> Result<()> {
    match rule {
        Rule::Centre => is_city(ctx, caller)?,
        Rule::Reader => may_read(ctx, caller)?,
        Rule::Itself => acts_for_itself(caller)?,
    }
    hosted(ctx, &caller.target)
}

impl Caller {
    /// [`Caller::of`], for a call to a unit this process hosts (else
    /// NOT_FOUND or FAILED_PRECONDITION, as [`hosted`]).
    pub fn hosted<T>(ctx: &Ctx, req: &Request<T>) -> Result<Caller> {
        let caller = Self::of(req)?;
        hosted(ctx, &caller.target)?;
        Ok(caller)
    }

    /// [`Caller::of`], checked by [`check`] against `rule`.
    pub fn checked<T>(ctx: &Ctx, req: &Request<T>, rule: Rule) -> Result<Caller> {
        let caller = Self::of(req)?;
        check(ctx, &caller, rule)?;
        Ok(caller)
    }
}

/// A request's epoch matches the assignment's current one.
pub fn current_epoch(order_id: &str, unit: &str, requested: u64, current: i64) -> Result<()> {
    if requested == 0 {
        return Err(ServiceError::invalid("epoch", "required"));
    }
    if requested as i64 != current {
        return Err(ServiceError::StaleEpoch(format!(
            "epoch {requested} of unit {unit}'s assignment on orders/{order_id} is not current; the current epoch is {current}"
        )));
    }
    Ok(())
}
