//! The transparent proxy: routes a call on its metadata and forwards the
//! HTTP/2 request unchanged, body unread, to the service hosting the target.

mod observed;

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use hotline_telemetry::propagation;
use hotline_telemetry::rpc::{self as rpc, Rpc, TierOf};
use http::{HeaderMap, Request, Response};
use opentelemetry::trace::TraceContextExt as _;
use tonic::{Code, TimeoutExpired, body::Body};
use tower::{Service, ServiceExt as _};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use self::observed::{CallLog, ObservedBody};
use crate::identity::Admission;
use crate::telemetry::{GatewayMetrics, PairLabels, tier_name};
use crate::{
    TARGET_HEADER, UNIT_HEADER, deadline, error::GatewayError, registry::Registry,
    stats::ForwardedCall, stats::Stats,
};

const SERVED_HERE: &str = "hotline.v1.GatewayService";

#[derive(Clone)]
pub(crate) struct Proxy {
    registry: Arc<Registry>,
    stats: Arc<Stats>,
    default_timeout: Duration,
    metrics: GatewayMetrics,
    tier_of: TierOf,
    admission: Admission,
}

impl Proxy {
    pub(crate) fn new(
        registry: Arc<Registry>,
        stats: Arc<Stats>,
        default_timeout: Duration,
        metrics: GatewayMetrics,
        admission: Admission,
    ) -> Self {
        Self {
            admission,
            tier_of: crate::telemetry::tier_of(registry.clone()),
            registry,
            stats,
            default_timeout,
            metrics,
        }
    }

    async fn forward(self, mut request: Request<axum::body::Body>) -> Response<Body> {
        let from = unit_header(request.headers(), UNIT_HEADER);
        let to = unit_header(request.headers(), TARGET_HEADER);
        let mut log = CallLog::new(request.uri().path(), from.clone(), to.clone());
        // The gateway's own span: a child of the caller's, the parent of
        // the callee's. Only allow-listed baggage goes on.
        let path = request.uri().path().to_owned();
        if let Some(rpc) = Rpc::parse(&path) {
            let parent = propagation::extract(request.headers());
            let span = rpc::rpc_span(
                "server",
                &rpc,
                request.headers(),
                parent,
                Some(&self.tier_of),
            );
            let cx = span.context();
            if cx.span().span_context().is_valid() {
                propagation::inject(&cx, request.headers_mut());
            } else {
                // Not tracing here: the caller's context goes on as it came.
                propagation::filter_baggage(request.headers_mut());
            }
            log.observe(
                span,
                self.metrics.clone(),
                tier_name(self.registry.tier_of(from.as_deref())),
                tier_name(self.registry.tier_of(to.as_deref())),
            );
        } else {
            propagation::filter_baggage(request.headers_mut());
        }
        let span = log.span();
        match self.try_forward(request, &log).instrument(span).await {
            Ok(response) => {
                // A trailers-only response carries its status in the headers.
                if let Some(code) = grpc_status(response.headers()) {
                    log.set_status(code);
                }
                // The log is written when the response body is done.
                response.map(|body| Body::new(ObservedBody::new(body, log)))
            }
            Err(err) => {
                let status = tonic::Status::from(err);
                log.set_status(status.code());
                status.into_http()
            }
        }
    }

    async fn try_forward(
        &self,
        mut request: Request<axum::body::Body>,
        log: &CallLog,
    ) -> Result<Response<Body>, GatewayError> {
        let path = request.uri().path();
        if !is_forwarded(path) {
            return Err(GatewayError::UnknownPath(path.to_owned()));
        }
        let target = match request.headers().get(TARGET_HEADER) {
            None => return Err(GatewayError::MissingTarget),
            Some(value) if value.is_empty() => return Err(GatewayError::MissingTarget),
            Some(_) => log.to().ok_or(GatewayError::InvalidTarget)?.to_owned(),
        };
        let home = self
            .registry
            .unit(&target)
            .ok_or_else(|| GatewayError::UnknownUnit(target.clone()))?;
        // Nothing goes on until the caller is proven and may make this call.
        self.admission.admit(&mut request, &target)?;
        let upstream =
            self.registry
                .upstream(&home.service)
                .ok_or_else(|| GatewayError::NotAnnounced {
                    service: home.service.clone(),
                    unit: target.clone(),
                })?;

        // Headers, grpc-timeout included, go through as they came (but the
        // trace context, now the gateway's); only the body type changes, and
        // it is never read here.
        let wait = deadline::wait_bound(request.headers(), self.default_timeout);
        let mut channel = upstream.channel;
        let call = async move { channel.ready().await?.call(request.map(Body::new)).await };
        let response = match tokio::time::timeout(wait, call).await {
            Ok(Ok(response)) => response,
            Err(_elapsed) => return Err(GatewayError::DeadlineExceeded(home.service.clone())),
            Ok(Err(err)) if is_timeout(&err) => {
                return Err(GatewayError::DeadlineExceeded(home.service.clone()));
            }
            Ok(Err(err)) => {
                tracing::debug!(service = %home.service, error = %ErrorChain(&err), "upstream call failed");
                return Err(GatewayError::Unreachable(home.service.clone()));
            }
        };

        // The upstream says how long it served the call: the rest, up to
        // the response head, is this hop's overhead.
        if let Some(served_us) = response
            .headers()
            .get(rpc::SERVER_TIME)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            let total = log.elapsed();
            let served = Duration::from_micros(served_us);
            let labels = PairLabels {
                from_tier: tier_name(self.registry.tier_of(log.from())).to_owned(),
                to_tier: tier_name(home.tier).to_owned(),
            };
            self.metrics
                .overhead
                .get_or_create(&labels)
                .observe(total.saturating_sub(served).as_secs_f64());
        }
        // The upstream answered: this call counts.
        self.stats.record(&ForwardedCall {
            from_unit: log.from(),
            to_unit: &target,
            from_tier: self.registry.tier_of(log.from()),
            to_tier: home.tier,
            service: &home.service,
            pid: upstream.pid,
        });
        Ok(response)
    }
}

impl Service<Request<axum::body::Body>> for Proxy {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Upstream readiness is awaited per call, inside the caller's deadline.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<axum::body::Body>) -> Self::Future {
        let proxy = self.clone();
        Box::pin(async move { Ok(proxy.forward(request).await) })
    }
}

/// `/hotline.v1.<Service>/<Method>` for every service but the gateway's own.
fn is_forwarded(path: &str) -> bool {
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return false;
    };
    service != SERVED_HERE
        && hotline_proto::SERVICE_NAMES.contains(&service)
        && !method.is_empty()
        && !method.contains('/')
}

/// A unit id from metadata; a value that is not visible ASCII counts as absent.
fn unit_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    (!value.is_empty()).then(|| value.to_owned())
}

pub(crate) fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// The channel enforces the forwarded `grpc-timeout` too; should its timer win
/// the race with ours, the cause is still the deadline.
fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(err) = source {
        if err.is::<TimeoutExpired>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Transport errors say little at the top; the cause is at the bottom.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_hotline_methods_except_the_gateways_own() {
        assert!(is_forwarded("/hotline.v1.ReportingService/GetUnitReport"));
        assert!(is_forwarded(
            "/hotline.v1.DispatchService/DeliverAssignment"
        ));
        assert!(!is_forwarded("/hotline.v1.GatewayService/ListRoutes"));
        assert!(!is_forwarded("/hotline.v1.NoSuchService/Get"));
        assert!(!is_forwarded("/hotline.v1.ReportingService/"));
        assert!(!is_forwarded("/other.v1.ReportingService/GetUnitReport"));
        assert!(!is_forwarded("/"));
    }
}
