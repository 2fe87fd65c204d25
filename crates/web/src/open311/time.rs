//! Instants as the specification writes them: W3C date-times (a subset
//! of ISO 8601), always with a zone. Out, Asia/Shanghai's `+08:00` (the
//! city's own time, no daylight saving); in, any zone, `Z` or `±HH:MM`,
//! with seconds and fractions optional, or a date alone (its midnight in
//! Shanghai).

use hotline_core::Micros;
use hotline_core::calendar::Date;

/// Shanghai is UTC+8 all year.
const SHANGHAI_OFFSET_US: i64 = 8 * 3_600_000_000;

/// `2026-11-16T09:00:00+08:00`.
pub fn format(us: Micros) -> String {
    let d = Date::of(us);
    let secs = (us - d.start()).div_euclid(1_000_000);
    format!(
        "{d}T{:02}:{:02}:{:02}+08:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A W3C date-time; `None` when it is not one.
pub fn parse(s: &str) -> Option<Micros> {
    let s = s.trim();
    let Some((date, rest)) = s.split_once('T') else {
        // A date alone: its midnight in Shanghai.
        return Some(Date::parse(s)?.start());
    };
    let date = Date::parse(date)?;
    // The zone: Z, or ±HH:MM (also ±HHMM and ±HH).
    let (clock, offset_us) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, zone) = rest.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match digits.len() {
            2 => (digits.parse::<i64>().ok()?, 0),
            4 => (
                digits[..2].parse::<i64>().ok()?,
                digits[2..].parse::<i64>().ok()?,
            ),
            _ => return None,
        };
        if h > 14 || m > 59 {
            return None;
        }
        (clock, sign * (h * 60 + m) * 60_000_000)
    };
    let mut parts = clock.split(':');
    let h: i64 = number(parts.next()?, 2)?;
    let m: i64 = number(parts.next()?, 2)?;
    let (sec, micros) = match parts.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            let sec = number(whole, 2)?;
            if !frac.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let micros = format!("{frac:0<6}")[..6].parse::<i64>().ok()?;
            (sec, micros)
        }
    };
    if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Date::start() is the date's midnight in Shanghai: back to the
    // date's midnight at UTC, then the wall time, less the zone.
    let midnight_utc = date.start() + SHANGHAI_OFFSET_US;
    Some(midnight_utc + ((h * 60 + m) * 60 + sec) * 1_000_000 + micros - offset_us)
}

fn number(s: &str, width: usize) -> Option<i64> {
    (s.len() == width && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_zone_names_the_same_instant() {
        let t = parse("2026-11-16T09:00:00+08:00").unwrap();
        assert_eq!(parse("2026-11-16T01:00:00Z"), Some(t));
        assert_eq!(parse("2026-11-15T20:00:00-05:00"), Some(t));
        assert_eq!(parse("2026-11-16T01:00Z"), Some(t));
        assert_eq!(parse("2026-11-16T01:00:00.000Z"), Some(t));
        assert_eq!(parse("2026-11-16T01:00:00.5Z"), Some(t + 500_000));
        assert_eq!(parse("2026-11-16T09:00:00+0800"), Some(t));
        assert_eq!(parse("2026-11-16"), Some(t - 9 * 3_600_000_000));
        assert_eq!(format(t), "2026-11-16T09:00:00+08:00");
        assert_eq!(parse(&format(t)), Some(t));
    }

    #[test]
    fn what_is_no_date_time_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2026-11-16T09:00:00",
            "2026-13-01T00:00:00Z",
            "2026-11-16T25:00:00Z",
            "2026-11-16T09:00:00+99:00",
            "2026-11-16T9:00:00Z",
            "2026-11-16T09:00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
