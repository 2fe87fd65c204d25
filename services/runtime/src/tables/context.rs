//! The trace context of the work in hand, as the store keeps it with a
//! timer. Timers are armed from many places in the domain code; capturing
//! the context here, where every one is written, means no place can forget
//! it. The store knows nothing of tracing: the runtime installs how to read
//! the current context.

use std::sync::OnceLock;

/// Returns the current (`traceparent`, `baggage`), empty outside a trace.
pub type Capture = fn() -> (String, String);

static CAPTURE: OnceLock<Capture> = OnceLock::new();

/// Installs how to read the current trace context (once per process).
pub fn install(capture: Capture) {
    let _ = CAPTURE.set(capture);
}

pub(crate) fn capture() -> (String, String) {
    CAPTURE.get().map(|f| f()).unwrap_or_default()
}
