//! Back-pressure at every service's door: at most `limit` calls in flight
//! at once; a call beyond them is answered at once with RESOURCE_EXHAUSTED
//! and a retry hint (`google.rpc.RetryInfo`), rather than queued behind the
//! others while every caller's latency grows. Senders' outboxes retry it
//! with back-off; clients see the hint. Health checks are always admitted,
//! so an overloaded service is not taken for a dead one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tokio::sync::Semaphore;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// How long a shed caller is asked to wait before trying again.
pub const RETRY_AFTER: Duration = Duration::from_millis(200);

/// RESOURCE_EXHAUSTED naming what is exhausted, with a retry hint.
pub fn overloaded(what: &str, retry_after: Duration) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        what,
        ErrorDetails::with_retry_info(Some(retry_after)),
    )
}

#[derive(Clone)]
pub struct AdmitLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl AdmitLayer {
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> tower::Layer<S> for AdmitLayer {
    type Service = Admit<S>;

    fn layer(&self, inner: S) -> Admit<S> {
        Admit {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Admit<S> {
    inner: S,
    layer: AdmitLayer,
}

impl<S, B, R> tower::Service<Request<B>> for Admit<S>
where
    S: tower::Service<Request<B>, Response = Response<R>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path().starts_with("/grpc.health.") {
            return Box::pin(self.inner.call(request));
        }
        let Ok(permit) = self.layer.permits.clone().try_acquire_owned() else {
            tracing::debug!(path = %request.uri().path(), "call shed: service at its in-flight limit");
            let what = format!(
                "service overloaded: {} calls in flight; retry later",
                self.layer.limit
            );
            return Box::pin(std::future::ready(Ok(
                overloaded(&what, RETRY_AFTER).into_http()
            )));
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            drop(permit);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use tower::{Layer as _, Service as _, ServiceExt as _};

    use super::*;

    fn status_of(r: &Response<tonic::body::Body>) -> Option<Code> {
        Status::from_header_map(r.headers()).map(|s| s.code())
    }

    #[tokio::test]
    async fn calls_past_the_limit_are_shed_with_a_retry_hint_and_health_passes() {
        let (go, wait) = tokio::sync::watch::channel(false);
        let inner = tower::service_fn(move |_: Request<()>| {
            let mut wait = wait.clone();
            async move {
                let _ = wait.wait_for(|g| *g).await;
                Ok::<_, std::convert::Infallible>(Response::new(tonic::body::Body::empty()))
            }
        });
        let mut svc = AdmitLayer::new(2).layer(inner);
        let call = |path: &str| Request::builder().uri(path).body(()).unwrap();
        let path = "/hotline.v1.IntakeService/SubmitRequest";
        let first = svc.ready().await.unwrap().call(call(path));
        let second = svc.ready().await.unwrap().call(call(path));
        let shed = svc.ready().await.unwrap().call(call(path)).await.unwrap();
        assert_eq!(status_of(&shed), Some(Code::ResourceExhausted));
        let status = Status::from_header_map(shed.headers()).unwrap();
        assert!(status.message().contains("2 calls in flight"), "{status:?}");
        let hint = status.get_details_retry_info().expect("retry info");
        assert_eq!(hint.retry_delay, Some(RETRY_AFTER));
        // Health is answered whatever the load.
        let health = svc
            .ready()
            .await
            .unwrap()
            .call(call("/grpc.health.v1.Health/Check"));
        go.send(true).unwrap();
        for r in [first.await, second.await, health.await] {
            assert_eq!(status_of(&r.unwrap()), None);
        }
        // The permits came back: a call is admitted again.
        let again = svc.ready().await.unwrap().call(call(path)).await.unwrap();
        assert_eq!(status_of(&again), None);
    }
}
