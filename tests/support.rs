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
