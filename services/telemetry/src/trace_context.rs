//! The trace-context layer every server of the mesh puts first, the
//! gateway's and each service's: it reads the caller's W3C `traceparent`
//! and allow-listed `baggage` once per request and marks the request with
//! them ([`Incoming`]), for the span the layers below open as its child.

use std::task::{Context as TaskContext, Poll};

use http::Request;
use opentelemetry::Context;

use crate::propagation;

/// The caller's trace context, as its headers carried it (empty when none
/// came); only allow-listed baggage is in it.
#[derive(Clone, Debug)]
pub struct Incoming(pub Context);

impl Incoming {
    /// The request's [`Incoming`] mark, or its headers read now (a call
    /// that skipped the layer).
    pub fn of<B>(request: &Request<B>) -> Context {
        match request.extensions().get::<Incoming>() {
            Some(Incoming(cx)) => cx.clone(),
            None => propagation::extract(request.headers()),
        }
    }
}

/// Marks every call with its [`Incoming`] context; see the module.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceContextLayer;

impl<S> tower::Layer<S> for TraceContextLayer {
    type Service = TraceContext<S>;

    fn layer(&self, inner: S) -> TraceContext<S> {
        TraceContext { inner }
    }
}

#[derive(Clone, Debug)]
pub struct TraceContext<S> {
    inner: S,
}

impl<S, B> tower::Service<Request<B>> for TraceContext<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        let incoming = propagation::extract(request.headers());
        request.extensions_mut().insert(Incoming(incoming));
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use opentelemetry::trace::TraceContextExt as _;
    use tower::{Layer as _, ServiceExt as _};

    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// The context the layer marked a request with `headers`.
    async fn incoming(headers: &[(&str, &str)]) -> Context {
        let mut request = Request::builder().uri("/hotline.v1.DispatchService/GetOrder");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let echo = tower::service_fn(|request: Request<()>| async move {
            Ok::<_, std::convert::Infallible>(request.extensions().get::<Incoming>().cloned())
        });
        let marked = TraceContextLayer
            .layer(echo)
            .oneshot(request.body(()).unwrap())
            .await
            .unwrap();
        marked.expect("every call is marked").0
    }

    #[tokio::test]
    async fn marks_a_call_with_the_callers_trace_and_allowed_baggage() {
        let cx = incoming(&[
            (propagation::TRACEPARENT, TRACEPARENT),
            (
                propagation::BAGGAGE,
                "hotline.tier=township,requester.name=Li%20Wei",
            ),
        ])
        .await;
        let span = cx.span().span_context().clone();
        assert!(span.is_valid());
        assert_eq!(
            span.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            propagation::baggage_value(&cx, "hotline.tier").as_deref(),
            Some("township")
        );
        assert_eq!(propagation::baggage_value(&cx, "requester.name"), None);
    }

    #[tokio::test]
    async fn marks_a_call_without_a_trace_with_an_empty_context() {
        let cx = incoming(&[]).await;
        assert!(!cx.span().span_context().is_valid());
        let cx = incoming(&[(propagation::TRACEPARENT, "not a traceparent")]).await;
        assert!(!cx.span().span_context().is_valid());
    }

    #[test]
    fn reads_the_headers_of_a_call_that_skipped_the_layer() {
        let request = Request::builder()
            .header(propagation::TRACEPARENT, TRACEPARENT)
            .body(())
            .unwrap();
        assert!(Incoming::of(&request).span().span_context().is_valid());
    }
}
