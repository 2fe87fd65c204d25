//! Deadline: the caller's, as carried in `grpc-timeout`, or the gateway's
//! default. [`DeadlineLayer`] bounds the wait for the upstream's answer
//! (its response head) and names the service that did not answer in time.
//! The header goes on unchanged: the upstream keeps the caller's deadline.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderMap, Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::{error::GatewayError, route::Route};

const GRPC_TIMEOUT: &str = "grpc-timeout";

/// Most of a caller's deadline the gateway gives up to waiting; see
/// [`wait_bound`].
const MAX_HEADROOM: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub(crate) struct DeadlineLayer {
    /// The bound when the caller sends no `grpc-timeout`.
    default_timeout: Duration,
}

impl DeadlineLayer {
    pub(crate) fn new(default_timeout: Duration) -> Self {
        Self { default_timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            default_timeout: self.default_timeout,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Deadline<S> {
    inner: S,
    default_timeout: Duration,
}

impl<S, B> Service<Request<B>> for Deadline<S>
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
        let wait = wait_bound(request.headers(), self.default_timeout);
        let service = match Route::of(&request) {
            Ok(route) => route.home.service.clone(),
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            tokio::time::timeout(wait, call)
                .await
                .unwrap_or_else(|_elapsed| Err(GatewayError::DeadlineExceeded(service.to_string())))
        })
    }
}

/// How long the gateway waits for the upstream to answer.
///
/// With a caller deadline the gateway gives up a little before it (a tenth,
/// at most a second), so that its DEADLINE_EXCEEDED naming the service
/// reaches the caller before the caller's own timer fires (tonic clients
/// report their own timer as CANCELLED). A missing or malformed
/// `grpc-timeout` means no caller deadline, as in tonic's own server.
pub(crate) fn wait_bound(headers: &HeaderMap, default_timeout: Duration) -> Duration {
    match caller_timeout(headers) {
        Some(timeout) => timeout - (timeout / 10).min(MAX_HEADROOM),
        None => default_timeout,
    }
}

/// Parses `grpc-timeout`: 1 to 8 ASCII digits, then a unit (H M S m u n).
fn caller_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    let digits = value.get(..value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    let timeout = match &value[digits.len()..] {
        "H" => Duration::from_secs(amount * 60 * 60),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    Some(timeout)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tonic::Code;
    use tower::ServiceExt as _;

    use super::*;
    use crate::route::RouteLayer;
    use crate::testing::{self, REPORT};

    /// A call to t-harbour with `grpc-timeout`, through route and deadline
    /// to an upstream that answers when `answers`, or never.
    async fn call(timeout: Option<&str>, default: Duration, answers: bool) -> Result<(), Code> {
        let mut request = Request::builder()
            .uri(REPORT)
            .header(crate::TARGET_HEADER, "t-harbour");
        if let Some(timeout) = timeout {
            request = request.header(GRPC_TIMEOUT, timeout);
        }
        let upstream = tower::service_fn(move |_: Request<()>| async move {
            if !answers {
                std::future::pending::<()>().await;
            }
            Ok(Response::new(Body::empty()))
        });
        let stack = tower::ServiceBuilder::new()
            .layer(RouteLayer::new(testing::registry()))
            .layer(DeadlineLayer::new(default))
            .service(upstream);
        let result = stack.oneshot(request.body(()).unwrap()).await;
        result.map(drop).map_err(|err| {
            let status = tonic::Status::from(err);
            assert_eq!(
                status.message(),
                "deadline exceeded waiting for service township"
            );
            status.code()
        })
    }

    #[tokio::test]
    async fn an_upstream_past_the_deadline_is_deadline_exceeded() {
        let long = Duration::from_secs(30);
        // The caller's deadline (a nanosecond) or, without one, the default.
        assert_eq!(
            call(Some("1n"), long, false).await,
            Err(Code::DeadlineExceeded)
        );
        let short = Duration::from_nanos(1);
        assert_eq!(call(None, short, false).await, Err(Code::DeadlineExceeded));
        // An answer within the deadline goes through.
        assert_eq!(call(Some("10S"), short, true).await, Ok(()));
        assert_eq!(call(None, long, true).await, Ok(()));
    }

    fn headers(timeout: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(GRPC_TIMEOUT, timeout.parse().unwrap());
        headers
    }

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("2H", Duration::from_secs(7200)),
            ("3M", Duration::from_secs(180)),
            ("4S", Duration::from_secs(4)),
            ("250m", Duration::from_millis(250)),
            ("7u", Duration::from_micros(7)),
            ("99999999n", Duration::from_nanos(99_999_999)),
        ];
        for (value, expected) in cases {
            assert_eq!(caller_timeout(&headers(value)), Some(expected), "{value}");
        }
    }

    #[test]
    fn rejects_malformed_values() {
        for value in ["", "S", "123456789S", "10x", "1.5S", "-1S", "10"] {
            assert_eq!(caller_timeout(&headers(value)), None, "{value:?}");
        }
    }

    #[test]
    fn waits_a_little_less_than_the_caller() {
        let default = Duration::from_secs(30);
        assert_eq!(wait_bound(&HeaderMap::new(), default), default);
        assert_eq!(
            wait_bound(&headers("1000m"), default),
            Duration::from_millis(900)
        );
        assert_eq!(
            wait_bound(&headers("60S"), default),
            Duration::from_secs(59)
        );
    }
}
