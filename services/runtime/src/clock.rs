use std::time::{SystemTime, UNIX_EPOCH};

use hotline_core::{Clock, Micros};

/// Production's clock: the wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Micros {
        wall_now()
    }
}

/// Wall-clock microseconds, for infrastructure timing (retry backoff) that
/// must not follow a virtual clock.
pub fn wall_now() -> Micros {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as Micros)
        .unwrap_or(0)
}
