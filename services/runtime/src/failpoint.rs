//! Failpoints let tests crash a process at a chosen step, as `kill -9`
//! would: `HOTLINE_FAILPOINTS=outbox.after_send` aborts right after a
//! handoff was sent and before the sender recorded it as delivered.

use std::sync::OnceLock;

pub const ENV: &str = "HOTLINE_FAILPOINTS";

fn armed() -> &'static [String] {
    static ARMED: OnceLock<Vec<String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var(ENV)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Aborts the process if `name` is armed.
pub fn hit(name: &str) {
    if armed().iter().any(|a| a == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
