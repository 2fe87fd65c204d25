//! Forward: the bottom of the stack. The HTTP/2 request goes to the
//! upstream its route chose, headers as the layers above left them and
//! the body unread; only the body's type changes. Nothing here decodes a
//! message or calls a service's code.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{Request, Response};
use tonic::{TimeoutExpired, body::Body};
use tower::{Service, ServiceExt as _};

use crate::{error::GatewayError, route::Route};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Forward;

impl Service<Request<axum::body::Body>> for Forward {
    type Response = Response<Body>;
    type Error = GatewayError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, GatewayError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Upstream readiness is awaited per call, inside the caller's deadline.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<axum::body::Body>) -> Self::Future {
        let route = match Route::of(&request) {
            Ok(route) => route,
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let Some(upstream) = &route.upstream else {
            let err = GatewayError::NotAnnounced {
                service: route.home.service.to_string(),
                unit: route.target().to_owned(),
            };
            return Box::pin(std::future::ready(Err(err)));
        };
        let service = route.home.service.clone();
        let mut channel = upstream.channel.clone();
        Box::pin(async move {
            let call = async { channel.ready().await?.call(request.map(Body::new)).await };
            match call.await {
                Ok(response) => Ok(response),
                Err(err) if is_timeout(&err) => {
                    Err(GatewayError::DeadlineExceeded(service.to_string()))
                }
                Err(err) => {
                    tracing::debug!(service = %service, error = %ErrorChain(&err), "upstream call failed");
                    Err(GatewayError::Unreachable(service.to_string()))
                }
            }
        })
    }
}

/// The channel enforces the forwarded `grpc-timeout` too; should its timer win
/// the race with the deadline layer's, the cause is still the deadline.
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
    #![allow(clippy::unwrap_used)]

    use tonic::Code;
    use tower::Layer as _;

    use super::*;
    use crate::route::RouteLayer;
    use crate::testing::{self, REPORT};

    /// A call to `target` through route to forward.
    async fn forward(
        registry: std::sync::Arc<crate::registry::Registry>,
        target: &str,
    ) -> tonic::Status {
        let request = Request::builder()
            .uri(REPORT)
            .header(crate::TARGET_HEADER, target)
            .body(axum::body::Body::empty())
            .unwrap();
        let stack = RouteLayer::new(registry).layer(Forward);
        stack.oneshot(request).await.unwrap_err().into()
    }

    #[tokio::test]
    async fn a_service_not_announced_is_unavailable() {
        let status = forward(testing::registry(), "city").await;
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.message(),
            "service city hosting unit city has not announced"
        );
    }

    #[tokio::test]
    async fn an_upstream_nobody_listens_on_is_unavailable() {
        // A port just released: connecting is refused at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let status = forward(testing::registry_at(&address), "t-harbour").await;
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), "service township is unreachable");
    }

    /// A transport error with `cause` under it.
    #[derive(Debug)]
    struct Transport(Box<dyn std::error::Error + 'static>);

    impl std::fmt::Display for Transport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("transport error")
        }
    }

    impl std::error::Error for Transport {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn a_timeout_anywhere_in_the_chain_is_the_deadline() {
        assert!(is_timeout(&Transport(Box::new(TimeoutExpired(())))));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!is_timeout(&Transport(Box::new(refused))));
    }
}
