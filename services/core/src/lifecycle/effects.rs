//! What follows a move. A transition returns the new state and its
//! effects; one executor per service runs them inside the move's
//! transaction (the handler's is `hotline_handler::effects`). This table is
//! the one place that decides what a move sets off: the executors only
//! carry it out, so nothing is decided twice.

use super::{HandlerAction, Report, TransitionError};
pub use crate::kinds::{HandoffKind, TimerKind};
use crate::model::{AssignmentState, ReplyOutcome, RequestKind, Role, SummonsState};

impl Report {
    /// The outbox kind the report travels under.
    pub fn handoff_kind(self) -> HandoffKind {
        match self {
            Report::Accepted => HandoffKind::Accept,
            Report::Contacted => HandoffKind::Contact,
            Report::Progress => HandoffKind::Progress,
            Report::Replied => HandoffKind::Reply,
        }
    }
}

/// What the handler's own record of an assignment keeps of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The time it was accepted.
    Accepted,
    /// The time of the first contact (later contacts keep it).
    Contacted,
    /// The latest progress note.
    Progress,
    /// The time, outcome and text of the reply.
    Replied(ReplyOutcome),
}

/// What follows a handler's move on its assignment, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Stamp the assignment before it is stored.
    Stamp(Stamp),
    /// Queue an assignment event for the city through the outbox.
    ReportToCity(Report),
    /// A unit working under another unit's lead reports its part to that
    /// lead (Art. 14); nothing when the unit is its own lead.
    ReportPartToLead,
    /// Queue the objection for the city, which refers it to the
    /// arbitration authority.
    ReferObjection,
}

/// Who hears of a missed check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    /// The registering district, in its own inbox.
    District,
    /// The summoned department, through the outbox.
    Department,
}

/// What the city is told about a summons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummonsReport {
    CheckedIn,
    CheckInMissed,
}

/// What follows a move on a summons, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummonsEffect {
    /// Stamp the time of the check-in.
    StampCheckIn,
    /// Stop the summons's clock.
    StopClock(TimerKind),
    /// Send a notice of a missed check-in.
    NotifyMissed(Notified),
    /// Tell the city, which keeps the escalation record.
    TellCity(SummonsReport),
}

/// The effects of a handler's action that moved its assignment.
pub fn of_action(action: HandlerAction) -> Vec<Effect> {
    match action {
        HandlerAction::Accept => vec![
            Effect::Stamp(Stamp::Accepted),
            Effect::ReportToCity(Report::Accepted),
        ],
        // The relay records a contact at the city itself.
        HandlerAction::Contact => vec![Effect::Stamp(Stamp::Contacted)],
        HandlerAction::Progress => vec![
            Effect::Stamp(Stamp::Progress),
            Effect::ReportToCity(Report::Progress),
        ],
        HandlerAction::Reply(outcome) => vec![
            Effect::Stamp(Stamp::Replied(outcome)),
            Effect::ReportToCity(Report::Replied),
            Effect::ReportPartToLead,
        ],
    }
}

impl AssignmentState {
    /// The handler acts on its own assignment ([`super::apply_to`]): the
    /// move, and what follows it ([`of_action`]).
    #[must_use = "a move's effects must be run"]
    pub fn act(
        &mut self,
        kind: RequestKind,
        role: Role,
        action: HandlerAction,
    ) -> Result<Vec<Effect>, TransitionError> {
        self.handle(kind, role, action)?;
        Ok(of_action(action))
    }

    /// The handler objects to its jurisdiction ([`AssignmentState::object`]):
    /// the city is asked to refer it.
    #[must_use = "a move's effects must be run"]
    pub fn raise_objection(&mut self) -> Result<Vec<Effect>, TransitionError> {
        self.object()?;
        Ok(vec![Effect::ReferObjection])
    }
}

impl SummonsState {
    /// The department checks in ([`SummonsState::check_in`]): its clock
    /// stops and the city hears of it.
    #[must_use = "a move's effects must be run"]
    pub fn report_in(&mut self) -> Result<Vec<SummonsEffect>, TransitionError> {
        self.check_in()?;
        Ok(vec![
            SummonsEffect::StampCheckIn,
            SummonsEffect::StopClock(TimerKind::CheckIn),
            SummonsEffect::TellCity(SummonsReport::CheckedIn),
        ])
    }

    /// The check-in deadline passes ([`SummonsState::miss`]): the miss is
    /// escalated to the district, the department told, the city told.
    #[must_use = "a move's effects must be run"]
    pub fn lapse(&mut self) -> Result<Vec<SummonsEffect>, TransitionError> {
        self.miss()?;
        Ok(vec![
            SummonsEffect::NotifyMissed(Notified::District),
            SummonsEffect::NotifyMissed(Notified::Department),
            SummonsEffect::TellCity(SummonsReport::CheckInMissed),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentState as A;

    const ACTIONS: [HandlerAction; 5] = [
        HandlerAction::Accept,
        HandlerAction::Contact,
        HandlerAction::Progress,
        HandlerAction::Reply(ReplyOutcome::Resolved),
        HandlerAction::Reply(ReplyOutcome::PartlyResolved),
    ];

    fn expected(action: HandlerAction) -> Vec<Effect> {
        use Effect::*;
        match action {
            HandlerAction::Accept => vec![
                Stamp(super::Stamp::Accepted),
                ReportToCity(Report::Accepted),
            ],
            HandlerAction::Contact => vec![Stamp(super::Stamp::Contacted)],
            HandlerAction::Progress => {
                vec![
                    Stamp(super::Stamp::Progress),
                    ReportToCity(Report::Progress),
                ]
            }
            HandlerAction::Reply(o) => vec![
                Stamp(super::Stamp::Replied(o)),
                ReportToCity(Report::Replied),
                ReportPartToLead,
            ],
        }
    }

    /// The whole table: for every request kind, role, state and action,
    /// a refused move has no effects and leaves the state; an allowed one
    /// lands where the lifecycle says with exactly the action's effects.
    #[test]
    fn every_move_of_a_handler_and_its_effects() {
        let mut moved = 0;
        for kind in [RequestKind::Help, RequestKind::ProactiveTask] {
            for role in [Role::Lead, Role::Assist, Role::Copy] {
                for from in A::ALL.iter().copied() {
                    for action in ACTIONS {
                        let mut s = from;
                        let got = s.act(kind, role, action);
                        match super::super::apply_to(kind, role, from, action) {
                            Ok(to) => {
                                moved += 1;
                                assert_eq!(s, to, "{kind:?} {role} {from} {action:?}");
                                assert_eq!(got.unwrap(), expected(action));
                            }
                            Err(e) => {
                                assert_eq!(got.unwrap_err(), e);
                                assert_eq!(s, from, "a refused move changes nothing");
                            }
                        }
                    }
                }
            }
        }
        assert!(moved > 0);
    }

    #[test]
    fn a_lead_handles_a_request_and_reports_each_step() {
        let mut s = A::Dispatched;
        let help = RequestKind::Help;
        let accept = s.act(help, Role::Lead, HandlerAction::Accept).unwrap();
        assert_eq!(
            accept,
            [
                Effect::Stamp(Stamp::Accepted),
                Effect::ReportToCity(Report::Accepted)
            ]
        );
        let contact = s.act(help, Role::Lead, HandlerAction::Contact).unwrap();
        assert!(
            !contact.iter().any(|e| matches!(e, Effect::ReportToCity(_))),
            "the relay reports a contact, not the handler"
        );
        let reply = HandlerAction::Reply(ReplyOutcome::Resolved);
        let replied = s.act(help, Role::Lead, reply).unwrap();
        assert_eq!(s, A::Replied);
        assert!(replied.contains(&Effect::ReportPartToLead));
        assert!(replied.contains(&Effect::ReportToCity(Report::Replied)));
        assert!(s.act(help, Role::Lead, reply).is_err());
    }

    #[test]
    fn a_copy_sets_nothing_off() {
        for from in A::ALL.iter().copied() {
            for action in ACTIONS {
                let mut s = from;
                assert!(s.act(RequestKind::Help, Role::Copy, action).is_err());
                assert_eq!(s, from);
            }
        }
    }

    #[test]
    fn an_objection_is_referred_through_the_city() {
        let mut s = A::Dispatched;
        assert_eq!(s.raise_objection().unwrap(), [Effect::ReferObjection]);
        assert_eq!(s, A::Objected);
        for from in A::ALL.iter().copied().filter(|s| *s != A::Dispatched) {
            let mut s = from;
            assert!(s.raise_objection().is_err());
            assert_eq!(s, from);
        }
    }

    #[test]
    fn reports_travel_under_the_outbox_kinds_they_always_had() {
        let kinds: Vec<_> = [
            Report::Accepted,
            Report::Contacted,
            Report::Progress,
            Report::Replied,
        ]
        .iter()
        .map(|r| r.handoff_kind().as_str())
        .collect();
        assert_eq!(kinds, ["accept", "contact", "progress", "reply"]);
        assert_eq!(HandoffKind::Extension.as_str(), "extension");
        assert_eq!(HandoffKind::Whistle.as_str(), "whistle");
        assert_eq!(TimerKind::CheckIn.as_str(), "check_in");
    }

    #[test]
    fn a_summons_checks_in_or_lapses_with_its_effects() {
        use SummonsState as S;
        let mut s = S::Summoned;
        assert_eq!(
            s.report_in().unwrap(),
            [
                SummonsEffect::StampCheckIn,
                SummonsEffect::StopClock(TimerKind::CheckIn),
                SummonsEffect::TellCity(SummonsReport::CheckedIn),
            ]
        );
        assert_eq!(s, S::CheckedIn);
        assert!(s.lapse().is_err());
        let mut s = S::Summoned;
        assert_eq!(
            s.lapse().unwrap(),
            [
                SummonsEffect::NotifyMissed(Notified::District),
                SummonsEffect::NotifyMissed(Notified::Department),
                SummonsEffect::TellCity(SummonsReport::CheckInMissed),
            ]
        );
        assert_eq!(s, S::Missed);
        // A late check-in still stops the clock and tells the city.
        assert_eq!(s.report_in().unwrap().len(), 3);
        assert_eq!(s, S::Late);
        assert!(s.report_in().is_err());
    }
}
