//! The whistle and check-in (吹哨报到, Art. 16, 33). A township leading an
//! order whistles; its district registers the whistle, summons the
//! departments and keeps their check-in clocks; a department that checks in
//! becomes a co-handler; a missed check-in is escalated to the district and
//! recorded against the department.

use crate::tables::whistles::{self, Summons};
use hotline_core::kinds::{HandoffKind, TimerKind};
use hotline_core::{Micros, SummonsState, WhistleKind, deadline};
use hotline_proto::v1::{self as pb, *};
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::handoff::{self, Handoff};
use hotline_runtime::sweeper::TimerEffects;
use hotline_runtime::tables::misc;
use hotline_runtime::tables::timers::{self, Arm, Timer};
use hotline_runtime::wire::{self, WireEnum};
use hotline_runtime::{Ctx, guard, idem, meta};
use hotline_store::Conn;
use tonic::Request;

use crate::effects;
use crate::notice;
use crate::tell::tell_city;
use hotline_core::Tier;

pub const REGISTER: &str = "/hotline.v1.EscalationService/RegisterWhistle";
pub const CHECK_IN_TIMER: TimerKind = TimerKind::CheckIn;

fn summons_to_wire(s: &Summons) -> pb::Summons {
    pb::Summons {
        department: s.department.clone(),
        due_time: Some(wire::ts(s.due_us)),
        state: s.state.as_str().to_string(),
        checked_in_time: wire::opt_ts(s.checked_in_us),
    }
}

/// A township's system whistles on an order its township leads.
pub async fn whistle(
    ctx: &Ctx,
    tier: Tier,
    req: Request<WhistleRequest>,
) -> Result<WhistleResponse> {
    let caller = meta::Caller::checked(ctx, &req, guard::Rule::Itself)?;
    if !tier.may_whistle() {
        return Err(ServiceError::PermissionDenied(format!(
            "only a township leading the order may whistle; {} is a {}",
            caller.unit, tier
        )));
    }
    let r = req.into_inner();
    required("order_id", &r.order_id)?;
    required("reason", &r.reason)?;
    let kind: WhistleKind = wire::required_enum("kind", r.kind)?;
    if r.departments.is_empty() {
        return Err(ServiceError::invalid(
            "departments",
            "name at least one department to summon",
        ));
    }
    for d in &r.departments {
        match ctx.topology.unit(d) {
            Some(u) if u.tier == hotline_core::Tier::Department => {}
            _ => {
                return Err(ServiceError::invalid(
                    "departments",
                    format!("{d} is not a department"),
                ));
            }
        }
    }
    let unit = caller.target.clone();
    let district = ctx
        .topology
        .parent_of(&unit)
        .map(|p| p.id.clone())
        .ok_or_else(|| ServiceError::FailedPrecondition(format!("unit {unit} has no district")))?;
    let scope = idem::scope("Whistle", &unit);
    let mut blown = false;
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let a = crate::held(tx, &r.order_id, &unit).await?;
            guard::current_epoch(&r.order_id, &unit, r.epoch, a.epoch)?;
            hotline_runtime::trace::record_order(&r.order_id);
            hotline_runtime::trace::link_order_trace(&a.trace_parent);
            if !a.role.is_lead() {
                return Err(ServiceError::PermissionDenied(format!(
                    "unit {unit} does not lead orders/{}: only the lead may whistle",
                    r.order_id
                )));
            }
            if !a.state.is_open() {
                return Err(ServiceError::FailedPrecondition(format!(
                    "orders/{} is {} at unit {unit}; nothing to whistle for",
                    r.order_id, a.state
                )));
            }
            let n = misc::next(tx, "whistle").await?;
            let whistle_id = format!("WH-{unit}-{n:06}");
            let w = pb::Whistle {
                whistle_id: whistle_id.clone(),
                order_id: r.order_id.clone(),
                from_unit: unit.clone(),
                district_unit: district.clone(),
                kind: kind.to_wire(),
                reason: r.reason.clone(),
                time: Some(wire::ts(now)),
                summonses: r
                    .departments
                    .iter()
                    .map(|d| pb::Summons {
                        department: d.clone(),
                        ..Default::default()
                    })
                    .collect(),
            };
            let message_id = format!("whistle:{whistle_id}");
            let register = RegisterWhistleRequest {
                request_id: message_id.clone(),
                whistle: Some(w),
            };
            let route = Handoff {
                message_id: &message_id,
                order_id: &r.order_id,
                from_unit: &unit,
                target_unit: &district,
                method: REGISTER,
            };
            handoff::send_as(tx, route, HandoffKind::Whistle, &register, now).await?;
            let answer = WhistleResponse {
                whistle_id,
                district_unit: district,
            };
            blown = true;
            Ok(answer)
        })
        .await?;
    if blown {
        tracing::info!(unit = %unit, order_id = %r.order_id, kind = %kind, departments = r.departments.len(), "whistle blown");
    }
    Ok(answer)
}

fn registry(ctx: &Ctx, tier: Tier, unit: &str) -> Result<()> {
    guard::hosted(ctx, unit)?;
    if tier.registers_whistles() {
        Ok(())
    } else {
        Err(ServiceError::FailedPrecondition(format!(
            "unit {unit} is a {}; districts register whistles",
            tier
        )))
    }
}

/// The district registers a whistle from one of its townships.
pub async fn register(
    ctx: &Ctx,
    tier: Tier,
    req: Request<RegisterWhistleRequest>,
) -> Result<RegisterWhistleResponse> {
    let caller = meta::Caller::of(&req)?;
    registry(ctx, tier, &caller.target)?;
    if ctx.topology.parent_of(&caller.unit).map(|p| p.id.as_str()) != Some(caller.target.as_str()) {
        return Err(ServiceError::PermissionDenied(format!(
            "district {} registers whistles of its own townships, not of {}",
            caller.target, caller.unit
        )));
    }
    let r = req.into_inner();
    let w = r
        .whistle
        .clone()
        .ok_or_else(|| ServiceError::invalid("whistle", "required"))?;
    required("whistle.whistle_id", &w.whistle_id)?;
    let kind: WhistleKind = wire::required_enum("whistle.kind", w.kind)?;
    let time = w
        .time
        .as_ref()
        .map(wire::micros)
        .ok_or_else(|| ServiceError::invalid("whistle.time", "required"))?;
    if w.from_unit != caller.unit {
        return Err(ServiceError::invalid(
            "whistle.from_unit",
            "must be the calling township",
        ));
    }
    let scope = idem::scope("RegisterWhistle", &caller.unit);
    let mut registered = false;
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let stored = whistles::Whistle {
                whistle_id: w.whistle_id.clone(),
                order_id: w.order_id.clone(),
                from_unit: w.from_unit.clone(),
                district_unit: caller.target.clone(),
                kind,
                reason: w.reason.clone(),
                time_us: time,
            };
            whistles::insert(tx, &stored).await?;
            let due = deadline::check_in_due(&ctx.topology.policy, kind, time);
            let departments: Vec<String> =
                w.summonses.iter().map(|s| s.department.clone()).collect();
            for d in &departments {
                whistles::upsert_summons(
                    tx,
                    &Summons {
                        whistle_id: w.whistle_id.clone(),
                        department: d.clone(),
                        due_us: due,
                        state: SummonsState::Summoned,
                        checked_in_us: None,
                    },
                )
                .await?;
                let timer_id = effects::clock_id(TimerKind::CheckIn, &w.whistle_id, d);
                let arm = Arm {
                    timer_id: &timer_id,
                    kind: CHECK_IN_TIMER,
                    order_id: &w.order_id,
                    unit_id: d,
                    epoch: 0,
                    due_us: due,
                    payload: &w.whistle_id,
                };
                timers::arm(tx, arm, now).await?;
                let summons = notice::notice(
                    format!("summons:{}:{d}", w.whistle_id),
                    d,
                    &w.order_id,
                    NoticeKind::WhistleSummons,
                    now,
                    format!(
                        "whistle {} ({kind}) by {}: check in with {} by {}",
                        w.whistle_id, w.from_unit, caller.target, due
                    ),
                );
                notice::send(tx, &caller.target, summons, now).await?;
            }
            let event = RecordEscalationEventRequest {
                request_id: format!("whistle-registered:{}", w.whistle_id),
                order_id: w.order_id.clone(),
                kind: EscalationEventKind::WhistleRegistered as i32,
                from_unit: caller.target.clone(),
                to_unit: w.from_unit.clone(),
                time: Some(wire::ts(now)),
                detail: format!(
                    "{} kind={kind} summoned={}",
                    w.whistle_id,
                    departments.join(",")
                ),
                whistle_id: w.whistle_id.clone(),
                summoned: departments.clone(),
                check_in_due_time: Some(wire::ts(due)),
            };
            tell_city(ctx, tx, &caller.target, event, now).await?;
            let answer = RegisterWhistleResponse {};
            registered = true;
            Ok(answer)
        })
        .await?;
    if registered {
        tracing::info!(district = %caller.target, whistle = %w.whistle_id, order_id = %w.order_id, "whistle registered");
    }
    Ok(answer)
}

/// A summoned department checks in.
pub async fn check_in(
    ctx: &Ctx,
    tier: Tier,
    req: Request<CheckInRequest>,
) -> Result<CheckInResponse> {
    let caller = meta::Caller::of(&req)?;
    registry(ctx, tier, &caller.target)?;
    let r = req.into_inner();
    required("whistle_id", &r.whistle_id)?;
    let scope = idem::scope("CheckIn", &caller.unit);
    // Measured once committed: the first check-in's wait.
    let mut checked_in = None;
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let w = whistles::get(tx, &r.whistle_id)
                .await?
                .ok_or_else(|| ServiceError::not_found("whistle", &r.whistle_id))?;
            let mut s = whistles::summons(tx, &r.whistle_id)
                .await?
                .into_iter()
                .find(|s| s.department == caller.unit)
                .ok_or_else(|| {
                    ServiceError::PermissionDenied(format!(
                        "unit {} was not summoned by whistle {}",
                        caller.unit, r.whistle_id
                    ))
                })?;
            hotline_runtime::trace::record_order(&w.order_id);
            let first = s.checked_in_us.is_none();
            if first {
                let effects = s.state.report_in()?;
                effects::run_summons(ctx, tx, &caller.target, &w, &mut s, &effects, now).await?;
                whistles::upsert_summons(tx, &s).await?;
            }
            let answer = CheckInResponse {
                summons: Some(summons_to_wire(&s)),
            };
            if first {
                checked_in = Some((w, s.department, now));
            }
            Ok(answer)
        })
        .await?;
    if let Some((w, department, now)) = checked_in {
        let m = &ctx.metrics;
        let labels = m.pair(&w.from_unit, &department, w.kind.as_str());
        hotline_runtime::metrics::Metrics::observe(
            &m.business.whistle_to_check_in,
            &labels,
            now - w.time_us,
        );
    }
    Ok(answer)
}

/// Reads a whistle: the centre, the district and anyone above it, the
/// whistling township and the summoned departments.
pub async fn get(
    ctx: &Ctx,
    tier: Tier,
    req: Request<GetWhistleRequest>,
) -> Result<GetWhistleResponse> {
    let caller = meta::Caller::of(&req)?;
    registry(ctx, tier, &caller.target)?;
    let mut c = ctx.db.acquire().await?;
    let id = &req.get_ref().whistle_id;
    let w = whistles::get(&mut c, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("whistle", id))?;
    let summonses = whistles::summons(&mut c, id).await?;
    let involved =
        caller.unit == w.from_unit || summonses.iter().any(|s| s.department == caller.unit);
    if !involved {
        guard::may_read(ctx, &caller)?;
    }
    Ok(GetWhistleResponse {
        whistle: Some(pb::Whistle {
            whistle_id: w.whistle_id,
            order_id: w.order_id,
            from_unit: w.from_unit,
            district_unit: w.district_unit,
            kind: w.kind.to_wire(),
            reason: w.reason,
            time: Some(wire::ts(w.time_us)),
            summonses: summonses.iter().map(summons_to_wire).collect(),
        }),
    })
}

/// The district's timers: a check-in deadline passing.
pub struct RegistryTimers {
    pub ctx: Ctx,
}

#[tonic::async_trait]
impl TimerEffects for RegistryTimers {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        if t.kind != CHECK_IN_TIMER {
            return Ok(());
        }
        let Some(w) = whistles::get(conn, &t.payload).await? else {
            return Ok(());
        };
        let Some(mut s) = whistles::summons(conn, &w.whistle_id)
            .await?
            .into_iter()
            .find(|s| s.department == t.unit_id)
        else {
            return Ok(());
        };
        let effects = match s.state {
            SummonsState::Summoned => s.state.lapse()?,
            // Checked in before the deadline fired, or already missed.
            SummonsState::CheckedIn | SummonsState::Missed | SummonsState::Late => {
                return Ok(());
            }
        };
        whistles::upsert_summons(conn, &s).await?;
        effects::run_summons(&self.ctx, conn, &w.district_unit, &w, &mut s, &effects, now).await
    }
}
