//! The current trace context as text, for the work that outlives a call:
//! outbox rows and timers keep it, deliveries and firings continue it.

use hotline_telemetry::propagation;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The current span's (`traceparent`, `baggage`); empty outside a trace.
pub fn current() -> (String, String) {
    propagation::to_text(&tracing::Span::current().context())
}

/// The current span's `traceparent`; empty outside a trace.
pub fn current_traceparent() -> String {
    current().0
}

/// Lets the store keep the current context with each timer it arms.
pub fn install() {
    crate::tables::context::install(current);
}

pub use hotline_telemetry::rpc::{link_order_trace, record_order};
