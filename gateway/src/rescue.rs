//! The top of the stack: errors from the layers below become gRPC statuses
//! with a known cause, never a reset stream or a bare INTERNAL.

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
        let response = self.inner.call(request);
        Box::pin(async move {
            match response.await {
                Ok(response) => Ok(response),
                Err(err) => Ok(rescue(err.into()).into_http()),
            }
        })
    }
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

    #[tokio::test]
    async fn a_call_beyond_the_limit_is_shed_as_resource_exhausted() {
        let (go, wait) = tokio::sync::watch::channel(false);
        let mut first = stack(wait);
        let mut second = first.clone();
        let in_flight = first.ready().await.unwrap().call(Request::new(()));

        let shed = second.ready().await.unwrap().call(Request::new(())).await;
        let shed = shed.unwrap();
        assert_eq!(status_of(&shed), Some(Code::ResourceExhausted));

        // An error with a status keeps it.
        go.send(true).unwrap();
        let answered = in_flight.await.unwrap();
        assert_eq!(status_of(&answered), Some(Code::Unavailable));
    }
}
