//! The proactive policy: analysis windows, baselines, the steps that turn
//! counts into degrees, and the fixed seasons. Months are Asia/Shanghai.

use serde::Deserialize;

use crate::calendar::Date;
use crate::clock::{DAY, Micros};

/// `[policy.proactive]`; every number is documented in docs/assessment.md.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProactivePolicy {
    /// Months in one analysis window (ending with the month asked about).
    pub window_months: u32,
    /// Earlier windows whose mean count is the baseline.
    pub baseline_windows: u32,
    /// Earlier years whose same window is compared (seasonal, periodic).
    pub years_back: u32,
    /// High frequency: at least this many requests in the window…
    pub high_frequency_min: u64,
    /// …and at least this multiple of the baseline.
    pub high_frequency_ratio: f64,
    /// Requests in the window at or above each step: frequency 2, 3, 4.
    pub frequency_steps: [u64; 3],
    /// Distinct requesters at or above each step: breadth 2, 3, 4.
    pub people_steps: [u64; 3],
    /// Distinct units affected (communities, else townships): breadth 2, 3, 4.
    pub unit_steps: [u64; 3],
    /// Share of requests overdue, reopened, disputed or escalated at or
    /// above each step: difficulty 2, 3, 4.
    pub difficulty_steps: [f64; 3],
    /// Sum of the four degrees at or above each step: medium, high, critical.
    pub risk_steps: [u32; 3],
    /// Located requests in the same cell of this many degrees (latitude and
    /// longitude rounded to it) are at the same place.
    pub location_grid_degrees: f64,
    /// Focus townships: only townships of at least this population…
    pub focus_min_population: u64,
    /// …and this many of them, by requests per 10,000 people.
    pub focus_townships: u32,
    /// Problem-of-the-month candidates returned unless asked otherwise.
    pub top_problems: u32,
    /// A task's report compares equal windows of this many days before and
    /// after its issue.
    pub task_window_days: u32,
}

impl Default for ProactivePolicy {
    fn default() -> Self {
        Self {
            window_months: 1,
            baseline_windows: 3,
            years_back: 2,
            high_frequency_min: 5,
            high_frequency_ratio: 1.5,
            frequency_steps: [3, 10, 30],
            people_steps: [3, 10, 30],
            unit_steps: [2, 4, 8],
            difficulty_steps: [0.1, 0.25, 0.5],
            risk_steps: [7, 10, 13],
            location_grid_degrees: 0.001,
            focus_min_population: 100_000,
            focus_townships: 3,
            top_problems: 10,
            task_window_days: 28,
        }
    }
}

impl ProactivePolicy {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let positive = [
            ("window_months", self.window_months),
            ("baseline_windows", self.baseline_windows),
            ("top_problems", self.top_problems),
            ("task_window_days", self.task_window_days),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(format!("policy.proactive.{name} must be at least 1"));
            }
        }
        let ascending = |name: &str, s: [f64; 3]| {
            if s.iter().all(|v| v.is_finite()) && s[0] <= s[1] && s[1] <= s[2] {
                Ok(())
            } else {
                Err(format!(
                    "policy.proactive.{name} must be three ascending numbers"
                ))
            }
        };
        let f = |s: [u64; 3]| s.map(|v| v as f64);
        ascending("frequency_steps", f(self.frequency_steps))?;
        ascending("people_steps", f(self.people_steps))?;
        ascending("unit_steps", f(self.unit_steps))?;
        ascending("difficulty_steps", self.difficulty_steps)?;
        ascending("risk_steps", self.risk_steps.map(f64::from))?;
        if !(self.high_frequency_ratio.is_finite() && self.high_frequency_ratio >= 0.0) {
            return Err("policy.proactive.high_frequency_ratio must be zero or more".into());
        }
        if !(self.location_grid_degrees.is_finite() && self.location_grid_degrees > 0.0) {
            return Err("policy.proactive.location_grid_degrees must be positive".into());
        }
        Ok(())
    }

    /// The analysis window ending with `month`.
    pub fn window(&self, month: Month) -> Window {
        Window::months(
            month.shift(1 - self.window_months as i32),
            self.window_months,
        )
    }

    /// The baseline windows, most recent first.
    pub fn baseline(&self, month: Month) -> Vec<Window> {
        let w = self.window_months as i32;
        (1..=self.baseline_windows as i32)
            .map(|k| self.window(month.shift(-k * w)))
            .collect()
    }

    /// The same window in each earlier year, most recent first.
    pub fn earlier_years(&self, month: Month) -> Vec<Window> {
        (1..=self.years_back as i32)
            .map(|y| self.window(month.shift(-12 * y)))
            .collect()
    }

    /// A task's equal windows before and after its issue.
    pub fn task_windows(&self, issued: Micros) -> (Window, Window) {
        let len = self.task_window_days as Micros * DAY;
        (
            Window {
                from: issued - len,
                to: issued,
            },
            Window {
                from: issued,
                to: issued + len,
            },
        )
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let month = Month {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
        };
        (1..=12).contains(&month.month).then_some(month)
    }

    /// The Shanghai month of an instant.
    pub fn of(t: Micros) -> Month {
        let d = Date::of(t);
        Month {
            year: d.year,
            month: d.month,
        }
    }

    /// `k` months later (earlier when negative).
    pub fn shift(self, k: i32) -> Month {
        let index = self.year * 12 + self.month as i32 - 1 + k;
        Month {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// Shanghai midnight on its first day.
    pub fn start(self) -> Micros {
        Date {
            year: self.year,
            month: self.month,
            day: 1,
        }
        .start()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A half-open span of time, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Micros,
    pub to: Micros,
}

impl Window {
    /// `n` months from the start of `first`.
    pub fn months(first: Month, n: u32) -> Window {
        Window {
            from: first.start(),
            to: first.shift(n as i32).start(),
        }
    }

    pub fn contains(&self, t: Micros) -> bool {
        self.from <= t && t < self.to
    }
}

/// A fixed season from policy, e.g. heating from 15 November to 15 March.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Season {
    pub name: String,
    /// Catalogue codes or code prefixes: `heating` covers `heating.no_heat`.
    pub categories: Vec<String>,
    /// `MM-DD`, both days included; a season may run over the new year.
    pub start: String,
    pub end: String,
}

impl Season {
    /// The defaults: Beijing's heating season and the rainy season.
    pub fn defaults() -> Vec<Season> {
        let season = |name: &str, categories: &[&str], start: &str, end: &str| Season {
            name: name.into(),
            categories: categories.iter().map(|c| c.to_string()).collect(),
            start: start.into(),
            end: end.into(),
        };
        vec![
            season("heating", &["heating"], "11-15", "03-15"),
            season(
                "rainy",
                &["drainage", "water.pipe_burst", "road.collapse"],
                "06-01",
                "09-30",
            ),
        ]
    }

    fn month_day(s: &str) -> Option<(u32, u32)> {
        let d = Date::parse(&format!("2000-{s}"))?;
        (s.len() == 5).then_some((d.month, d.day))
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.categories.is_empty() {
            return Err("policy.season needs a name and categories".into());
        }
        for (field, v) in [("start", &self.start), ("end", &self.end)] {
            if Self::month_day(v).is_none() {
                return Err(format!(
                    "policy.season {}: {field} must be MM-DD, not {v:?}",
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// Whether the season lists this catalogue code (or a prefix of it).
    pub fn covers(&self, code: &str) -> bool {
        self.categories.iter().any(|c| {
            code == c
                || code
                    .strip_prefix(c.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
    }

    /// Whether the season holds this date.
    pub fn holds(&self, d: Date) -> bool {
        let (Some(s), Some(e)) = (Self::month_day(&self.start), Self::month_day(&self.end)) else {
            return false;
        };
        let x = (d.month, d.day);
        if s <= e {
            s <= x && x <= e
        } else {
            x >= s || x <= e
        }
    }

    /// Whether any day of the window falls in the season.
    pub fn overlaps(&self, w: Window) -> bool {
        let (first, last) = (Date::of(w.from).days(), Date::of(w.to - 1).days());
        (first..=last).any(|d| self.holds(Date::from_days(d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn months_and_windows() {
        assert_eq!(m("2026-01").shift(-1), m("2025-12"));
        assert_eq!(m("2026-11").shift(-12), m("2025-11"));
        assert_eq!(m("2026-11").shift(2), m("2027-01"));
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("2026-1").is_none());
        assert_eq!(m("2026-11").to_string(), "2026-11");
        let p = ProactivePolicy::default();
        let w = p.window(m("2026-11"));
        // Shanghai midnight, 1 November 2026, is 16:00 UTC on 31 October.
        assert_eq!(Date::of(w.from).to_string(), "2026-11-01");
        assert_eq!(w.to - w.from, 30 * DAY);
        assert_eq!(Month::of(w.from), m("2026-11"));
        assert_eq!(Month::of(w.to - 1), m("2026-11"));
        let b = p.baseline(m("2026-11"));
        assert_eq!(b.len(), 3);
        assert_eq!(b[0], p.window(m("2026-10")));
        assert_eq!(b[2], p.window(m("2026-08")));
        let y = p.earlier_years(m("2026-11"));
        assert_eq!(y, vec![p.window(m("2025-11")), p.window(m("2024-11"))]);
        let two = ProactivePolicy {
            window_months: 2,
            ..p
        };
        assert_eq!(two.window(m("2026-11")).from, m("2026-10").start());
        assert_eq!(two.baseline(m("2026-11"))[0].from, m("2026-08").start());
    }

    #[test]
    fn seasons_wrap_the_year_and_match_prefixes() {
        let [heating, rainy] = <[Season; 2]>::try_from(Season::defaults()).unwrap();
        assert!(heating.covers("heating.no_heat"));
        assert!(heating.covers("heating"));
        assert!(!heating.covers("heatingx.no_heat"));
        assert!(rainy.covers("road.collapse") && !rainy.covers("road.pothole"));
        let d = |s: &str| Date::parse(s).unwrap();
        assert!(heating.holds(d("2026-11-15")) && heating.holds(d("2027-01-20")));
        assert!(heating.holds(d("2027-03-15")) && !heating.holds(d("2027-03-16")));
        assert!(!heating.holds(d("2026-11-14")));
        let p = ProactivePolicy::default();
        assert!(heating.overlaps(p.window(m("2026-11"))));
        assert!(heating.overlaps(p.window(m("2026-03"))));
        assert!(!heating.overlaps(p.window(m("2026-04"))));
        assert!(rainy.overlaps(p.window(m("2026-07"))) && !rainy.overlaps(p.window(m("2026-10"))));
        let bad = Season {
            start: "02-30".into(),
            ..heating.clone()
        };
        assert!(bad.validate().unwrap_err().contains("start"));
    }

    #[test]
    fn policy_reads_from_toml_with_defaults() {
        let p: crate::Policy = toml::from_str(
            "[proactive]\nwindow_months = 2\n\n[[season]]\nname = \"dust\"\ncategories = [\"air\"]\nstart = \"03-01\"\nend = \"04-30\"\n",
        )
        .unwrap();
        assert_eq!(p.proactive.window_months, 2);
        assert_eq!(p.proactive.baseline_windows, 3);
        assert_eq!(p.season.len(), 1);
        assert!(p.validate().is_ok());
        let bad: crate::Policy = toml::from_str("[proactive]\nrisk_steps = [9, 8, 13]\n").unwrap();
        assert!(bad.validate().unwrap_err().contains("risk_steps"));
        assert_eq!(crate::Policy::default().season.len(), 2);
    }
}
