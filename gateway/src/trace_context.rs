//! Trace context: the gateway's span for a forwarded call (a child of the
//! caller's, as the trace-context layer every server shares read it,
//! `hotline_telemetry::trace_context`; the parent of the callee's), the W3C `traceparent` and
//! allow-listed `baggage` it passes on, and the call's log, written with
//! its duration and status when the response is done. Refusals from the
//! layers below become statuses here, so that they are logged and
//! measured too. The call's [`Arrival`] goes on in the request's
//! extensions.

mod observed;

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use hotline_telemetry::propagation;
use hotline_telemetry::rpc::{self as rpc, Rpc, TierOf};
use hotline_telemetry::trace_context::Incoming;
use http::{HeaderMap, HeaderValue, Request, Response};
use opentelemetry::trace::TraceContextExt as _;
use tonic::{Code, body::Body};
use tower::{Layer, Service};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use self::observed::{CallLog, ObservedBody};
use crate::telemetry::{GatewayMetrics, tier_name};
use crate::{TARGET_HEADER, UNIT_HEADER, error::GatewayError, registry::Registry};

/// When a call reached the gateway and the unit that made it, as its
/// `x-hotline-unit` said on arrival (identity may fill it in later).
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub at: Instant,
    from: Option<HeaderValue>,
}

impl Arrival {
    /// `from` is taken only if it is a visible-ASCII unit id.
    pub(crate) fn new(at: Instant, from: Option<&HeaderValue>) -> Self {
        let from = from.filter(|v| v.to_str().is_ok_and(|v| !v.is_empty()));
        Self {
            at,
            from: from.cloned(),
        }
    }

    /// The calling unit, if it named one.
    pub(crate) fn from(&self) -> Option<&str> {
        self.from.as_ref().and_then(|v| v.to_str().ok())
    }

    pub(crate) fn of<B>(request: &Request<B>) -> Result<&Self, GatewayError> {
        request
            .extensions()
            .get::<Self>()
            .ok_or(GatewayError::Unmarked("arrival"))
    }
}

#[derive(Clone)]
pub(crate) struct TraceContextLayer {
    registry: Arc<Registry>,
    tier_of: TierOf,
    metrics: GatewayMetrics,
}

impl TraceContextLayer {
    pub(crate) fn new(registry: Arc<Registry>, metrics: GatewayMetrics) -> Self {
        Self {
            tier_of: crate::telemetry::tier_of(registry.clone()),
            registry,
            metrics,
        }
    }
}

impl<S> Layer<S> for TraceContextLayer {
    type Service = TraceContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceContext {
            inner,
            layer: self.clone(),
            not_ready: None,
        }
    }
}

pub(crate) struct TraceContext<S> {
    inner: S,
    layer: TraceContextLayer,
    /// Why the layers below could not take a call, for the next call's
    /// answer (none of them refuses readiness today).
    not_ready: Option<GatewayError>,
}

impl<S: Clone> Clone for TraceContext<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
            // A clone's readiness is its own.
            not_ready: None,
        }
    }
}

impl<S, B> Service<Request<B>> for TraceContext<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = GatewayError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if let Err(err) = std::task::ready!(self.inner.poll_ready(cx)) {
            self.not_ready = Some(err);
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let headers = request.headers();
        let from = unit_header(headers, UNIT_HEADER);
        let arrival = Arrival::new(Instant::now(), headers.get(UNIT_HEADER));
        let to = unit_header(headers, TARGET_HEADER);
        let mut log = CallLog::new(request.uri().path(), arrival.at, from, to);
        let layer = &self.layer;
        // Only allow-listed baggage goes on.
        if let Some(rpc) = Rpc::parse(request.uri().path()) {
            // The caller's context, as the shared trace-context layer read it.
            let parent = Incoming::of(&request);
            let span = rpc::rpc_span(
                "server",
                &rpc,
                request.headers(),
                request.uri().authority(),
                parent,
                Some(&layer.tier_of),
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
                layer.metrics.clone(),
                tier_name(layer.registry.tier_of(log.from())),
                tier_name(layer.registry.tier_of(log.to())),
            );
        } else {
            propagation::filter_baggage(request.headers_mut());
        }
        request.extensions_mut().insert(arrival);

        let span = log.span();
        let response = match self.not_ready.take() {
            None => {
                let _entered = span.enter();
                self.inner.call(request)
            }
            Some(err) => return Box::pin(std::future::ready(Ok(refused(err.into(), log)))),
        };
        Box::pin(async move {
            Ok(match response.instrument(span).await {
                Ok(response) => {
                    // A trailers-only response carries its status in the headers.
                    if let Some(code) = grpc_status(response.headers()) {
                        log.set_status(code);
                    }
                    // The log is written when the response body is done.
                    response.map(|body| Body::new(ObservedBody::new(body, log)))
                }
                Err(err) => refused(err.into(), log),
            })
        })
    }
}

/// A call the gateway answers itself; its log is written at once.
fn refused(status: tonic::Status, mut log: CallLog) -> Response<Body> {
    log.set_status(status.code());
    status.into_http()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tower::ServiceExt as _;

    use super::*;
    use crate::testing::{self, REPORT, status_of};

    const BAGGAGE: &str = "hotline.tier=township,requester.name=Li%20Wei,text=noise";

    /// A call from d-riverside through the layer to `inner`, and the
    /// metrics rendered once its log is written.
    async fn call<S>(inner: S) -> (Response<Body>, hotline_telemetry::metrics::Registry)
    where
        S: Service<Request<()>, Response = Response<Body>, Error = GatewayError> + Send + 'static,
        S::Future: Send + 'static,
    {
        let metrics = hotline_telemetry::metrics::Registry::default();
        let layer = TraceContextLayer::new(testing::registry(), GatewayMetrics::new(&metrics));
        let request = Request::builder()
            .uri(REPORT)
            .header(UNIT_HEADER, "d-riverside")
            .header(TARGET_HEADER, "t-harbour")
            .header(propagation::BAGGAGE, BAGGAGE)
            .body(())
            .unwrap();
        let response = layer.layer(inner).oneshot(request).await.unwrap();
        (response, metrics)
    }

    #[tokio::test]
    async fn marks_the_arrival_and_passes_on_only_allowed_baggage() {
        let (response, _) = call(testing::echo()).await;
        let arrival = response.extensions().get::<Arrival>().unwrap();
        assert_eq!(arrival.from(), Some("d-riverside"));
        let baggage = response.headers().get(propagation::BAGGAGE).unwrap();
        assert_eq!(baggage, "hotline.tier=township");
    }

    #[tokio::test]
    async fn a_refusal_below_is_answered_logged_and_measured() {
        let refuse = tower::service_fn(|_: Request<()>| async {
            Err::<Response<Body>, _>(GatewayError::UnknownUnit("t-harbour".into()))
        });
        let (response, metrics) = call(refuse).await;
        assert_eq!(status_of(&response), Some(Code::NotFound));
        let metrics = metrics.render();
        let hop = r#"hotline_gateway_forward_duration_seconds_count{from_tier="district",to_tier="township",code="NOT_FOUND"} 1"#;
        assert!(metrics.contains(hop), "{metrics}");
    }

    #[tokio::test]
    async fn an_answer_is_logged_with_its_status_when_its_body_is_done() {
        let answer = tower::service_fn(|_: Request<()>| async {
            Ok::<_, GatewayError>(tonic::Status::permission_denied("sealed").into_http())
        });
        let (response, metrics) = call(answer).await;
        assert_eq!(status_of(&response), Some(Code::PermissionDenied));
        drop(response);
        let metrics = metrics.render();
        let hop = r#"to_tier="township",code="PERMISSION_DENIED"} 1"#;
        assert!(metrics.contains(hop), "{metrics}");
    }
}
