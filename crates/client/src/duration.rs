//! Durations as people read them: "850 µs", "3.2 s", "2 h 05 min",
//! "4 d 3 h". Every duration the command line prints goes through
//! [`human`], so one span of time reads the same everywhere.

use std::time::Duration;

const SECOND: u128 = 1_000_000;
const MINUTE: u128 = 60 * SECOND;
const HOUR: u128 = 60 * MINUTE;

/// `d` in its two largest units, rounded to the smaller one (one decimal
/// below ten milliseconds and below ten seconds).
pub fn human(d: Duration) -> String {
    let us = d.as_micros();
    // Each band rounds first, then checks it still fits: 59.7 s is "1 min",
    // never "60 s"; 23 h 59 min 50 s is "1 d", never "24 h".
    let tenths = |unit: u128| (us * 10 + unit / 2) / unit;
    let whole = |unit: u128| (us + unit / 2) / unit;
    if us == 0 {
        return "0 s".into();
    }
    if us < 1_000 {
        return format!("{us} µs");
    }
    if tenths(1_000) < 100 {
        let t = tenths(1_000);
        return format!("{}.{} ms", t / 10, t % 10);
    }
    if whole(1_000) < 1_000 {
        return format!("{} ms", whole(1_000));
    }
    if tenths(SECOND) < 100 {
        let t = tenths(SECOND);
        return format!("{}.{} s", t / 10, t % 10);
    }
    let s = whole(SECOND);
    if s < 60 {
        return format!("{s} s");
    }
    if s < 3_600 {
        return two(s / 60, "min", s % 60, "s", true);
    }
    let m = whole(MINUTE);
    if m < 24 * 60 {
        return two(m / 60, "h", m % 60, "min", true);
    }
    let h = whole(HOUR);
    two(h / 24, "d", h % 24, "h", false)
}

/// UTC microseconds between two instants, as [`human`] reads them; a
/// negative span (a clock set back) reads as zero.
pub fn human_micros(us: i64) -> String {
    human(Duration::from_micros(u64::try_from(us).unwrap_or(0)))
}

/// "2 h 05 min", "2 h"; `pad` gives the smaller unit two digits.
fn two(big: u128, big_unit: &str, small: u128, small_unit: &str, pad: bool) -> String {
    match (small, pad) {
        (0, _) => format!("{big} {big_unit}"),
        (s, true) => format!("{big} {big_unit} {s:02} {small_unit}"),
        (s, false) => format!("{big} {big_unit} {s} {small_unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> String {
        human(Duration::from_micros(n))
    }

    #[test]
    fn each_band_reads_in_its_units() {
        assert_eq!(us(0), "0 s");
        assert_eq!(us(850), "850 µs");
        assert_eq!(us(2_440), "2.4 ms");
        assert_eq!(us(350_000), "350 ms");
        assert_eq!(us(3_240_000), "3.2 s");
        assert_eq!(us(42_000_000), "42 s");
        assert_eq!(human(Duration::from_secs(5 * 60 + 3)), "5 min 03 s");
        assert_eq!(human(Duration::from_secs(30 * 60)), "30 min");
        assert_eq!(human(Duration::from_secs(2 * 3600 + 5 * 60)), "2 h 05 min");
        assert_eq!(human(Duration::from_secs(26 * 3600)), "1 d 2 h");
        assert_eq!(human(Duration::from_secs((4 * 24 + 3) * 3600)), "4 d 3 h");
        assert_eq!(human(Duration::from_secs(7 * 24 * 3600)), "7 d");
    }

    #[test]
    fn rounding_carries_into_the_next_unit() {
        assert_eq!(us(9_960), "10 ms", "not 10.0 ms");
        assert_eq!(us(999_600), "1.0 s", "not 1000 ms");
        assert_eq!(us(9_960_000), "10 s", "not 10.0 s");
        assert_eq!(us(59_700_000), "1 min", "not 60 s");
        assert_eq!(human(Duration::from_secs(3599)), "59 min 59 s");
        assert_eq!(us(3_599_700_000), "1 h", "not 60 min");
        assert_eq!(
            human(Duration::from_secs(24 * 3600 - 10)),
            "1 d",
            "not 24 h"
        );
        assert_eq!(
            human(Duration::from_secs(2 * 3600 + 5 * 60 + 40)),
            "2 h 06 min"
        );
    }

    #[test]
    fn microseconds_between_instants() {
        assert_eq!(human_micros(90 * 60 * 1_000_000), "1 h 30 min");
        assert_eq!(human_micros(-5), "0 s", "a clock set back");
    }
}
