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
    let mesh = Mesh::start(opts.clone()).await.expect("mesh starts");
    let client = mesh.client().unwrap();
    Some(TestMesh {
        mesh,
        client,
        opts,
        _dir: dir,
    })
}

impl TestMesh {
    /// Stops every process and drops the databases.
    pub async fn stop(self) {
        let names: Vec<String> = self
            .mesh
            .topology
            .services()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        self.mesh.stop().await;
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
        location: None,
    }
}

pub fn actions(o: &Order, action: &str) -> Vec<String> {
    o.history
        .iter()
        .filter(|h| h.action == action)
        .map(|h| h.actor_unit.clone())
        .collect()
}
