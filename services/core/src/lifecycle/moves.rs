//! Checked moves on the stored states: the only place an assignment's,
//! an order's, an objection's or a summons's state is written. Each move
//! refuses what the lifecycle (DESIGN.md §3) does not allow, so a tier
//! never sets a state by hand.

use super::{HandlerAction, TransitionError, apply_to, further, summarize};
use crate::model::{AssignmentState, ObjectionState, OrderState, RequestKind, Role, SummonsState};

fn refuse(
    action: &'static str,
    subject: &'static str,
    from: impl std::fmt::Display,
    reason: &'static str,
) -> TransitionError {
    TransitionError {
        action,
        subject,
        from: from.to_string(),
        reason,
    }
}

/// What a handler reported to the city about its assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Accepted,
    Contacted,
    Progress,
    Replied,
}

impl AssignmentState {
    /// The handler acts on its own assignment ([`apply_to`]).
    pub fn handle(
        &mut self,
        kind: RequestKind,
        role: Role,
        action: HandlerAction,
    ) -> Result<(), TransitionError> {
        *self = apply_to(kind, role, *self, action)?;
        Ok(())
    }

    /// The handler objects to its jurisdiction: only an assignment not yet
    /// taken on (the first-receiver rule, checked by
    /// [`crate::jurisdiction::may_object`], says why in full).
    pub fn object(&mut self) -> Result<(), TransitionError> {
        match self {
            AssignmentState::Dispatched => {
                *self = AssignmentState::Objected;
                Ok(())
            }
            from => Err(refuse(
                "object to",
                "an assignment",
                from,
                "only a dispatched assignment can be objected to",
            )),
        }
    }

    /// A ruling keeps the objector: the first-receiver rule holds and the
    /// assignment is deemed accepted.
    pub fn keep(&mut self) -> Result<(), TransitionError> {
        match self {
            AssignmentState::Objected => {
                *self = AssignmentState::Accepted;
                Ok(())
            }
            from => Err(refuse(
                "keep",
                "an assignment",
                from,
                "only an objected assignment is ruled on",
            )),
        }
    }

    /// The centre takes the assignment back (a redirect, a withdrawal, a
    /// reclassification); its later messages are stale.
    pub fn revoke(&mut self) -> Result<(), TransitionError> {
        match self {
            AssignmentState::Revoked => Err(refuse(
                "revoke",
                "an assignment",
                AssignmentState::Revoked,
                "the assignment is already revoked",
            )),
            _ => {
                *self = AssignmentState::Revoked;
                Ok(())
            }
        }
    }

    /// An objection overtaken by the centre (a reclassification keeps the
    /// unit on) starts over: the assignment is dispatched again. Whether
    /// it was objected, and so moved.
    pub fn overtake_objection(&mut self) -> bool {
        let objected = *self == AssignmentState::Objected;
        if objected {
            *self = AssignmentState::Dispatched;
        }
        objected
    }

    /// The city merges what a handler reported. Reports that cross in
    /// flight never move an assignment backwards ([`further`]); a reply
    /// is the handler's last word and always lands.
    pub fn merge(&mut self, report: Report) {
        *self = match report {
            Report::Accepted => further(*self, AssignmentState::Accepted),
            Report::Contacted => further(*self, AssignmentState::Contacted),
            Report::Progress => further(*self, AssignmentState::InProgress),
            Report::Replied => AssignmentState::Replied,
        };
    }
}

impl OrderState {
    /// Whether the order may move from `self` to `next` (DESIGN.md §3):
    /// intake classifies and answers, disposes or dispatches; the leads'
    /// work moves it between dispatched, in progress and replied; a
    /// callback closes or reopens it; a reopen dispatches again; the
    /// requester may withdraw it at any point before it is final.
    pub fn may_move(self, next: OrderState) -> bool {
        use OrderState as S;
        match (self, next) {
            (from, S::Withdrawn) => !from.is_final(),
            (S::Received, S::Classified)
            | (S::Classified, S::Answered | S::Disposed | S::Dispatched)
            | (S::Dispatched, S::InProgress | S::Replied)
            | (S::InProgress, S::Dispatched | S::Replied)
            | (S::Replied, S::CalledBack)
            // A proactive task closes on its reply: no one to call back.
            | (S::Replied, S::Closed)
            | (S::CalledBack, S::Closed | S::Reopened)
            | (S::Reopened, S::Dispatched) => true,
            _ => false,
        }
    }

    /// Moves the order to `next`, if the lifecycle allows it.
    pub fn move_to(&mut self, next: OrderState) -> Result<(), TransitionError> {
        if !self.may_move(next) {
            return Err(TransitionError {
                action: "move",
                subject: "an order",
                from: self.to_string(),
                reason: order_refusal(*self),
            });
        }
        *self = next;
        Ok(())
    }

    /// Re-derives the order's state from its lead assignments
    /// ([`summarize`]). Whether it changed.
    pub fn summarise(&mut self, leads: &[AssignmentState]) -> bool {
        let next = summarize(*self, leads);
        let changed = next != *self;
        *self = next;
        changed
    }
}

fn order_refusal(from: OrderState) -> &'static str {
    if from.is_final() {
        "the order is final"
    } else {
        "the lifecycle does not lead there"
    }
}

impl ObjectionState {
    /// The authority rules on a pending objection.
    pub fn rule(&mut self) -> Result<(), TransitionError> {
        self.settle(ObjectionState::Ruled, "rule on")
    }

    /// The centre overtakes a pending objection (a reclassification, a
    /// reopen, a withdrawal).
    pub fn supersede(&mut self) -> Result<(), TransitionError> {
        self.settle(ObjectionState::Superseded, "supersede")
    }

    fn settle(&mut self, to: ObjectionState, action: &'static str) -> Result<(), TransitionError> {
        match self {
            ObjectionState::Pending => {
                *self = to;
                Ok(())
            }
            from => Err(refuse(
                action,
                "an objection",
                from,
                "only a pending objection is settled",
            )),
        }
    }
}

impl SummonsState {
    /// The summoned department checks in: on time, or late after a miss.
    pub fn check_in(&mut self) -> Result<(), TransitionError> {
        *self = match self {
            SummonsState::Summoned => SummonsState::CheckedIn,
            SummonsState::Missed => SummonsState::Late,
            from @ (SummonsState::CheckedIn | SummonsState::Late) => {
                return Err(refuse(
                    "check in",
                    "a summons",
                    from,
                    "the department already checked in",
                ));
            }
        };
        Ok(())
    }

    /// The check-in deadline passes with the department not checked in.
    pub fn miss(&mut self) -> Result<(), TransitionError> {
        match self {
            SummonsState::Summoned => {
                *self = SummonsState::Missed;
                Ok(())
            }
            from => Err(refuse(
                "miss",
                "a summons",
                from,
                "only a summons still waiting can be missed",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentState as A;
    use OrderState as O;

    fn moved<T: Copy>(
        mut s: T,
        f: impl FnOnce(&mut T) -> Result<(), TransitionError>,
    ) -> Result<T, TransitionError> {
        f(&mut s).map(|()| s)
    }

    #[test]
    fn a_handler_acts_through_the_lifecycle() {
        let mut s = A::Dispatched;
        s.handle(RequestKind::Help, Role::Lead, HandlerAction::Accept)
            .unwrap();
        assert_eq!(s, A::Accepted);
        let e = s
            .handle(RequestKind::Help, Role::Lead, HandlerAction::Accept)
            .unwrap_err();
        assert!(e.to_string().contains("only a dispatched"), "{e}");
        assert_eq!(s, A::Accepted, "a refused move changes nothing");
    }

    #[test]
    fn only_a_dispatched_assignment_is_objected_to() {
        assert_eq!(moved(A::Dispatched, A::object).unwrap(), A::Objected);
        for from in [
            A::Accepted,
            A::Contacted,
            A::InProgress,
            A::Replied,
            A::Objected,
            A::Revoked,
        ] {
            let e = moved(from, A::object).unwrap_err();
            assert_eq!(e.from, from.as_str());
        }
    }

    #[test]
    fn a_kept_objector_is_deemed_accepted() {
        assert_eq!(moved(A::Objected, A::keep).unwrap(), A::Accepted);
        for from in A::ALL.iter().copied().filter(|s| *s != A::Objected) {
            assert!(moved(from, A::keep).is_err(), "{from}");
        }
    }

    #[test]
    fn anything_but_a_revoked_assignment_is_revoked() {
        for from in A::ALL.iter().copied().filter(|s| *s != A::Revoked) {
            assert_eq!(moved(from, A::revoke).unwrap(), A::Revoked);
        }
        assert!(moved(A::Revoked, A::revoke).is_err());
    }

    #[test]
    fn an_overtaken_objection_starts_over() {
        let mut s = A::Objected;
        assert!(s.overtake_objection());
        assert_eq!(s, A::Dispatched);
        let mut s = A::InProgress;
        assert!(!s.overtake_objection());
        assert_eq!(s, A::InProgress);
    }

    #[test]
    fn reports_merge_forward_and_a_reply_lands() {
        let mut s = A::Contacted;
        s.merge(Report::Accepted);
        assert_eq!(s, A::Contacted, "a late accept does not go back");
        s.merge(Report::Progress);
        assert_eq!(s, A::InProgress);
        s.merge(Report::Contacted);
        assert_eq!(s, A::InProgress);
        s.merge(Report::Replied);
        assert_eq!(s, A::Replied);
        let mut s = A::Dispatched;
        s.merge(Report::Contacted);
        assert_eq!(s, A::Contacted);
    }

    #[test]
    fn an_order_moves_along_its_lifecycle() {
        let path = [
            O::Classified,
            O::Dispatched,
            O::InProgress,
            O::Replied,
            O::CalledBack,
            O::Reopened,
            O::Dispatched,
            O::Replied,
            O::CalledBack,
            O::Closed,
        ];
        let mut s = O::Received;
        for next in path {
            s.move_to(next).unwrap();
        }
        assert_eq!(s, O::Closed);
        // A task closes on its reply; intake answers or disposes.
        assert!(O::Replied.may_move(O::Closed));
        assert!(O::Classified.may_move(O::Answered));
        assert!(O::Classified.may_move(O::Disposed));
        assert!(O::InProgress.may_move(O::Dispatched));
    }

    #[test]
    fn an_order_refuses_what_the_lifecycle_does_not_allow() {
        let e = moved(O::Received, |s| s.move_to(O::Dispatched)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot move an order in state received: the lifecycle does not lead there"
        );
        assert!(moved(O::Dispatched, |s| s.move_to(O::Closed)).is_err());
        assert!(moved(O::Replied, |s| s.move_to(O::Reopened)).is_err());
        assert!(moved(O::Reopened, |s| s.move_to(O::Replied)).is_err());
        for done in [O::Answered, O::Disposed, O::Closed, O::Withdrawn] {
            for next in O::ALL.iter().copied() {
                let e = moved(done, |s| s.move_to(next)).unwrap_err();
                assert!(e.to_string().ends_with("the order is final"), "{e}");
            }
        }
    }

    #[test]
    fn the_requester_withdraws_until_final() {
        for from in O::ALL.iter().copied() {
            assert_eq!(O::may_move(from, O::Withdrawn), !from.is_final(), "{from}");
        }
    }

    #[test]
    fn an_order_summarises_and_says_whether_it_moved() {
        let mut s = O::Dispatched;
        assert!(s.summarise(&[A::Accepted]));
        assert_eq!(s, O::InProgress);
        assert!(!s.summarise(&[A::InProgress]));
        assert!(s.summarise(&[A::Replied]));
        assert_eq!(s, O::Replied);
        assert!(
            !s.summarise(&[A::Dispatched]),
            "replied is not the leads' to undo"
        );
    }

    #[test]
    fn only_a_pending_objection_is_settled() {
        use ObjectionState as S;
        assert_eq!(moved(S::Pending, S::rule).unwrap(), S::Ruled);
        assert_eq!(moved(S::Pending, S::supersede).unwrap(), S::Superseded);
        for from in [S::Ruled, S::Superseded] {
            assert!(moved(from, S::rule).is_err());
            assert!(moved(from, S::supersede).is_err());
        }
    }

    #[test]
    fn a_summons_is_checked_in_missed_or_late() {
        use SummonsState as S;
        assert_eq!(moved(S::Summoned, S::check_in).unwrap(), S::CheckedIn);
        assert_eq!(moved(S::Summoned, S::miss).unwrap(), S::Missed);
        assert_eq!(moved(S::Missed, S::check_in).unwrap(), S::Late);
        for done in [S::CheckedIn, S::Late] {
            assert!(moved(done, S::check_in).is_err());
            assert!(moved(done, S::miss).is_err());
        }
        assert!(moved(S::Missed, S::miss).is_err());
        // The stored names are the ones the registry always wrote.
        let names: Vec<_> = S::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["summoned", "checked_in", "missed", "late"]);
    }
}
