//! The HTTP listener: HTTPS with the web front's mesh certificate when the
//! mesh is mTLS (HTTP/1.1 and HTTP/2), plain HTTP when it is not.
//!
//! A client certificate is asked for, never required: a browser or an
//! Open311 client connects without one; a holder of a mesh certificate
//! (an operator at the dashboard) presents it and is proven. Each
//! handshake runs off the accept loop, so a slow client holds up no
//! other. Every request then carries its [`Caller`].
//!
//! On the shutdown signal (SIGTERM) it stops accepting, lets the requests
//! in flight finish for at most [`DRAIN_BOUND`] (a live dashboard's
//! stream never would), and returns. With [`HttpMetrics`] every request's
//! time to answer is measured by route, method and status code.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use hotline_core::authz::Principal;
use hotline_identity::net::{Conn, Peer};
use hotline_identity::{PRINCIPAL_HEADER, Security};
use hotline_telemetry::metrics::{Histograms, Registry};
use prometheus_client::encoding::EncodeLabelSet;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::Caller;

/// How long a client gets to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long requests in flight get to finish once the shutdown signal
/// came; whatever is left then is dropped.
pub const DRAIN_BOUND: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `shutdown`, then lets requests in
/// flight finish, for at most [`DRAIN_BOUND`].
pub async fn serve(
    listener: TcpListener,
    security: Security,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let acceptor = match &security {
        Security::Mtls(tls) => {
            // The mesh's own server config (a client certificate optional,
            // checked against the CA and the revocation list, reloaded as
            // it rotates), offering HTTP/1.1 besides HTTP/2: browsers and
            // Open311 clients speak either.
            let mut config = (*tls.server_config()?).clone();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(TlsAcceptor::from(Arc::new(config)))
        }
        Security::Plaintext => None,
    };
    let listener = WebListener::start(listener, acceptor)?;
    let app = router
        .layer(axum::middleware::from_fn_with_state(security, prove))
        .into_make_service_with_connect_info::<WebPeer>();
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel();
    let signal = async move {
        shutdown.await;
        tracing::info!("web front draining");
        let _ = draining_tx.send(());
    };
    let server = std::future::IntoFuture::into_future(
        axum::serve(listener, app).with_graceful_shutdown(signal),
    );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => {
            result?;
            tracing::info!("web front stopped");
            return Ok(());
        }
        Ok(()) = draining_rx => {}
    }
    match tokio::time::timeout(DRAIN_BOUND, server).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("drain bound reached, dropping requests in flight"),
    }
    tracing::info!("web front stopped");
    Ok(())
}

/// Labels of an HTTP measurement: all bounded (a route is the router's
/// pattern, `/open311/v2/requests/{file}`, never the path asked for).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The route's pattern; `unmatched` for a path no route has.
    pub route: String,
    /// The method; `other` for one outside the standard set.
    pub method: String,
    /// The status code, `200`.
    pub code: String,
}

/// The web front's HTTP measurements, in the process's registry.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Histograms<HttpLabels>,
}

impl HttpMetrics {
    /// Registers `hotline_http_server_duration_seconds` in `registry`.
    pub fn new(registry: &Registry) -> Self {
        let requests = hotline_telemetry::metrics::latency();
        registry.register(
            "hotline_http_server_duration_seconds",
            "Time for the web front to answer an HTTP request (to its response's head), by route, method and status code",
            requests.clone(),
        );
        Self { requests }
    }

    /// `router`, every request of which is measured.
    pub fn layer(&self, router: axum::Router) -> axum::Router {
        router.layer(axum::middleware::from_fn_with_state(self.clone(), measure))
    }
}

/// Times a request to its response's head.
async fn measure(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let method = method_label(request.method()).to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics
        .requests
        .get_or_create(&HttpLabels {
            route,
            method,
            code: response.status().as_str().to_string(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// A method as a label: the standard ones by name, any other `other`.
fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The peer of a connection, as [`serve`] accepted it.
#[derive(Clone, Debug)]
pub struct WebPeer(pub Peer);

impl axum::extract::connect_info::Connected<IncomingStream<'_, WebListener>> for WebPeer {
    fn connect_info(stream: IncomingStream<'_, WebListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Marks each request with its [`Caller`].
async fn prove(
    State(security): State<Security>,
    ConnectInfo(peer): ConnectInfo<WebPeer>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = caller(&security, &peer.0, request.headers());
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Over mTLS the certificate's holder while it is still valid (a
/// connection outlives a revocation); over plaintext the claimed one.
fn caller(security: &Security, peer: &Peer, headers: &http::HeaderMap) -> Caller {
    match security {
        Security::Mtls(_) => Caller(peer.principal.clone().filter(|_| security.peer_valid(peer))),
        Security::Plaintext => Caller(
            headers
                .get(PRINCIPAL_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(Principal::from_path),
        ),
    }
}

/// Connections accepted and, over TLS, handshaken.
pub struct WebListener {
    accepted: tokio::sync::mpsc::Receiver<(Conn, WebPeer)>,
    local: SocketAddr,
}

impl WebListener {
    fn start(listener: TcpListener, acceptor: Option<TlsAcceptor>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, accepted) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, remote) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of descriptors and the like: pause, go on.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    () = tx.closed() => return,
                };
                let _ = tcp.set_nodelay(true);
                let tx = tx.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Some(accepted) = handshake(tcp, remote, acceptor).await {
                        let _ = tx.send(accepted).await;
                    }
                });
            }
        });
        Ok(Self { accepted, local })
    }
}

/// A connection with its peer: over TLS once the handshake is done.
async fn handshake(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    acceptor: Option<TlsAcceptor>,
) -> Option<(Conn, WebPeer)> {
    let mut peer = Peer {
        remote: Some(remote),
        principal: None,
        serial: Vec::new(),
        not_after: i64::MAX,
    };
    let Some(acceptor) = acceptor else {
        return Some((Conn::Plain(tcp, peer.clone()), WebPeer(peer)));
    };
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::info!(%remote, error = %e, "TLS handshake refused");
            return None;
        }
        Err(_) => {
            tracing::info!(%remote, "TLS handshake timed out");
            return None;
        }
    };
    if let Some(leaf) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
        peer.principal = hotline_identity::tls::principal_of(leaf);
        // Serial and end of validity, for the revocation check on every
        // request (as the mesh's own listeners keep them).
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) {
            peer.serial = cert.raw_serial().to_vec();
            peer.not_after = cert.validity().not_after.timestamp();
        }
    }
    Some((Conn::Tls(Box::new(tls), peer.clone()), WebPeer(peer)))
}

impl Listener for WebListener {
    type Io = Conn;
    type Addr = WebPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(WebPeer(Peer {
            remote: Some(self.local),
            principal: None,
            serial: Vec::new(),
            not_after: i64::MAX,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn peer(principal: Option<Principal>) -> Peer {
        Peer {
            remote: None,
            principal,
            serial: Vec::new(),
            not_after: i64::MAX,
        }
    }

    #[tokio::test]
    async fn requests_are_measured_by_route_pattern_method_and_code() {
        use tower::ServiceExt as _;
        let registry = Registry::default();
        let metrics = HttpMetrics::new(&registry);
        let router = metrics.layer(
            axum::Router::new().route("/items/{id}", axum::routing::get(|| async { "item" })),
        );
        for path in ["/items/1", "/items/2", "/nowhere"] {
            let request = http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            router.clone().oneshot(request).await.unwrap();
        }
        let text = registry.render();
        assert!(
            text.contains(
                "hotline_http_server_duration_seconds_count{route=\"/items/{id}\",method=\"GET\",code=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "hotline_http_server_duration_seconds_count{route=\"unmatched\",method=\"GET\",code=\"404\"} 1"
            ),
            "{text}"
        );
        assert!(!text.contains("/items/1"), "a path is no label: {text}");
        assert!(text.contains("hotline_build_info"), "{text}");
    }

    #[tokio::test]
    async fn on_shutdown_a_request_that_never_ends_holds_the_server_up_to_the_drain_bound() {
        use tokio::io::AsyncWriteExt as _;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (reached_tx, reached_rx) = tokio::sync::oneshot::channel::<()>();
        let reached = Arc::new(std::sync::Mutex::new(Some(reached_tx)));
        // A stream that never ends, as a live page's would.
        let router = axum::Router::new().route(
            "/forever",
            axum::routing::get(move || async move {
                if let Some(tx) = reached.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                std::future::pending::<()>().await;
            }),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, Security::Plaintext, router, async move {
            let _ = stop_rx.await;
        }));
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        reached_rx.await.unwrap();
        let stopped = std::time::Instant::now();
        stop_tx.send(()).unwrap();
        let result = tokio::time::timeout(DRAIN_BOUND * 2, server).await;
        result.expect("stopped within the bound").unwrap().unwrap();
        let took = stopped.elapsed();
        assert!(took >= DRAIN_BOUND, "{took:?}: the request had its time");
    }

    #[test]
    fn over_plaintext_the_claimed_principal_is_believed_and_nothing_else() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(
            caller(&Security::Plaintext, &peer(None), &headers),
            Caller(None)
        );
        headers.insert(PRINCIPAL_HEADER, "operator/ops".parse().unwrap());
        assert_eq!(
            caller(&Security::Plaintext, &peer(None), &headers).operator(),
            Some("ops")
        );
        headers.insert(PRINCIPAL_HEADER, "nobody".parse().unwrap());
        assert_eq!(
            caller(&Security::Plaintext, &peer(None), &headers),
            Caller(None)
        );
    }
}
