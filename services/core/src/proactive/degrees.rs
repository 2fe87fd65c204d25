//! The four degrees (四度) of a problem, each 1–4, and the risk level they
//! make. The method is written in docs/assessment.md, section "Proactive
//! governance"; this file implements exactly that text.

use super::ProactivePolicy;
use crate::model::{Mood, RiskLevel, Urgency};

/// Frequency 频度, breadth 广度, intensity 烈度, difficulty 难度.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Degrees {
    pub frequency: u8,
    pub breadth: u8,
    pub intensity: u8,
    pub difficulty: u8,
}

impl Degrees {
    /// The risk score: the sum of the four degrees, 4–16.
    pub fn score(self) -> u32 {
        [
            self.frequency,
            self.breadth,
            self.intensity,
            self.difficulty,
        ]
        .iter()
        .map(|d| u32::from(*d))
        .sum()
    }

    /// The risk level: the score against the policy's three risk steps.
    pub fn risk(self, p: &ProactivePolicy) -> RiskLevel {
        match step(f64::from(self.score()), p.risk_steps.map(f64::from)) {
            1 => RiskLevel::Low,
            2 => RiskLevel::Medium,
            3 => RiskLevel::High,
            _ => RiskLevel::Critical,
        }
    }
}

/// 1 plus the number of steps the value reaches (steps ascend): 1–4.
pub fn step(value: f64, steps: [f64; 3]) -> u8 {
    1 + steps.iter().filter(|s| value >= **s).count() as u8
}

fn count_step(value: u64, steps: [u64; 3]) -> u8 {
    step(value as f64, steps.map(|s| s as f64))
}

/// Frequency: the window's count against the frequency steps, one more
/// (at most 4) when the problem is high-frequency against its baseline.
pub fn frequency(p: &ProactivePolicy, count: u64, high_frequency: bool) -> u8 {
    (count_step(count, p.frequency_steps) + u8::from(high_frequency)).min(4)
}

/// Breadth: the higher of distinct requesters against the people steps and
/// distinct units affected against the unit steps.
pub fn breadth(p: &ProactivePolicy, people: u64, units: u64) -> u8 {
    count_step(people, p.people_steps).max(count_step(units, p.unit_steps))
}

/// Urgency points: general 1, complex 2, utility 3, emergency 4.
pub fn urgency_points(u: Urgency) -> u8 {
    match u {
        Urgency::General => 1,
        Urgency::Complex => 2,
        Urgency::Utility => 3,
        Urgency::Emergency => 4,
    }
}

/// Mood points: calm or not recorded 1, anxious 2, angry 3.
pub fn mood_points(m: Option<Mood>) -> u8 {
    match m {
        None | Some(Mood::Calm) => 1,
        Some(Mood::Anxious) => 2,
        Some(Mood::Angry) => 3,
    }
}

/// Intensity: each request scores the higher of its urgency and mood
/// points; the degree is their mean rounded half up (1 when empty).
pub fn intensity(requests: impl IntoIterator<Item = (Urgency, Option<Mood>)>) -> u8 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (u, m) in requests {
        sum += u64::from(urgency_points(u).max(mood_points(m)));
        n += 1;
    }
    match n {
        0 => 1,
        // mean rounded half up = floor((2·sum + n) / 2n)
        n => ((2 * sum + n) / (2 * n)).clamp(1, 4) as u8,
    }
}

/// Difficulty: the share of requests that were overdue, reopened, disputed
/// or escalated (any of them), against the difficulty steps.
pub fn difficulty(p: &ProactivePolicy, hard: u64, count: u64) -> u8 {
    if count == 0 {
        return 1;
    }
    step(hard as f64 / count as f64, p.difficulty_steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(frequency: u8, breadth: u8, intensity: u8, difficulty: u8) -> Degrees {
        Degrees {
            frequency,
            breadth,
            intensity,
            difficulty,
        }
    }

    #[test]
    fn hand_worked_degrees() {
        let p = ProactivePolicy::default();
        // Steps [3, 10, 30]: 2 → 1, 3 → 2, 29 → 3, 30 → 4.
        assert_eq!(frequency(&p, 2, false), 1);
        assert_eq!(frequency(&p, 3, false), 2);
        assert_eq!(frequency(&p, 29, false), 3);
        assert_eq!(frequency(&p, 30, false), 4);
        // A surge over the baseline adds one, capped at 4.
        assert_eq!(frequency(&p, 6, true), 3);
        assert_eq!(frequency(&p, 40, true), 4);
        // 4 people → 2; 5 units (steps [2, 4, 8]) → 3: breadth 3.
        assert_eq!(breadth(&p, 4, 5), 3);
        assert_eq!(breadth(&p, 1, 1), 1);
        // Utility+calm 3, general+angry 3, general+calm 1, general+anxious 2:
        // mean 9/4 = 2.25 → 2.
        let reqs = [
            (Urgency::Utility, Some(Mood::Calm)),
            (Urgency::General, Some(Mood::Angry)),
            (Urgency::General, None),
            (Urgency::General, Some(Mood::Anxious)),
        ];
        assert_eq!(intensity(reqs), 2);
        // 3, 1, 3, 1 → mean 2; 3, 1 → 2; 4, 1 → 2.5 rounds half up to 3.
        assert_eq!(
            intensity([
                (Urgency::Utility, None),
                (Urgency::General, None),
                (Urgency::General, Some(Mood::Angry)),
                (Urgency::General, None),
            ]),
            2
        );
        assert_eq!(
            intensity([(Urgency::Utility, None), (Urgency::General, None)]),
            2
        );
        assert_eq!(
            intensity([(Urgency::Emergency, None), (Urgency::General, None)]),
            3
        );
        assert_eq!(intensity([]), 1);
        // Difficulty steps [0.1, 0.25, 0.5]: 1 of 10 → 2, 1 of 4 → 3, 0 → 1.
        assert_eq!(difficulty(&p, 1, 10), 2);
        assert_eq!(difficulty(&p, 1, 4), 3);
        assert_eq!(difficulty(&p, 5, 10), 4);
        assert_eq!(difficulty(&p, 0, 10), 1);
        assert_eq!(difficulty(&p, 0, 0), 1);
    }

    #[test]
    fn hand_worked_risk_levels() {
        let p = ProactivePolicy::default();
        // Risk steps [7, 10, 13] on the sum of the degrees.
        assert_eq!(d(1, 1, 1, 1).score(), 4);
        assert_eq!(d(1, 1, 1, 1).risk(&p), RiskLevel::Low);
        assert_eq!(d(2, 2, 1, 1).risk(&p), RiskLevel::Low);
        assert_eq!(d(2, 2, 2, 1).risk(&p), RiskLevel::Medium);
        assert_eq!(d(3, 3, 3, 1).risk(&p), RiskLevel::High);
        assert_eq!(d(4, 3, 3, 3).risk(&p), RiskLevel::Critical);
        assert_eq!(d(4, 4, 4, 4).score(), 16);
    }

    proptest! {
        #[test]
        fn degrees_stay_in_range(
            count in 0u64..200,
            hf in any::<bool>(),
            people in 0u64..200,
            units in 0u64..50,
            hard in 0u64..200,
            reqs in prop::collection::vec((0usize..4, 0usize..4), 0..40),
        ) {
            let p = ProactivePolicy::default();
            let hard = hard.min(count);
            let moods = [None, Some(Mood::Calm), Some(Mood::Anxious), Some(Mood::Angry)];
            let reqs: Vec<_> = reqs.iter().map(|(u, m)| (Urgency::ALL[*u], moods[*m])).collect();
            for v in [
                frequency(&p, count, hf),
                breadth(&p, people, units),
                intensity(reqs),
                difficulty(&p, hard, count),
            ] {
                prop_assert!((1..=4).contains(&v));
            }
        }

        #[test]
        fn risk_is_monotone_in_each_degree(
            f in 1u8..=4, b in 1u8..=4, i in 1u8..=4, x in 1u8..=4, which in 0usize..4,
        ) {
            let p = ProactivePolicy::default();
            let base = d(f, b, i, x);
            let mut up = base;
            let slot = match which {
                0 => &mut up.frequency,
                1 => &mut up.breadth,
                2 => &mut up.intensity,
                _ => &mut up.difficulty,
            };
            *slot = (*slot + 1).min(4);
            prop_assert!(up.risk(&p) >= base.risk(&p));
            prop_assert!(up.score() >= base.score());
        }

        #[test]
        fn more_requests_never_lower_frequency(a in 0u64..100, extra in 0u64..100, hf in any::<bool>()) {
            let p = ProactivePolicy::default();
            prop_assert!(frequency(&p, a + extra, hf) >= frequency(&p, a, hf));
        }
    }
}
