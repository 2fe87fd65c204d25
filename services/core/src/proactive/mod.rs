//! Proactive analytics (未诉先办, Art. 24): from the city's record of
//! requests, the high-frequency and seasonal problems of an area, their
//! four degrees and risk level, the problem-of-the-month candidates, and
//! the focus townships. Pure: the caller loads the requests and says which
//! areas each one counts in.

mod degrees;
mod policy;

use std::collections::{BTreeMap, BTreeSet};

pub use degrees::{
    Degrees, breadth, difficulty, frequency, intensity, mood_points, step, urgency_points,
};
pub use policy::{Month, ProactivePolicy, Season, Window};

use crate::clock::Micros;
use crate::model::{Mood, RiskLevel, Urgency};

/// One citizen request as the analysis sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub category: String,
    /// The areas it counts in, smallest first (township, district, city),
    /// cut at the area analysed.
    pub areas: Vec<String>,
    pub received_us: Micros,
    pub requester_ref: String,
    /// Where it is, for repeat locations: see [`place_key`].
    pub place: String,
    /// The smallest unit it happened in (community, else township).
    pub unit: String,
    pub urgency: Urgency,
    pub mood: Option<Mood>,
    pub overdue: bool,
    pub reopened: bool,
    /// A jurisdiction objection was raised on it.
    pub disputed: bool,
    /// Urged, whistled (co-handlers summoned) or escalated upward.
    pub escalated: bool,
}

impl Request {
    fn hard(&self) -> bool {
        self.overdue || self.reopened || self.disputed || self.escalated
    }
}

/// The place of a request for repeat locations: its coordinates rounded to
/// the policy's grid when located, else its community, else its address.
pub fn place_key(
    p: &ProactivePolicy,
    location: Option<(f64, f64)>,
    community: &str,
    address: &str,
) -> String {
    match location {
        Some((lat, lon)) => {
            let g = p.location_grid_degrees;
            format!("@{},{}", (lat / g).round() as i64, (lon / g).round() as i64)
        }
        None if !community.is_empty() => community.to_string(),
        None => address.trim().to_string(),
    }
}

/// Shares of a problem's requests with each mark of difficulty.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Shares {
    pub overdue: f64,
    pub reopened: f64,
    pub disputed: f64,
    pub escalated: f64,
    /// Any of the four: what the difficulty degree reads.
    pub any: f64,
}

/// A problem: a category in an area over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub category: String,
    pub area: String,
    pub count: u64,
    /// Mean count of the baseline windows.
    pub baseline: f64,
    /// Count in the same window of each earlier year, most recent first.
    pub earlier_years: Vec<u64>,
    pub high_frequency: bool,
    /// Some earlier year's same window reached the high-frequency minimum.
    pub periodic: bool,
    /// Policy seasons covering the category and overlapping the window.
    pub seasons: Vec<String>,
    /// Requesters with two or more requests in the window.
    pub repeat_requesters: u64,
    /// Places with two or more requests in the window.
    pub repeat_places: u64,
    pub people: u64,
    pub units: u64,
    pub shares: Shares,
    pub degrees: Degrees,
    pub score: u32,
    pub risk: RiskLevel,
}

/// Every problem with at least one request in the window ending with
/// `month`, ranked: risk score, then count, descending; then category and
/// area by name.
pub fn analyse(
    p: &ProactivePolicy,
    seasons: &[Season],
    month: Month,
    requests: &[Request],
) -> Vec<Problem> {
    let window = p.window(month);
    let baseline = p.baseline(month);
    let years = p.earlier_years(month);
    type Key<'a> = (&'a str, &'a str);
    let mut now: BTreeMap<Key, Vec<&Request>> = BTreeMap::new();
    let mut before: BTreeMap<Key, u64> = BTreeMap::new();
    let mut yearly: BTreeMap<(Key, usize), u64> = BTreeMap::new();
    for r in requests {
        for area in &r.areas {
            let key = (r.category.as_str(), area.as_str());
            if window.contains(r.received_us) {
                now.entry(key).or_default().push(r);
            }
            if baseline.iter().any(|w| w.contains(r.received_us)) {
                *before.entry(key).or_default() += 1;
            }
            if let Some(y) = years.iter().position(|w| w.contains(r.received_us)) {
                *yearly.entry((key, y)).or_default() += 1;
            }
        }
    }
    let mut problems: Vec<Problem> = now
        .into_iter()
        .map(|(key, rs)| {
            let count = rs.len() as u64;
            let base = before.get(&key).copied().unwrap_or(0) as f64 / baseline.len() as f64;
            let earlier_years: Vec<u64> = (0..years.len())
                .map(|y| yearly.get(&(key, y)).copied().unwrap_or(0))
                .collect();
            let high_frequency =
                count >= p.high_frequency_min && count as f64 >= p.high_frequency_ratio * base;
            let repeats = |f: fn(&Request) -> &str| {
                let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
                for r in &rs {
                    let k = f(r);
                    if !k.is_empty() {
                        *seen.entry(k).or_default() += 1;
                    }
                }
                (
                    seen.len() as u64,
                    seen.values().filter(|n| **n >= 2).count() as u64,
                )
            };
            let (people, repeat_requesters) = repeats(|r| r.requester_ref.as_str());
            let (_, repeat_places) = repeats(|r| r.place.as_str());
            let units = rs
                .iter()
                .map(|r| r.unit.as_str())
                .filter(|u| !u.is_empty())
                .collect::<BTreeSet<_>>()
                .len() as u64;
            let share =
                |f: fn(&Request) -> bool| rs.iter().filter(|r| f(r)).count() as f64 / count as f64;
            let hard = rs.iter().filter(|r| r.hard()).count() as u64;
            let shares = Shares {
                overdue: share(|r| r.overdue),
                reopened: share(|r| r.reopened),
                disputed: share(|r| r.disputed),
                escalated: share(|r| r.escalated),
                any: hard as f64 / count as f64,
            };
            let degrees = Degrees {
                frequency: frequency(p, count, high_frequency),
                breadth: breadth(p, people, units),
                intensity: intensity(rs.iter().map(|r| (r.urgency, r.mood))),
                difficulty: difficulty(p, hard, count),
            };
            Problem {
                category: key.0.to_string(),
                area: key.1.to_string(),
                count,
                baseline: base,
                periodic: earlier_years.iter().any(|n| *n >= p.high_frequency_min),
                earlier_years,
                high_frequency,
                seasons: seasons
                    .iter()
                    .filter(|s| s.covers(key.0) && s.overlaps(window))
                    .map(|s| s.name.clone())
                    .collect(),
                repeat_requesters,
                repeat_places,
                people,
                units,
                shares,
                score: degrees.score(),
                risk: degrees.risk(p),
                degrees,
            }
        })
        .collect();
    problems.sort_by(|a, b| {
        (b.score, b.count)
            .cmp(&(a.score, a.count))
            .then_with(|| (&a.category, &a.area).cmp(&(&b.category, &b.area)))
    });
    problems
}

/// A township's volume in the window, per 10,000 people.
#[derive(Debug, Clone, PartialEq)]
pub struct Focus {
    pub unit: String,
    pub volume: u64,
    pub population: u64,
    pub per_10k: f64,
}

/// Focus townships (治理类街乡镇): of the townships given as (unit, volume,
/// population), those at or above the policy's population minimum with at
/// least one request, by volume per 10,000 people (then by unit id); the
/// policy's number of them.
pub fn focus_townships(p: &ProactivePolicy, townships: &[(String, u64, u64)]) -> Vec<Focus> {
    let mut out: Vec<Focus> = townships
        .iter()
        .filter(|(_, volume, population)| {
            *volume > 0 && *population >= p.focus_min_population.max(1)
        })
        .map(|(unit, volume, population)| Focus {
            unit: unit.clone(),
            volume: *volume,
            population: *population,
            per_10k: *volume as f64 * 10_000.0 / *population as f64,
        })
        .collect();
    out.sort_by(|a, b| {
        b.per_10k
            .total_cmp(&a.per_10k)
            .then_with(|| a.unit.cmp(&b.unit))
    });
    out.truncate(p.focus_townships as usize);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DAY;

    fn month(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    /// A request on the 10th of `m` (plus `day` days) in t-pine / d-hill.
    fn req(category: &str, m: &str, day: i64, requester: &str) -> Request {
        Request {
            category: category.into(),
            areas: vec!["t-pine".into(), "d-hill".into()],
            received_us: month(m).start() + (9 + day) * DAY,
            requester_ref: requester.into(),
            place: format!("c-{requester}"),
            unit: format!("c-{requester}"),
            urgency: Urgency::Utility,
            mood: None,
            overdue: false,
            reopened: false,
            disputed: false,
            escalated: false,
        }
    }

    #[test]
    fn hand_worked_heating_problem() {
        let p = ProactivePolicy::default();
        let mut rs = Vec::new();
        // November 2026: six heating requests by four people in three
        // communities; a repeats twice, b once more; one overdue, one
        // reopened and disputed; moods: one angry.
        for (day, who) in [(0, "a"), (1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c")] {
            rs.push(req("heating.no_heat", "2026-11", day, who));
        }
        rs[0].overdue = true;
        rs[1].reopened = true;
        rs[1].disputed = true;
        rs[2].mood = Some(Mood::Angry);
        rs[5].urgency = Urgency::General;
        // Baseline: 3 in October, 0 in September and August → mean 1.
        for day in 0..3 {
            rs.push(req("heating.no_heat", "2026-10", day, "z"));
        }
        // Same month a year before: 5 (periodic); two years before: 1.
        for day in 0..5 {
            rs.push(req("heating.no_heat", "2025-11", day, "y"));
        }
        rs.push(req("heating.no_heat", "2024-11", 0, "y"));
        // Another problem in November: two potholes.
        rs.push(req("road.pothole", "2026-11", 0, "d"));
        rs.push(req("road.pothole", "2026-11", 1, "e"));

        let got = analyse(&p, &Season::defaults(), month("2026-11"), &rs);
        // Two categories × two areas.
        assert_eq!(got.len(), 4);
        let h = &got[0];
        assert_eq!(
            (h.category.as_str(), h.area.as_str()),
            ("heating.no_heat", "d-hill")
        );
        assert_eq!(h.count, 6);
        assert_eq!(h.baseline, 1.0);
        assert_eq!(h.earlier_years, vec![5, 1]);
        assert!(h.periodic);
        // 6 ≥ 5 and 6 ≥ 1.5 × 1.
        assert!(h.high_frequency);
        assert_eq!(h.seasons, vec!["heating".to_string()]);
        assert_eq!((h.people, h.repeat_requesters), (3, 2));
        assert_eq!((h.units, h.repeat_places), (3, 2));
        // Frequency: 6 → 2, +1 for high frequency = 3. Breadth: 3 people → 2,
        // 3 units → 2: 2. Intensity: 3,3,3,3,3,1 = 16/6 = 2.67 → 3.
        // Difficulty: 2 of 6 hard = 0.33 → 3. Score 11 → high.
        assert_eq!(
            h.degrees,
            Degrees {
                frequency: 3,
                breadth: 2,
                intensity: 3,
                difficulty: 3
            }
        );
        assert_eq!(h.score, 11);
        assert_eq!(h.risk, RiskLevel::High);
        assert!((h.shares.any - 2.0 / 6.0).abs() < 1e-9);
        assert!((h.shares.disputed - 1.0 / 6.0).abs() < 1e-9);
        // The township ranks the same problem the same: d-hill, t-pine tie
        // on score and count and sort by area name.
        assert_eq!(got[1].area, "t-pine");
        assert_eq!(got[1].degrees, h.degrees);
        // Potholes: 2 → frequency 1; breadth 2 (2 people → 1, 2 units → 2);
        // intensity utility 3, difficulty 1.
        let pot = &got[2];
        assert_eq!(pot.category, "road.pothole");
        assert_eq!(pot.degrees.breadth, 2);
        assert_eq!(pot.score, 1 + 2 + 3 + 1);
        assert_eq!(pot.risk, RiskLevel::Medium);
        assert!(!pot.high_frequency && pot.seasons.is_empty());
    }

    #[test]
    fn nothing_in_the_window_nothing_reported() {
        let p = ProactivePolicy::default();
        let rs = vec![req("heating.no_heat", "2026-10", 0, "a")];
        assert!(analyse(&p, &[], month("2026-11"), &rs).is_empty());
    }

    #[test]
    fn places_round_to_the_grid() {
        let p = ProactivePolicy::default();
        let a = place_key(&p, Some((39.94961, 116.24301)), "c-x", "");
        let b = place_key(&p, Some((39.94979, 116.24349)), "c-y", "");
        assert_eq!(a, b);
        assert_ne!(a, place_key(&p, Some((39.9510, 116.2430)), "", ""));
        assert_eq!(place_key(&p, None, "c-x", "1 Road"), "c-x");
        assert_eq!(place_key(&p, None, "", " 1 Road "), "1 Road");
    }

    #[test]
    fn focus_townships_by_volume_per_population() {
        let p = ProactivePolicy {
            focus_townships: 2,
            ..ProactivePolicy::default()
        };
        let t = |u: &str, v: u64, pop: u64| (u.to_string(), v, pop);
        // 30/300k = 1.0, 30/200k = 1.5, 50/90k too small, 0 volume skipped,
        // 12/120k = 1.0 ties t-a and sorts by id.
        let got = focus_townships(
            &p,
            &[
                t("t-a", 30, 300_000),
                t("t-b", 30, 200_000),
                t("t-c", 50, 90_000),
                t("t-d", 0, 500_000),
                t("t-e", 12, 120_000),
            ],
        );
        let units: Vec<_> = got.iter().map(|f| f.unit.as_str()).collect();
        assert_eq!(units, vec!["t-b", "t-a"]);
        assert!((got[0].per_10k - 1.5).abs() < 1e-9);
    }
}
