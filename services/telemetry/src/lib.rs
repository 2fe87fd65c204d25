//! Traces, logs and metrics every hotline process shares.
//!
//! - Traces: the OpenTelemetry SDK with a batch OTLP/gRPC exporter (when an
//!   endpoint is given), configurable sampling, and a count of dropped spans.
//!   `tracing` spans become OTel spans through tracing-opentelemetry.
//! - Logs: `tracing` lines on stderr, text or JSON, each with its trace id.
//! - Propagation: W3C `traceparent` and allow-listed `baggage` ([`propagation`]),
//!   read once per call by the layer every server puts first ([`trace_context`]).
//! - RPCs: a server layer and a client wrapper making one span and one
//!   measurement per call ([`rpc`]).
//! - Metrics: a Prometheus registry served on `/metrics` ([`metrics`]).
//!
//! Nothing here reads a message body: request text and requester identity
//! cannot reach a span, a log line or a label through this crate.

pub mod export;
pub mod logs;
pub mod metrics;
pub mod propagation;
pub mod rpc;
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
    /// caller's decision). Unset: the SDK's `OTEL_TRACES_SAMPLER` or all.
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
    anyhow::ensure!(
        (0.0..=1.0).contains(&ratio),
        "trace sample ratio: {ratio} is not between 0 and 1"
    );
    Ok(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        ratio,
    ))))
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
    if let Some(ratio) = o.sample_ratio {
        builder = builder.with_sampler(sampler(ratio)?);
    }
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
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_filter(otel_filter);
    let _ = Registry::default().with(logs).with(traces).try_init();
    Ok(Telemetry { provider })
}
