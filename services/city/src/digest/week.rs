//! ISO weeks (ISO 8601) in Asia/Shanghai: Monday 00:00 to the next
//! Monday, numbered so that week 1 holds the year's first Thursday.

use std::fmt;

use hotline_core::Micros;
use hotline_core::calendar::Date;
use hotline_core::clock::DAY;

/// Seven days of microseconds.
pub const WEEK: Micros = 7 * DAY;

/// An ISO week: `2026-W49`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Week {
    pub year: i32,
    pub number: u32,
}

/// The Monday of week 1 of `year`: the Monday on or before 4 January.
fn first_monday(year: i32) -> i64 {
    let jan4 = Date {
        year,
        month: 1,
        day: 4,
    };
    jan4.days() - i64::from(jan4.weekday())
}

/// How many weeks `year` has: 52, or 53 when its week 1 starts 53 weeks
/// before the next year's.
fn weeks_in(year: i32) -> u32 {
    ((first_monday(year + 1) - first_monday(year)) / 7) as u32
}

impl Week {
    /// `YYYY-Www` (`2026-W49`); `None` for anything else, or a week the
    /// year does not have.
    pub fn parse(s: &str) -> Option<Week> {
        let (year, number) = s.split_once("-W")?;
        if year.len() != 4 || number.len() != 2 {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let number: u32 = number.parse().ok()?;
        (number >= 1 && number <= weeks_in(year)).then_some(Week { year, number })
    }

    /// The week holding instant `t`.
    pub fn of(t: Micros) -> Week {
        let days = Date::of(t).days();
        let year = Date::of(t).year;
        let year = if days < first_monday(year) {
            year - 1
        } else if days >= first_monday(year + 1) {
            year + 1
        } else {
            year
        };
        let number = ((days - first_monday(year)) / 7) as u32 + 1;
        Week { year, number }
    }

    /// Monday 00:00 starting it.
    pub fn start(self) -> Micros {
        let monday = first_monday(self.year) + 7 * i64::from(self.number - 1);
        Date::from_days(monday).start()
    }

    /// The next Monday 00:00: the end, not included.
    pub fn end(self) -> Micros {
        self.start() + WEEK
    }

    /// The week before.
    pub fn previous(self) -> Week {
        Week::of(self.start() - 1)
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Micros {
        Date::parse(s).unwrap().start()
    }

    #[test]
    fn weeks_start_on_monday_and_week_one_holds_the_first_thursday() {
        let w = Week::parse("2026-W47").unwrap();
        assert_eq!(w.start(), day("2026-11-16"));
        assert_eq!(w.end(), day("2026-11-23"));
        assert_eq!(Week::of(day("2026-11-22") + DAY - 1), w);
        assert_eq!(Week::of(day("2026-11-23")).to_string(), "2026-W48");
        // 1 January 2027 is a Friday: still 2026's last week, its 53rd.
        assert_eq!(Week::of(day("2027-01-01")).to_string(), "2026-W53");
        assert_eq!(Week::of(day("2027-01-04")).to_string(), "2027-W01");
        // 29 December 2025 is a Monday: already 2026's first week.
        assert_eq!(Week::of(day("2025-12-29")).to_string(), "2026-W01");
        assert_eq!(Week::parse("2026-W01").unwrap().start(), day("2025-12-29"));
        assert_eq!(
            Week::parse("2027-W01").unwrap().previous().to_string(),
            "2026-W53"
        );
    }

    #[test]
    fn only_weeks_a_year_has_parse() {
        assert!(Week::parse("2026-W53").is_some());
        assert!(Week::parse("2020-W53").is_some());
        for bad in [
            "2025-W53",
            "2026-W00",
            "2026-W54",
            "2026-49",
            "2026-W4",
            "26-W49",
            "2026-w49",
            "",
            "2026-W49x",
        ] {
            assert_eq!(Week::parse(bad), None, "{bad}");
        }
        assert_eq!(Week::parse("2026-W09").unwrap().to_string(), "2026-W09");
    }
}
