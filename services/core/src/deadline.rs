//! Where each clock's deadlines fall (DESIGN.md §4). The business clock runs
//! from intake and is never reset; each lead assignment has a handler clock
//! that drives the warning, the breach and the escalation after it.

use crate::calendar::{Calendar, Date, DayOff};
use crate::clock::{DAY, Micros};
use crate::model::{Urgency, WhistleKind};
use crate::policy::Policy;

fn minutes(m: f64) -> Micros {
    (m * 60_000_000.0).round() as Micros
}

/// The end of a clock: when, the days its count passed over, and whether
/// it ran into a year the calendar does not cover (the deadline may move
/// when that year's holidays are published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub at: Micros,
    pub skipped: Vec<(Date, DayOff)>,
    pub provisional: bool,
}

/// The end of a clock started at `start` for `urgency`: natural time, or
/// working days for day-based limits when the policy says so. The one
/// deadline function of the mesh; services reach it through
/// [`crate::Topology::due`], which brings the topology's calendar.
pub fn due(policy: &Policy, calendar: &Calendar, urgency: Urgency, start: Micros) -> Due {
    let limit = policy.limit(urgency);
    if counts_working_days(policy, urgency) {
        let span = calendar.working_days_after(start, (limit / DAY) as u32);
        Due {
            at: span.end,
            skipped: span.skipped,
            provisional: span.provisional,
        }
    } else {
        Due {
            at: start + limit,
            skipped: Vec::new(),
            provisional: false,
        }
    }
}

/// When an order's time limit ends, for its callback (Art. 23): the later
/// of its business deadline and its live leads' handler deadlines (a
/// reopen, a redirect or an extension moves a lead's).
pub fn time_limit(order_due: Micros, lead_dues: impl IntoIterator<Item = Micros>) -> Micros {
    lead_dues.into_iter().fold(order_due, Micros::max)
}

/// Whether `urgency`'s limit is counted in working days: a whole number of
/// days (general, complex) under a working-day policy. Hours run on.
pub fn counts_working_days(policy: &Policy, urgency: Urgency) -> bool {
    let day_based = matches!(urgency, Urgency::General | Urgency::Complex);
    policy.working_days && day_based && policy.limit(urgency) % DAY == 0
}

/// The deadlines of one handler clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerClock {
    pub start: Micros,
    pub warning: Micros,
    pub breach: Micros,
    pub escalation: Micros,
}

impl HandlerClock {
    /// A handler clock ending at `breach`.
    pub fn new(policy: &Policy, start: Micros, breach: Micros) -> Self {
        let span = (breach - start).max(0) as f64;
        Self {
            start,
            warning: start + (span * policy.warning_fraction).round() as Micros,
            breach,
            escalation: breach + (span * policy.escalation_grace_fraction).round() as Micros,
        }
    }
}

/// The deadline of an assignment in `role` issued at `start` under a lead
/// deadline `lead_due`: the lead's own; a co-handler's part falls due at
/// the lead clock's warning fraction of the time left (Art. 14 ¶2: the
/// co-handlers report to the lead in time for it to reply within the
/// limit).
pub fn part_due(policy: &Policy, role: crate::Role, start: Micros, lead_due: Micros) -> Micros {
    match role {
        crate::Role::CoHandler => HandlerClock::new(policy, start, lead_due).warning,
        _ => lead_due,
    }
}

/// When the handler must have accepted (Art. 15, 32).
pub fn accept_due(policy: &Policy, urgency: Urgency, dispatched: Micros) -> Micros {
    let m = if urgency == Urgency::Emergency {
        policy.emergency_accept_window_minutes
    } else {
        policy.accept_window_minutes
    };
    dispatched + minutes(m)
}

/// When the handler must have contacted the requester after accepting.
pub fn contact_due(policy: &Policy, urgency: Urgency, accepted: Micros) -> Micros {
    let m = if urgency == Urgency::Emergency {
        policy.emergency_contact_window_minutes
    } else {
        policy.contact_window_minutes
    };
    accepted + minutes(m)
}

/// When a summoned department must check in.
pub fn check_in_due(policy: &Policy, kind: WhistleKind, whistled: Micros) -> Micros {
    whistled
        + match kind {
            WhistleKind::Daily => minutes(policy.check_in_daily_hours * 60.0),
            WhistleKind::Tough => minutes(policy.check_in_tough_hours * 60.0),
            WhistleKind::Emergency => minutes(policy.check_in_emergency_minutes),
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{HOUR, MINUTE};

    #[test]
    fn each_urgency_has_its_natural_limit() {
        let p = Policy::default();
        let c = Calendar::default();
        assert_eq!(due(&p, &c, Urgency::Emergency, 0).at, 2 * HOUR);
        assert_eq!(due(&p, &c, Urgency::Utility, 0).at, 24 * HOUR);
        assert_eq!(due(&p, &c, Urgency::General, 0).at, 7 * DAY);
        assert_eq!(due(&p, &c, Urgency::Complex, 0).at, 15 * DAY);
    }

    #[test]
    fn working_days_apply_to_day_limits_only() {
        let p = Policy {
            working_days: true,
            ..Policy::default()
        };
        let c = Calendar::default();
        let mon = Date::parse("2026-11-16").unwrap().start() + 9 * HOUR;
        // 7 working days from Monday: Tue..Fri (4), Mon..Wed (3) → Wednesday next week.
        assert_eq!(
            due(&p, &c, Urgency::General, mon).at,
            Date::parse("2026-11-25").unwrap().start() + 9 * HOUR
        );
        assert_eq!(due(&p, &c, Urgency::Emergency, mon).at, mon + 2 * HOUR);
        assert_eq!(due(&p, &c, Urgency::Utility, mon).at, mon + 24 * HOUR);
    }

    #[test]
    fn warning_comes_before_breach_and_escalation_after() {
        let p = Policy::default();
        let h = HandlerClock::new(&p, 0, 2 * HOUR);
        assert_eq!(h.warning, 96 * MINUTE, "80 % of 2 h");
        assert_eq!(h.escalation, 3 * HOUR, "a further half of the limit");
    }

    #[test]
    fn response_and_check_in_windows() {
        let p = Policy::default();
        assert_eq!(accept_due(&p, Urgency::General, 0), HOUR);
        assert_eq!(accept_due(&p, Urgency::Emergency, 0), 15 * MINUTE);
        assert_eq!(contact_due(&p, Urgency::General, 0), 2 * HOUR);
        assert_eq!(contact_due(&p, Urgency::Emergency, 0), 30 * MINUTE);
        assert_eq!(check_in_due(&p, WhistleKind::Daily, 0), 24 * HOUR);
        assert_eq!(check_in_due(&p, WhistleKind::Tough, 0), 72 * HOUR);
        assert_eq!(check_in_due(&p, WhistleKind::Emergency, 0), 30 * MINUTE);
    }
}
