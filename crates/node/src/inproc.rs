//! The whole mesh as tasks of this process: the same gateway and service
//! code as `hotline up`, each on its own loopback listener (port 0), every
//! hop real gRPC through the gateway. The simulator's `inproc` transport and
//! the cross-service test suite run on it.
//!
//! On a virtual clock each service keeps a clock of its own, as a process
//! does, so time moves through the mesh in the same order as over
//! processes.
//!
//! With `pin_cpus` each node runs as the processes of `hotline up
//! --pin-cpus` do: on a thread of its own with an async runtime of its own,
//! kept on one CPU (the centre alone on the first), so that a service's
//! hand-offs to its database thread, which inherits the CPU, stay on one
//! CPU. Without it every node is a task of the caller's runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hotline_client::MeshClient;
use hotline_core::{ManualClock, Micros};
use hotline_identity::{Credentials, Principal};
use hotline_runtime::clock::SystemClock;
use tokio::sync::watch;

use crate::mesh::MeshOptions;

pub struct InProcess {
    pub gateway_url: String,
    pub topology: Arc<hotline_core::Topology>,
    credentials: Credentials,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcess {
    /// Starts the gateway and every service of `opts.topology`, on
    /// `opts`' stores, with a virtual clock at `start` or the wall clock.
    /// Returns once every unit routes to an announced service.
    pub async fn start(opts: &MeshOptions, start: Option<Micros>) -> anyhow::Result<InProcess> {
        let topology = Arc::new(crate::load_topology(&opts.topology)?);
        std::fs::create_dir_all(&opts.data_dir)
            .with_context(|| format!("data dir {}", opts.data_dir.display()))?;
        let (stop, rx) = watch::channel(false);
        let until = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut tasks = Vec::new();
        if !opts.insecure_plaintext {
            crate::pki::provision(&opts.pki_dir(), &topology)?;
        }
        let mut config = crate::gateway_config(
            &topology,
            opts.security(&Principal::Service("gateway".into()))?,
        );
        config.max_concurrency = 1024;
        let listener = loopback()?;
        let gateway_url = format!("http://{}", listener.local_addr()?);
        let cpus = opts.placements(&topology);
        let stopped = until(rx.clone());
        tasks.push(spawn_node(cpus[0], move || async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            hotline_gateway::serve(listener, config, stopped).await
        }));
        for (index, spec) in topology.services().iter().enumerate() {
            let clocks: crate::Clocks = match start {
                Some(at) => {
                    let manual = Arc::new(ManualClock::new(at));
                    (manual.clone(), Some(manual))
                }
                None => (Arc::new(SystemClock), None),
            };
            let (topology, spec) = (topology.clone(), spec.clone());
            let (db_url, pool_size) = (opts.db_url(&spec.name)?, opts.pool_size);
            let security = opts.security(&Principal::Service(spec.name.clone()))?;
            let (gateway_url, stopped) = (gateway_url.clone(), until(rx.clone()));
            let listener = loopback()?;
            // The service's database connections open on its own runtime,
            // so their threads share its CPU.
            tasks.push(spawn_node(cpus[index + 1], move || async move {
                let ctx = crate::service_ctx(
                    topology,
                    spec,
                    &db_url,
                    pool_size,
                    &gateway_url,
                    clocks,
                    security,
                )
                .await?;
                let tier = crate::service_tier(&ctx);
                let listener = tokio::net::TcpListener::from_std(listener)?;
                hotline_runtime::server::serve(
                    ctx,
                    tier,
                    listener,
                    hotline_runtime::server::ServeOptions::default(),
                    stopped,
                )
                .await
            }));
        }
        let p = InProcess {
            gateway_url,
            topology,
            credentials: opts.credentials(),
            stop,
            tasks,
        };
        p.wait_ready(Duration::from_secs(60)).await?;
        Ok(p)
    }

    /// A client of this mesh acting for the centre.
    pub fn client(&self) -> anyhow::Result<MeshClient> {
        MeshClient::new(
            &self.gateway_url,
            &self.topology.city().id,
            self.credentials.clone(),
        )
    }

    /// Every unit routes to an announced service.
    async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let client = self.client()?;
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

    /// Stops every task and waits (15 s at most each) for it to drain.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
        }
    }
}

/// A loopback listener on a free port, not yet tied to a runtime.
fn loopback() -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Runs a node: on `cpu`, a thread of its own pinned there with a runtime
/// of its own (whose threads inherit the CPU); without one, a task of the
/// caller's runtime. The handle ends with the node.
fn spawn_node<F, Fut>(cpu: Option<usize>, node: F) -> tokio::task::JoinHandle<anyhow::Result<()>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let Some(cpu) = cpu else {
        return tokio::spawn(node());
    };
    let (done, ended) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name(format!("node-cpu{cpu}"))
        .spawn(move || {
            let run = || -> anyhow::Result<()> {
                crate::cpu::pin(cpu)?;
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?
                    .block_on(node())
            };
            let _ = done.send(run());
        });
    tokio::spawn(async move {
        thread.context("start a node's thread")?;
        ended
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a node's thread panicked")))
    })
}
