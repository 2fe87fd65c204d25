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

/// 1970-01-01 as a Julian day number.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let year: i32 = it.next()?.parse().ok()?;
        let month: u8 = it.next()?.parse().ok()?;
        let day: u8 = it.next()?.parse().ok()?;
        let month = time::Month::try_from(month).ok()?;
        time::Date::from_calendar_date(year, month, day)
            .ok()
            .map(Date::from_time)
    }

    fn from_time(d: time::Date) -> Date {
        Date {
            year: d.year(),
            month: u8::from(d.month()) as u32,
            day: d.day() as u32,
        }
    }

    fn to_time(self) -> Option<time::Date> {
        let month = time::Month::try_from(u8::try_from(self.month).ok()?).ok()?;
        time::Date::from_calendar_date(self.year, month, u8::try_from(self.day).ok()?).ok()
    }

    /// Days since 1970-01-01. Dates `time` cannot represent (an invalid
    /// day, or a year beyond ±9999) count as the nearest end of its range.
    pub fn days(self) -> i64 {
        let d = self.to_time().unwrap_or(if self.year < 0 {
            time::Date::MIN
        } else {
            time::Date::MAX
        });
        i64::from(d.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
    }

    /// The date `z` days after 1970-01-01, clamped to `time`'s range
    /// (years ±9999).
    pub fn from_days(z: i64) -> Date {
        let min = i64::from(time::Date::MIN.to_julian_day());
        let max = i64::from(time::Date::MAX.to_julian_day());
        let jd = (z + UNIX_EPOCH_JULIAN_DAY).clamp(min, max);
        // In range by the clamp, so the conversion cannot fail.
        let d = i32::try_from(jd)
            .ok()
            .and_then(|jd| time::Date::from_julian_day(jd).ok())
            .unwrap_or(time::Date::MAX);
        Date::from_time(d)
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
    /// The years the lists cover, first and last, when the calendar says;
    /// a day past them is counted Monday to Friday and marks a deadline
    /// provisional. `None`: the lists are taken as complete.
    pub years: Option<(i32, i32)>,
}

/// The name a topology gives the calendar shipped with the mesh:
/// `calendar = "builtin:china"`.
pub const CHINA: &str = "builtin:china";

/// China's holidays and make-up working days from the State Council's
/// notices, as shipped (`services/core/calendar/china.toml`).
const CHINA_TOML: &str = include_str!("../calendar/china.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendar {
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
    #[serde(default)]
    years: Option<[i32; 2]>,
}

/// Where `n` working days from an instant end, and what was passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingSpan {
    pub end: Micros,
    /// The days passed over and why, in order.
    pub skipped: Vec<(Date, DayOff)>,
    /// Some day counted lies in a year the calendar does not cover: the end
    /// may move when that year's notice is published.
    pub provisional: bool,
}

/// Why a day is not worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOff {
    Weekend,
    Holiday,
}

impl DayOff {
    pub fn as_str(self) -> &'static str {
        match self {
            DayOff::Weekend => "weekend",
            DayOff::Holiday => "public holiday",
        }
    }
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
        let years = match self.years {
            Some([first, last]) if first > last => {
                return Err(format!("calendar.years: {first} comes after {last}"));
            }
            Some([first, last]) => Some((first, last)),
            None => None,
        };
        let cal = Calendar {
            holidays: parse(&self.holidays, "holidays")?,
            workdays: parse(&self.workdays, "workdays")?,
            years,
        };
        if let Some(d) = cal
            .holidays
            .iter()
            .chain(&cal.workdays)
            .find(|d| !cal.covers(d.year))
        {
            return Err(format!("calendar: {d} lies outside its years"));
        }
        if let Some(d) = cal.workdays.iter().find(|d| d.weekday() < 5) {
            return Err(format!(
                "calendar.workdays: {d} is a weekday; list only weekend days worked (调休)"
            ));
        }
        Ok(cal)
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

    /// The calendar shipped with the mesh: China's public holidays and
    /// make-up working days, 2020 to the latest year the State Council has
    /// published (see `services/core/calendar/generate.py`).
    pub fn china() -> Calendar {
        // Checked by this crate's tests; a broken table fails them all.
        Calendar::parse(CHINA, CHINA_TOML).unwrap_or_default()
    }

    /// Whether the lists hold `year`.
    pub fn covers(&self, year: i32) -> bool {
        self.years
            .is_none_or(|(first, last)| (first..=last).contains(&year))
    }

    /// Whether `d` is worked, and if not, why.
    pub fn day_off(&self, d: Date) -> Option<DayOff> {
        if self.workdays.contains(&d) {
            return None;
        }
        if self.holidays.contains(&d) {
            return Some(DayOff::Holiday);
        }
        (d.weekday() >= 5).then_some(DayOff::Weekend)
    }

    /// A weekday that is no holiday, or a listed make-up working day.
    pub fn is_working_day(&self, d: Date) -> bool {
        self.day_off(d).is_none()
    }

    /// `n` working days after `start`: the same time of day on the n-th
    /// working day after the start's date, the days passed over, and
    /// whether a day counted lies beyond the calendar's years.
    pub fn working_days_after(&self, start: Micros, n: u32) -> WorkingSpan {
        let mut d = Date::of(start);
        let time_of_day = start - d.start();
        let mut left = n;
        let mut skipped = Vec::new();
        let mut provisional = false;
        while left > 0 {
            d = Date::from_days(d.days() + 1);
            provisional |= !self.covers(d.year);
            match self.day_off(d) {
                None => left -= 1,
                Some(why) => skipped.push((d, why)),
            }
        }
        WorkingSpan {
            end: d.start() + time_of_day,
            skipped,
            provisional,
        }
    }

    /// The instant `n` working days after `start`.
    pub fn add_working_days(&self, start: Micros, n: u32) -> Micros {
        self.working_days_after(start, n).end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn the_shipped_table_covers_2020_to_2026_as_the_notices_say() {
        let cal = Calendar::china();
        assert_eq!(cal.years, Some((2020, 2026)));
        assert!(cal.holidays.len() > 200, "{} holidays", cal.holidays.len());
        // 2025 National Day and Mid-Autumn: 1–8 October off, Sunday 28
        // September and Saturday 11 October worked.
        for day in 1..=8 {
            let date = d(&format!("2025-10-{day:02}"));
            assert_eq!(cal.day_off(date), Some(DayOff::Holiday), "{date}");
        }
        assert!(cal.is_working_day(d("2025-09-28")));
        assert!(cal.is_working_day(d("2025-10-11")));
        assert!(!cal.is_working_day(d("2025-10-12")), "an ordinary Sunday");
        // 2026 Spring Festival: 15–23 February off, Saturdays 14 and 28
        // February worked.
        assert_eq!(cal.day_off(d("2026-02-16")), Some(DayOff::Holiday));
        assert_eq!(cal.day_off(d("2026-02-23")), Some(DayOff::Holiday));
        assert!(cal.is_working_day(d("2026-02-14")));
        assert!(cal.is_working_day(d("2026-02-28")));
        // 2020: the Spring Festival extended to 2 February.
        assert_eq!(cal.day_off(d("2020-01-31")), Some(DayOff::Holiday));
        assert!(cal.covers(2026) && !cal.covers(2027) && !cal.covers(2019));
    }

    #[test]
    fn a_span_into_an_uncovered_year_counts_weekdays_and_is_provisional() {
        let cal = Calendar::china();
        // Wednesday 2026-12-30 10:00 + 3 working days: Thu 31 (2026), then
        // Fri 1 January 2027 (no notice: a weekday), Mon 4.
        let wed = d("2026-12-30").start() + 10 * HOUR;
        let span = cal.working_days_after(wed, 3);
        assert_eq!(span.end, d("2027-01-04").start() + 10 * HOUR);
        assert!(span.provisional);
        assert_eq!(
            span.skipped,
            vec![
                (d("2027-01-02"), DayOff::Weekend),
                (d("2027-01-03"), DayOff::Weekend)
            ]
        );
        let inside = cal.working_days_after(d("2026-12-01").start(), 3);
        assert!(!inside.provisional);
    }

    #[test]
    fn a_calendar_file_is_checked() {
        let bad = |src: &str| Calendar::parse("c.toml", src).unwrap_err().problem;
        assert!(bad("years = [2027, 2026]").contains("comes after"));
        assert!(
            bad("years = [2026, 2026]\nholidays = [\"2025-10-01\"]").contains("outside its years")
        );
        assert!(bad("workdays = [\"2026-10-09\"]").contains("is a weekday"));
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
            years: None,
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

    /// H. Hinnant's days_from_civil / civil_from_days, the hand-written
    /// arithmetic `time` replaced, kept here as the oracle.
    fn hinnant_days(d: Date) -> i64 {
        let y = d.year as i64 - (d.month <= 2) as i64;
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = d.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn hinnant_from_days(z: i64) -> Date {
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

    proptest::proptest! {
        /// Years 1000..=9999 and back: `time` agrees with the old formula.
        #[test]
        fn time_agrees_with_the_old_civil_arithmetic(z in -354_285i64..2_932_896) {
            let date = Date::from_days(z);
            proptest::prop_assert_eq!(date, hinnant_from_days(z));
            proptest::prop_assert_eq!(date.days(), z);
            proptest::prop_assert_eq!(hinnant_days(date), z);
            proptest::prop_assert_eq!(Date::parse(&date.to_string()), Some(date));
        }
    }
}
