//! Watching a forwarded response go by, to log the call once it is done.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use hotline_telemetry::metrics::RpcLabels;
use hotline_telemetry::rpc::{Rpc, code_name, finish};
use http_body::{Frame, SizeHint};
use tonic::{Code, Status, body::Body};

use super::grpc_status;
use crate::telemetry::{GatewayMetrics, HopLabels};

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
    observed: Option<Observed>,
}

/// The call's span and where its measurements go; both are finished when
/// the log is written.
#[derive(Debug)]
struct Observed {
    span: tracing::Span,
    metrics: GatewayMetrics,
    from_tier: &'static str,
    to_tier: &'static str,
}

impl CallLog {
    pub(super) fn new(
        method: &str,
        started: Instant,
        from: Option<String>,
        to: Option<String>,
    ) -> Self {
        Self {
            method: method.to_owned(),
            from,
            to,
            started,
            status: None,
            observed: None,
        }
    }

    pub(super) fn observe(
        &mut self,
        span: tracing::Span,
        metrics: GatewayMetrics,
        from_tier: &'static str,
        to_tier: &'static str,
    ) {
        self.observed = Some(Observed {
            span,
            metrics,
            from_tier,
            to_tier,
        });
    }

    /// The call's span (none for a path that is not an RPC).
    pub(super) fn span(&self) -> tracing::Span {
        self.observed
            .as_ref()
            .map_or_else(tracing::Span::none, |o| o.span.clone())
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
        let grpc_status = self.status.map_or("none", code_name);
        let elapsed = self.started.elapsed().as_secs_f64();
        if let Some(o) = &self.observed {
            // No status: the caller went away, which the gateway counts as
            // a cancellation.
            let code = self.status.unwrap_or(Code::Cancelled);
            finish(&o.span, code, true);
            o.metrics
                .forwarded
                .get_or_create(&HopLabels {
                    from_tier: o.from_tier.to_owned(),
                    to_tier: o.to_tier.to_owned(),
                    code: code_name(code).to_owned(),
                })
                .observe(elapsed);
            if let Some(rpc) = Rpc::parse(&self.method) {
                o.metrics.observe_rpc(
                    RpcLabels {
                        service: rpc.service.to_owned(),
                        method: rpc.method.to_owned(),
                        code: code_name(code).to_owned(),
                    },
                    elapsed,
                );
            }
        }
        tracing::debug!(
            method = %self.method,
            from = self.from.as_deref().unwrap_or(""),
            to = self.to.as_deref().unwrap_or(""),
            grpc_status,
            duration_ms = elapsed * 1e3,
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
