//! One injectable clock. Instants are i64 UTC microseconds everywhere.

use std::sync::atomic::{AtomicI64, Ordering};

/// UTC microseconds since the Unix epoch.
pub type Micros = i64;

pub const SECOND: Micros = 1_000_000;
pub const MINUTE: Micros = 60 * SECOND;
pub const HOUR: Micros = 60 * MINUTE;
pub const DAY: Micros = 24 * HOUR;

/// The source of "now" for every timestamp and deadline. Production reads
/// the wall clock; tests and the simulator drive a [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Micros;
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Micros) -> Self {
        Self(AtomicI64::new(start))
    }

    /// Moves the clock forward to `t`; never backwards.
    pub fn advance_to(&self, t: Micros) {
        self.0.fetch_max(t, Ordering::SeqCst);
    }

    pub fn advance_by(&self, d: Micros) {
        self.0.fetch_add(d.max(0), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Micros {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_never_goes_back() {
        let c = ManualClock::new(10 * HOUR);
        c.advance_to(HOUR);
        assert_eq!(c.now(), 10 * HOUR);
        c.advance_by(DAY);
        assert_eq!(c.now(), 10 * HOUR + DAY);
    }
}
