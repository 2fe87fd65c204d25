//! Objections and arbitration at the city (Art. 12, 14). The city records
//! each objection, refers it to its authority (the centre, or the district
//! under district-first) and applies the ruling to the order's
//! assignments: keep, redirect or joint. Lead redirections count toward the
//! bounce limit; at the limit the centre designates the handler and flags
//! the order.

use crate::tables::orders::{self, Order};
use hotline_core::jurisdiction::{self, Objecting};
use hotline_core::{AssignmentState, Micros, ObjectionState, Role, RulingKind};
use hotline_handler::objection::{check_proposed, page, to_wire};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::handoff::{self, Handoff};
use hotline_runtime::tables::assignments::{self, Assignment as Stored};
use hotline_runtime::tables::objections::{self, Objection as StoredObjection};
use hotline_runtime::{Ctx, guard, idem, meta, wire};
use hotline_store::Conn;

use crate::events::summarise;
use crate::record::{self, locked, note};

pub const NOTIFY: &str = "/hotline.v1.EscalationService/NotifyObjection";

/// The centre's side of objections, served through its EscalationService.
pub struct Arbitration {
    ctx: Ctx,
}

/// Where a ruling sends the order.
enum Target {
    /// A new assignment (or a new epoch of a copy or assist, in a new
    /// role), and whether its deadline is provisional.
    Issue(Stored, bool),
    /// The unit already holds the order in that role: the redirect merges.
    Held(Stored),
}

impl Arbitration {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    pub async fn record(
        &self,
        caller: &meta::Caller,
        r: RecordObjectionRequest,
    ) -> Result<RecordObjectionResponse> {
        if r.unit_id != caller.unit {
            return Err(ServiceError::PermissionDenied(format!(
                "unit {} may not object for unit {}",
                caller.unit, r.unit_id
            )));
        }
        required("order_id", &r.order_id)?;
        required("reason", &r.reason)?;
        check_proposed(&self.ctx, &r.unit_id, &r.proposed_unit)?;
        let time = r
            .time
            .as_ref()
            .map(wire::micros)
            .ok_or_else(|| ServiceError::invalid("time", "required"))?;
        let topology = &self.ctx.topology;
        let policy = &topology.policy;
        let scope = idem::scope("RecordObjection", &caller.unit);
        let mut recorded = None;
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let mut order = locked(tx, &r.order_id).await?;
                let mut a = hotline_handler::held(tx, &r.order_id, &r.unit_id).await?;
                guard::current_epoch(&r.order_id, &r.unit_id, r.epoch, a.epoch)?;
                let objecting = Objecting {
                    role: a.role,
                    state: a.state,
                    designated: a.designated,
                    dispatched_us: a.dispatched_us,
                };
                // The handler checked at its own clock; the city checks the same
                // rules at the time the handler objected.
                jurisdiction::may_object(objecting, time, policy)?;
                let authority =
                    jurisdiction::authority(topology, policy, &r.unit_id, &r.proposed_unit);
                let id = record::next_id(tx, "objection", "OB").await?;
                let o = StoredObjection {
                    objection_id: id.clone(),
                    order_id: r.order_id.clone(),
                    unit_id: r.unit_id.clone(),
                    epoch: a.epoch,
                    role: a.role,
                    reason: r.reason.clone(),
                    proposed_unit: r.proposed_unit.clone(),
                    objected_us: time,
                    authority_unit: authority.clone(),
                    ruling_due_us: policy.ruling_due(time),
                    state: ObjectionState::Pending,
                    ruling: None,
                    ruling_unit: String::new(),
                    ruled_by: String::new(),
                    ruled_us: None,
                    ruling_note: String::new(),
                };
                objections::upsert(tx, &o).await?;
                crate::clocks::arm_ruling(tx, &id, &o.order_id, &authority, o.ruling_due_us, now)
                    .await?;
                a.state.object()?;
                assignments::upsert(tx, &a).await?;
                // The reason stays in the objection, out of the history.
                let detail = format!(
                    "{id} epoch {}: proposes {}; ruled by {authority}",
                    a.epoch, r.proposed_unit
                );
                note(tx, &mut order, now, &r.unit_id, "objected", detail).await?;
                summarise(&self.ctx, tx, &mut order, now).await?;
                orders::update(tx, &order).await?;
                refer(&self.ctx, tx, &o, now).await?;
                let answer = RecordObjectionResponse {
                    objection: Some(to_wire(&o)),
                };
                recorded = Some(o);
                Ok(answer)
            })
            .await?;
        if let Some(o) = recorded {
            tracing::info!(objection = %o.objection_id, order_id = %o.order_id, unit = %o.unit_id, authority = %o.authority_unit, "objection recorded");
        }
        Ok(answer)
    }

    pub async fn rule(
        &self,
        caller: &meta::Caller,
        r: RuleObjectionRequest,
    ) -> Result<RuleObjectionResponse> {
        let id = r
            .name
            .strip_prefix("objections/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .ok_or_else(|| ServiceError::invalid("name", "must be objections/{objection_id}"))?
            .to_string();
        let kind: RulingKind = wire::required_enum("ruling", r.ruling)?;
        let policy = &self.ctx.topology.policy;
        let scope = idem::scope("RuleObjection", &caller.unit);
        // Measured once committed: objection to ruling.
        let mut ruled = None;
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let mut o = objections::get(tx, &id).await?.ok_or_else(|| {
                    ServiceError::not_found("objection", format!("objections/{id}"))
                })?;
                if caller.unit != o.authority_unit {
                    return Err(ServiceError::PermissionDenied(format!(
                        "objections/{id} is ruled by {}; unit {} may not rule on it",
                        o.authority_unit, caller.unit
                    )));
                }
                if o.state != ObjectionState::Pending {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "objections/{id} is already {}",
                        o.state
                    )));
                }
                let plan = jurisdiction::plan_ruling(kind, &o.unit_id, o.role, &r.unit)
                    .map_err(|e| ServiceError::invalid("unit", e))?;
                let mut order = locked(tx, &o.order_id).await?;
                let a = hotline_handler::held(tx, &o.order_id, &o.unit_id).await?;
                if a.epoch != o.epoch || a.state != AssignmentState::Objected {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "objections/{id} is moot: unit {}'s assignment has moved on",
                        o.unit_id
                    )));
                }
                let target = match &plan.added {
                    Some((unit, role)) => {
                        Some(self.target(tx, &order, unit, *role, kind, now).await?)
                    }
                    None => None,
                };

                let mut detail = format!("{id} {kind}");
                if !r.unit.is_empty() {
                    detail += &format!(" to {}", r.unit);
                }
                let mut designate = false;
                if plan.redirects_lead {
                    order.redirect_count += 1;
                    designate = jurisdiction::at_bounce_limit(order.redirect_count as u32, policy);
                    detail += &format!(
                        "; redirect {} of {}",
                        order.redirect_count, policy.bounce_limit
                    );
                }
                note(tx, &mut order, now, &caller.unit, "ruled", detail).await?;
                if plan.objector_kept {
                    // Kept: the first-receiver rule holds and the order is deemed
                    // accepted, in a new epoch the handler is told of.
                    let mut kept = a.clone();
                    kept.epoch += 1;
                    kept.state.keep()?;
                    kept.accepted_us = Some(now);
                    kept.order_seq = order.seq;
                    record::reissue(&self.ctx, tx, &order, &kept, now).await?;
                } else {
                    record::revoke(&self.ctx, tx, &order, &a, now).await?;
                }
                match target {
                    Some(Target::Issue(mut n, provisional)) => {
                        order.deadline_provisional |= provisional;
                        n.designated = designate;
                        n.lead_unit = match kind {
                            RulingKind::Joint => o.unit_id.clone(),
                            _ => a.lead_unit.clone(),
                        };
                        n.order_seq = order.seq;
                        record::issue(&self.ctx, tx, &order, &n, now).await?;
                    }
                    Some(Target::Held(mut e)) if designate => {
                        e.designated = true;
                        // Untouched yet: a new epoch tells the handler; once taken
                        // on, the first-receiver rule already bars an objection.
                        if e.state == AssignmentState::Dispatched {
                            e.epoch += 1;
                            e.order_seq = order.seq;
                            record::reissue(&self.ctx, tx, &order, &e, now).await?;
                        } else {
                            assignments::upsert(tx, &e).await?;
                        }
                    }
                    Some(Target::Held(_)) | None => {}
                }
                if designate {
                    order.bounce_limit_reached = true;
                    order.designated_unit = r.unit.clone();
                    let detail = format!(
                        "{} designated by the centre after {} redirections (bounce limit {})",
                        r.unit, order.redirect_count, policy.bounce_limit
                    );
                    let city = self.ctx.topology.city().id.clone();
                    note(tx, &mut order, now, &city, "designated", detail).await?;
                }
                o.state.rule()?;
                o.ruling = Some(kind);
                o.ruling_unit = r.unit.clone();
                o.ruled_by = caller.unit.clone();
                o.ruled_us = Some(now);
                o.ruling_note = r.note.clone();
                objections::upsert(tx, &o).await?;
                crate::clocks::ruled(tx, &id).await?;
                summarise(&self.ctx, tx, &mut order, now).await?;
                orders::update(tx, &order).await?;
                refer(&self.ctx, tx, &o, now).await?;
                let answer = RuleObjectionResponse {
                    objection: Some(to_wire(&o)),
                };
                ruled = Some((o, designate, now));
                Ok(answer)
            })
            .await?;
        if let Some((o, designate, now)) = ruled {
            let m = &self.ctx.metrics;
            let labels = m.pair(&o.unit_id, &caller.unit, kind.as_str());
            hotline_runtime::metrics::Metrics::observe(
                &m.business.objection_to_ruling,
                &labels,
                now - o.objected_us,
            );
            tracing::info!(objection = %id, order_id = %o.order_id, ruling = %kind, by = %caller.unit, designated = designate, "objection ruled");
        }
        Ok(answer)
    }

    /// Checks the unit a ruling names and plans its assignment.
    async fn target(
        &self,
        conn: &mut Conn,
        order: &Order,
        unit: &str,
        role: Role,
        kind: RulingKind,
        now: Micros,
    ) -> Result<Target> {
        let u = self.ctx.topology.unit(unit).ok_or_else(|| {
            ServiceError::invalid("unit", format!("unit {unit} is not in the topology"))
        })?;
        if !jurisdiction::handles_dispatch(u.tier) || !u.tier.takes(role) {
            return Err(ServiceError::invalid(
                "unit",
                format!(
                    "{unit} is a {} unit, which takes no {role} assignments",
                    u.tier
                ),
            ));
        }
        let existing = assignments::get(conn, &order.order_id, unit).await?;
        // Already holding the order in that role, or leading it: a
        // redirect merges into it; a joint ruling would add nothing.
        let holds = |e: &&Stored| {
            e.state != AssignmentState::Revoked && (e.role == role || e.role == Role::Lead)
        };
        if let Some(e) = existing.as_ref().filter(holds) {
            return match kind {
                RulingKind::Redirect => Ok(Target::Held(e.clone())),
                _ => Err(ServiceError::FailedPrecondition(format!(
                    "unit {unit} already holds orders/{} as {}",
                    order.order_id, e.role
                ))),
            };
        }
        let epoch = existing.map_or(1, |e| e.epoch + 1);
        let due = self.ctx.topology.due(order.urgency, now);
        Ok(Target::Issue(
            record::fresh(
                &self.ctx.topology.policy,
                order,
                unit,
                role,
                epoch,
                now,
                due.at,
            ),
            due.provisional,
        ))
    }
}

/// Tells a district authority of an objection referred to it, or of its
/// fate, through the outbox.
async fn refer(ctx: &Ctx, conn: &mut Conn, o: &StoredObjection, now: Micros) -> Result<()> {
    let city = ctx.topology.city().id.clone();
    if o.authority_unit == city {
        return Ok(());
    }
    let request = NotifyObjectionRequest {
        request_id: format!("notify:{}:{}", o.objection_id, o.state),
        objection: Some(to_wire(o)),
    };
    let route = Handoff {
        message_id: &request.request_id,
        order_id: &o.order_id,
        from_unit: &city,
        target_unit: &o.authority_unit,
        method: NOTIFY,
    };
    handoff::send(conn, route, &request, now).await
}

/// Pending objections on an order overtaken by the centre (a
/// reclassification, a reopen): superseded, their authorities told.
pub async fn supersede_pending(
    ctx: &Ctx,
    conn: &mut Conn,
    order_id: &str,
    now: Micros,
) -> Result<()> {
    let filter = objections::Filter {
        state: Some(ObjectionState::Pending),
        order_id: Some(order_id),
        ..Default::default()
    };
    for mut o in objections::list(conn, &filter, "", i64::MAX).await? {
        o.state.supersede()?;
        o.ruled_by = ctx.topology.city().id.clone();
        o.ruled_us = Some(now);
        objections::upsert(conn, &o).await?;
        refer(ctx, conn, &o, now).await?;
    }
    Ok(())
}

impl Arbitration {
    /// Every objection the centre holds, optionally one order's or in one
    /// state. The centre reads them all.
    pub async fn list(
        &self,
        caller: &meta::Caller,
        r: ListObjectionsRequest,
    ) -> Result<ListObjectionsResponse> {
        guard::is_city(&self.ctx, caller)?;
        let filter = objections::Filter {
            authority_unit: None,
            state: wire::optional_enum("state", r.state)?,
            order_id: Some(r.order_id.as_str()).filter(|s| !s.is_empty()),
        };
        page(&self.ctx, filter, r.page_size, &r.page_token).await
    }
}
