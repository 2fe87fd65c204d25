//! Days in Asia/Shanghai and the working-day calendar: public holidays and
//! the make-up working days (调休) that fall on weekends.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::clock::{DAY, HOUR, Micros};

/// Asia/Shanghai is UTC+8 all year (no daylight saving since 1991).
pub const SHANGHAI_OFFSET: Micros = 8 * HOUR;

/// A civil date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let year = it.next()?.parse().ok()?;
        let month: u32 = it.next()?.parse().ok()?;
        let day: u32 = it.next()?.parse().ok()?;
        let d = Date { year, month, day };
        let valid = (1..=12).contains(&month) && day >= 1 && Date::from_days(d.days()) == d;
        valid.then_some(d)
    }

    /// Days since 1970-01-01 (H. Hinnant's days_from_civil).
    pub fn days(self) -> i64 {
        let y = self.year as i64 - (self.month <= 2) as i64;
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = self.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + (month <= 2) as i64) as i32;
        Date { year, month, day }
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u32 {
        (self.days() + 3).rem_euclid(7) as u32
    }

    /// The Shanghai date of an instant.
    pub fn of(t: Micros) -> Date {
        Date::from_days((t + SHANGHAI_OFFSET).div_euclid(DAY))
    }

    /// Shanghai midnight starting this date.
    pub fn start(self) -> Micros {
        self.days() * DAY - SHANGHAI_OFFSET
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Public holidays and make-up working days.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calendar {
    pub holidays: BTreeSet<Date>,
    pub workdays: BTreeSet<Date>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendar {
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

impl RawCalendar {
    pub(crate) fn build(&self) -> Result<Calendar, String> {
        let parse = |list: &[String], what: &str| {
            list.iter()
                .map(|s| {
                    Date::parse(s)
                        .ok_or_else(|| format!("calendar.{what}: {s:?} is not a YYYY-MM-DD date"))
                })
                .collect::<Result<BTreeSet<_>, _>>()
        };
        Ok(Calendar {
            holidays: parse(&self.holidays, "holidays")?,
            workdays: parse(&self.workdays, "workdays")?,
        })
    }
}

impl Calendar {
    /// Parses a calendar file (`holidays = [...]`, `workdays = [...]`).
    pub fn parse(file: &str, src: &str) -> Result<Calendar, crate::TopologyError> {
        let err = |problem: String| crate::TopologyError {
            file: file.to_string(),
            line: 1,
            problem,
        };
        let raw: RawCalendar = toml::from_str(src).map_err(|e| err(e.message().to_string()))?;
        raw.build().map_err(err)
    }

    /// A weekday that is no holiday, or a listed make-up working day.
    pub fn is_working_day(&self, d: Date) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        d.weekday() < 5 && !self.holidays.contains(&d)
    }

    /// The instant `n` working days after `start`: the same time of day on
    /// the n-th working day after the start's date.
    pub fn add_working_days(&self, start: Micros, n: u32) -> Micros {
        let mut d = Date::of(start);
        let time_of_day = start - d.start();
        let mut left = n;
        while left > 0 {
            d = Date::from_days(d.days() + 1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d.start() + time_of_day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn dates_round_trip_and_know_their_weekday() {
        for z in [-1000, 0, 19_000, 20_413, 30_000] {
            assert_eq!(Date::from_days(z).days(), z);
        }
        assert_eq!(d("1970-01-01").days(), 0);
        assert_eq!(d("2026-11-21").weekday(), 5, "a Saturday");
        assert_eq!(d("2026-11-16").weekday(), 0, "a Monday");
        assert_eq!(Date::parse("2026-02-30"), None);
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("soon"), None);
    }

    #[test]
    fn shanghai_days_start_at_utc_16_00() {
        let start = d("2026-11-16").start();
        assert_eq!(Date::of(start), d("2026-11-16"));
        assert_eq!(Date::of(start - 1), d("2026-11-15"));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_make_up_saturdays() {
        let cal = Calendar {
            holidays: [d("2026-10-01"), d("2026-10-02"), d("2026-10-05")].into(),
            workdays: [d("2026-10-10")].into(),
        };
        // Friday 2026-09-25 10:00 Shanghai + 3 working days: Mon 28, Tue 29, Wed 30.
        let fri = d("2026-09-25").start() + 10 * HOUR;
        assert_eq!(
            cal.add_working_days(fri, 3),
            d("2026-09-30").start() + 10 * HOUR
        );
        // Wed 30 + 1: Thu 1 and Fri 2 are holidays, the weekend is off,
        // Mon 5 is a holiday: Tue 6.
        let wed = d("2026-09-30").start() + 10 * HOUR;
        assert_eq!(
            cal.add_working_days(wed, 1),
            d("2026-10-06").start() + 10 * HOUR
        );
        // Fri 9 + 1: Saturday 10 is a make-up working day.
        let fri9 = d("2026-10-09").start() + 9 * HOUR;
        assert_eq!(
            cal.add_working_days(fri9, 1),
            d("2026-10-10").start() + 9 * HOUR
        );
        assert!(!cal.is_working_day(d("2026-10-11")));
    }
}
