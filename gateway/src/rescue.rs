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
