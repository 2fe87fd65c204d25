//! Listeners and channels with mesh identity: a listener that completes
//! each TLS handshake off the accept loop and hands tonic the connection
//! with its proven peer; a connector that dials with this process's
//! certificate and checks the server's.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use hotline_core::authz::Principal;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tonic::transport::server::Connected;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::tls::{MeshTls, principal_of};

/// Over mTLS a server closes (GOAWAY) a connection after this long unless
/// told otherwise, so that a client reconnects with its rotated
/// certificate and the revocation list is met at a fresh handshake.
pub const ROTATION_AGE: Duration = Duration::from_secs(600);

/// How long a client gets to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How this process speaks to the mesh.
#[derive(Clone, Debug)]
pub enum Security {
    /// Mutual TLS with the mesh CA (the default).
    Mtls(Arc<MeshTls>),
    /// No TLS and no proof of identity: only behind `--insecure-plaintext`.
    Plaintext,
}

/// Who is at the other end of an accepted connection, in every request's
/// extensions.
#[derive(Clone, Debug)]
pub struct Peer {
    pub remote: Option<SocketAddr>,
    /// The holder of the client certificate; `None` over plaintext.
    pub principal: Option<Principal>,
    /// Its certificate's serial, for the revocation list.
    pub serial: Vec<u8>,
    /// Its certificate's end of validity, in Unix seconds.
    pub not_after: i64,
}

/// An accepted connection, plain or TLS.
pub enum Conn {
    Plain(TcpStream, Peer),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>, Peer),
}

impl Connected for Conn {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        match self {
            Conn::Plain(_, peer) | Conn::Tls(_, peer) => peer.clone(),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s, _) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s, _) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s, _) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s, _) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s, _) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s, _) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s, _) => s.is_write_vectored(),
            Conn::Tls(s, _) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s, _) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s, _) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s, _) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s, _) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Security {
    /// The connection age to serve with: the one configured, else
    /// [`ROTATION_AGE`] over mTLS.
    pub fn max_connection_age(&self, configured: Option<Duration>) -> Option<Duration> {
        configured.or(self.is_mtls().then_some(ROTATION_AGE))
    }

    /// Whether callers are proven by certificate.
    pub fn is_mtls(&self) -> bool {
        matches!(self, Security::Mtls(_))
    }

    /// Whether a peer proven at its handshake is still believed now.
    pub fn peer_valid(&self, peer: &Peer) -> bool {
        match self {
            Security::Mtls(tls) => tls.still_valid(peer),
            Security::Plaintext => true,
        }
    }

    /// This process's own identity, when it has one.
    pub fn principal(&self) -> Option<Principal> {
        match self {
            Security::Mtls(tls) => Some(tls.principal()),
            Security::Plaintext => None,
        }
    }

    /// The connections `listener` accepts, handshaken, for
    /// `Server::serve_with_incoming_shutdown`. The accept loop ends when
    /// the server drops the stream.
    pub fn incoming(
        &self,
        listener: TcpListener,
    ) -> anyhow::Result<impl Stream<Item = io::Result<Conn>> + Send + 'static> {
        let acceptor = match self {
            Security::Mtls(tls) => Some(TlsAcceptor::from(tls.server_config()?)),
            Security::Plaintext => None,
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Conn>>(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = tx.closed() => return,
                };
                let (tcp, remote) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors and the like: pause, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let Some(acceptor) = acceptor.clone() else {
                    let peer = Peer {
                        remote: Some(remote),
                        principal: None,
                        serial: Vec::new(),
                        not_after: i64::MAX,
                    };
                    if tx.send(Ok(Conn::Plain(tcp, peer))).await.is_err() {
                        return;
                    }
                    continue;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let tls =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                tracing::info!(%remote, error = %e, "TLS handshake refused");
                                return;
                            }
                            Err(_) => {
                                tracing::info!(%remote, "TLS handshake timed out");
                                return;
                            }
                        };
                    let leaf = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|certs| certs.first());
                    let (serial, not_after) = leaf
                        .and_then(|leaf| x509_parser::parse_x509_certificate(leaf).ok())
                        .map(|(_, c)| (c.raw_serial().to_vec(), c.validity().not_after.timestamp()))
                        .unwrap_or_default();
                    let peer = Peer {
                        remote: Some(remote),
                        principal: leaf.and_then(|leaf| principal_of(leaf)),
                        serial,
                        not_after,
                    };
                    let _ = tx.send(Ok(Conn::Tls(Box::new(tls), peer))).await;
                });
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }

    /// A lazily connected channel to `endpoint` (an `http://` URI): over
    /// mTLS when this process has credentials, checking that the server is
    /// `expect` when given.
    pub fn channel(
        &self,
        endpoint: Endpoint,
        expect: Option<Principal>,
    ) -> anyhow::Result<Channel> {
        match self {
            Security::Plaintext => Ok(endpoint.connect_lazy()),
            Security::Mtls(tls) => {
                let connector = Dial {
                    tls: TlsConnector::from(tls.client_config(expect)?),
                };
                Ok(endpoint.connect_with_connector_lazy(connector))
            }
        }
    }
}

/// Dials TCP, then TLS with this process's certificate.
#[derive(Clone)]
struct Dial {
    tls: TlsConnector,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<Uri> for Dial {
    type Response = TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or("the address names no host")?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(80);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let name = rustls_pki_types::ServerName::try_from(host)?;
            let stream = tls.connect(name, tcp).await?;
            Ok(TokioIo::new(stream))
        })
    }
}
