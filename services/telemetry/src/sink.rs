//! A plain OTLP/gRPC trace receiver on a tonic server: what a collector
//! does, minus everything but keeping the spans. Tests assert on what the
//! mesh exports; `hotline bench tracing` exports into it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;

/// One received span, with the `service.name` of its process.
#[derive(Debug, Clone, Default)]
pub struct ReceivedSpan {
    pub service: String,
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// OTLP span kind: 2 server, 3 client.
    pub kind: i32,
    pub attributes: BTreeMap<String, String>,
    /// Linked (trace id, span id) pairs.
    pub links: Vec<(String, String)>,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    pub status: i32,
}

impl ReceivedSpan {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    /// Every request as text, for searches that must find nothing.
    dump: String,
    count: usize,
}

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Received>>,
    /// Count spans only, as a collector on another machine would cost this
    /// one nothing more (the bench).
    count_only: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let mut got = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        if self.count_only {
            got.count += req
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum::<usize>();
            return Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: None,
            }));
        }
        got.dump.push_str(&format!("{req:?}\n"));
        for rs in &req.resource_spans {
            let resource = rs
                .resource
                .as_ref()
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                got.count += 1;
                got.spans.push(ReceivedSpan {
                    service: service.clone(),
                    name: span.name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    attributes: attributes(&span.attributes),
                    links: span
                        .links
                        .iter()
                        .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                        .collect(),
                    status: span.status.as_ref().map(|s| s.code).unwrap_or(0),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A running receiver; stops when dropped.
pub struct Sink {
    pub addr: SocketAddr,
    receiver: Receiver,
    _stop: oneshot::Sender<()>,
}

impl Sink {
    /// Listens on `addr` (port 0 works), keeping every span.
    pub async fn start(addr: &str) -> anyhow::Result<Sink> {
        Self::listen(addr, false).await
    }

    /// Listens on `addr`, counting spans and keeping none.
    pub async fn counting(addr: &str) -> anyhow::Result<Sink> {
        Self::listen(addr, true).await
    }

    async fn listen(addr: &str, count_only: bool) -> anyhow::Result<Sink> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let receiver = Receiver {
            count_only,
            ..Receiver::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let service = TraceServiceServer::new(receiver.clone());
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Sink {
            addr: bound,
            receiver,
            _stop: stop,
        })
    }

    /// `http://127.0.0.1:PORT`, for `--otlp-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.lock().spans.clone()
    }

    pub fn count(&self) -> usize {
        self.lock().count
    }

    /// Everything received, as text.
    pub fn dump(&self) -> String {
        self.lock().dump.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        self.receiver
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
