//! An order in the citizen's form: what a channel front (the web front's
//! Open311, an app) may hand anyone who asks about a request. Its facts
//! and its deadlines; its live lead assignments with their replies to the
//! requester; its history's steps without their details. Every text is
//! scrubbed as it is for handlers (numbers, id numbers, e-mail addresses,
//! the requester's recorded name and phone). Not the requester's
//! pseudonym, not the trace, the centre's mark, the callback's verdict,
//! nor any handler's progress notes: no other person's data and no
//! internal notes.

use hotline_core::authz::Principal;
use hotline_core::{AssignmentState, Role};
use hotline_proto::v1 as pb;
use hotline_runtime::meta::Caller;
use hotline_runtime::wire::WireEnum;

use crate::redact;

/// Whether the caller is a channel front, which reads citizen forms only.
pub fn is_channel(caller: &Caller) -> bool {
    matches!(caller.principal, Some(Principal::Channel(_)))
}

/// Whether a channel front may see the order at all: citizen requests
/// only, never the centre's and districts' proactive tasks.
pub fn visible(o: &pb::Order) -> bool {
    o.kind != pb::RequestKind::ProactiveTask as i32
}

/// `o` (a whole order, as the centre reads it) in the citizen's form,
/// scrubbed by `s`, the requester's scrubber.
pub fn citizen_form(o: pb::Order, s: &hotline_core::scrub::Scrubber) -> pb::Order {
    let scrub = |t: &str| s.scrub(t).into_owned();
    let lead = Role::Lead.to_wire();
    let revoked = AssignmentState::Revoked.to_wire();
    let assignments = o
        .assignments
        .iter()
        .filter(|a| a.role == lead && a.state != revoked)
        .map(|a| pb::Assignment {
            order_id: a.order_id.clone(),
            unit_id: a.unit_id.clone(),
            role: a.role,
            state: a.state,
            dispatched_time: a.dispatched_time,
            accepted_time: a.accepted_time,
            replied_time: a.replied_time,
            due_time: a.due_time,
            outcome: a.outcome,
            reply_text: scrub(&a.reply_text),
            ..Default::default()
        })
        .collect();
    let history = o
        .history
        .iter()
        .map(|h| pb::HistoryEntry {
            seq: h.seq,
            time: h.time,
            actor_unit: h.actor_unit.clone(),
            action: h.action.clone(),
            detail: String::new(),
        })
        .collect();
    pb::Order {
        name: o.name.clone(),
        order_id: o.order_id.clone(),
        state: o.state,
        kind: o.kind,
        channel: o.channel,
        category_code: o.category_code.clone(),
        category_name: o.category_name.clone(),
        urgency: o.urgency,
        address: scrub(&o.address),
        text: scrub(&o.text),
        territory_unit: o.territory_unit.clone(),
        received_time: o.received_time,
        due_time: o.due_time,
        deadline_provisional: o.deadline_provisional,
        answer: scrub(&o.answer),
        assignments,
        history,
        closed_time: o.closed_time,
        disposition: o.disposition,
        location: o.location,
        ..Default::default()
    }
}

/// [`citizen_form`] with the requester's scrubber read from the store.
pub async fn of(
    conn: &mut hotline_store::Conn,
    o: pb::Order,
    requester_ref: &str,
) -> hotline_runtime::error::Result<pb::Order> {
    let s = redact::scrubber(conn, requester_ref).await?;
    Ok(citizen_form(o, &s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_citizen_sees_no_pseudonym_notes_or_other_units_work() {
        let o = pb::Order {
            order_id: "HL00000001".into(),
            requester_ref: "rq-0123456789abcdef".into(),
            trace_parent: "00-abc-def-01".into(),
            text: "Zhang San at 13912345678 reports a pothole".into(),
            mark: pb::RequestMark::Malicious as i32,
            mark_reason: "insults".into(),
            callback: Some(pb::Callback::default()),
            assignments: vec![
                pb::Assignment {
                    unit_id: "t-harbour".into(),
                    role: pb::AssignmentRole::Lead as i32,
                    state: pb::AssignmentState::Replied as i32,
                    reply_text: "Filled; thank you Zhang San".into(),
                    progress_note: "the crew chief Li Wei went at 9".into(),
                    text: "the request text".into(),
                    requester_ref: "rq-0123456789abcdef".into(),
                    ..Default::default()
                },
                pb::Assignment {
                    unit_id: "d-riverside".into(),
                    role: pb::AssignmentRole::Copy as i32,
                    ..Default::default()
                },
                pb::Assignment {
                    unit_id: "t-old".into(),
                    role: pb::AssignmentRole::Lead as i32,
                    state: pb::AssignmentState::Revoked as i32,
                    ..Default::default()
                },
            ],
            history: vec![pb::HistoryEntry {
                action: "dispatched".into(),
                detail: "t-harbour:lead d-riverside:copy".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let s = hotline_core::scrub::Scrubber::default()
            .name("Zhang San")
            .number("13912345678");
        let c = citizen_form(o, &s);
        assert!(c.requester_ref.is_empty() && c.trace_parent.is_empty());
        assert!(c.mark_reason.is_empty() && c.callback.is_none());
        assert_eq!(c.mark, 0);
        assert!(!c.text.contains("13912345678") && !c.text.contains("Zhang San"));
        assert_eq!(c.assignments.len(), 1, "the live lead only");
        let a = &c.assignments[0];
        assert_eq!(a.unit_id, "t-harbour");
        assert!(!a.reply_text.contains("Zhang San"), "{}", a.reply_text);
        assert!(a.progress_note.is_empty() && a.text.is_empty() && a.requester_ref.is_empty());
        assert_eq!(c.history[0].action, "dispatched");
        assert!(c.history[0].detail.is_empty());
    }
}
