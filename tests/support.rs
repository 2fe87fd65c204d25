//! Starts a mesh of real processes on fresh PostgreSQL databases.

use std::collections::BTreeMap;
use std::time::Duration;

use hotline::client::{MeshClient, request_id};
use hotline::mesh::{Mesh, MeshOptions};
use hotline_proto::v1::*;
use hotline_store::testing::{drop_url, postgres_url};
use hotline_store::with_database;

pub const WAIT: Duration = Duration::from_secs(30);

pub struct TestMesh {
    pub mesh: Mesh,
    pub client: MeshClient,
    pub opts: MeshOptions,
    _dir: tempfile::TempDir,
}

/// How to start a test mesh.
#[derive(Default)]
pub struct Spec {
    /// Extra environment per service (failpoints).
    pub env: BTreeMap<String, Vec<(String, String)>>,
    /// Start every service on a virtual clock at this instant.
    pub virtual_clock: Option<&'static str>,
    /// A topology instead of the demo city.
    pub topology: Option<String>,
    /// Every process exports spans here.
    pub otlp_endpoint: Option<String>,
    /// Every process serves metrics from this port on.
    pub metrics_port_base: Option<u16>,
    pub json_logs: bool,
}

/// Monday 16 November 2026, 09:00 in Shanghai: where virtual clocks start.
pub const T0: &str = "2026-11-16T09:00";

pub fn t0() -> i64 {
    hotline::cmd::parse_instant(T0).unwrap()
}

/// A mesh on the demo city with every service on its own new PostgreSQL
/// database; `None` (said loudly) when no test server is configured, which
/// fails under CI=true.
pub async fn pg_mesh(env: BTreeMap<String, Vec<(String, String)>>) -> Option<TestMesh> {
    pg_mesh_with(Spec {
        env,
        ..Spec::default()
    })
    .await
}

/// A mesh like [`pg_mesh`] on another topology.
pub async fn pg_mesh_on(topology: &str) -> Option<TestMesh> {
    pg_mesh_with(Spec {
        topology: Some(topology.to_string()),
        ..Spec::default()
    })
    .await
}

/// The demo city with its `[policy]` keys changed, e.g.
/// `&[("arbitration", "\"district_first\"")]`.
pub fn demo_with_policy(keys: &[(&str, &str)]) -> String {
    let mut src = hotline::DEMO_TOPOLOGY.to_string();
    for (key, value) in keys {
        let start = src.find(&format!("\n{key} = ")).expect("a policy key") + 1;
        let end = start + src[start..].find('\n').unwrap();
        src.replace_range(start..end, &format!("{key} = {value}"));
    }
    src
}

/// The demo city on a virtual clock starting at [`T0`].
pub async fn virtual_mesh() -> Option<TestMesh> {
    pg_mesh_with(Spec {
        virtual_clock: Some(T0),
        ..Spec::default()
    })
    .await
}

pub async fn pg_mesh_with(spec: Spec) -> Option<TestMesh> {
    let pg = postgres_url()?;
    let dir = tempfile::tempdir().unwrap();
    let topology = dir.path().join("demo-city.toml");
    std::fs::write(
        &topology,
        spec.topology.as_deref().unwrap_or(hotline::DEMO_TOPOLOGY),
    )
    .unwrap();
    let mut opts = MeshOptions::new(
        env!("CARGO_BIN_EXE_hotline").into(),
        topology,
        dir.path().join("data"),
    );
    let name = format!("hlm{}x{:08x}", std::process::id(), fastrand::u32(..));
    opts.db = Some(with_database(&pg, &name).unwrap());
    opts.pool_size = 2;
    opts.log_dir = Some(dir.path().join("logs"));
    opts.service_env = spec.env;
    opts.virtual_clock = spec.virtual_clock.map(str::to_string);
    opts.otlp_endpoint = spec.otlp_endpoint;
    opts.metrics_port_base = spec.metrics_port_base;
    opts.json_logs = spec.json_logs;
    let mesh = match Mesh::start(opts.clone()).await {
        Ok(mesh) => mesh,
        Err(e) => {
            // The failing process's log says why; the directory goes with the test.
            let logs: Vec<String> = std::fs::read_dir(opts.log_dir.as_ref().unwrap())
                .into_iter()
                .flatten()
                .flatten()
                .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
                .collect();
            panic!("mesh starts: {e:#}\n{}", logs.join("\n"));
        }
    };
    let client = mesh.client().unwrap();
    Some(TestMesh {
        mesh,
        client,
        opts,
        _dir: dir,
    })
}

/// A base for a mesh's metrics ports, unlikely to be taken: parallel
/// tests draw apart, and nothing else here listens up there.
pub fn metrics_port_base() -> u16 {
    // Below Linux's ephemeral range (32768 up), where port-0 listeners and
    // outgoing connections take theirs, and above the ports the compose
    // test moves its processes to.
    22_000 + 16 * fastrand::u16(0..560)
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

impl TestMesh {
    /// Stops every process and returns each one's whole log.
    pub async fn stop_with_logs(self) -> Vec<(String, String)> {
        let dir = self.opts.log_dir.clone().expect("test meshes log to files");
        let keep = tempfile::tempdir().unwrap();
        let names: Vec<String> = std::iter::once("gateway".to_string())
            .chain(self.mesh.topology.services().iter().map(|s| s.name.clone()))
            .collect();
        // Stopping drops the mesh's directory: read the logs after the
        // processes are gone, from a copy taken once they are.
        let copies: Vec<(String, std::path::PathBuf)> = names
            .iter()
            .map(|n| (n.clone(), keep.path().join(format!("{n}.log"))))
            .collect();
        let stopped = self.stop_then(|| {
            for (n, to) in &copies {
                let _ = std::fs::copy(dir.join(format!("{n}.log")), to);
            }
        });
        stopped.await;
        copies
            .into_iter()
            .map(|(n, p)| (n, std::fs::read_to_string(p).unwrap_or_default()))
            .collect()
    }

    /// Every service's dead letters: handoffs a receiver refused for good.
    /// A healthy run has none.
    pub async fn dead_letters(&self) -> Vec<hotline_store::outbox::DeadLetter> {
        let mut all = Vec::new();
        for s in self.mesh.topology.services() {
            let db = hotline_store::Db::connect(&self.opts.db_url(&s.name).unwrap(), 1)
                .await
                .unwrap();
            let mut c = db.acquire().await.unwrap();
            all.extend(hotline_store::outbox::dead_letters(&mut c).await.unwrap());
            drop(c);
            db.close().await;
        }
        all
    }

    /// Stops every process and drops the databases.
    /// A process's own identity in this mesh, from its CA.
    pub fn mesh_security(
        &self,
        holder: &hotline_identity::Principal,
    ) -> hotline_identity::Security {
        self.opts.security(holder).unwrap()
    }

    pub async fn stop(self) {
        self.stop_then(|| {}).await
    }

    /// Stops every process, runs `then` while its files remain, and drops
    /// the databases.
    async fn stop_then(self, then: impl FnOnce()) {
        let names: Vec<String> = self
            .mesh
            .topology
            .services()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        self.mesh.stop().await;
        then();
        for n in names {
            drop_url(&self.opts.db_url(&n).unwrap()).await.unwrap();
        }
    }
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

pub fn actions(o: &Order, action: &str) -> Vec<String> {
    o.history
        .iter()
        .filter(|h| h.action == action)
        .map(|h| h.actor_unit.clone())
        .collect()
}

/// Waits until parts reported back reach the lead's view of its assignment.
pub async fn wait_parts(c: &MeshClient, lead: &str, order: &str) -> Vec<PartReport> {
    for _ in 0..300 {
        let a = c.assignment(lead, order).await.unwrap();
        if !a.parts.is_empty() {
            return a.parts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no part reported to {lead} on {order}");
}
