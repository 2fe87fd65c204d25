//! The handler's executor: runs the effects a move returned
//! ([`hotline_core::lifecycle::effects`]) inside the move's transaction.
//! It decides nothing: which effects follow which move is core's table;
//! here each effect becomes a stamp, an outbox message or a timer.

use crate::tables::notices;
use crate::tables::whistles::{Summons, Whistle};
use hotline_core::lifecycle::effects::{
    Effect, HandoffKind, Notified, Stamp, SummonsEffect, SummonsReport, TimerKind,
};
use hotline_core::{Micros, lifecycle::Report};
use hotline_proto::v1::*;
use hotline_runtime::Ctx;
use hotline_runtime::error::Result;
use hotline_runtime::handoff::{self, Handoff};
use hotline_runtime::tables::assignments::Assignment as Stored;
use hotline_runtime::tables::timers;
use hotline_runtime::wire::{self, WireEnum};
use hotline_store::{Batch, Conn};

use crate::notice;
use crate::tell::tell_city;

/// Where a referred objection goes: the city records and refers it.
pub const RECORD_OBJECTION: &str = "/hotline.v1.EscalationService/RecordObjection";

pub const RECORD_EVENT: &str = "/hotline.v1.DispatchService/RecordAssignmentEvent";

/// The call that moved an assignment: what its messages are keyed by and
/// carry.
pub struct Cause<'a> {
    /// The RPC's name, part of the messages' ids.
    pub method: &'static str,
    pub request_id: &'a str,
    /// The progress note, the reply text or the objection's reason.
    pub note: &'a str,
    /// The unit an objection proposes instead.
    pub proposed_unit: &'a str,
}

/// Applies the move's stamps to the assignment, before it is stored.
pub fn stamp(a: &mut Stored, effects: &[Effect], note: &str, now: Micros) {
    for e in effects {
        match *e {
            Effect::Stamp(Stamp::Accepted) => a.accepted_us = Some(now),
            Effect::Stamp(Stamp::Contacted) => {
                a.contacted_us.get_or_insert(now);
            }
            Effect::Stamp(Stamp::Progress) => a.progress_note = note.to_string(),
            Effect::Stamp(Stamp::Replied(outcome)) => {
                a.replied_us = Some(now);
                a.outcome = Some(outcome);
                a.reply_text = note.to_string();
            }
            Effect::ReportToCity(_) | Effect::ReportPartToLead | Effect::ReferObjection => {}
        }
    }
}

/// Queues the move's messages into `writes`, after the stamped
/// assignment: they reach the store with the call's other last writes.
pub fn run_into(
    ctx: &Ctx,
    writes: &mut Batch,
    a: &Stored,
    effects: &[Effect],
    cause: &Cause<'_>,
    now: Micros,
) -> Result<()> {
    let unit = &a.unit_id;
    let request_id = format!("{unit}:{}:{}", cause.method, cause.request_id);
    for e in effects {
        match *e {
            Effect::Stamp(_) => {} // applied by `stamp` before storing
            Effect::ReportToCity(report) => {
                let event = RecordAssignmentEventRequest {
                    request_id: request_id.clone(),
                    order_id: a.order_id.clone(),
                    unit_id: unit.clone(),
                    epoch: a.epoch as u64,
                    kind: event_kind(report) as i32,
                    time: Some(wire::ts(now)),
                    note: cause.note.to_string(),
                    outcome: a.outcome.map(|o| o.to_wire()).unwrap_or(0),
                    requested_due_time: None,
                };
                report_to_city_into(ctx, writes, report.handoff_kind(), &event, now)?;
            }
            Effect::ReportPartToLead => {
                if let Some(part) = crate::handdown::part_report(a, now) {
                    let route = Handoff {
                        message_id: &part.request_id,
                        order_id: &a.order_id,
                        from_unit: unit,
                        target_unit: &a.lead_unit,
                        method: crate::handdown::REPORT_PART,
                    };
                    handoff::send_into(writes, route, &part, now)?;
                }
            }
            Effect::ReferObjection => {
                let record = RecordObjectionRequest {
                    request_id: request_id.clone(),
                    order_id: a.order_id.clone(),
                    unit_id: unit.clone(),
                    epoch: a.epoch as u64,
                    reason: cause.note.to_string(),
                    proposed_unit: cause.proposed_unit.to_string(),
                    time: Some(wire::ts(now)),
                };
                let city = ctx.topology.city().id.clone();
                let route = Handoff {
                    message_id: &record.request_id,
                    order_id: &a.order_id,
                    from_unit: unit,
                    target_unit: &city,
                    method: RECORD_OBJECTION,
                };
                handoff::send_into(writes, route, &record, now)?;
            }
        }
    }
    Ok(())
}

/// The wire kind of an assignment event the city records.
fn event_kind(report: Report) -> AssignmentEventKind {
    match report {
        Report::Accepted => AssignmentEventKind::Accepted,
        // The relay reports contacts; kept for completeness of the table.
        Report::Contacted => AssignmentEventKind::Unspecified,
        Report::Progress => AssignmentEventKind::Progress,
        Report::Replied => AssignmentEventKind::Replied,
    }
}

/// Queues an assignment event for the city into `writes`, in the
/// caller's transaction.
pub fn report_to_city_into(
    ctx: &Ctx,
    writes: &mut Batch,
    kind: HandoffKind,
    event: &RecordAssignmentEventRequest,
    now: Micros,
) -> Result<()> {
    let city = ctx.topology.city().id.clone();
    let route = Handoff {
        message_id: &event.request_id,
        order_id: &event.order_id,
        from_unit: &event.unit_id,
        target_unit: &city,
        method: RECORD_EVENT,
    };
    handoff::send_all_into(writes, &[(route, kind, event)], now)
}

/// The id of a summoned department's clock (a timer's id).
pub fn clock_id(kind: TimerKind, whistle_id: &str, department: &str) -> String {
    format!("{}:{whistle_id}:{department}", kind.as_str())
}

/// Runs a summons's effects at the district (`district`, the sender of
/// its messages) that registered the whistle. Stamps apply to `s`; the
/// caller stores it.
pub async fn run_summons(
    ctx: &Ctx,
    conn: &mut Conn,
    district: &str,
    w: &Whistle,
    s: &mut Summons,
    effects: &[SummonsEffect],
    now: Micros,
) -> Result<()> {
    for e in effects {
        match *e {
            SummonsEffect::StampCheckIn => s.checked_in_us = Some(now),
            SummonsEffect::StopClock(kind) => {
                timers::cancel_one(conn, &clock_id(kind, &w.whistle_id, &s.department)).await?;
            }
            SummonsEffect::NotifyMissed(Notified::District) => {
                let clock = clock_id(TimerKind::CheckIn, &w.whistle_id, &s.department);
                let escalated = notices::Notice {
                    notice_id: format!("missed:{clock}"),
                    unit_id: w.district_unit.clone(),
                    order_id: w.order_id.clone(),
                    kind: hotline_core::kinds::NoticeKind::CheckInMissed,
                    from_unit: w.district_unit.clone(),
                    time_us: now,
                    detail: format!(
                        "{} missed its check-in for whistle {}",
                        s.department, w.whistle_id
                    ),
                };
                notices::insert(conn, &escalated).await?;
            }
            SummonsEffect::NotifyMissed(Notified::Department) => {
                let clock = clock_id(TimerKind::CheckIn, &w.whistle_id, &s.department);
                let to_department = notice::notice(
                    format!("missed:{clock}:dept"),
                    &s.department,
                    &w.order_id,
                    NoticeKind::CheckInMissed,
                    now,
                    format!(
                        "check-in for whistle {} was due by {}",
                        w.whistle_id, s.due_us
                    ),
                );
                notice::send(conn, district, to_department, now).await?;
            }
            SummonsEffect::TellCity(SummonsReport::CheckedIn) => {
                let event = RecordEscalationEventRequest {
                    request_id: format!("checked-in:{}:{}", w.whistle_id, s.department),
                    order_id: w.order_id.clone(),
                    kind: EscalationEventKind::CheckedIn as i32,
                    from_unit: s.department.clone(),
                    to_unit: w.from_unit.clone(),
                    time: Some(wire::ts(now)),
                    detail: format!(
                        "{} {} after {} s",
                        w.whistle_id,
                        s.state,
                        (now - w.time_us) / 1_000_000
                    ),
                    whistle_id: w.whistle_id.clone(),
                    ..Default::default()
                };
                tell_city(ctx, conn, district, event, now).await?;
            }
            SummonsEffect::TellCity(SummonsReport::CheckInMissed) => {
                let clock = clock_id(TimerKind::CheckIn, &w.whistle_id, &s.department);
                let event = RecordEscalationEventRequest {
                    request_id: format!("missed:{clock}"),
                    order_id: w.order_id.clone(),
                    kind: EscalationEventKind::CheckInMissed as i32,
                    from_unit: w.district_unit.clone(),
                    to_unit: s.department.clone(),
                    time: Some(wire::ts(now)),
                    detail: format!("{} {}", w.whistle_id, s.department),
                    whistle_id: w.whistle_id.clone(),
                    ..Default::default()
                };
                tell_city(ctx, conn, district, event, now).await?;
            }
        }
    }
    Ok(())
}
