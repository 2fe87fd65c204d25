//! Prometheus metrics: one registry per process, served as text on
//! `/metrics`. Names are in base units (`_seconds`, `_total`); labels are
//! bounded (tier, handoff kind, gRPC service, method and code), never an
//! order id or a community's unit id. Every registry also has the
//! standard `process_*` metrics and `hotline_build_info` ([`crate::process`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry as Inner};

use crate::export::{SPANS_DROPPED, SPANS_EXPORTED};

/// Work to do before each scrape (gauges read from a database).
pub type Refresh = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A process's metrics registry; clones share it.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

impl Default for Registry {
    fn default() -> Self {
        let mut inner = Inner::default();
        inner.register(
            "hotline_spans_dropped",
            "Spans lost before reaching the collector: queue full or export failed",
            SPANS_DROPPED.clone(),
        );
        inner.register(
            "hotline_spans_exported",
            "Spans handed to the OTLP collector",
            SPANS_EXPORTED.clone(),
        );
        inner.register_collector(Box::new(crate::process::ProcessCollector));
        inner.register_collector(Box::new(crate::process::BuildInfo));
        Self {
            inner: Arc::new(Mutex::new(inner)),
        }
    }
}

impl Registry {
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.lock().register(name, help, metric);
    }

    /// The registry in Prometheus text exposition (OpenMetrics) format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.lock());
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A latency histogram family: half a millisecond to about 16 seconds.
pub fn latency<L>() -> Histograms<L>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    fn make() -> Histogram {
        Histogram::new(exponential_buckets(0.0005, 2.0, 16))
    }
    Family::new_with_constructor(make)
}

/// Business durations: a minute to a month, on the business clock.
pub const BUSINESS_BUCKETS: &[f64] = &[
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 259200.0,
    604800.0, 1296000.0, 2592000.0,
];

/// A business histogram family (a minute to a month).
pub fn business<L>() -> Histograms<L>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    fn make() -> Histogram {
        Histogram::new(BUSINESS_BUCKETS.iter().copied())
    }
    Family::new_with_constructor(make)
}

/// Labels of an RPC measurement.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    /// The gRPC service, `hotline.v1.DispatchService`.
    pub service: String,
    pub method: String,
    /// The gRPC status code name, `OK`.
    pub code: String,
}

pub type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// RPC durations in seconds, served and made.
#[derive(Clone)]
pub struct RpcMetrics {
    pub server: Histograms<RpcLabels>,
    pub client: Histograms<RpcLabels>,
}

impl RpcMetrics {
    pub fn new(registry: &Registry) -> Self {
        let m = Self {
            server: latency(),
            client: latency(),
        };
        registry.register(
            "hotline_rpc_server_duration_seconds",
            "Time to serve an RPC, by gRPC service, method and status code",
            m.server.clone(),
        );
        registry.register(
            "hotline_rpc_client_duration_seconds",
            "Time of an RPC this process made, by gRPC service, method and status code",
            m.client.clone(),
        );
        m
    }
}

/// Serves `/metrics` on `addr` until the process ends, running `refresh`
/// before each scrape.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Registry,
    refresh: Option<Refresh>,
) -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (registry, refresh) = (registry.clone(), refresh.clone());
            async move {
                if let Some(r) = refresh {
                    r().await;
                }
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    registry.render(),
                )
            }
        }),
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// Binds `addr` and serves `/metrics` in the background; errors are logged.
pub async fn spawn(
    addr: SocketAddr,
    registry: Registry,
    refresh: Option<Refresh>,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("metrics: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, registry, refresh).await {
            tracing::error!(error = %e, "metrics endpoint failed");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histograms_in_seconds_with_bounded_labels() {
        let r = Registry::default();
        let rpc = RpcMetrics::new(&r);
        rpc.server
            .get_or_create(&RpcLabels {
                service: "hotline.v1.DispatchService".into(),
                method: "AcceptAssignment".into(),
                code: "OK".into(),
            })
            .observe(0.002);
        let text = r.render();
        assert!(
            text.contains("# TYPE hotline_rpc_server_duration_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("hotline_rpc_server_duration_seconds_count{service=\"hotline.v1.DispatchService\",method=\"AcceptAssignment\",code=\"OK\"} 1"), "{text}");
        assert!(text.contains("hotline_spans_dropped_total"), "{text}");
    }

    #[test]
    fn every_registry_has_process_metrics_and_build_info() {
        let text = Registry::default().render();
        let build = format!(
            "hotline_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&build), "{text}");
        assert!(
            text.contains("# TYPE process_cpu_seconds counter"),
            "{text}"
        );
        let value = |name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing: {text}"));
            line[name.len() + 1..].parse().unwrap()
        };
        assert!(value("process_cpu_seconds_total") >= 0.0);
        assert!(value("process_resident_memory_bytes") > 1e6);
        assert!(value("process_open_fds") >= 3.0);
        // Started in this century, before now.
        let start = value("process_start_time_seconds");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((1.6e9..=now + 1.0).contains(&start), "{start}");
    }
}
