//! Traces, logs and metrics every hotline process shares.
//!
//! - Traces: the OpenTelemetry SDK with a batch OTLP/gRPC exporter (when an
//!   endpoint is given), sampling (the standard `OTEL_TRACES_SAMPLER` first,
//!   [`sampling`]), and a count of dropped spans. `tracing` spans become
//!   OTel spans through tracing-opentelemetry, without its bookkeeping
//!   attributes ([`otel_layer`]).
//! - Logs: `tracing` lines on stderr, text or JSON, each with its trace id.
//! - Propagation: W3C `traceparent` and allow-listed `baggage` ([`propagation`]),
//!   read once per call by the layer every server puts first ([`trace_context`]).
//! - RPCs: a server layer and a client wrapper making one span and one
//!   measurement per call ([`rpc`]).
//! - Metrics: a Prometheus registry served on `/metrics` ([`metrics`]), with
//!   the standard `process_*` metrics and the build ([`process`]).
//!
//! Nothing here reads a message body: request text and requester identity
//! cannot reach a span, a log line or a label through this crate.

pub mod export;
pub mod logs;
pub mod metrics;
pub mod process;
pub mod propagation;
pub mod rpc;
pub mod sampling;
pub mod sink;
pub mod trace_context;

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets, filter_fn};
use tracing_subscriber::fmt::format::Format;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// How a process reports.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `service.name` of the process: `hotline-city`, `hotline-gateway`…
    pub service_name: String,
    pub json_logs: bool,
    /// OTLP/gRPC collector, e.g. `http://127.0.0.1:4317`; no export when unset.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces kept (parent-based: a call continues its
    /// caller's decision). The standard `OTEL_TRACES_SAMPLER` wins over
    /// it ([`sampling`]); with neither, every trace is kept.
    pub sample_ratio: Option<f64>,
}

/// Spans queued for export at most; beyond, they are dropped and counted.
const QUEUE: usize = 4096;
/// How long a finished span may wait for its batch.
const BATCH_DELAY: Duration = Duration::from_millis(500);

/// Keeps the tracer provider; [`Telemetry::shutdown`] flushes it.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Exports what is queued and stops the exporter. The SDK blocks while
    /// it flushes, so it runs off the async workers.
    pub async fn shutdown(self) {
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || {
            let _ = provider.shutdown_with_timeout(Duration::from_secs(5));
        })
        .await;
    }
}

/// The sampler: `ratio` of new traces, parent-based.
pub fn sampler(ratio: f64) -> anyhow::Result<Sampler> {
    sampling::ratio(ratio)
}

/// Checks an OTLP endpoint without connecting.
pub fn check_endpoint(endpoint: &str) -> anyhow::Result<()> {
    let uri: http::Uri = endpoint
        .parse()
        .with_context(|| format!("otlp endpoint: {endpoint:?} is not a URL"))?;
    anyhow::ensure!(
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some(),
        "otlp endpoint: {endpoint:?} must be http://host:port or https://host:port"
    );
    Ok(())
}

/// Installs logging and tracing for the process. Must run inside the Tokio
/// runtime (the exporter's channel lives there). A second call in the same
/// process keeps the first subscriber.
pub fn init(o: &Options) -> anyhow::Result<Telemetry> {
    let mut builder = SdkTracerProvider::builder().with_resource(
        Resource::builder()
            .with_service_name(o.service_name.clone())
            .with_attribute(KeyValue::new("service.namespace", "hotline"))
            .with_attribute(KeyValue::new("process.pid", i64::from(std::process::id())))
            .build(),
    );
    let sampling = sampling::choose(
        sampling::Env::from_process(),
        o.sample_ratio.map(sampler).transpose()?,
    );
    builder = builder.with_sampler(sampling.sampler);
    if let Some(endpoint) = &o.otlp_endpoint {
        check_endpoint(endpoint)?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(Duration::from_secs(5))
            .build()
            .context("otlp exporter")?;
        builder = builder.with_span_processor(export::CountingProcessor::new(
            exporter,
            QUEUE,
            BATCH_DELAY,
        ));
    }
    let provider = builder.build();
    let tracer = provider.tracer("hotline");

    let env = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,h2=warn,hyper=warn,tower=warn"));
    // Log lines only: span fields would crowd every line; the trace id
    // stands for them.
    let log_filter = env.and(filter_fn(|m| m.is_event()));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = if o.json_logs {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .event_format(logs::WithTraceId {
                inner: Format::default().json(),
                json: true,
            })
            .with_filter(log_filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .event_format(logs::WithTraceId {
                inner: Format::default(),
                json: false,
            })
            .with_filter(log_filter)
            .boxed()
    };
    // Spans at info and up become OTel spans; of log lines, only warnings
    // and errors become span events (the rest are in the logs already).
    let otel_filter = Targets::new()
        .with_default(Level::INFO)
        .with_target("h2", Level::WARN)
        .with_target("hyper", Level::WARN)
        .with_target("tower", Level::WARN)
        .with_target("sqlx", Level::WARN)
        .and(filter_fn(|m| m.is_span() || *m.level() <= Level::WARN));
    let traces = otel_layer(tracer).with_filter(otel_filter);
    let _ = Registry::default().with(logs).with(traces).try_init();
    if let Some(warning) = sampling.warning {
        tracing::warn!(%warning, "trace sampler");
    }
    Ok(Telemetry { provider })
}

/// `tracing` spans as OTel spans carrying only the attributes each span
/// names itself, not the layer's bookkeeping (`busy_ns`, `idle_ns`,
/// `target`, `code.*`, `thread.*`, `level`): it describes the
/// instrumentation rather than the call, and its timings cost two clock
/// reads at every enter and exit of every span.
pub fn otel_layer<S>(
    tracer: opentelemetry_sdk::trace::Tracer,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        .with_location(false)
        .with_target(false)
        .with_threads(false)
        .with_level(false)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanExporter};
    use tonic::Code;

    use super::*;

    /// Keeps what it is given.
    #[derive(Debug, Clone, Default)]
    struct Kept(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Kept {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().unwrap().extend(batch);
            Ok(())
        }
    }

    /// One server span of `path` through the layer `init` installs,
    /// answered with `code`, as exported.
    fn served(path: &str, code: Code) -> SpanData {
        let kept = Kept::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(kept.clone())
            .build();
        let subscriber = Registry::default().with(otel_layer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let rpc = rpc::Rpc::parse(path).unwrap();
            let server: http::uri::Authority = "127.0.0.1:7345".parse().unwrap();
            let span = rpc::rpc_span(
                "server",
                &rpc,
                &http::HeaderMap::new(),
                Some(&server),
                opentelemetry::Context::new(),
                None,
            );
            span.in_scope(|| tracing::debug!("inside"));
            rpc::finish(&span, code, true);
        });
        let mut spans = kept.0.lock().unwrap().clone();
        assert_eq!(spans.len(), 1, "{spans:#?}");
        spans.remove(0)
    }

    #[test]
    fn rpc_spans_follow_the_rpc_conventions_and_nothing_else() {
        let span = served("/hotline.v1.DispatchService/DeliverAssignment", Code::Ok);
        assert_eq!(span.name, "hotline.v1.DispatchService/DeliverAssignment");
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(span.status, Status::Unset);
        let attrs: std::collections::BTreeMap<String, String> = span
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect();
        for (key, want) in [
            ("rpc.system", "grpc"),
            ("rpc.service", "hotline.v1.DispatchService"),
            ("rpc.method", "DeliverAssignment"),
            ("rpc.grpc.status_code", "0"),
            ("server.address", "127.0.0.1"),
            ("server.port", "7345"),
            ("hotline.handoff", "dispatch"),
        ] {
            assert_eq!(
                attrs.get(key).map(String::as_str),
                Some(want),
                "{key}: {attrs:?}"
            );
        }
        // Only the attributes the span names: no tracing bookkeeping.
        let ours = |k: &str| {
            k.starts_with("rpc.") || k.starts_with("server.") || k.starts_with("hotline.")
        };
        let others: Vec<&String> = attrs.keys().filter(|k| !ours(k)).collect();
        assert!(others.is_empty(), "{others:?}");
    }

    #[test]
    fn a_servers_own_failure_is_an_error_and_a_refusal_is_not() {
        let failed = served(
            "/hotline.v1.DispatchService/AcceptAssignment",
            Code::Internal,
        );
        assert!(
            matches!(failed.status, Status::Error { .. }),
            "{:?}",
            failed.status
        );
        let refused = served(
            "/hotline.v1.DispatchService/AcceptAssignment",
            Code::FailedPrecondition,
        );
        assert_eq!(refused.status, Status::Unset);
    }
}
