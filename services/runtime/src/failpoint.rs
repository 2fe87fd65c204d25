//! Failpoints let tests crash a process at a chosen step, as `kill -9`
//! would: `HOTLINE_FAILPOINTS=outbox.after_send` aborts right after a
//! handoff was sent and before the sender recorded it as delivered;
//! `outbox.after_send@t-lake` only after the one sent to `t-lake` (a step
//! that runs for several things at once names which one crashes it).

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
    hit_for(name, "");
}

/// Aborts the process if `name` is armed, or `name@key`.
pub fn hit_for(name: &str, key: &str) {
    let armed_here = armed().iter().any(|a| match a.split_once('@') {
        Some((n, k)) => n == name && k == key,
        None => a == name,
    });
    if armed_here {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
