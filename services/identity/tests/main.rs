//! Real handshakes on 127.0.0.1:0: who gets in, who is refused, and a
//! rotation and a revocation taking effect without a restart.

// A test's helpers may unwrap (the panic is the failure); its ports and
// scratch names guard nothing, so fastrand is fine here.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::Duration;

use hotline_identity::{IssueOptions, MeshTls, Peer, Pki, Principal, Security};
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn unit(id: &str) -> Principal {
    Principal::Unit(id.into())
}

fn service(name: &str) -> Principal {
    Principal::Service(name.into())
}

/// A health server holding `holder`'s certificate; returns its address
/// and the peers it saw.
async fn serve(pki: &Pki, holder: &Principal) -> (String, Arc<std::sync::Mutex<Vec<Peer>>>) {
    let tls = MeshTls::load(pki.files(holder)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let incoming = Security::Mtls(tls).incoming(listener).unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let layer =
        tower::ServiceBuilder::new().map_request(move |r: http::Request<tonic::body::Body>| {
            if let Some(p) = r.extensions().get::<Peer>() {
                record.lock().unwrap().push(p.clone());
            }
            r
        });
    tokio::spawn(
        Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming(incoming),
    );
    (address, seen)
}

async fn check(address: &str, client: &Security, expect: Option<Principal>) -> Result<(), String> {
    let endpoint = Endpoint::from_shared(address.to_owned())
        .unwrap()
        .connect_timeout(Duration::from_secs(5));
    let channel = client
        .channel(endpoint, expect)
        .map_err(|e| e.to_string())?;
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
        .map_err(|s| s.to_string())
}

fn holder(pki: &Pki, p: &Principal) -> Security {
    Security::Mtls(MeshTls::load(pki.files(p)).unwrap())
}

fn mesh_ca() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open(dir.path().join("pki"));
    assert!(pki.init().unwrap(), "a new CA");
    assert!(!pki.init().unwrap(), "init twice keeps the CA");
    for p in [service("township"), unit("t-harbour"), unit("t-market")] {
        pki.issue(&p, &IssueOptions::default()).unwrap();
    }
    (dir, pki)
}

#[tokio::test]
async fn the_server_sees_the_holder_its_certificate_names() {
    let (_dir, pki) = mesh_ca();
    let (address, seen) = serve(&pki, &service("township")).await;
    check(
        &address,
        &holder(&pki, &unit("t-harbour")),
        Some(service("township")),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].principal, Some(unit("t-harbour")));
}

#[tokio::test]
async fn a_certificate_minted_in_memory_proves_its_unit_and_leaves_no_file() {
    let (_dir, pki) = mesh_ca();
    pki.issue(&service("gateway"), &IssueOptions::default())
        .unwrap();
    let (address, seen) = serve(&pki, &service("township")).await;
    let before = std::fs::read_dir(pki.dir()).unwrap().count();
    let pine = unit("t-pine");
    let minted = pki.mint(&pine, &IssueOptions::default()).unwrap();
    let tls = MeshTls::minted(pki.files(&pine), minted).unwrap();
    assert_eq!(tls.principal(), pine);
    check(&address, &Security::Mtls(tls), Some(service("township")))
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().pop().unwrap().principal,
        Some(pine.clone())
    );
    // A client holding the CA mints the certificate of each unit it calls
    // for, in memory as well (it expects the gateway at the other end).
    let (gateway, seen) = serve(&pki, &service("gateway")).await;
    let endpoint = Endpoint::from_shared(gateway).unwrap();
    let minting = hotline_identity::MeshChannel::new(
        endpoint,
        hotline_identity::Credentials::Mint(pki.clone()),
    );
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert(hotline_identity::UNIT_HEADER, "t-oak".parse().unwrap());
    HealthClient::new(minting).check(request).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().pop().unwrap().principal,
        Some(unit("t-oak"))
    );
    assert_eq!(
        std::fs::read_dir(pki.dir()).unwrap().count(),
        before,
        "nothing written to the PKI directory"
    );
    // Not a certificate of this CA: refused as any other would be.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::open(other_dir.path());
    other.init().unwrap();
    let foreign = other.mint(&pine, &IssueOptions::default()).unwrap();
    let tls = MeshTls::minted(other.files(&pine), foreign).unwrap();
    assert!(check(&address, &Security::Mtls(tls), None).await.is_err());
}

#[tokio::test]
async fn a_client_without_a_certificate_or_from_another_ca_is_refused() {
    let (_dir, pki) = mesh_ca();
    let (address, seen) = serve(&pki, &service("township")).await;
    // Plaintext to a TLS port, and TLS with a CA but no client certificate.
    assert!(check(&address, &Security::Plaintext, None).await.is_err());
    let ca = tonic::transport::Certificate::from_pem(std::fs::read(pki.ca_cert()).unwrap());
    let no_cert = Endpoint::from_shared(address.replace("http://", "https://"))
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(ca)
                .domain_name("localhost"),
        )
        .unwrap();
    // It completes the handshake, with no principal: the gateway and the
    // services' door then refuse each call with UNAUTHENTICATED.
    let ch = no_cert.connect().await.unwrap();
    HealthClient::new(ch)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().pop().unwrap().principal, None);
    // A holder of another CA's certificate.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::open(other_dir.path());
    other.init().unwrap();
    other
        .issue(&unit("t-harbour"), &IssueOptions::default())
        .unwrap();
    assert!(
        check(&address, &holder(&other, &unit("t-harbour")), None)
            .await
            .is_err()
    );
    assert!(seen.lock().unwrap().is_empty(), "no call got through");
}

#[tokio::test]
async fn a_client_refuses_a_server_that_is_not_the_service_it_meant() {
    let (_dir, pki) = mesh_ca();
    // A unit's certificate serving, posing as the township service.
    let (address, seen) = serve(&pki, &unit("t-market")).await;
    let err = check(
        &address,
        &holder(&pki, &unit("t-harbour")),
        Some(service("township")),
    )
    .await
    .unwrap_err();
    assert!(!err.is_empty());
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn revocation_and_expiry_refuse_the_holder_without_a_restart() {
    let (_dir, pki) = mesh_ca();
    let (address, _) = serve(&pki, &service("township")).await;
    let harbour = holder(&pki, &unit("t-harbour"));
    check(&address, &harbour, None).await.unwrap();
    pki.revoke(&unit("t-harbour")).unwrap();
    // The server looks at its files at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = holder(&pki, &unit("t-harbour"));
    assert!(
        check(&address, &fresh, None).await.is_err(),
        "revoked: refused"
    );
    check(&address, &holder(&pki, &unit("t-market")), None)
        .await
        .expect("others still get in");
    // A connection made before the revocation: the peer is no longer valid.
    let tls = MeshTls::load(pki.files(&service("township"))).unwrap();
    let cert = std::fs::read(pki.files(&unit("t-harbour")).cert).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&cert).unwrap();
    let parsed = pem.parse_x509().unwrap();
    let peer = Peer {
        remote: None,
        principal: Some(unit("t-harbour")),
        serial: parsed.raw_serial().to_vec(),
        not_after: parsed.validity().not_after.timestamp(),
    };
    assert!(!tls.still_valid(&peer), "revoked serial refused per call");
    let expired = Peer {
        not_after: 0,
        serial: vec![1],
        ..peer
    };
    assert!(!tls.still_valid(&expired), "expired refused per call");
}

#[tokio::test]
async fn a_rotated_server_certificate_is_served_without_a_restart() {
    let (_dir, pki) = mesh_ca();
    let (address, _) = serve(&pki, &service("township")).await;
    let serial_of = |pem: Vec<u8>| {
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        pem.parse_x509().unwrap().raw_serial().to_vec()
    };
    let old = serial_of(std::fs::read(pki.files(&service("township")).cert).unwrap());
    // The old certificate revoked, then a new one issued: a client gets in
    // only if the running server now presents the new one.
    pki.revoke(&service("township")).unwrap();
    pki.issue(&service("township"), &IssueOptions::default())
        .unwrap();
    let new = serial_of(std::fs::read(pki.files(&service("township")).cert).unwrap());
    assert_ne!(old, new);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    check(
        &address,
        &holder(&pki, &unit("t-harbour")),
        Some(service("township")),
    )
    .await
    .expect("the server presents its rotated, unrevoked certificate");
}
