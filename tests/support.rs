//! Fixtures for the cross-service tests; the meshes themselves come from
//! `hotline-testkit`.

use std::time::Duration;

use hotline::client::MeshClient;
use hotline_proto::v1::*;

pub use hotline::client::request_id;
pub use hotline_testkit::{
    Spec, Store, T0, TestMesh, WAIT, mesh, mesh_on, mesh_test, t0, virtual_mesh, wait_until,
};

/// A mesh whose nodes are processes of the `hotline` binary: for the tests
/// where processes are the point (a kill, a failpoint, a process's own
/// logs, metrics or spans). They run once, on PostgreSQL when a test
/// server is set.
pub fn processes() -> Spec {
    Spec {
        processes: Some(env!("CARGO_BIN_EXE_hotline").into()),
        ..Spec::default()
    }
}

/// The demo city with its `[policy]` keys changed, e.g.
/// `&[("arbitration", "\"district_first\"")]`.
pub fn demo_with_policy(keys: &[(&str, &str)]) -> String {
    let mut src = hotline_testkit::DEMO_TOPOLOGY.to_string();
    for (key, value) in keys {
        let start = src.find(&format!("\n{key} = ")).expect("a policy key") + 1;
        let end = start + src[start..].find('\n').unwrap();
        src.replace_range(start..end, &format!("{key} = {value}"));
    }
    src
}

/// The body of an HTTP GET on loopback (no client library needed).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    let (head, body) = out
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no HTTP response from {addr}"))?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    Ok(body.to_string())
}

pub fn submit(category: &str, address: &str, kind: RequestKind) -> SubmitRequestRequest {
    SubmitRequestRequest {
        request_id: request_id(),
        channel: Channel::Web as i32,
        kind: kind as i32,
        requester: Some(Requester {
            name: "Sun Li".into(),
            phone: "13700000000".into(),
            ..Default::default()
        }),
        text: "the request text".into(),
        category_code: category.into(),
        address: address.into(),
        ..Default::default()
    }
}

/// A pothole complaint at `address` with new facts: never matched as a
/// repeat of another, for tests that submit many.
pub fn fresh_complaint(address: &str) -> SubmitRequestRequest {
    SubmitRequestRequest {
        new_facts: true,
        ..submit("road.pothole", address, RequestKind::Complaint)
    }
}

/// Every service's dead letters once there is at least one (or, after
/// `WAIT`, none).
pub async fn wait_for_dead_letters(
    t: &TestMesh,
) -> Vec<hotline_runtime::tables::outbox::DeadLetter> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let dead = t.dead_letters().await;
        if !dead.is_empty() || tokio::time::Instant::now() > deadline {
            return dead;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub fn actions(o: &Order, action: &str) -> Vec<String> {
    o.history
        .iter()
        .filter(|h| h.action == action)
        .map(|h| h.actor_unit.clone())
        .collect()
}

/// Waits until parts reported back reach the lead's view of its assignment.
pub async fn wait_parts(c: &MeshClient, lead: &str, order: &str) -> Vec<PartReport> {
    wait_until(
        &format!("a part reported to {lead} on {order}"),
        Duration::from_secs(30),
        || async {
            let a = c.assignment(lead, order).await.unwrap();
            (!a.parts.is_empty()).then_some(a.parts)
        },
    )
    .await
}

/// An HTTPS GET of `path` on the web front at `base`
/// (`https://127.0.0.1:PORT`), trusting the mesh's CA and presenting
/// `holder`'s certificate from the mesh's PKI when one is given: the
/// status and the body.
pub async fn https_get(
    base: &str,
    path: &str,
    pki: &hotline_identity::Pki,
    holder: Option<&hotline_identity::Principal>,
) -> (u16, String) {
    let addr: std::net::SocketAddr = base
        .strip_prefix("https://")
        .expect("the web front over HTTPS")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let r = exchange(&connector(pki, holder), addr, "GET", path, &[], "").await;
    (r.status, r.body)
}

/// A TLS client trusting the mesh CA, presenting `holder`'s certificate
/// when given (an HTTPS client as a browser or a script would be).
pub fn connector(
    pki: &hotline_identity::Pki,
    holder: Option<&hotline_identity::Principal>,
) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject as _;
    use tokio_rustls::rustls;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pki_types::CertificateDer::pem_file_iter(pki.ca_cert()).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match holder {
        None => builder.with_no_client_auth(),
        Some(holder) => {
            let files = pki.files(holder);
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(&files.cert)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = rustls_pki_types::PrivateKeyDer::from_pem_file(&files.key).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
    };
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// One HTTP/1.1 exchange over `tls` with the web front at `addr`.
pub async fn exchange(
    tls: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
    let mut s = tls.connect(name, tcp).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    s.write_all(format!("{head}\r\n{body}").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A peer that closes without close_notify ends the body too.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("reading the reply: {e}"),
        }
    }
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP reply");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// An HTTP reply: its status, head and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The status line and headers, lowercased.
    pub head: String,
    pub body: String,
}
