//! Intake dispositions (Art. 11): requests the centre records but does not
//! dispatch, what the requester is told, and how a repeat of an open order
//! is recognised.

use crate::clock::Micros;
use crate::model::{Disposition, EmergencyLine, LegalChannel, OrderState};
use crate::policy::Policy;

/// An earlier order, as far as duplicate matching looks at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Earlier<'a> {
    pub order_id: &'a str,
    pub requester_ref: &'a str,
    pub address: &'a str,
    /// Its location (latitude, longitude), when it came with one.
    pub location: Option<(f64, f64)>,
    pub category_code: &'a str,
    pub received_us: Micros,
    pub state: OrderState,
    /// When it was closed, if it was.
    pub closed_us: Option<Micros>,
}

/// The request being taken, as far as duplicate matching looks at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Incoming<'a> {
    pub requester_ref: &'a str,
    pub address: &'a str,
    pub location: Option<(f64, f64)>,
    pub category_code: &'a str,
    pub now: Micros,
}

/// A request's place: its address, and its location when it came with one.
type PlaceOf<'a> = (&'a str, Option<(f64, f64)>);

/// Two requests are at the same place when both came with locations within
/// the duplicate radius of each other (a location decides the place), or
/// else when they name the same address.
fn same_place(a: PlaceOf<'_>, b: PlaceOf<'_>, policy: &Policy) -> bool {
    match (a.1, b.1) {
        (Some(p), Some(q)) => metres_between(p, q) <= policy.duplicate_radius_meters,
        _ => !a.0.trim().is_empty() && a.0 == b.0,
    }
}

/// Metres between two (latitude, longitude) points, in a local
/// equirectangular frame: exact enough over a few hundred metres.
fn metres_between(p: (f64, f64), q: (f64, f64)) -> f64 {
    let (kx, ky) = hotline_geo::metric::scale_at((p.0 + q.0) / 2.0);
    ((p.1 - q.1) * kx).hypot((p.0 - q.0) * ky)
}

/// The order a request repeats, if any: the same requester, place and
/// category, and either still open and received within the duplicate
/// window, or finished (办理完毕: closed after its callback) within the
/// finished-repeat window (Art. 11(3): a repeat of a finished request with
/// no new facts or reasons is not taken again); the latest such order when
/// several match. A request that says it brings new facts is never
/// matched (the caller does not ask).
pub fn repeated<'a>(
    earlier: impl IntoIterator<Item = Earlier<'a>>,
    incoming: Incoming<'_>,
    policy: &Policy,
) -> Option<Earlier<'a>> {
    let since = policy.duplicate_since(incoming.now);
    earlier
        .into_iter()
        .filter(|e| {
            e.requester_ref == incoming.requester_ref
                && same_place(
                    (e.address, e.location),
                    (incoming.address, incoming.location),
                    policy,
                )
                && e.category_code == incoming.category_code
                && ((e.received_us >= since && !e.state.is_final())
                    || (e.state == OrderState::Closed
                        && e.closed_us
                            .is_some_and(|c| c >= policy.finished_repeat_since(incoming.now))))
        })
        .max_by_key(|e| (e.received_us, e.order_id))
}

/// The particulars a disposition needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Particulars<'a> {
    Transfer(EmergencyLine),
    Channel(LegalChannel),
    /// Linked to the order it repeats, in its state.
    Repeats(&'a str, OrderState),
    None,
}

/// What the requester is told, in one line: the standard wording of the
/// disposition, then the operator's reason.
pub fn told(d: Disposition, p: Particulars<'_>, reason: &str) -> String {
    let head = match (d, p) {
        (Disposition::EmergencyTransfer, Particulars::Transfer(line)) => {
            format!("transferred to the {line} emergency line")
        }
        (Disposition::LegalChannel, Particulars::Channel(c)) => {
            format!("to be pursued through {}", c.as_str().replace('_', " "))
        }
        (Disposition::Duplicate, Particulars::Repeats(id, OrderState::Closed)) => format!(
            "repeats orders/{id}, which was handled and closed; a request with no new facts \
             or reasons is not taken again (Art. 11(3))"
        ),
        (Disposition::Duplicate, Particulars::Repeats(id, state)) => {
            format!(
                "repeats orders/{id}, which is {}",
                state.as_str().replace('_', " ")
            )
        }
        (Disposition::SecretsPrivacy, _) => "involves secrets or privacy; explained".into(),
        (Disposition::OutsideDuty, _) => "outside any unit's duty; guided elsewhere".into(),
        (Disposition::Unlawful, _) => "against the law or public order; dissuaded".into(),
        (d, _) => d.as_str().replace('_', " "),
    };
    if reason.trim().is_empty() {
        head
    } else {
        format!("{head}: {}", reason.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::HOUR;

    fn earlier(id: &str, received_us: Micros, state: OrderState) -> Earlier<'_> {
        Earlier {
            order_id: id,
            requester_ref: "rq-1",
            address: "1 Main St",
            location: None,
            category_code: "road",
            received_us,
            state,
            closed_us: None,
        }
    }

    fn incoming(now: Micros) -> Incoming<'static> {
        Incoming {
            requester_ref: "rq-1",
            address: "1 Main St",
            location: None,
            category_code: "road",
            now,
        }
    }

    #[test]
    fn art11_a_repeat_of_a_finished_order_matches_within_the_finished_window() {
        let p = Policy::default();
        let day = 24 * HOUR;
        let now = 100 * day;
        let closed = |id, at| Earlier {
            closed_us: Some(at),
            ..earlier(id, at - 10 * day, OrderState::Closed)
        };
        let rows = [closed("HL1", now - 40 * day), closed("HL2", now - 20 * day)];
        let hit = repeated(rows, incoming(now), &p).unwrap();
        assert_eq!(hit.order_id, "HL2", "closed 20 days ago, inside 30");
        assert!(
            repeated([rows[0]], incoming(now), &p).is_none(),
            "closed 40 days ago"
        );
        // Withdrawn or answered is not 办理完毕 of a handled request.
        let withdrawn = Earlier {
            closed_us: Some(now - day),
            ..earlier("HL3", now - 2 * day, OrderState::Withdrawn)
        };
        assert!(repeated([withdrawn], incoming(now), &p).is_none());
        let off = Policy {
            finished_repeat_days: 0.0,
            ..Policy::default()
        };
        assert!(
            repeated(rows, incoming(now), &off).is_none(),
            "a window of 0 days"
        );
    }

    #[test]
    fn a_repeat_matches_requester_location_and_category_within_the_window() {
        let p = Policy::default();
        let now = 100 * HOUR;
        let rows = [
            earlier("HL1", 10 * HOUR, OrderState::InProgress),
            earlier("HL2", 50 * HOUR, OrderState::Dispatched),
            earlier("HL3", 90 * HOUR, OrderState::Closed),
        ];
        let hit = repeated(rows, incoming(now), &p).unwrap();
        assert_eq!(hit.order_id, "HL2", "the latest open order in the window");
        let other_place = Incoming {
            address: "2 Main St",
            ..incoming(now)
        };
        assert!(repeated(rows, other_place, &p).is_none());
        let other_person = Incoming {
            requester_ref: "rq-2",
            ..incoming(now)
        };
        assert!(repeated(rows, other_person, &p).is_none());
        let other_matter = Incoming {
            category_code: "noise",
            ..incoming(now)
        };
        assert!(repeated(rows, other_matter, &p).is_none());
        assert!(
            repeated(rows, incoming(200 * HOUR), &p).is_none(),
            "outside the window"
        );
        // Located requests match within the radius, whatever their address.
        let located = |e: Earlier<'static>| Earlier {
            address: "",
            location: Some((39.9400, 116.2400)),
            ..e
        };
        let rows = [located(earlier("HL4", 60 * HOUR, OrderState::Dispatched))];
        let near = Incoming {
            address: "by the gate",
            location: Some((39.9405, 116.2400)),
            ..incoming(now)
        };
        assert_eq!(repeated(rows, near, &p).unwrap().order_id, "HL4", "55 m");
        let far = Incoming {
            location: Some((39.9420, 116.2400)),
            ..near
        };
        assert!(repeated(rows, far, &p).is_none(), "220 m away");
        let unplaced = Incoming {
            address: " ",
            location: None,
            ..incoming(now)
        };
        assert!(repeated(rows, unplaced, &p).is_none(), "no place, no match");
    }

    #[test]
    fn the_requester_is_told_why() {
        let s = told(
            Disposition::EmergencyTransfer,
            Particulars::Transfer(EmergencyLine::Fire),
            "smoke in the stairwell",
        );
        assert_eq!(
            s,
            "transferred to the 119 emergency line: smoke in the stairwell"
        );
        let s = told(
            Disposition::Duplicate,
            Particulars::Repeats("HL1", OrderState::InProgress),
            "",
        );
        assert_eq!(s, "repeats orders/HL1, which is in progress");
        let s = told(
            Disposition::LegalChannel,
            Particulars::Channel(LegalChannel::AdministrativeReview),
            "x",
        );
        assert!(s.starts_with("to be pursued through administrative review"));
    }
}
