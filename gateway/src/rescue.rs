//! The top of the stack: a request that is not gRPC at all is answered as
//! the gRPC over HTTP/2 protocol prescribes (HTTP 405 for a method other
//! than POST, HTTP 415 for a content-type other than `application/grpc…`),
//! and errors from the layers below become gRPC statuses with a known
//! cause, never a reset stream or a bare INTERNAL.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::{Request, Response};
use tonic::{Status, body::Body};
use tower::{BoxError, Layer, Service, load_shed::error::Overloaded};

use crate::error::GatewayError;

#[derive(Debug, Clone, Copy)]
pub(crate) struct RescueLayer;

impl<S> Layer<S> for RescueLayer {
    type Service = Rescue<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Rescue { inner }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Rescue<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Rescue<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(refused) = not_grpc(&request) {
            return Box::pin(std::future::ready(Ok(refused)));
        }
        let response = self.inner.call(request);
        Box::pin(async move {
            match response.await {
                Ok(response) => Ok(response),
                Err(err) => Ok(rescue(err.into()).into_http()),
            }
        })
    }
}

/// The most request metadata a call may carry, counted as HTTP/2 counts a
/// header list (name, value and 32 bytes per entry): over it, the call is
/// refused RESOURCE_EXHAUSTED naming the limit. HTTP/2 itself reads up to
/// [`HEADER_LIST_READ`], so a call between the two gets this answer
/// rather than a reset stream.
pub(crate) const METADATA_LIMIT: usize = 16 * 1024;
pub(crate) const HEADER_LIST_READ: u32 = 64 * 1024;

/// The HTTP answer to a request that is not a gRPC call, or the gRPC one
/// to a call whose metadata is over [`METADATA_LIMIT`].
fn not_grpc<B>(request: &Request<B>) -> Option<Response<Body>> {
    let metadata: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 32)
        .sum();
    if metadata > METADATA_LIMIT {
        let status = Status::resource_exhausted(format!(
            "request metadata: at most {METADATA_LIMIT} bytes (this call has {metadata})"
        ));
        return Some(status.into_http());
    }
    let status = if request.method() != http::Method::POST {
        http::StatusCode::METHOD_NOT_ALLOWED
    } else if !request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
    {
        http::StatusCode::UNSUPPORTED_MEDIA_TYPE
    } else {
        return None;
    };
    tracing::debug!(method = %request.method(), path = %request.uri().path(), %status, "not a gRPC call");
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    Some(response)
}

fn rescue(err: BoxError) -> Status {
    if err.is::<Overloaded>() {
        tracing::debug!("call shed: gateway at its concurrency limit");
        return GatewayError::Overloaded.into();
    }
    Status::from_error(err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tonic::Code;
    use tower::{ServiceBuilder, ServiceExt as _};

    use super::*;
    use crate::testing::status_of;

    /// A call that waits until `go` is sent, then fails with `status`.
    fn stack(
        go: tokio::sync::watch::Receiver<bool>,
    ) -> impl Service<Request<()>, Response = Response<Body>, Error = BoxError> + Clone {
        let inner = tower::service_fn(move |_: Request<()>| {
            let mut go = go.clone();
            async move {
                go.wait_for(|go| *go).await?;
                Err::<Response<Body>, BoxError>(Status::unavailable("upstream gone").into())
            }
        });
        ServiceBuilder::new()
            .layer(RescueLayer)
            .load_shed()
            .concurrency_limit(1)
            .service(inner)
    }

    fn grpc(content_type: &str) -> Request<()> {
        Request::builder()
            .method(http::Method::POST)
            .uri("/hotline.v1.IntakeService/GetOrder")
            .header(http::header::CONTENT_TYPE, content_type)
            .body(())
            .unwrap()
    }

    #[tokio::test]
    async fn a_request_that_is_not_grpc_gets_the_protocols_http_answer() {
        let (_go, wait) = tokio::sync::watch::channel(false);
        let mut s = stack(wait);
        let json = s
            .ready()
            .await
            .unwrap()
            .call(grpc("application/json"))
            .await;
        assert_eq!(
            json.unwrap().status(),
            http::StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let text = s.ready().await.unwrap().call(grpc("text/plain")).await;
        assert_eq!(
            text.unwrap().status(),
            http::StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let get = s.ready().await.unwrap().call(Request::new(())).await;
        assert_eq!(get.unwrap().status(), http::StatusCode::METHOD_NOT_ALLOWED);
        let mut big = grpc("application/grpc");
        let value = http::HeaderValue::from_str(&"x".repeat(METADATA_LIMIT)).unwrap();
        big.headers_mut().insert("x-big-bin", value);
        let big = s.ready().await.unwrap().call(big).await.unwrap();
        assert_eq!(status_of(&big), Some(Code::ResourceExhausted));
    }

    #[tokio::test]
    async fn a_call_beyond_the_limit_is_shed_as_resource_exhausted() {
        let (go, wait) = tokio::sync::watch::channel(false);
        let mut first = stack(wait);
        let mut second = first.clone();
        let in_flight = first.ready().await.unwrap().call(grpc("application/grpc"));

        let shed = second
            .ready()
            .await
            .unwrap()
            .call(grpc("application/grpc+proto"))
            .await;
        let shed = shed.unwrap();
        assert_eq!(status_of(&shed), Some(Code::ResourceExhausted));

        // An error with a status keeps it.
        go.send(true).unwrap();
        let answered = in_flight.await.unwrap();
        assert_eq!(status_of(&answered), Some(Code::Unavailable));
    }
}
