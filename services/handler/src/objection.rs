//! A handler's jurisdiction objection (管辖异议): checked at the handler's own
//! service, so the caller hears at once when the first-receiver rule or a
//! designation refuses it; then queued for the city, which records it and
//! refers it to the arbitration authority. Also the district's side of
//! district-first arbitration: the objections referred to it.

use hotline_core::jurisdiction::{self, Objecting};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::meta::Caller;
use hotline_runtime::tables::assignments;
use hotline_runtime::tables::objections;
use hotline_runtime::{Ctx, guard, idem, wire};

use crate::effects;
use crate::inbox::Inbox;

/// The proposed unit must be a handling unit other than the objector.
pub fn check_proposed(ctx: &Ctx, objector: &str, proposed: &str) -> Result<()> {
    required("proposed_unit", proposed)?;
    let unit = ctx.topology.unit(proposed).ok_or_else(|| {
        ServiceError::invalid(
            "proposed_unit",
            format!("unit {proposed} is not in the topology"),
        )
    })?;
    if unit.id == objector {
        return Err(ServiceError::invalid(
            "proposed_unit",
            "is the objecting unit itself",
        ));
    }
    if !jurisdiction::handles_dispatch(unit.tier) {
        return Err(ServiceError::invalid(
            "proposed_unit",
            format!(
                "{proposed} is a {} unit, which handles no dispatched orders",
                unit.tier
            ),
        ));
    }
    Ok(())
}

impl Inbox {
    pub(crate) async fn object(
        &self,
        caller: &Caller,
        r: ObjectAssignmentRequest,
    ) -> Result<ObjectAssignmentResponse> {
        let unit = &caller.target;
        required("reason", &r.reason)?;
        check_proposed(&self.ctx, unit, &r.proposed_unit)?;
        let scope = idem::scope("ObjectAssignment", unit);
        let mut raised = None;
        let answer = self
            .ctx
            .apply_once_batched(&scope, &r.request_id, &r, async |tx, writes, now| {
                let mut a = self.current(tx, unit, &r.order_id, r.epoch).await?;
                let objecting = Objecting {
                    role: a.role,
                    state: a.state,
                    designated: a.designated,
                    dispatched_us: a.dispatched_us,
                };
                jurisdiction::may_object(objecting, now, &self.ctx.topology.policy)?;
                let effects = a.state.raise_objection()?;
                assignments::upsert_into(writes, &a)?;
                let cause = effects::Cause {
                    method: "ObjectAssignment",
                    request_id: &r.request_id,
                    note: &r.reason,
                    proposed_unit: &r.proposed_unit,
                };
                effects::run_into(&self.ctx, writes, &a, &effects, &cause, now)?;
                let answer = ObjectAssignmentResponse {
                    assignment: Some(wire::assignment_to_wire(&a)),
                };
                raised = Some(a);
                Ok(answer)
            })
            .await?;
        // The reason stays out of the log: it may quote the request.
        if let Some(a) = raised {
            tracing::info!(unit = %unit, order_id = %a.order_id, epoch = a.epoch, proposed = %r.proposed_unit, "objection raised");
        }
        Ok(answer)
    }
}

/// The city refers an objection to a district under district-first, and
/// later tells it the ruling. A pending copy never overwrites a ruling.
pub async fn notify(
    ctx: &Ctx,
    caller: &Caller,
    r: NotifyObjectionRequest,
) -> Result<NotifyObjectionResponse> {
    guard::check(ctx, caller, guard::Rule::Centre)?;
    let o = r
        .objection
        .as_ref()
        .ok_or_else(|| ServiceError::invalid("objection", "required"))?;
    let incoming = from_wire(o)?;
    if incoming.authority_unit != caller.target {
        return Err(ServiceError::invalid(
            "objection.authority_unit",
            format!(
                "is {}, but the call targets {}",
                incoming.authority_unit, caller.target
            ),
        ));
    }
    let scope = idem::scope("NotifyObjection", &caller.target);
    let mut referred = false;
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, _| {
            let existing = objections::get(tx, &incoming.objection_id).await?;
            let stale = existing.is_some_and(|e| {
                e.state != hotline_core::ObjectionState::Pending
                    && incoming.state == hotline_core::ObjectionState::Pending
            });
            if !stale {
                objections::upsert(tx, &incoming).await?;
            }
            let answer = NotifyObjectionResponse {};
            referred = true;
            Ok(answer)
        })
        .await?;
    if referred {
        tracing::info!(unit = %caller.target, objection = %incoming.objection_id, state = %incoming.state, "objection referred");
    }
    Ok(answer)
}

/// Objections referred to the target unit.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    r: ListObjectionsRequest,
) -> Result<ListObjectionsResponse> {
    guard::check(ctx, caller, guard::Rule::Reader)?;
    let filter = objections::Filter {
        authority_unit: Some(&caller.target),
        state: wire::optional_enum("state", r.state)?,
        order_id: Some(r.order_id.as_str()).filter(|s| !s.is_empty()),
    };
    page(ctx, filter, r.page_size, &r.page_token).await
}

/// One page of objections.
pub async fn page(
    ctx: &Ctx,
    filter: objections::Filter<'_>,
    page_size: i32,
    page_token: &str,
) -> Result<ListObjectionsResponse> {
    let page = wire::Page::parse(page_size, page_token)?;
    let mut c = ctx.db.acquire().await?;
    let rows = objections::list(&mut c, &filter, &page.after, page.limit()).await?;
    let (rows, next) = page.finish(rows, |o| o.objection_id.as_str());
    Ok(ListObjectionsResponse {
        objections: rows.iter().map(to_wire).collect(),
        next_page_token: next,
    })
}

pub fn to_wire(o: &objections::Objection) -> Objection {
    use hotline_runtime::wire::WireEnum;
    Objection {
        name: format!("objections/{}", o.objection_id),
        objection_id: o.objection_id.clone(),
        order_id: o.order_id.clone(),
        unit_id: o.unit_id.clone(),
        epoch: o.epoch as u64,
        role: o.role.to_wire(),
        reason: o.reason.clone(),
        proposed_unit: o.proposed_unit.clone(),
        objected_time: Some(wire::ts(o.objected_us)),
        authority_unit: o.authority_unit.clone(),
        ruling_due_time: Some(wire::ts(o.ruling_due_us)),
        state: o.state.to_wire(),
        ruling: o.ruling.map(|k| k.to_wire()).unwrap_or(0),
        ruling_unit: o.ruling_unit.clone(),
        ruled_by: o.ruled_by.clone(),
        ruled_time: wire::opt_ts(o.ruled_us),
        ruling_note: o.ruling_note.clone(),
    }
}

fn from_wire(o: &Objection) -> Result<objections::Objection> {
    let field = |f: &str| format!("objection.{f}");
    required(&field("objection_id"), &o.objection_id)?;
    required(&field("order_id"), &o.order_id)?;
    let time = |f: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .map(wire::micros)
            .ok_or_else(|| ServiceError::invalid(field(f), "required"))
    };
    Ok(objections::Objection {
        objection_id: o.objection_id.clone(),
        order_id: o.order_id.clone(),
        unit_id: o.unit_id.clone(),
        epoch: o.epoch as i64,
        role: wire::required_enum(&field("role"), o.role)?,
        reason: o.reason.clone(),
        proposed_unit: o.proposed_unit.clone(),
        objected_us: time("objected_time", &o.objected_time)?,
        authority_unit: o.authority_unit.clone(),
        ruling_due_us: time("ruling_due_time", &o.ruling_due_time)?,
        state: wire::required_enum(&field("state"), o.state)?,
        ruling: wire::optional_enum(&field("ruling"), o.ruling)?,
        ruling_unit: o.ruling_unit.clone(),
        ruled_by: o.ruled_by.clone(),
        ruled_us: o.ruled_time.as_ref().map(wire::micros),
        ruling_note: o.ruling_note.clone(),
    })
}
