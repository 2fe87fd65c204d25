//! Handing an order down to a community (Art. 17), and the parts units a
//! lead involved report back to it (Art. 14). The duty-list and assist-item
//! rules are checked here, at the handler's own service, so the caller
//! hears at once; the city then issues the community's assignment.

use crate::tables::part_reports::{self, PartReport as StoredPart};
use hotline_core::jurisdiction;
use hotline_core::{Role, Tier};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::handoff::{self, Handoff};
use hotline_runtime::meta::Caller;
use hotline_runtime::tables::assignments::Assignment as Stored;
use hotline_runtime::wire::{self, WireEnum};
use hotline_runtime::{Ctx, guard, idem};

use crate::inbox::Inbox;

pub const RECORD_HAND_DOWN: &str = "/hotline.v1.DispatchService/RecordHandDown";
pub const REPORT_PART: &str = "/hotline.v1.DispatchService/ReportPart";

/// The community must lie directly under the handing unit.
pub fn check_community(ctx: &Ctx, unit: &str, community: &str) -> Result<()> {
    required("community_unit", community)?;
    match ctx.topology.unit(community) {
        Some(c) if c.tier == Tier::Community && c.parent.as_deref() == Some(unit) => Ok(()),
        Some(_) => Err(ServiceError::invalid(
            "community_unit",
            format!("{community} is not a community of {unit}"),
        )),
        None => Err(ServiceError::invalid(
            "community_unit",
            format!("unit {community} is not in the topology"),
        )),
    }
}

/// ASSIST, or LEAD for the community's own duty-list matters.
pub fn hand_down_role(v: i32) -> Result<Role> {
    match wire::required_enum::<Role>("role", v)? {
        r @ (Role::Assist | Role::Lead) => Ok(r),
        other => Err(ServiceError::invalid(
            "role",
            format!("a community is handed an order to assist or lead, not as {other}"),
        )),
    }
}

impl Inbox {
    pub(crate) async fn hand_down(
        &self,
        caller: &Caller,
        r: HandDownAssignmentRequest,
    ) -> Result<HandDownAssignmentResponse> {
        let unit = &caller.target;
        check_community(&self.ctx, unit, &r.community_unit)?;
        let role = hand_down_role(r.role)?;
        let scope = idem::scope("HandDownAssignment", unit);
        let mut handed = None;
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let a = self.current(tx, unit, &r.order_id, r.epoch).await?;
                let item = self.ctx.topology.item(&a.category_code).ok_or_else(|| {
                    ServiceError::FailedPrecondition(format!(
                        "category {} is not in the current catalogue",
                        a.category_code
                    ))
                })?;
                jurisdiction::may_hand_down(
                    item,
                    a.role,
                    a.state,
                    role,
                    &self.ctx.topology.policy,
                )?;
                let record = RecordHandDownRequest {
                    request_id: format!("{unit}:HandDownAssignment:{}", r.request_id),
                    order_id: a.order_id.clone(),
                    unit_id: unit.clone(),
                    epoch: a.epoch as u64,
                    community_unit: r.community_unit.clone(),
                    role: role.to_wire(),
                    time: Some(wire::ts(now)),
                };
                let city = self.ctx.topology.city().id.clone();
                let route = Handoff {
                    message_id: &record.request_id,
                    order_id: &a.order_id,
                    from_unit: unit,
                    target_unit: &city,
                    method: RECORD_HAND_DOWN,
                };
                handoff::send(tx, route, &record, now).await?;
                let answer = HandDownAssignmentResponse {
                    assignment: Some(wire::assignment_to_wire(&a)),
                };
                handed = Some(a.order_id);
                Ok(answer)
            })
            .await?;
        if let Some(order_id) = handed {
            tracing::info!(unit = %unit, order_id = %order_id, community = %r.community_unit, role = %role, "handed down");
        }
        Ok(answer)
    }

    /// A unit the lead involved reports its part: kept at the lead's
    /// service for the lead to read with its assignment.
    pub(crate) async fn record_part(
        &self,
        caller: &Caller,
        r: ReportPartRequest,
    ) -> Result<ReportPartResponse> {
        guard::hosted(&self.ctx, &caller.target)?;
        required("order_id", &r.order_id)?;
        let p = r
            .part
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("part", "required"))?;
        if p.unit_id != caller.unit {
            return Err(ServiceError::PermissionDenied(format!(
                "unit {} may not report a part for unit {}",
                caller.unit, p.unit_id
            )));
        }
        let part = StoredPart {
            order_id: r.order_id.clone(),
            lead_unit: caller.target.clone(),
            unit_id: p.unit_id.clone(),
            epoch: p.epoch as i64,
            role: wire::required_enum("part.role", p.role)?,
            outcome: wire::required_enum("part.outcome", p.outcome)?,
            body: p.text.clone(),
            time_us: p
                .time
                .as_ref()
                .map(wire::micros)
                .ok_or_else(|| ServiceError::invalid("part.time", "required"))?,
        };
        // Keyed by (order, lead, unit, epoch): a retry stores nothing new.
        let mut c = self.ctx.db.acquire().await?;
        part_reports::put_part(&mut c, &part).await?;
        tracing::info!(lead = %caller.target, unit = %part.unit_id, order_id = %part.order_id, "part reported");
        Ok(ReportPartResponse {})
    }
}

/// The report of a reply by a unit working under a lead, queued to the
/// lead in the reply's own transaction.
pub fn part_report(a: &Stored, now: hotline_core::Micros) -> Option<ReportPartRequest> {
    if a.lead_unit.is_empty() || a.lead_unit == a.unit_id {
        return None;
    }
    let request = ReportPartRequest {
        request_id: format!("part:{}:{}:{}", a.order_id, a.unit_id, a.epoch),
        order_id: a.order_id.clone(),
        part: Some(PartReport {
            unit_id: a.unit_id.clone(),
            role: a.role.to_wire(),
            epoch: a.epoch as u64,
            outcome: a.outcome.map(|o| o.to_wire()).unwrap_or(0),
            text: a.reply_text.clone(),
            time: Some(wire::ts(now)),
        }),
    };
    Some(request)
}

/// Parts reported to a lead, for its view of the assignment.
pub fn parts_to_wire(parts: &[StoredPart]) -> Vec<PartReport> {
    parts
        .iter()
        .map(|p| PartReport {
            unit_id: p.unit_id.clone(),
            role: p.role.to_wire(),
            epoch: p.epoch as u64,
            outcome: p.outcome.to_wire(),
            text: p.body.clone(),
            time: Some(wire::ts(p.time_us)),
        })
        .collect()
}
