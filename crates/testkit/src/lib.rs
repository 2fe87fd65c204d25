//! Test support for the mesh. A dev-dependency only: nothing here reaches
//! a release binary.
//!
//! - [`TestMesh`]: the whole mesh on fresh stores — by default as tasks of
//!   the test process ([`hotline_node::inproc`], every hop still real gRPC
//!   through the gateway on a port-0 listener), or as separate processes
//!   where processes are the point (a kill, a failpoint, per-process logs,
//!   metrics or spans).
//! - [`Store`]: SQLite (always available) or the PostgreSQL server named by
//!   `HOTLINE_TEST_DATABASE_URL`.
//! - [`mesh_test!`]: a cross-service behaviour, run once on SQLite and once
//!   more on PostgreSQL when a test server is set.
//! - [`wait_until`]: the one polling loop.

// A test helper's panic is the test's failure; scratch names guard nothing.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use hotline_client::MeshClient;
use hotline_core::Topology;
use hotline_node::inproc::InProcess;
use hotline_node::mesh::{Mesh, MeshOptions};
use hotline_store::testing::{PG_ENV, drop_url, postgres_url};
use hotline_store::with_database;

pub use hotline_node::DEMO_TOPOLOGY;

/// How long a test waits for the mesh to converge.
pub const WAIT: Duration = Duration::from_secs(30);

/// Monday 16 November 2026, 09:00 in Shanghai: where virtual clocks start.
pub const T0: &str = "2026-11-16T09:00";

pub fn t0() -> i64 {
    hotline_node::parse_instant(T0).unwrap()
}

/// Where a test mesh keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// A SQLite file per service in the mesh's temporary directory.
    Sqlite,
    /// A new database per service on this PostgreSQL server.
    Postgres(String),
}

impl Store {
    /// The test PostgreSQL server; `None` (said loudly, and a failure under
    /// `CI=true`) when none is set.
    pub fn postgres() -> Option<Store> {
        postgres_url().map(Store::Postgres)
    }

    /// PostgreSQL when a test server is set, SQLite otherwise: for the
    /// tests that run once (separate processes, the command line).
    pub fn preferred() -> Store {
        match std::env::var(PG_ENV) {
            Ok(url) if !url.is_empty() => Store::Postgres(url),
            _ => Store::Sqlite,
        }
    }
}

/// How to start a test mesh.
#[derive(Default)]
pub struct Spec {
    /// Run each node as a process of this executable (the `hotline`
    /// binary) instead of as tasks of the test.
    pub processes: Option<PathBuf>,
    /// Extra environment per service process (failpoints).
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
    /// Run the web front (`hotline web`) too, on a free port: see
    /// [`TestMesh::web_url`].
    pub web: bool,
}

impl Spec {
    /// What only separate processes can do.
    fn needs_processes(&self) -> Option<&'static str> {
        if !self.env.is_empty() {
            Some("per-service environment (failpoints)")
        } else if self.otlp_endpoint.is_some() {
            Some("per-process span export")
        } else if self.metrics_port_base.is_some() {
            Some("per-process metrics listeners")
        } else if self.json_logs {
            Some("per-process logs")
        } else if self.web {
            Some("the web front")
        } else {
            None
        }
    }
}

enum Nodes {
    Processes(Box<Mesh>),
    InProcess(InProcess),
}

pub struct TestMesh {
    pub gateway_url: String,
    pub topology: Topology,
    /// A client acting for the centre.
    pub client: MeshClient,
    pub opts: MeshOptions,
    pub store: Store,
    nodes: Nodes,
    _dir: tempfile::TempDir,
}

/// A mesh on the demo city, in process, on `store`.
pub async fn mesh(store: &Store) -> TestMesh {
    TestMesh::start(store, Spec::default()).await
}

/// The demo city on a virtual clock starting at [`T0`].
pub async fn virtual_mesh(store: &Store) -> TestMesh {
    TestMesh::start(
        store,
        Spec {
            virtual_clock: Some(T0),
            ..Spec::default()
        },
    )
    .await
}

/// A mesh like [`mesh`] on another topology.
pub async fn mesh_on(store: &Store, topology: &str) -> TestMesh {
    TestMesh::start(
        store,
        Spec {
            topology: Some(topology.to_string()),
            ..Spec::default()
        },
    )
    .await
}

impl TestMesh {
    /// Starts the mesh `spec` describes on fresh stores of `store`.
    pub async fn start(store: &Store, spec: Spec) -> TestMesh {
        if spec.processes.is_none()
            && let Some(why) = spec.needs_processes()
        {
            panic!("{why} needs the mesh as processes: set Spec::processes");
        }
        let dir = tempfile::tempdir().unwrap();
        let topology_path = dir.path().join("topology.toml");
        std::fs::write(
            &topology_path,
            spec.topology.as_deref().unwrap_or(DEMO_TOPOLOGY),
        )
        .unwrap();
        let mut opts = MeshOptions::new(
            spec.processes.clone().unwrap_or_default(),
            topology_path,
            dir.path().join("data"),
        );
        if let Store::Postgres(pg) = store {
            let name = format!("hlm{}x{:08x}", std::process::id(), fastrand::u32(..));
            opts.db = Some(with_database(pg, &name).unwrap());
        }
        opts.pool_size = 2;
        opts.log_dir = Some(dir.path().join("logs"));
        opts.service_env = spec.env;
        opts.virtual_clock = spec.virtual_clock.map(str::to_string);
        opts.otlp_endpoint = spec.otlp_endpoint;
        opts.metrics_port_base = spec.metrics_port_base;
        opts.json_logs = spec.json_logs;
        if spec.web {
            opts.http_listen = Some("127.0.0.1:0".into());
        }
        let nodes = if spec.processes.is_some() {
            match Mesh::start(opts.clone()).await {
                Ok(mesh) => Nodes::Processes(Box::new(mesh)),
                Err(e) => {
                    // The failing process's log says why; the directory
                    // goes with the test.
                    let logs: Vec<String> = std::fs::read_dir(opts.log_dir.as_ref().unwrap())
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
                        .collect();
                    panic!("mesh starts: {e:#}\n{}", logs.join("\n"));
                }
            }
        } else {
            let start = spec
                .virtual_clock
                .map(|s| hotline_node::parse_instant(s).unwrap());
            Nodes::InProcess(
                InProcess::start(&opts, start)
                    .await
                    .unwrap_or_else(|e| panic!("in-process mesh starts: {e:#}")),
            )
        };
        let (gateway_url, client) = match &nodes {
            Nodes::Processes(m) => (m.gateway_url.clone(), m.client().unwrap()),
            Nodes::InProcess(p) => (p.gateway_url.clone(), p.client().unwrap()),
        };
        TestMesh {
            gateway_url,
            topology: hotline_node::load_topology(&opts.topology).unwrap(),
            client,
            opts,
            store: store.clone(),
            nodes,
            _dir: dir,
        }
    }

    /// The processes of a mesh started with [`Spec::processes`], to kill,
    /// restart or read.
    pub fn processes(&mut self) -> &mut Mesh {
        match &mut self.nodes {
            Nodes::Processes(m) => m,
            Nodes::InProcess(_) => panic!("this test mesh runs in process: set Spec::processes"),
        }
    }

    /// Where the web front serves (`https://127.0.0.1:…` over mTLS), for a
    /// mesh started with [`Spec::web`].
    pub fn web_url(&self) -> Option<String> {
        match &self.nodes {
            Nodes::Processes(m) => m.web_url.clone(),
            Nodes::InProcess(_) => None,
        }
    }

    /// Every service's dead letters: handoffs a receiver refused for good.
    /// A healthy run has none.
    pub async fn dead_letters(&self) -> Vec<hotline_runtime::tables::outbox::DeadLetter> {
        let mut all = Vec::new();
        for s in self.topology.services() {
            let db = hotline_store::Db::connect(&self.opts.db_url(&s.name).unwrap(), 1, &[])
                .await
                .unwrap();
            let mut c = db.acquire().await.unwrap();
            all.extend(
                hotline_runtime::tables::outbox::dead_letters(&mut c)
                    .await
                    .unwrap(),
            );
            drop(c);
            db.close().await;
        }
        all
    }

    /// A holder's own identity in this mesh, from its CA.
    pub fn mesh_security(
        &self,
        holder: &hotline_identity::Principal,
    ) -> hotline_identity::Security {
        self.opts.security(holder).unwrap()
    }

    pub async fn stop(self) {
        self.stop_then(|| {}).await
    }

    /// Stops every process and returns each one's whole log.
    pub async fn stop_with_logs(self) -> Vec<(String, String)> {
        let dir = self.opts.log_dir.clone().expect("test meshes log to files");
        let keep = tempfile::tempdir().unwrap();
        let web = self.web_url().map(|_| hotline_node::mesh::WEB.to_string());
        let names: Vec<String> = std::iter::once("gateway".to_string())
            .chain(self.topology.services().iter().map(|s| s.name.clone()))
            .chain(web)
            .collect();
        // Stopping drops the mesh's directory: read the logs after the
        // processes are gone, from a copy taken once they are.
        let copies: Vec<(String, PathBuf)> = names
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

    /// Stops every node, runs `then` while its files remain, and drops
    /// the databases.
    async fn stop_then(self, then: impl FnOnce()) {
        let names: Vec<String> = self
            .topology
            .services()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        match self.nodes {
            Nodes::Processes(m) => m.stop().await,
            Nodes::InProcess(p) => p.stop().await,
        }
        then();
        for n in names {
            drop_url(&self.opts.db_url(&n).unwrap()).await.unwrap();
        }
    }
}

/// Polls `probe` every 100 ms until it yields a value, and returns it;
/// panics naming `what` after `timeout`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {timeout:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Cross-service behaviours, each run in process on SQLite and again on
/// PostgreSQL when `HOTLINE_TEST_DATABASE_URL` names a server (which
/// `CI=true` requires). Each `async fn name(store) { … }` becomes a module
/// `name` with the tests `sqlite` and `postgres`; the body gets the
/// [`Store`] to start its mesh on.
#[macro_export]
macro_rules! mesh_test {
    ($($(#[$meta:meta])* async fn $name:ident($store:ident) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: &$crate::Store) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(&$crate::Store::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(store) = $crate::Store::postgres() {
                    run(&store).await
                }
            }
        }
    )*};
}
