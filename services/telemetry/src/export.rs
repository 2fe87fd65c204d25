//! The batch span pipeline, with an exact count of the spans it lost.
//! The SDK's batch processor counts its drops only in a shutdown log line,
//! so this wrapper keeps the queue bound itself: it counts spans in flight
//! (handed on, not yet exported) and drops, counting, any span that would
//! overflow the queue; spans in a failed export count as dropped too.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Span, SpanData, SpanExporter, SpanProcessor,
};
use prometheus_client::metrics::counter::Counter;

/// Spans a process lost: queue full, or the collector refused or was
/// unreachable. One per process; every registry exports it.
pub static SPANS_DROPPED: std::sync::LazyLock<Counter> = std::sync::LazyLock::new(Counter::default);

/// Spans handed to the collector successfully.
pub static SPANS_EXPORTED: std::sync::LazyLock<Counter> =
    std::sync::LazyLock::new(Counter::default);

#[derive(Debug, Default)]
struct InFlight(AtomicUsize);

/// Counts a batch out of flight, and as dropped when its export failed.
#[derive(Debug)]
pub struct CountingExporter<E> {
    inner: E,
    in_flight: Arc<InFlight>,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        let result = self.inner.export(batch).await;
        self.in_flight.0.fetch_sub(n, Ordering::AcqRel);
        match &result {
            Ok(()) => SPANS_EXPORTED.inc_by(n as u64),
            Err(_) => SPANS_DROPPED.inc_by(n as u64),
        };
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A batch processor that never lets its queue overflow uncounted.
pub struct CountingProcessor {
    inner: BatchSpanProcessor,
    in_flight: Arc<InFlight>,
    limit: usize,
}

impl fmt::Debug for CountingProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingProcessor")
            .field("limit", &self.limit)
            .finish()
    }
}

impl CountingProcessor {
    /// A batch processor over `exporter` holding at most `queue` spans.
    pub fn new<E: SpanExporter + 'static>(exporter: E, queue: usize, delay: Duration) -> Self {
        let in_flight = Arc::new(InFlight::default());
        let exporter = CountingExporter {
            inner: exporter,
            in_flight: in_flight.clone(),
        };
        // The inner queue is as large as ours, so it is never the one to drop.
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(queue)
            .with_scheduled_delay(delay)
            .build();
        Self {
            inner: BatchSpanProcessor::new(exporter, config),
            in_flight,
            limit: queue,
        }
    }
}

impl SpanProcessor for CountingProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let before = self.in_flight.0.fetch_add(1, Ordering::AcqRel);
        if before >= self.limit {
            self.in_flight.0.fetch_sub(1, Ordering::AcqRel);
            SPANS_DROPPED.inc();
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer, TracerProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    /// Never finishes an export within the test, so the queue fills.
    #[derive(Debug)]
    struct Stuck;

    impl SpanExporter for Stuck {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            std::thread::sleep(Duration::from_millis(300));
            Ok(())
        }
    }

    #[test]
    fn overflow_is_counted_not_lost_silently() {
        let before = SPANS_DROPPED.get();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(CountingProcessor::new(Stuck, 4, Duration::from_secs(60)))
            .build();
        let tracer = provider.tracer("test");
        for _ in 0..10 {
            tracer.in_span("work", |_| {});
        }
        assert!(
            SPANS_DROPPED.get() - before >= 6,
            "dropped beyond the queue"
        );
        let _ = provider.shutdown();
    }
}
