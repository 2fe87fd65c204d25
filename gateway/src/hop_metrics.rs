//! Hop metrics: once the upstream has answered a call (whatever its
//! status), the call counts for `GetHandoffStats`, and the gateway's own
//! overhead on the hop is measured: the time from the call's arrival to
//! the response head, less the time the upstream says it served it.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use hotline_telemetry::rpc;
use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::error::GatewayError;
use crate::registry::Registry;
use crate::route::Route;
use crate::stats::{ForwardedCall, Stats};
use crate::telemetry::{GatewayMetrics, PairLabels, tier_name};
use crate::trace_context::Arrival;

#[derive(Clone)]
pub(crate) struct HopMetricsLayer {
    registry: Arc<Registry>,
    stats: Arc<Stats>,
    metrics: GatewayMetrics,
}

impl HopMetricsLayer {
    pub(crate) fn new(registry: Arc<Registry>, stats: Arc<Stats>, metrics: GatewayMetrics) -> Self {
        Self {
            registry,
            stats,
            metrics,
        }
    }

    fn record(&self, arrival: &Arrival, route: &Route, response: &Response<Body>) {
        let from_tier = self.registry.tier_of(arrival.from());
        if let Some(served_us) = response
            .headers()
            .get(rpc::SERVER_TIME)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            let total = arrival.at.elapsed();
            let served = Duration::from_micros(served_us);
            let labels = PairLabels {
                from_tier: tier_name(from_tier).to_owned(),
                to_tier: tier_name(route.home.tier).to_owned(),
            };
            self.metrics
                .overhead
                .get_or_create(&labels)
                .observe(total.saturating_sub(served).as_secs_f64());
        }
        self.stats.record(&ForwardedCall {
            from_unit: arrival.from(),
            to_unit: route.target(),
            from_tier,
            to_tier: route.home.tier,
            service: &route.home.service,
            // Forwarded, so announced.
            pid: route.upstream.as_ref().map_or(0, |upstream| upstream.pid),
        });
    }
}

impl<S> Layer<S> for HopMetricsLayer {
    type Service = HopMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HopMetrics {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct HopMetrics<S> {
    inner: S,
    layer: HopMetricsLayer,
}

impl<S, B> Service<Request<B>> for HopMetrics<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = GatewayError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = GatewayError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, GatewayError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Cheap clones: the request, marks and all, goes to the upstream.
        let marks =
            Arrival::of(&request).and_then(|a| Ok((a.clone(), Route::of(&request)?.clone())));
        let (arrival, route) = match marks {
            Ok(marks) => marks,
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let response = self.inner.call(request);
        let layer = self.layer.clone();
        Box::pin(async move {
            let response = response.await?;
            // The upstream answered: this call counts.
            layer.record(&arrival, &route, &response);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Instant;

    use http::HeaderValue;
    use tower::ServiceExt as _;

    use super::*;
    use crate::route::RouteLayer;
    use crate::testing::{self, REPORT};

    /// A call from d-riverside to t-harbour that `upstream` answers.
    async fn call<S>(upstream: S) -> (Result<Response<Body>, GatewayError>, String, Arc<Stats>)
    where
        S: Service<Request<()>, Response = Response<Body>, Error = GatewayError> + Send + 'static,
        S::Future: Send + 'static,
    {
        let registry = testing::registry();
        let stats = Arc::new(Stats::default());
        let metrics = hotline_telemetry::metrics::Registry::default();
        let layer = HopMetricsLayer::new(
            registry.clone(),
            stats.clone(),
            GatewayMetrics::new(&metrics),
        );
        let stack = tower::ServiceBuilder::new()
            .layer(RouteLayer::new(registry))
            .layer(layer)
            .service(upstream);
        let mut request = Request::builder()
            .uri(REPORT)
            .header(crate::TARGET_HEADER, "t-harbour")
            .body(())
            .unwrap();
        let from = HeaderValue::from_static("d-riverside");
        let arrival = Arrival::new(Instant::now(), Some(&from));
        request.extensions_mut().insert(arrival);
        let result = stack.oneshot(request).await;
        (result, metrics.render(), stats)
    }

    #[tokio::test]
    async fn an_answered_call_counts_and_its_overhead_is_measured() {
        let upstream = tower::service_fn(|_: Request<()>| async {
            let mut response = Response::new(Body::empty());
            let served = HeaderValue::from_static("0");
            response.headers_mut().insert(rpc::SERVER_TIME, served);
            Ok::<_, GatewayError>(response)
        });
        let (result, metrics, stats) = call(upstream).await;
        result.unwrap();
        let stats = stats.snapshot();
        assert_eq!((stats.calls, stats.handoffs), (1, 1));
        assert_eq!(stats.by_service[0].service, "township");
        let overhead =
            r#"hotline_gateway_overhead_seconds_count{from_tier="district",to_tier="township"} 1"#;
        assert!(metrics.contains(overhead), "{metrics}");
    }

    #[tokio::test]
    async fn a_call_the_upstream_never_answered_does_not_count() {
        let upstream = tower::service_fn(|_: Request<()>| async {
            Err::<Response<Body>, _>(GatewayError::Unreachable("township".into()))
        });
        let (result, metrics, stats) = call(upstream).await;
        assert!(matches!(result, Err(GatewayError::Unreachable(_))));
        assert_eq!(stats.snapshot().calls, 0);
        assert!(
            !metrics.contains("hotline_gateway_overhead_seconds_count{"),
            "{metrics}"
        );
    }
}
