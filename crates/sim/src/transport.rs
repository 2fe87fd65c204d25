//! Where the mesh runs: `grpc` starts the real multi-process mesh (the
//! gateway and one OS process per service, as `hotline up` does);
//! `inproc` runs the same gateway and service code as tasks of this
//! process, on loopback ports. Both are driven the same way: through the
//! gateway, with `AdvanceTo` draining every service's timers and outbox.
//! In process each service keeps a virtual clock of its own, as a process
//! does, so time moves through the mesh in the same order on both
//! transports and the same seed gives the same summary.

use std::path::PathBuf;

use anyhow::Context;
use clap::ValueEnum;
use hotline_core::{Micros, Topology};

use hotline_client::MeshClient;
use hotline_node::inproc::InProcess;
use hotline_node::mesh::{Mesh, MeshOptions, SqliteSync};

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
    InProc(InProcess),
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
            Transport::Inproc => {
                // Each node on a thread and runtime of its own, pinned as
                // the processes are.
                opts.pin_cpus = true;
                Ok(Running::InProc(InProcess::start(&opts, Some(start)).await?))
            }
        }
    }

    pub fn client(&self) -> anyhow::Result<MeshClient> {
        match self {
            Running::Mesh(m) => m.client(),
            Running::InProc(p) => p.client(),
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
        hotline_node::cpu::used_by(v)
    }

    pub async fn stop(self) {
        match self {
            Running::Mesh(m) => m.stop().await,
            Running::InProc(p) => p.stop().await,
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
    hotline_node::load_topology(&p).with_context(|| format!("merged topology {}", p.display()))?;
    Ok(p)
}

pub fn load(p: &std::path::Path) -> anyhow::Result<Topology> {
    hotline_node::load_topology(p)
}
