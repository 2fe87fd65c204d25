//! A few process counters in Prometheus text format, served on
//! `--metrics-addr`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub outbox_delivered: AtomicU64,
    pub outbox_retries: AtomicU64,
    pub outbox_dead_letters: AtomicU64,
    pub outbox_depth: AtomicI64,
}

impl Metrics {
    pub fn render(&self, service: &str) -> String {
        let l = format!("{{service=\"{service}\"}}");
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE hotline_outbox_delivered_total counter\nhotline_outbox_delivered_total{l} {}\n\
             # TYPE hotline_outbox_retries_total counter\nhotline_outbox_retries_total{l} {}\n\
             # TYPE hotline_outbox_dead_letters_total counter\nhotline_outbox_dead_letters_total{l} {}\n\
             # TYPE hotline_outbox_depth gauge\nhotline_outbox_depth{l} {}\n",
            g(&self.outbox_delivered),
            g(&self.outbox_retries),
            g(&self.outbox_dead_letters),
            self.outbox_depth.load(Ordering::Relaxed),
        )
    }
}

/// Serves `/metrics` until the process ends.
pub async fn serve(
    addr: std::net::SocketAddr,
    metrics: std::sync::Arc<Metrics>,
    service: String,
) -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let body = metrics.render(&service);
            async move { body }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_in_base_units() {
        let m = Metrics::default();
        m.outbox_dead_letters.fetch_add(2, Ordering::Relaxed);
        m.outbox_depth.store(5, Ordering::Relaxed);
        let text = m.render("township");
        assert!(
            text.contains("hotline_outbox_dead_letters_total{service=\"township\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("hotline_outbox_depth{service=\"township\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE hotline_outbox_delivered_total counter"));
    }
}
