//! Watching a forwarded response go by, to log the call once it is done.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use http_body::{Frame, SizeHint};
use tonic::{Code, Status, body::Body};

use super::grpc_status;

/// One call's log line, written when dropped: after the response has been
/// sent, or when the gateway answered the call itself. Only the method and
/// the two unit ids are logged: other metadata and bodies may carry PII.
#[derive(Debug)]
pub(super) struct CallLog {
    method: String,
    from: Option<String>,
    to: Option<String>,
    started: Instant,
    status: Option<Code>,
}

impl CallLog {
    pub(super) fn new(method: &str, from: Option<String>, to: Option<String>) -> Self {
        Self {
            method: method.to_owned(),
            from,
            to,
            started: Instant::now(),
            status: None,
        }
    }

    pub(super) fn from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    pub(super) fn to(&self) -> Option<&str> {
        self.to.as_deref()
    }

    pub(super) fn set_status(&mut self, status: Code) {
        self.status = Some(status);
    }
}

impl Drop for CallLog {
    fn drop(&mut self) {
        // No status means the stream ended early, for instance the caller
        // went away.
        let grpc_status = self.status.map_or("none", |code| code_name(code));
        tracing::debug!(
            method = %self.method,
            from = self.from.as_deref().unwrap_or(""),
            to = self.to.as_deref().unwrap_or(""),
            grpc_status,
            duration_ms = self.started.elapsed().as_secs_f64() * 1e3,
            "call"
        );
    }
}

/// The upstream's response body, passed through frame by frame; trailers
/// are read for `grpc-status` only.
pub(super) struct ObservedBody {
    inner: Body,
    log: CallLog,
}

impl ObservedBody {
    pub(super) fn new(inner: Body, log: CallLog) -> Self {
        Self { inner, log }
    }
}

impl http_body::Body for ObservedBody {
    type Data = <Body as http_body::Body>::Data;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(code) = frame
            .as_ref()
            .and_then(|frame| frame.as_ref().ok())
            .and_then(Frame::trailers_ref)
            .and_then(grpc_status)
        {
            this.log.set_status(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The canonical upper-case name, as in the gRPC spec and other tools' logs.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
