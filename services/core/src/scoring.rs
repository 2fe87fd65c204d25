//! Assessment (Art. 32): the three rates, the composite and the columns
//! beside them, computed from the city's record. Pure: the caller loads the
//! rows of one period and says what "now" is; docs/assessment.md states the
//! definitions this module implements.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Add, AddAssign};

use crate::calendar::Date;
use crate::clock::Micros;
use crate::deadline;
use crate::model::{Satisfaction, Tier, Urgency};
use crate::policy::Policy;
use crate::topology::{Topology, Unit};

/// A lead assignment the centre dispatched to a unit in the period (dual
/// dispatch gives one row per unit). Revoked assignments — the objection
/// was upheld and the order went elsewhere — are not rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    pub unit: String,
    pub order_id: String,
    pub urgency: Urgency,
    pub dispatched_us: Micros,
    pub accepted_us: Option<Micros>,
    pub contacted_us: Option<Micros>,
    /// The handler deadline (moved by granted extensions).
    pub due_us: Micros,
    pub replied_us: Option<Micros>,
}

/// One callback in the period. A reopened order called back twice is two
/// rows, and counts twice.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub order_id: String,
    pub resolved: bool,
    pub satisfaction: Satisfaction,
}

/// Why a unit is answerable for an order's callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Basis {
    /// A lead of the order (both, under dual dispatch).
    Lead,
    /// The township that whistled on it (Art. 33).
    Whistled,
    /// A department summoned by that whistle (Art. 33).
    Summoned,
}

/// A unit answerable for an order's callbacks. A unit counted on several
/// bases counts once per callback.
#[derive(Debug, Clone, PartialEq)]
pub struct Party {
    pub order_id: String,
    pub unit: String,
    pub basis: Basis,
}

/// A whistle summons in the period: the department, its check-in deadline
/// and when it checked in.
#[derive(Debug, Clone, PartialEq)]
pub struct Summons {
    pub department: String,
    pub due_us: Micros,
    pub checked_in_us: Option<Micros>,
}

/// Columns counted beside the rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A whistle the unit blew.
    Whistle,
    /// An objection of the unit's that was ruled against it.
    ObjectionLost,
    /// An order the unit bounced that reached the bounce limit.
    BounceLimit,
    /// A dispatch of a request the centre marked unreasonable or
    /// malicious (Art. 9, 37).
    MarkedRequest,
}

/// Everything one period's scorecards are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    pub dispatched: Vec<Dispatched>,
    pub callbacks: Vec<Callback>,
    /// The parties of every order that has a callback in `callbacks`.
    pub parties: Vec<Party>,
    pub summons: Vec<Summons>,
    pub marks: Vec<(String, Mark)>,
}

/// Counts for one unit (or a sum of units). Integer counts only, so sums
/// are exact and a roll-up equals the direct computation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub dispatched: u64,
    pub responded: u64,
    pub overdue: u64,
    pub callbacks: u64,
    pub resolved: u64,
    pub satisfied: u64,
    pub basically_satisfied: u64,
    pub dissatisfied: u64,
    pub whistles: u64,
    pub summoned: u64,
    pub checked_in_on_time: u64,
    pub objections_lost: u64,
    pub bounce_limit_hits: u64,
    pub marked_requests: u64,
}

impl Add for Tally {
    type Output = Tally;

    fn add(mut self, o: Tally) -> Tally {
        self += o;
        self
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.dispatched += o.dispatched;
        self.responded += o.responded;
        self.overdue += o.overdue;
        self.callbacks += o.callbacks;
        self.resolved += o.resolved;
        self.satisfied += o.satisfied;
        self.basically_satisfied += o.basically_satisfied;
        self.dissatisfied += o.dissatisfied;
        self.whistles += o.whistles;
        self.summoned += o.summoned;
        self.checked_in_on_time += o.checked_in_on_time;
        self.objections_lost += o.objections_lost;
        self.bounce_limit_hits += o.bounce_limit_hits;
        self.marked_requests += o.marked_requests;
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Tally>>(iter: I) -> Tally {
        iter.fold(Tally::default(), Add::add)
    }
}

/// A rate; `value` is `None` when there was nothing to rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub numerator: f64,
    pub denominator: u64,
    pub value: Option<f64>,
}

impl Rate {
    pub fn of(numerator: f64, denominator: u64) -> Rate {
        Rate {
            numerator,
            denominator,
            value: (denominator > 0).then(|| numerator / denominator as f64),
        }
    }
}

/// Score weights from the policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub response: f64,
    pub resolution: f64,
    pub satisfaction: f64,
    /// What a "basically satisfied" answer counts for (satisfied = 1).
    pub basically_satisfied: f64,
}

impl Weights {
    pub fn from_policy(p: &Policy) -> Weights {
        Weights {
            response: p.score_weight_response,
            resolution: p.score_weight_resolution,
            satisfaction: p.score_weight_satisfaction,
            basically_satisfied: p.basically_satisfied_weight,
        }
    }
}

/// The rates of a tally.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub response: Rate,
    pub resolution: Rate,
    pub satisfaction: Rate,
    /// The weighted mean of the rates present, the weights of absent rates
    /// left out; `None` when no rate is present.
    pub composite: Option<f64>,
}

impl Tally {
    pub fn rates(&self, w: &Weights) -> Rates {
        let response = Rate::of(self.responded as f64, self.dispatched);
        let resolution = Rate::of(self.resolved as f64, self.callbacks);
        let satisfaction = Rate::of(
            self.satisfied as f64 + w.basically_satisfied * self.basically_satisfied as f64,
            self.callbacks,
        );
        let parts = [
            (response.value, w.response),
            (resolution.value, w.resolution),
            (satisfaction.value, w.satisfaction),
        ];
        let weight: f64 = parts
            .iter()
            .filter(|(v, _)| v.is_some())
            .map(|(_, w)| w)
            .sum();
        let composite = (weight > 0.0).then(|| {
            parts
                .iter()
                .filter_map(|(v, w)| v.map(|v| v * w))
                .sum::<f64>()
                / weight
        });
        Rates {
            response,
            resolution,
            satisfaction,
            composite,
        }
    }

    /// Nothing happened to this unit in the period.
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }
}

/// Whether a dispatched assignment was responded to (Art. 15, 32): accepted
/// within the accept window after dispatch, and the requester contacted
/// within the contact window after accepting.
pub fn responded(policy: &Policy, d: &Dispatched) -> bool {
    let Some(accepted) = d.accepted_us else {
        return false;
    };
    let Some(contacted) = d.contacted_us else {
        return false;
    };
    accepted <= deadline::accept_due(policy, d.urgency, d.dispatched_us)
        && contacted <= deadline::contact_due(policy, d.urgency, accepted)
}

/// Past its handler deadline: replied late, or still unreplied at `as_of`.
pub fn overdue(d: &Dispatched, as_of: Micros) -> bool {
    match d.replied_us {
        Some(r) => r > d.due_us,
        None => as_of > d.due_us,
    }
}

/// Every unit's own tally for the period.
pub fn tally(policy: &Policy, data: &Dataset, as_of: Micros) -> BTreeMap<String, Tally> {
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for d in &data.dispatched {
        let t = out.entry(d.unit.clone()).or_default();
        t.dispatched += 1;
        t.responded += u64::from(responded(policy, d));
        t.overdue += u64::from(overdue(d, as_of));
    }
    let mut parties: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in &data.parties {
        parties
            .entry(p.order_id.as_str())
            .or_default()
            .insert(p.unit.as_str());
    }
    for c in &data.callbacks {
        for unit in parties.get(c.order_id.as_str()).into_iter().flatten() {
            let t = out.entry(unit.to_string()).or_default();
            t.callbacks += 1;
            t.resolved += u64::from(c.resolved);
            match c.satisfaction {
                Satisfaction::Satisfied => t.satisfied += 1,
                Satisfaction::BasicallySatisfied => t.basically_satisfied += 1,
                Satisfaction::Dissatisfied => t.dissatisfied += 1,
            }
        }
    }
    for s in &data.summons {
        let t = out.entry(s.department.clone()).or_default();
        t.summoned += 1;
        t.checked_in_on_time += u64::from(s.checked_in_us.is_some_and(|c| c <= s.due_us));
    }
    for (unit, mark) in &data.marks {
        let t = out.entry(unit.clone()).or_default();
        match mark {
            Mark::Whistle => t.whistles += 1,
            Mark::ObjectionLost => t.objections_lost += 1,
            Mark::BounceLimit => t.bounce_limit_hits += 1,
            Mark::MarkedRequest => t.marked_requests += 1,
        }
    }
    out
}

/// The sum of the tallies of `units` (a subtree, a peer group…).
pub fn sum<'a>(
    tallies: &BTreeMap<String, Tally>,
    units: impl IntoIterator<Item = &'a str>,
) -> Tally {
    units
        .into_iter()
        .filter_map(|u| tallies.get(u))
        .copied()
        .sum()
}

/// A ranked unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub rank: u32,
    pub unit: String,
    pub composite: f64,
}

/// Composites equal to nine decimals are ties: sums of the same rates in
/// another order must not rank apart on rounding error.
fn tie_key(c: f64) -> i64 {
    (c * 1e9).round() as i64
}

/// Ranks units by composite, best first; equal composites (to nine
/// decimals) share the earlier rank and are listed by unit id. Units
/// without a composite are returned apart, unrated.
pub fn rank(scored: &[(String, Option<f64>)]) -> (Vec<Ranked>, Vec<String>) {
    let mut rated: Vec<(&str, f64)> = scored
        .iter()
        .filter_map(|(u, c)| c.map(|c| (u.as_str(), c)))
        .collect();
    rated.sort_by(|a, b| tie_key(b.1).cmp(&tie_key(a.1)).then_with(|| a.0.cmp(b.0)));
    let mut out: Vec<Ranked> = Vec::with_capacity(rated.len());
    for (i, (unit, composite)) in rated.into_iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if tie_key(prev.composite) == tie_key(composite) => prev.rank,
            _ => i as u32 + 1,
        };
        out.push(Ranked {
            rank,
            unit: unit.to_string(),
            composite,
        });
    }
    let unrated = scored
        .iter()
        .filter(|(_, c)| c.is_none())
        .map(|(u, _)| u.clone())
        .collect();
    (out, unrated)
}

/// A month (`YYYY-MM`) as the instants [start, end) in Asia/Shanghai.
pub fn month_window(month: &str) -> Option<(Micros, Micros)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let first = Date::parse(&format!("{y}-{m}-01"))?;
    let next = match first.month {
        12 => Date {
            year: first.year + 1,
            month: 1,
            day: 1,
        },
        n => Date {
            month: n + 1,
            ..first
        },
    };
    Some((first.start(), next.start()))
}

/// The month (`YYYY-MM`, Asia/Shanghai) an instant falls in.
pub fn month_of(t: Micros) -> String {
    let d = Date::of(t);
    format!("{:04}-{:02}", d.year, d.month)
}

/// Peer groups ranked against each other (Art. 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerGroup {
    Townships,
    Districts,
    CityDepartments,
    DistrictDepartments,
    Enterprises,
    CentralUnits,
}

impl PeerGroup {
    pub const ALL: [PeerGroup; 6] = [
        PeerGroup::Townships,
        PeerGroup::Districts,
        PeerGroup::CityDepartments,
        PeerGroup::DistrictDepartments,
        PeerGroup::Enterprises,
        PeerGroup::CentralUnits,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PeerGroup::Townships => "townships",
            PeerGroup::Districts => "districts",
            PeerGroup::CityDepartments => "city_departments",
            PeerGroup::DistrictDepartments => "district_departments",
            PeerGroup::Enterprises => "enterprises",
            PeerGroup::CentralUnits => "central_units",
        }
    }

    /// The group a unit is ranked in, if any (communities and the centre
    /// are not ranked; central units only when the policy assesses them,
    /// Art. 22).
    pub fn of(unit: &Unit, policy: &crate::Policy) -> Option<PeerGroup> {
        match unit.tier {
            Tier::Township => Some(PeerGroup::Townships),
            Tier::District => Some(PeerGroup::Districts),
            Tier::Central if policy.assess_central_units => Some(PeerGroup::CentralUnits),
            Tier::Central => None,
            Tier::Department if unit.enterprise => Some(PeerGroup::Enterprises),
            Tier::Department if unit.level == Some(crate::Level::District) => {
                Some(PeerGroup::DistrictDepartments)
            }
            Tier::Department => Some(PeerGroup::CityDepartments),
            Tier::City | Tier::Community => None,
        }
    }
}

/// Every unit's subtree tally (itself and every unit below it), from the
/// units' own tallies.
pub fn subtrees(topology: &Topology, own: &BTreeMap<String, Tally>) -> BTreeMap<String, Tally> {
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for (unit, t) in own {
        let mut at = topology.unit(unit);
        let mut guard = 0;
        while let Some(u) = at {
            *out.entry(u.id.clone()).or_default() += *t;
            at = topology.parent_of(&u.id);
            guard += 1;
            if guard > 64 {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{HOUR, MINUTE};
    use proptest::prelude::*;

    const T: Micros = 1_000 * HOUR;

    fn policy() -> Policy {
        Policy::default()
    }

    fn w() -> Weights {
        Weights::from_policy(&policy())
    }

    fn d(unit: &str, order: &str, accept_min: Option<i64>, contact_min: Option<i64>) -> Dispatched {
        let accepted = accept_min.map(|m| T + m * MINUTE);
        Dispatched {
            unit: unit.into(),
            order_id: order.into(),
            urgency: Urgency::General,
            dispatched_us: T,
            accepted_us: accepted,
            contacted_us: contact_min.and_then(|m| accepted.map(|a| a + m * MINUTE)),
            due_us: T + 7 * 24 * HOUR,
            replied_us: Some(T + 24 * HOUR),
        }
    }

    fn party(order: &str, unit: &str, basis: Basis) -> Party {
        Party {
            order_id: order.into(),
            unit: unit.into(),
            basis,
        }
    }

    fn cb(order: &str, resolved: bool, s: Satisfaction) -> Callback {
        Callback {
            order_id: order.into(),
            resolved,
            satisfaction: s,
        }
    }

    #[test]
    fn response_needs_both_windows_and_counts_each_dual_dispatch() {
        // Default windows: accept within 60 min, contact within 120 min of
        // accepting. o1 goes to two units (dual dispatch): each is a row.
        let data = Dataset {
            dispatched: vec![
                d("t1", "o1", Some(60), Some(120)), // both on the edge: responded
                d("d1", "o1", Some(61), Some(10)),  // accepted late
                d("t1", "o2", Some(5), Some(121)),  // contacted late
                d("t1", "o3", Some(5), None),       // never contacted
                d("t1", "o4", None, None),          // never accepted
            ],
            ..Default::default()
        };
        let t = tally(&policy(), &data, T);
        assert_eq!((t["t1"].dispatched, t["t1"].responded), (4, 1));
        assert_eq!((t["d1"].dispatched, t["d1"].responded), (1, 0));
        let r = t["t1"].rates(&w());
        assert_eq!(r.response.value, Some(0.25));
        // No callbacks: resolution and satisfaction are absent, and the
        // composite is the response rate alone.
        assert_eq!(r.resolution.value, None);
        assert_eq!(r.satisfaction.denominator, 0);
        assert_eq!(r.composite, Some(0.25));
    }

    #[test]
    fn emergency_windows_are_shorter() {
        let mut e = d("t1", "o1", Some(16), Some(5));
        e.urgency = Urgency::Emergency;
        assert!(
            !responded(&policy(), &e),
            "15 min accept window for emergencies"
        );
        e.accepted_us = Some(T + 15 * MINUTE);
        e.contacted_us = Some(T + 45 * MINUTE);
        assert!(
            responded(&policy(), &e),
            "30 min contact window after accepting"
        );
        e.contacted_us = Some(T + 46 * MINUTE);
        assert!(!responded(&policy(), &e));
    }

    #[test]
    fn whistle_assesses_the_township_and_each_summoned_department_once() {
        // o1: lead t1, which whistled; d1 and d2 summoned. t1 is both lead
        // and whistler: one callback counts once for it.
        let data = Dataset {
            callbacks: vec![
                cb("o1", true, Satisfaction::BasicallySatisfied),
                cb("o2", false, Satisfaction::Dissatisfied),
            ],
            parties: vec![
                party("o1", "t1", Basis::Lead),
                party("o1", "t1", Basis::Whistled),
                party("o1", "d1", Basis::Summoned),
                party("o1", "d2", Basis::Summoned),
                party("o2", "t1", Basis::Lead),
            ],
            summons: vec![
                Summons {
                    department: "d1".into(),
                    due_us: T,
                    checked_in_us: Some(T),
                },
                Summons {
                    department: "d2".into(),
                    due_us: T,
                    checked_in_us: Some(T + 1),
                },
            ],
            marks: vec![("t1".into(), Mark::Whistle)],
            ..Default::default()
        };
        let t = tally(&policy(), &data, T);
        assert_eq!((t["t1"].callbacks, t["t1"].resolved), (2, 1));
        assert_eq!((t["d1"].callbacks, t["d2"].callbacks), (1, 1));
        assert_eq!(
            (t["d1"].checked_in_on_time, t["d2"].checked_in_on_time),
            (1, 0)
        );
        assert_eq!(t["t1"].whistles, 1);
        // t1: resolution 1/2; satisfaction (0 + 1 × 1.0 basically) / 2.
        let r = t["t1"].rates(&w());
        assert_eq!(r.resolution.value, Some(0.5));
        assert_eq!(r.satisfaction.value, Some(0.5));
        // No dispatches: composite = (0.4 × 0.5 + 0.4 × 0.5) / 0.8 = 0.5.
        assert_eq!(r.composite, Some(0.5));
        let half = Weights {
            basically_satisfied: 0.5,
            ..w()
        };
        assert_eq!(t["d1"].rates(&half).satisfaction.value, Some(0.5));
    }

    #[test]
    fn a_reopened_order_counts_once_per_callback() {
        let data = Dataset {
            callbacks: vec![
                cb("o1", false, Satisfaction::Dissatisfied),
                cb("o1", true, Satisfaction::Satisfied),
            ],
            parties: vec![party("o1", "t1", Basis::Lead)],
            ..Default::default()
        };
        let t = tally(&policy(), &data, T)["t1"];
        assert_eq!(
            (t.callbacks, t.resolved, t.satisfied, t.dissatisfied),
            (2, 1, 1, 1)
        );
    }

    #[test]
    fn composite_uses_policy_weights() {
        let t = Tally {
            dispatched: 4,
            responded: 3,
            callbacks: 5,
            resolved: 4,
            satisfied: 2,
            basically_satisfied: 1,
            dissatisfied: 2,
            ..Default::default()
        };
        let r = t.rates(&w());
        // 0.2 × 0.75 + 0.4 × 0.8 + 0.4 × 0.6 = 0.15 + 0.32 + 0.24 = 0.71.
        assert!((r.composite.unwrap() - 0.71).abs() < 1e-12);
        assert_eq!(Tally::default().rates(&w()).composite, None);
    }

    #[test]
    fn overdue_is_late_or_unreplied_past_due() {
        let mut x = d("t1", "o1", Some(1), Some(1));
        assert!(!overdue(&x, x.due_us + 1), "replied in time");
        x.replied_us = Some(x.due_us + 1);
        assert!(overdue(&x, x.due_us));
        x.replied_us = None;
        assert!(!overdue(&x, x.due_us));
        assert!(overdue(&x, x.due_us + 1));
    }

    #[test]
    fn months_are_shanghai_calendar_months() {
        let (start, end) = month_window("2026-12").unwrap();
        assert_eq!(month_of(start), "2026-12");
        assert_eq!(month_of(start - 1), "2026-11");
        assert_eq!(month_of(end - 1), "2026-12");
        assert_eq!(month_of(end), "2027-01");
        // 2026-12-01 00:00 in Shanghai is 2026-11-30 16:00 UTC.
        assert_eq!(
            start,
            Date::parse("2026-11-30").unwrap().days() * crate::clock::DAY + 16 * HOUR
        );
        assert_eq!((end - start) / crate::clock::DAY, 31);
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
            assert_eq!(month_window(bad), None, "{bad}");
        }
    }

    #[test]
    fn ties_share_a_rank_and_unrated_stand_apart() {
        let (r, unrated) = rank(&[
            ("b".into(), Some(0.9)),
            ("a".into(), Some(0.9)),
            ("c".into(), Some(0.95)),
            ("d".into(), None),
            ("e".into(), Some(0.1)),
            // 0.2·0.8 + 0.4·0.6 + 0.4·0.575 and 0.2·1 + 0.4·0.55 + 0.4·0.525
            // differ in the last bit; they are the same score.
            ("f".into(), Some(0.16 + 0.24 + 0.23)),
            ("g".into(), Some(0.2 + 0.22 + 0.21)),
        ]);
        let got: Vec<_> = r.iter().map(|x| (x.rank, x.unit.as_str())).collect();
        assert_eq!(
            got,
            vec![(1, "c"), (2, "a"), (2, "b"), (4, "f"), (4, "g"), (6, "e")]
        );
        assert_eq!(unrated, vec!["d".to_string()]);
    }

    const UNITS: [&str; 6] = ["d1", "t1", "t2", "c1", "p1", "p2"];

    fn arb_dataset() -> impl Strategy<Value = Dataset> {
        let disp = (
            0..6usize,
            0..8u8,
            prop::option::of(0..200i64),
            prop::option::of(0..300i64),
            0..3u8,
        )
            .prop_map(|(u, o, a, c, urg)| {
                let mut x = d(UNITS[u], &format!("o{o}"), a, c);
                x.urgency = [Urgency::Emergency, Urgency::General, Urgency::Utility][urg as usize];
                x
            });
        let sat = prop_oneof![
            Just(Satisfaction::Satisfied),
            Just(Satisfaction::BasicallySatisfied),
            Just(Satisfaction::Dissatisfied)
        ];
        let callback =
            (0..8u8, any::<bool>(), sat).prop_map(|(o, r, s)| cb(&format!("o{o}"), r, s));
        let p =
            (0..8u8, 0..6usize).prop_map(|(o, u)| party(&format!("o{o}"), UNITS[u], Basis::Lead));
        let summons = (0..6usize, prop::option::of(-5..5i64)).prop_map(|(u, c)| Summons {
            department: UNITS[u].into(),
            due_us: T,
            checked_in_us: c.map(|c| T + c),
        });
        let mark = (0..6usize, 0..3u8).prop_map(|(u, m)| {
            (
                UNITS[u].to_string(),
                [Mark::Whistle, Mark::ObjectionLost, Mark::BounceLimit][m as usize],
            )
        });
        (
            prop::collection::vec(disp, 0..20),
            prop::collection::vec(callback, 0..12),
            prop::collection::vec(p, 0..16),
            prop::collection::vec(summons, 0..6),
            prop::collection::vec(mark, 0..6),
        )
            .prop_map(|(dispatched, callbacks, parties, summons, marks)| Dataset {
                dispatched,
                callbacks,
                parties,
                summons,
                marks,
            })
    }

    fn only(data: &Dataset, units: &[&str]) -> Dataset {
        let keep = |u: &str| units.contains(&u);
        Dataset {
            dispatched: data
                .dispatched
                .iter()
                .filter(|x| keep(&x.unit))
                .cloned()
                .collect(),
            callbacks: data.callbacks.clone(),
            parties: data
                .parties
                .iter()
                .filter(|x| keep(&x.unit))
                .cloned()
                .collect(),
            summons: data
                .summons
                .iter()
                .filter(|x| keep(&x.department))
                .cloned()
                .collect(),
            marks: data.marks.iter().filter(|x| keep(&x.0)).cloned().collect(),
        }
    }

    proptest! {
        #[test]
        fn rates_stay_in_unit_interval(data in arb_dataset(), bs in 0.0..=1.0f64) {
            let weights = Weights { basically_satisfied: bs, ..w() };
            for t in tally(&policy(), &data, T + 30 * 24 * HOUR).values() {
                let r = t.rates(&weights);
                for v in [r.response.value, r.resolution.value, r.satisfaction.value, r.composite]
                    .into_iter()
                    .flatten()
                {
                    prop_assert!((0.0..=1.0).contains(&v), "{v} out of [0,1] for {t:?}");
                }
            }
        }

        /// A parent's roll-up (its own tally plus each child subtree's)
        /// equals computing the subtree directly over the same orders.
        #[test]
        fn roll_up_equals_direct_computation(data in arb_dataset()) {
            // d1 ⊃ {t1 ⊃ {c1}, t2, p1}; p2 is outside.
            let p = policy();
            let as_of = T + 24 * HOUR;
            let all = tally(&p, &data, as_of);
            let children = [vec!["t1", "c1"], vec!["t2"], vec!["p1"]];
            let rolled = sum(&all, ["d1"])
                + children.iter().map(|c| tally(&p, &only(&data, c), as_of).values().copied().sum::<Tally>()).sum::<Tally>();
            let direct: Tally = tally(&p, &only(&data, &["d1", "t1", "c1", "t2", "p1"]), as_of)
                .values()
                .copied()
                .sum();
            prop_assert_eq!(rolled, direct);
            prop_assert_eq!(direct, sum(&all, ["d1", "t1", "c1", "t2", "p1"]));
        }
    }
}
