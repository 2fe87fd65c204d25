//! One span and one measurement per RPC, on either side of a call: a tower
//! layer for servers and a wrapper for client channels. Spans follow the
//! OTel RPC conventions: named `$package.$service/$method`
//! (`hotline.v1.DispatchService/DeliverAssignment`, the call's path, so
//! naming costs nothing), with `rpc.*` and `server.*` attributes and an
//! error status by the gRPC rules ([`finish`]); ours add
//! `hotline.order_id`, units, tiers and the handoff kind. All are read from
//! metadata: bodies are never decoded, so request text cannot reach a span.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Request, Response};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use tonic::Code;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics::{RpcLabels, RpcMetrics};
use crate::propagation;

pub const TARGET: &str = "x-hotline-target";
pub const UNIT: &str = "x-hotline-unit";
/// The order a call is about, when the caller knows it (the outbox does).
pub const ORDER: &str = "x-hotline-order";
/// The handoff kind of a call, when the caller knows it (the outbox does).
pub const HANDOFF: &str = "x-hotline-handoff";
/// Microseconds the server spent on the call, for the gateway's overhead.
pub const SERVER_TIME: &str = "x-hotline-server-us";

/// A unit's tier name, from the topology.
pub type TierOf = Arc<dyn Fn(&str) -> Option<&'static str> + Send + Sync>;

/// `/hotline.v1.DispatchService/DeliverAssignment`, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rpc<'a> {
    pub service: &'a str,
    pub method: &'a str,
    /// `hotline.v1.DispatchService/DeliverAssignment`.
    name: &'a str,
}

impl<'a> Rpc<'a> {
    pub fn parse(path: &'a str) -> Option<Self> {
        let name = path.strip_prefix('/')?;
        let (service, method) = name.split_once('/')?;
        (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(Rpc {
            service,
            method,
            name,
        })
    }

    /// Calls of the hotline contract get spans; health checks and
    /// reflection, polled all day, only get measured.
    pub fn traced(&self) -> bool {
        self.service.starts_with("hotline.")
    }

    /// `hotline.v1.DispatchService/DeliverAssignment`: the conventions'
    /// `$rpc.service/$rpc.method`, borrowed from the path.
    pub fn span_name(&self) -> &'a str {
        self.name
    }

    fn labels(&self, code: Code) -> RpcLabels {
        RpcLabels {
            service: self.service.to_string(),
            method: self.method.to_string(),
            code: code_name(code).to_string(),
        }
    }
}

/// The handoff a direct call makes, by its method; a call from the outbox
/// names its own kind in `x-hotline-handoff`, which wins. Reads are none.
pub fn handoff_kind(method: &str) -> Option<&'static str> {
    Some(match method {
        "SubmitRequest" => "intake",
        "DeliverAssignment" => "dispatch",
        "AcceptAssignment" => "accept",
        "ContactRequester" | "RelayContact" => "contact",
        "UpdateProgress" => "progress",
        "ReplyAssignment" => "reply",
        "RecordAssignmentEvent" => "assignment_event",
        "RequestExtension" | "DecideExtension" => "extension",
        "Whistle" | "RegisterWhistle" => "whistle",
        "CheckIn" => "check_in",
        "RecordEscalationEvent" | "RequestCoordination" | "AnswerCoordination" => "escalation",
        "DeliverNotice" => "notice",
        "RecordCallback" => "callback",
        "UrgeOrder" | "Urge" => "urge",
        "WithdrawRequest" => "withdraw",
        m if m.contains("Objection") || m.starts_with("Object") => "objection",
        m if m.contains("Ruling") || m.starts_with("Arbitrat") || m.starts_with("Rule") => "ruling",
        _ => return None,
    })
}

/// The canonical upper-case name of a gRPC code, as in the spec.
pub fn code_name(code: Code) -> &'static str {
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

/// A status in the headers: a trailers-only response, which is how tonic
/// answers every error of a unary call. Without one, the call succeeded
/// (its `OK` comes in the trailers).
pub fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|v| Code::from_bytes(v.as_bytes()))
}

/// OTel's gRPC conventions: a server errs only when it failed (UNKNOWN,
/// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS), a
/// client on any code but OK. Otherwise the status stays unset.
fn is_error(code: Code, server: bool) -> bool {
    if !server {
        return code != Code::Ok;
    }
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// `server.address` and `server.port` of an authority (`host:port`), the
/// host without an IPv6 address's brackets.
fn server_of(server: Option<&Authority>) -> (Option<&str>, Option<i64>) {
    let Some(a) = server else {
        return (None, None);
    };
    let host = a.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (Some(host), a.port_u16().map(i64::from))
}

/// A span for one RPC with the hop's attributes from metadata. `server` is
/// the authority the call was addressed to (a server's `:authority`, a
/// client's endpoint). `parent` is set before the span is first entered,
/// as tracing-opentelemetry needs.
pub fn rpc_span(
    kind: &'static str,
    rpc: &Rpc<'_>,
    headers: &HeaderMap,
    server: Option<&Authority>,
    parent: Context,
    tier_of: Option<&TierOf>,
) -> Span {
    let (address, port) = server_of(server);
    let span = tracing::info_span!(
        target: "hotline::rpc",
        "rpc",
        otel.name = rpc.span_name(),
        otel.kind = kind,
        otel.status_code = Empty,
        rpc.system = "grpc",
        rpc.service = rpc.service,
        rpc.method = rpc.method,
        rpc.grpc.status_code = Empty,
        server.address = address,
        server.port = port,
        hotline.order_id = Empty,
        hotline.from_unit = Empty,
        hotline.to_unit = Empty,
        hotline.from_tier = Empty,
        hotline.to_tier = Empty,
        hotline.handoff = Empty,
    );
    let order = header(headers, ORDER)
        .map(str::to_string)
        .or_else(|| propagation::baggage_value(&parent, "hotline.order_id"));
    if let Some(order) = order {
        span.record("hotline.order_id", order.as_str());
    }
    for (name, unit_field, tier_field) in [
        (UNIT, "hotline.from_unit", "hotline.from_tier"),
        (TARGET, "hotline.to_unit", "hotline.to_tier"),
    ] {
        if let Some(unit) = header(headers, name) {
            span.record(unit_field, unit);
            if let Some(tier) = tier_of.and_then(|t| t(unit)) {
                span.record(tier_field, tier);
            }
        }
    }
    if let Some(kind) = header(headers, HANDOFF).or_else(|| handoff_kind(rpc.method)) {
        span.record("hotline.handoff", kind);
    }
    let _ = span.set_parent(parent);
    span
}

/// Records the outcome on an RPC span.
pub fn finish(span: &Span, code: Code, server: bool) {
    span.record("rpc.grpc.status_code", code as i64);
    if is_error(code, server) {
        span.record("otel.status_code", "error");
    }
}

/// Records the order an RPC is about on the current span, for calls whose
/// order only the body names.
pub fn record_order(order_id: &str) {
    if !order_id.is_empty() {
        Span::current().record("hotline.order_id", order_id);
    }
}

/// Links the current span to an order's trace when the work runs in
/// another trace (a caller that did not continue the order's trace).
pub fn link_order_trace(traceparent: &str) {
    let order = propagation::from_text(traceparent, "");
    let linked = order.span().span_context().clone();
    let current = Span::current().context();
    if linked.is_valid() && current.span().span_context().trace_id() != linked.trace_id() {
        Span::current().add_link(linked);
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The server side: a span (child of the caller's context) and a duration
/// per RPC, and the time served in a response header.
#[derive(Clone)]
pub struct ServerLayer {
    metrics: RpcMetrics,
    tier_of: Option<TierOf>,
}

impl ServerLayer {
    pub fn new(metrics: RpcMetrics, tier_of: Option<TierOf>) -> Self {
        Self { metrics, tier_of }
    }
}

impl<S> tower::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ServerService<S> {
    inner: S,
    layer: ServerLayer,
}

impl<S, B, R> tower::Service<Request<B>> for ServerService<S>
where
    S: tower::Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let started = Instant::now();
        let path = req.uri().path().to_string();
        let span = match Rpc::parse(&path).filter(Rpc::traced) {
            Some(rpc) => {
                // Read once, by the trace-context layer above.
                let parent = crate::trace_context::Incoming::of(&req);
                rpc_span(
                    "server",
                    &rpc,
                    req.headers(),
                    req.uri().authority(),
                    parent,
                    self.layer.tier_of.as_ref(),
                )
            }
            None => Span::none(),
        };
        // Take the service that was made ready; leave a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = {
            let _entered = span.enter();
            inner.call(req)
        };
        let metrics = self.layer.metrics.clone();
        Box::pin(async move {
            let result = tracing::Instrument::instrument(fut, span.clone()).await;
            let code = match &result {
                Ok(resp) => grpc_status(resp.headers()).unwrap_or(Code::Ok),
                Err(_) => Code::Unknown,
            };
            finish(&span, code, true);
            let elapsed = started.elapsed();
            if let Some(rpc) = Rpc::parse(&path) {
                metrics
                    .server
                    .get_or_create(&rpc.labels(code))
                    .observe(elapsed.as_secs_f64());
            }
            result.map(|mut resp| {
                if let Ok(v) = HeaderValue::from_str(&elapsed.as_micros().to_string()) {
                    resp.headers_mut().insert(SERVER_TIME, v);
                }
                resp
            })
        })
    }
}

/// The parent of a client call made outside the caller's current span:
/// an outbox delivery continues the context stored with its row.
#[derive(Clone, Debug)]
pub struct Parent(pub Context);

/// The client side: wraps a channel so that every call made inside a
/// traced span (or given a [`Parent`]) gets a client span and carries its
/// context; other calls (announcements) pass untraced. Every call is
/// measured.
#[derive(Clone)]
pub struct Traced<S> {
    inner: S,
    metrics: Option<RpcMetrics>,
    tier_of: Option<TierOf>,
    /// Where the channel connects, for `server.*` (a channel adds it to
    /// the request only below this wrapper).
    server: Option<Authority>,
    /// A header every call carries (a plaintext mesh's claimed identity).
    header: Option<(http::HeaderName, http::HeaderValue)>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Traced<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Traced").field(&self.inner).finish()
    }
}

impl<S> Traced<S> {
    pub fn new(inner: S, metrics: Option<RpcMetrics>, tier_of: Option<TierOf>) -> Self {
        Self {
            inner,
            metrics,
            tier_of,
            server: None,
            header: None,
        }
    }

    /// Spans name `url`'s host and port as `server.address` and
    /// `server.port`.
    pub fn with_server(mut self, url: &str) -> Self {
        self.server = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().cloned());
        self
    }

    /// Every call also carries `name: value`.
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.header = Some((name, value));
        self
    }
}

impl<S, B, R> tower::Service<Request<B>> for Traced<S>
where
    S: tower::Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let started = Instant::now();
        if let Some((name, value)) = &self.header {
            req.headers_mut().insert(name.clone(), value.clone());
        }
        let path = req.uri().path().to_string();
        let parent = match req.extensions_mut().remove::<Parent>() {
            Some(Parent(cx)) => Some(cx),
            None => {
                let cx = Span::current().context();
                cx.span().span_context().is_valid().then_some(cx)
            }
        };
        let span = match (parent, Rpc::parse(&path).filter(Rpc::traced)) {
            (Some(parent), Some(rpc)) => {
                let server = req.uri().authority().or(self.server.as_ref());
                let span = rpc_span(
                    "client",
                    &rpc,
                    req.headers(),
                    server,
                    parent,
                    self.tier_of.as_ref(),
                );
                propagation::inject(&span.context(), req.headers_mut());
                span
            }
            _ => Span::none(),
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = {
            let _entered = span.enter();
            inner.call(req)
        };
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let result = tracing::Instrument::instrument(fut, span.clone()).await;
            let code = match &result {
                Ok(resp) => grpc_status(resp.headers()).unwrap_or(Code::Ok),
                Err(_) => Code::Unavailable,
            };
            finish(&span, code, false);
            if let (Some(m), Some(rpc)) = (metrics, Rpc::parse(&path)) {
                m.client
                    .get_or_create(&rpc.labels(code))
                    .observe(started.elapsed().as_secs_f64());
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_spans_service_slash_method() {
        let rpc = Rpc::parse("/hotline.v1.DispatchService/DeliverAssignment").unwrap();
        assert_eq!(
            rpc.span_name(),
            "hotline.v1.DispatchService/DeliverAssignment"
        );
        assert_eq!(
            (rpc.service, rpc.method),
            ("hotline.v1.DispatchService", "DeliverAssignment")
        );
        assert!(rpc.traced());
        assert!(!Rpc::parse("/grpc.health.v1.Health/Check").unwrap().traced());
        assert!(Rpc::parse("/").is_none());
        assert!(Rpc::parse("/a/b/c").is_none());
        assert!(Rpc::parse("/a/").is_none());
    }

    #[test]
    fn a_server_is_named_by_host_and_port() {
        let a: Authority = "gateway.hotline.svc:7345".parse().unwrap();
        assert_eq!(
            server_of(Some(&a)),
            (Some("gateway.hotline.svc"), Some(7345))
        );
        let a: Authority = "[::1]:50051".parse().unwrap();
        assert_eq!(server_of(Some(&a)), (Some("::1"), Some(50051)));
        let a: Authority = "city".parse().unwrap();
        assert_eq!(server_of(Some(&a)), (Some("city"), None));
        assert_eq!(server_of(None), (None, None));
    }

    #[test]
    fn only_a_servers_own_failures_are_errors() {
        for code in [
            Code::InvalidArgument,
            Code::FailedPrecondition,
            Code::NotFound,
        ] {
            assert!(!is_error(code, true), "{code:?}");
            assert!(is_error(code, false), "{code:?}");
        }
        for code in [Code::Internal, Code::Unavailable, Code::Unimplemented] {
            assert!(is_error(code, true) && is_error(code, false), "{code:?}");
        }
        assert!(!is_error(Code::Ok, true) && !is_error(Code::Ok, false));
    }

    #[test]
    fn direct_calls_name_their_handoff() {
        assert_eq!(handoff_kind("AcceptAssignment"), Some("accept"));
        assert_eq!(handoff_kind("CheckIn"), Some("check_in"));
        assert_eq!(handoff_kind("FileObjection"), Some("objection"));
        assert_eq!(handoff_kind("GetOrder"), None);
    }
}
