//! Where the mesh runs: `grpc` starts the real multi-process mesh (the
//! gateway and one OS process per service, as `hotline up` does);
//! `inproc` runs the same gateway and service code as tasks of this
//! process, on loopback ports. Both are driven the same way: through the
//! gateway, with `AdvanceTo` draining every service's timers and outbox.
//! In process each service keeps a virtual clock of its own, as a process
//! does, so time moves through the mesh in the same order on both
//! transports and the same seed gives the same summary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use hotline_core::{ManualClock, Micros, Topology};
use tokio::sync::watch;

use crate::client::MeshClient;
use crate::mesh::{Mesh, MeshOptions, SqliteSync};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// The real mesh: the gateway and one process per service.
    Grpc,
    /// The same services and gateway as tasks in this process.
    Inproc,
}

pub enum Running {
    Mesh(Box<Mesh>),
    InProc(InProc),
}

pub struct InProc {
    gateway_url: String,
    credentials: hotline_identity::Credentials,
    city: String,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Starts the mesh on `topology_path` with a virtual clock at `start`.
    pub async fn start(
        transport: Transport,
        topology_path: PathBuf,
        data_dir: PathBuf,
        db: Option<String>,
        sqlite_sync: SqliteSync,
        start: Micros,
    ) -> anyhow::Result<Running> {
        let mut opts = MeshOptions::new(std::env::current_exe()?, topology_path, data_dir);
        opts.db = db;
        opts.sqlite_sync = sqlite_sync;
        opts.virtual_clock = Some(start.to_string());
        // Five connections a service: with one, SQLite writers queue at
        // the pool and the simulator runs slower (measured).
        opts.pool_size = 5;
        match transport {
            Transport::Grpc => {
                let logs = opts.data_dir.join("logs");
                opts.log_dir = Some(logs);
                // Each process on one CPU, the centre on its own: 1.4×
                // the contacts a second on the 2-core VM (measured).
                opts.pin_cpus = true;
                Ok(Running::Mesh(Box::new(Mesh::start(opts).await?)))
            }
            Transport::Inproc => Ok(Running::InProc(InProc::start(&opts, start).await?)),
        }
    }

    pub fn client(&self) -> anyhow::Result<MeshClient> {
        match self {
            Running::Mesh(m) => m.client(),
            Running::InProc(p) => MeshClient::new(&p.gateway_url, &p.city, p.credentials.clone()),
        }
    }

    /// CPU seconds each process of the run has used so far: this one (the
    /// driver, and in process the whole mesh), then the gateway's and each
    /// service's over gRPC.
    pub fn cpu_seconds(&self) -> Vec<(String, f64)> {
        let here = match self {
            Running::Mesh(_) => "driver",
            Running::InProc(_) => "driver and mesh (one process)",
        };
        let mut v = vec![(here.to_string(), std::process::id())];
        if let Running::Mesh(m) = self {
            v.extend(m.pids());
        }
        crate::cpu::used_by(v)
    }

    pub async fn stop(self) {
        match self {
            Running::Mesh(m) => m.stop().await,
            Running::InProc(p) => p.stop().await,
        }
    }
}

impl InProc {
    async fn start(opts: &MeshOptions, start: Micros) -> anyhow::Result<InProc> {
        let topology = Arc::new(crate::load_topology(&opts.topology)?);
        std::fs::create_dir_all(&opts.data_dir)
            .with_context(|| format!("data dir {}", opts.data_dir.display()))?;
        let (stop, rx) = watch::channel(false);
        let until = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut tasks = Vec::new();
        if !opts.insecure_plaintext {
            crate::identity::provision(&opts.pki_dir(), &topology)?;
        }
        let gateway = opts.security(&hotline_identity::Principal::Service("gateway".into()));
        let mut config = crate::cmd::gateway_config(&topology, gateway?);
        config.max_concurrency = 1024;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let gateway_url = format!("http://{}", listener.local_addr()?);
        tasks.push(tokio::spawn(hotline_gateway::serve(
            listener,
            config,
            until(rx.clone()),
        )));
        for spec in topology.services() {
            let manual = Arc::new(ManualClock::new(start));
            let ctx = crate::cmd::service_ctx(
                topology.clone(),
                spec.clone(),
                &opts.db_url(&spec.name)?,
                opts.pool_size,
                &gateway_url,
                (manual.clone(), Some(manual.clone())),
                opts.security(&hotline_identity::Principal::Service(spec.name.clone()))?,
            )
            .await?;
            let tier = crate::cmd::service_tier(&ctx);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            tasks.push(tokio::spawn(hotline_runtime::server::serve(
                ctx,
                tier,
                listener,
                hotline_runtime::server::ServeOptions::default(),
                until(rx.clone()),
            )));
        }
        let p = InProc {
            gateway_url,
            credentials: opts.credentials(),
            city: topology.city().id.clone(),
            stop,
            tasks,
        };
        p.wait_ready(Duration::from_secs(60)).await?;
        Ok(p)
    }

    /// Every unit routes to an announced service.
    async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let client = MeshClient::new(&self.gateway_url, &self.city, self.credentials.clone())?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(routes) = client.routes().await
                && routes.iter().all(|r| !r.address.is_empty())
            {
                return Ok(());
            }
            if let Some(t) = self.tasks.iter().find(|t| t.is_finished()) {
                anyhow::bail!("an in-process service stopped during start-up ({t:?})");
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "in-process mesh not ready within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
        }
    }
}

/// The topology the services of a run read, written where the run keeps
/// its data.
pub fn write_topology(dir: &std::path::Path, merged: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let p = dir.join("topology.toml");
    std::fs::write(&p, merged)?;
    // Parse it here first: a bad switch should fail before any process starts.
    crate::load_topology(&p).with_context(|| format!("merged topology {}", p.display()))?;
    Ok(p)
}

pub fn load(p: &std::path::Path) -> anyhow::Result<Topology> {
    crate::load_topology(p)
}
