//! The whole mesh as tasks of this process: the same gateway and service
//! code as `hotline up`, each on its own loopback listener (port 0), every
//! hop real gRPC through the gateway. The simulator's `inproc` transport and
//! the cross-service test suite run on it.
//!
//! On a virtual clock each service keeps a clock of its own, as a process
//! does, so time moves through the mesh in the same order as over
//! processes.

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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let gateway_url = format!("http://{}", listener.local_addr()?);
        tasks.push(tokio::spawn(hotline_gateway::serve(
            listener,
            config,
            until(rx.clone()),
        )));
        for spec in topology.services() {
            let clocks: crate::Clocks = match start {
                Some(at) => {
                    let manual = Arc::new(ManualClock::new(at));
                    (manual.clone(), Some(manual))
                }
                None => (Arc::new(SystemClock), None),
            };
            let ctx = crate::service_ctx(
                topology.clone(),
                spec.clone(),
                &opts.db_url(&spec.name)?,
                opts.pool_size,
                &gateway_url,
                clocks,
                opts.security(&Principal::Service(spec.name.clone()))?,
            )
            .await?;
            let tier = crate::service_tier(&ctx);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            tasks.push(tokio::spawn(hotline_runtime::server::serve(
                ctx,
                tier,
                listener,
                hotline_runtime::server::ServeOptions::default(),
                until(rx.clone()),
            )));
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
