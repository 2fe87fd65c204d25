//! The work-order lifecycle (DESIGN.md §3): what a handler may do to its
//! assignment, how the order's state summarises its lead assignments, and
//! what a callback does.

use crate::model::{AssignmentState, OrderState, ReplyOutcome, RequestKind, Role};
use crate::policy::Policy;

pub mod effects;
mod moves;

pub use effects::{Effect, SummonsEffect};
pub use moves::Report;

/// What a handler does to its assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerAction {
    Accept,
    Contact,
    Progress,
    Reply(ReplyOutcome),
}

impl HandlerAction {
    pub fn name(self) -> &'static str {
        match self {
            HandlerAction::Accept => "accept",
            HandlerAction::Contact => "contact",
            HandlerAction::Progress => "progress",
            HandlerAction::Reply(_) => "reply",
        }
    }
}

/// An illegal transition, said in words a departmental system can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} {subject} in state {from}: {reason}")]
pub struct TransitionError {
    pub action: &'static str,
    pub subject: &'static str,
    pub from: String,
    pub reason: &'static str,
}

fn refuse(action: &'static str, from: AssignmentState, reason: &'static str) -> TransitionError {
    TransitionError {
        action,
        subject: "an assignment",
        from: from.to_string(),
        reason,
    }
}

/// The state an assignment moves to when its handler acts, or why not.
/// DISPATCHED → ACCEPTED → CONTACTED → IN_PROGRESS → REPLIED; progress may
/// repeat; a reply needs the requester contacted first (Art. 15).
pub fn apply(
    role: Role,
    from: AssignmentState,
    action: HandlerAction,
) -> Result<AssignmentState, TransitionError> {
    use AssignmentState as S;
    let name = action.name();
    if role == Role::Copy {
        return Err(refuse(name, from, "a copy is for supervision only"));
    }
    match (action, from) {
        (HandlerAction::Accept, S::Dispatched) => Ok(S::Accepted),
        (HandlerAction::Accept, _) => Err(refuse(
            name,
            from,
            "only a dispatched assignment can be accepted",
        )),
        (HandlerAction::Contact, S::Accepted | S::Contacted) => Ok(S::Contacted),
        (HandlerAction::Contact, S::InProgress) => Ok(S::InProgress),
        (HandlerAction::Contact, S::Dispatched) => {
            Err(refuse(name, from, "accept the assignment first"))
        }
        (HandlerAction::Progress, S::Contacted | S::InProgress) => Ok(S::InProgress),
        (HandlerAction::Progress, S::Dispatched | S::Accepted) => {
            Err(refuse(name, from, "contact the requester first"))
        }
        (HandlerAction::Reply(_), S::Contacted | S::InProgress) => Ok(S::Replied),
        (HandlerAction::Reply(_), S::Dispatched | S::Accepted) => {
            Err(refuse(name, from, "contact the requester before replying"))
        }
        (_, S::Replied) => Err(refuse(name, from, "the assignment is already replied")),
        (_, S::Objected | S::Revoked) => {
            Err(refuse(name, from, "the assignment is no longer active"))
        }
    }
}

/// [`apply`] for an order of `kind`. A proactive task has no requester:
/// there is no one to contact, and an accepted task may progress and reply.
pub fn apply_to(
    kind: RequestKind,
    role: Role,
    from: AssignmentState,
    action: HandlerAction,
) -> Result<AssignmentState, TransitionError> {
    use AssignmentState as S;
    if kind != RequestKind::ProactiveTask {
        return apply(role, from, action);
    }
    match (action, from) {
        (HandlerAction::Contact, _) => Err(refuse(
            action.name(),
            from,
            "a proactive task has no requester to contact",
        )),
        (HandlerAction::Progress | HandlerAction::Reply(_), S::Accepted) => {
            apply(role, S::Contacted, action)
        }
        _ => apply(role, from, action),
    }
}

/// How far along the handling path a state is.
fn rank(s: AssignmentState) -> u8 {
    use AssignmentState as S;
    match s {
        S::Dispatched => 0,
        S::Accepted => 1,
        S::Contacted => 2,
        S::InProgress => 3,
        S::Replied => 4,
        S::Objected | S::Revoked => 5,
    }
}

/// The further of two states along the handling path. The city merges what
/// handlers report with it, so reports that cross in flight (a contact
/// through the relay before the accept event arrives) never move an
/// assignment backwards.
pub fn further(a: AssignmentState, b: AssignmentState) -> AssignmentState {
    if rank(b) > rank(a) { b } else { a }
}

/// The order's state given its lead assignments, while handlers work on it.
/// Other states are not the handlers' to change. A revoked lead (redirected
/// away) no longer counts; an objecting lead has not taken the order yet.
pub fn summarize(current: OrderState, leads: &[AssignmentState]) -> OrderState {
    use AssignmentState as S;
    let leads: Vec<S> = leads.iter().copied().filter(|s| *s != S::Revoked).collect();
    if !matches!(current, OrderState::Dispatched | OrderState::InProgress) || leads.is_empty() {
        return current;
    }
    if leads.iter().all(|s| *s == S::Replied) {
        OrderState::Replied
    } else if leads
        .iter()
        .any(|s| !matches!(s, S::Dispatched | S::Objected))
    {
        OrderState::InProgress
    } else {
        OrderState::Dispatched
    }
}

/// What a callback does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackEffect {
    Close,
    /// Dispatch again: a new epoch for each lead, a new handler clock.
    Reopen,
    /// Called back when its time limit ended without a reply (Art. 23):
    /// recorded and assessed as unresolved; the order stays with its
    /// handlers, who still owe the reply.
    Unreplied,
}

/// Art. 23: the centre calls back a replied order, and a dispatched order
/// whose time limit has ended, replied or not. On a replied order,
/// unresolved reopens it, unless it has reached the reopen limit, when it
/// closes unresolved. On an unreplied one the callback counts as
/// unresolved whatever the requester says, and changes nothing else.
pub fn callback(
    state: OrderState,
    resolved: bool,
    reopen_count: u32,
    limit_ended: bool,
    policy: &Policy,
) -> Result<CallbackEffect, TransitionError> {
    let refused = |reason| TransitionError {
        action: "record a callback on",
        subject: "an order",
        from: state.to_string(),
        reason,
    };
    match state {
        OrderState::Replied if resolved || reopen_count >= policy.max_reopens => {
            Ok(CallbackEffect::Close)
        }
        OrderState::Replied => Ok(CallbackEffect::Reopen),
        s if s.awaits_reply() && limit_ended => Ok(CallbackEffect::Unreplied),
        s if s.awaits_reply() => Err(refused(
            "an order without a reply is called back when its time limit ends (Art. 23)",
        )),
        _ => Err(refused(
            "callbacks follow the handlers' reply or the end of the time limit",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentState as S;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path() {
        let mut s = S::Dispatched;
        for a in [
            HandlerAction::Accept,
            HandlerAction::Contact,
            HandlerAction::Progress,
            HandlerAction::Progress,
            HandlerAction::Reply(ReplyOutcome::Resolved),
        ] {
            s = apply(Role::Lead, s, a).unwrap();
        }
        assert_eq!(s, S::Replied);
    }

    #[test]
    fn illegal_transitions_say_why() {
        let e = apply(
            Role::Lead,
            S::Dispatched,
            HandlerAction::Reply(ReplyOutcome::Resolved),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot reply an assignment in state dispatched: contact the requester before replying"
        );
        assert!(apply(Role::Copy, S::Dispatched, HandlerAction::Accept).is_err());
        assert!(apply(Role::Lead, S::Accepted, HandlerAction::Accept).is_err());
    }

    #[test]
    fn a_task_is_handled_without_a_contact() {
        let task = RequestKind::ProactiveTask;
        let reply = HandlerAction::Reply(ReplyOutcome::Resolved);
        let s = apply_to(task, Role::Lead, S::Dispatched, HandlerAction::Accept).unwrap();
        assert_eq!(s, S::Accepted);
        let e = apply_to(task, Role::Lead, s, HandlerAction::Contact).unwrap_err();
        assert!(e.to_string().contains("no requester"), "{e}");
        let s = apply_to(task, Role::Lead, s, HandlerAction::Progress).unwrap();
        assert_eq!(s, S::InProgress);
        assert_eq!(
            apply_to(task, Role::Lead, S::Accepted, reply).unwrap(),
            S::Replied
        );
        assert!(apply_to(task, Role::Lead, S::Dispatched, reply).is_err());
        // A citizen's request still needs the contact first.
        let help = RequestKind::Help;
        assert!(apply_to(help, Role::Lead, S::Accepted, reply).is_err());
    }

    #[test]
    fn further_never_goes_back() {
        assert_eq!(further(S::Contacted, S::Accepted), S::Contacted);
        assert_eq!(further(S::Accepted, S::Replied), S::Replied);
    }

    #[test]
    fn order_summarises_its_leads() {
        assert_eq!(
            summarize(OrderState::Dispatched, &[S::Dispatched, S::Dispatched]),
            OrderState::Dispatched
        );
        assert_eq!(
            summarize(OrderState::Dispatched, &[S::Accepted, S::Dispatched]),
            OrderState::InProgress
        );
        assert_eq!(
            summarize(OrderState::InProgress, &[S::Replied, S::InProgress]),
            OrderState::InProgress
        );
        assert_eq!(
            summarize(OrderState::InProgress, &[S::Replied, S::Replied]),
            OrderState::Replied
        );
        assert_eq!(
            summarize(OrderState::Closed, &[S::Accepted]),
            OrderState::Closed
        );
        assert_eq!(
            summarize(OrderState::Dispatched, &[S::Objected, S::Dispatched]),
            OrderState::Dispatched,
            "an objection is not progress"
        );
        assert_eq!(
            summarize(OrderState::InProgress, &[S::Revoked, S::Replied]),
            OrderState::Replied,
            "a redirected lead no longer counts"
        );
    }

    #[test]
    fn callback_rules() {
        let p = Policy::default();
        for limit_ended in [false, true] {
            let cb = |state, resolved, reopens| callback(state, resolved, reopens, limit_ended, &p);
            assert_eq!(
                cb(OrderState::Replied, true, 0).unwrap(),
                CallbackEffect::Close
            );
            assert_eq!(
                cb(OrderState::Replied, false, 0).unwrap(),
                CallbackEffect::Reopen
            );
            assert_eq!(
                cb(OrderState::Replied, false, p.max_reopens).unwrap(),
                CallbackEffect::Close
            );
            for unreplied in [
                OrderState::Dispatched,
                OrderState::InProgress,
                OrderState::Reopened,
            ] {
                for resolved in [false, true] {
                    let effect = cb(unreplied, resolved, 0);
                    if limit_ended {
                        assert_eq!(effect.unwrap(), CallbackEffect::Unreplied, "{unreplied}");
                    } else {
                        assert!(effect.is_err(), "{unreplied} before its limit");
                    }
                }
            }
            for done in [
                OrderState::Closed,
                OrderState::Answered,
                OrderState::Withdrawn,
            ] {
                assert!(cb(done, true, 0).is_err(), "{done}");
            }
        }
    }

    /// A step against a model order with two leads.
    #[derive(Debug, Clone)]
    enum Step {
        Act(usize, HandlerAction),
        Callback(bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        let action = prop_oneof![
            Just(HandlerAction::Accept),
            Just(HandlerAction::Contact),
            Just(HandlerAction::Progress),
            Just(HandlerAction::Reply(ReplyOutcome::Resolved)),
            Just(HandlerAction::Reply(ReplyOutcome::PartlyResolved)),
        ];
        prop_oneof![
            (0usize..2, action).prop_map(|(i, a)| Step::Act(i, a)),
            any::<bool>().prop_map(Step::Callback),
        ]
    }

    proptest! {
        /// No sequence of calls reaches an illegal state: assignments only
        /// move forward within an epoch, the order is replied exactly when
        /// every lead has replied, and it closes only through a callback.
        #[test]
        fn no_sequence_reaches_an_illegal_state(steps in proptest::collection::vec(step(), 0..60)) {
            let policy = Policy::default();
            let mut order = OrderState::Dispatched;
            let mut leads = [S::Dispatched, S::Dispatched];
            let mut reopens = 0u32;
            for st in steps {
                match st {
                    Step::Act(i, a) => {
                        if order.is_final() { continue; }
                        let before = leads[i];
                        match apply(Role::Lead, before, a) {
                            Ok(next) => {
                                prop_assert!(rank(next) >= rank(before));
                                leads[i] = next;
                            }
                            Err(_) => prop_assert_eq!(leads[i], before),
                        }
                        order = summarize(order, &leads);
                    }
                    Step::Callback(resolved) => match callback(order, resolved, reopens, false, &policy) {
                        Ok(CallbackEffect::Close) => order = OrderState::Closed,
                        Ok(CallbackEffect::Unreplied) => prop_assert!(false, "the limit has not ended"),
                        Ok(CallbackEffect::Reopen) => {
                            reopens += 1;
                            leads = [S::Dispatched, S::Dispatched];
                            order = OrderState::Dispatched;
                        }
                        Err(_) => prop_assert_ne!(order, OrderState::Replied),
                    },
                }
                let all_replied = leads.iter().all(|s| *s == S::Replied);
                match order {
                    OrderState::Replied => prop_assert!(all_replied),
                    OrderState::Dispatched | OrderState::InProgress => prop_assert!(!all_replied),
                    OrderState::Closed => prop_assert!(all_replied),
                    other => prop_assert!(false, "unexpected order state {other}"),
                }
                prop_assert!(reopens <= policy.max_reopens);
            }
        }
    }
}
