//! What a handling unit tells the centre about an escalation (a whistle,
//! a check-in, a coordination): a record for the order's history, queued
//! in the outbox in the transaction of the effect.

use hotline_core::kinds::HandoffKind;
use hotline_proto::v1::*;
use hotline_runtime::Ctx;
use hotline_runtime::error::Result;
use hotline_runtime::handoff::{self, Handoff};

pub const RECORD_ESCALATION: &str = "/hotline.v1.EscalationService/RecordEscalationEvent";

/// Queues an escalation record for the centre's history, sent by `sender`.
pub async fn tell_city(
    ctx: &Ctx,
    conn: &mut hotline_store::Conn,
    sender: &str,
    event: RecordEscalationEventRequest,
    now: i64,
) -> Result<()> {
    let city = ctx.topology.city().id.clone();
    let route = Handoff {
        message_id: &event.request_id,
        order_id: &event.order_id,
        from_unit: sender,
        target_unit: &city,
        method: RECORD_ESCALATION,
    };
    let kind = match EscalationEventKind::try_from(event.kind) {
        Ok(EscalationEventKind::WhistleRegistered) => HandoffKind::Whistle,
        Ok(EscalationEventKind::CheckedIn) => HandoffKind::CheckIn,
        Ok(
            EscalationEventKind::Unspecified
            | EscalationEventKind::CheckInMissed
            | EscalationEventKind::CoordinationRequested
            | EscalationEventKind::CoordinationAnswered,
        )
        | Err(_) => HandoffKind::Escalation,
    };
    handoff::send_as(conn, route, kind, &event, now).await
}
