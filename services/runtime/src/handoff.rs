//! Queuing a handoff: an encoded gRPC request in the sender's outbox,
//! written in the caller's transaction and delivered later.

use crate::tables::outbox::{self, NewMessage};
use hotline_core::kinds::HandoffKind;
use hotline_store::Conn;
use prost::Message;

use crate::error::Result;

/// Where a handoff goes. The message id is also the receiver's request id.
#[derive(Debug, Clone, Copy)]
pub struct Handoff<'a> {
    pub message_id: &'a str,
    pub order_id: &'a str,
    pub from_unit: &'a str,
    pub target_unit: &'a str,
    /// Full gRPC path, e.g. `/hotline.v1.DispatchService/DeliverNotice`.
    pub method: &'a str,
}

/// Queues `message`; its handoff kind is the method's (see
/// [`hotline_telemetry::rpc::handoff_kind`]).
pub async fn send<M: Message>(
    conn: &mut Conn,
    h: Handoff<'_>,
    message: &M,
    now: i64,
) -> Result<()> {
    send_as(conn, h, kind_of(h.method), message, now).await
}

/// [`send`]'s statement, added to `b`.
pub fn send_into<M: Message>(
    b: &mut hotline_store::Batch,
    h: Handoff<'_>,
    message: &M,
    now: i64,
) -> Result<()> {
    send_all_into(b, &[(h, kind_of(h.method), message)], now)
}

/// The handoff kind of a call to `method` (a path or a bare name).
pub fn kind_of(method: &str) -> HandoffKind {
    let method = method.rsplit('/').next().unwrap_or(method);
    hotline_telemetry::rpc::handoff_kind(method)
        .and_then(HandoffKind::parse)
        .unwrap_or(HandoffKind::Handoff)
}

/// Queues `message` as a handoff of `kind` (dispatch, copy, accept,
/// reply, whistle, supervision…), for spans and metrics. The message
/// carries the caller's trace context, so its delivery joins that trace.
pub async fn send_as<M: Message>(
    conn: &mut Conn,
    h: Handoff<'_>,
    kind: HandoffKind,
    message: &M,
    now: i64,
) -> Result<()> {
    send_all(conn, &[(h, kind, message)], now).await
}

/// Queues several handoffs, as [`send_as`] each, in one statement.
pub async fn send_all<M: Message>(
    conn: &mut Conn,
    all: &[(Handoff<'_>, HandoffKind, &M)],
    now: i64,
) -> Result<()> {
    let mut b = hotline_store::Batch::of(conn);
    send_all_into(&mut b, all, now)?;
    Ok(b.run(conn).await?)
}

/// [`send_all`]'s statement, added to `b`.
pub fn send_all_into<M: Message>(
    b: &mut hotline_store::Batch,
    all: &[(Handoff<'_>, HandoffKind, &M)],
    now: i64,
) -> Result<()> {
    let (trace_parent, baggage) = crate::trace::current();
    let ms: Vec<NewMessage> = all
        .iter()
        .map(|&(h, kind, message)| self::message(h, kind, message, &trace_parent, &baggage))
        .collect();
    outbox::enqueue_all_into(b, &ms, now)?;
    Ok(())
}

/// The outbox row of a handoff of `kind` carrying `message`, its delivery
/// continuing the trace context given (`traceparent`, `baggage`): for a
/// batch whose messages continue different traces.
pub fn message<'a, M: Message>(
    h: Handoff<'a>,
    kind: HandoffKind,
    message: &M,
    trace_parent: &'a str,
    baggage: &'a str,
) -> NewMessage<'a> {
    NewMessage {
        message_id: h.message_id,
        order_id: h.order_id,
        from_unit: h.from_unit,
        target_unit: h.target_unit,
        method: h.method,
        payload: message.encode_to_vec(),
        trace_parent,
        baggage,
        handoff: kind,
    }
}

#[cfg(test)]
mod tests {
    use hotline_core::kinds::HandoffKind;

    /// Every handoff kind telemetry names for a method is a stored kind,
    /// so `send` never falls back to `handoff` for a named method.
    #[test]
    fn telemetry_handoff_kinds_are_handoff_kinds() {
        let methods = [
            "SubmitRequest",
            "DeliverAssignment",
            "AcceptAssignment",
            "ContactRequester",
            "RelayContact",
            "UpdateProgress",
            "ReplyAssignment",
            "RecordAssignmentEvent",
            "RequestExtension",
            "DecideExtension",
            "Whistle",
            "RegisterWhistle",
            "CheckIn",
            "RecordEscalationEvent",
            "RequestCoordination",
            "AnswerCoordination",
            "DeliverNotice",
            "RecordCallback",
            "UrgeOrder",
            "Urge",
            "WithdrawRequest",
            "FileObjection",
            "RuleOnObjection",
            "Arbitrate",
        ];
        for m in methods {
            let name = hotline_telemetry::rpc::handoff_kind(m).expect(m);
            assert!(HandoffKind::parse(name).is_some(), "{m}: {name}");
        }
    }
}
