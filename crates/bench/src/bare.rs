//! The same-run baseline of the mesh benchmarks: a bare tonic echo server
//! behind a bare tonic relay, no mesh code in either, each a process of
//! its own (`hotline bench bare`, started by this module), driven by this
//! process under the same load as the mesh. Both speak the gRPC health
//! protocol (`grpc.health.v1.Health/Check`): the relay decodes each call,
//! makes it again to the echo over one HTTP/2 connection, and returns the
//! answer. Its CPU per call is the floor under the gateway's; the chain's
//! (client + relay + echo) is the floor under a call through the mesh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Echo,
    Relay,
}

/// One process of the baseline (started by the benchmarks, not by hand).
#[derive(Args, Debug, Clone)]
pub struct BareArgs {
    #[arg(long, value_enum)]
    pub role: Role,
    /// The echo's address, for the relay.
    #[arg(long)]
    pub to: Option<String>,
    /// Where to write the address this process listens on (port 0).
    #[arg(long)]
    pub addr_file: PathBuf,
    /// Keep this process on one CPU, as `serve --cpu` does.
    #[arg(long)]
    pub cpu: Option<usize>,
}

struct Echo;

#[tonic::async_trait]
impl Health for Echo {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse { status: 1 }))
    }

    type WatchStream = futures::stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("the bare echo answers Check only"))
    }
}

struct Relay(HealthClient<Channel>);

#[tonic::async_trait]
impl Health for Relay {
    async fn check(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.0.clone().check(req.into_inner()).await
    }

    type WatchStream = futures::stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("the bare relay forwards Check only"))
    }
}

/// `hotline bench bare`: serves as the echo or the relay until its
/// parent (the benchmark) is gone or a signal arrives.
pub async fn serve(a: BareArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let stop = hotline_runtime::server::shutdown_signal();
    let router = match a.role {
        Role::Echo => Server::builder().add_service(HealthServer::new(Echo)),
        Role::Relay => {
            let to =
                a.to.ok_or_else(|| anyhow::anyhow!("the relay needs --to"))?;
            let ch = Channel::from_shared(format!("http://{to}"))?
                .connect()
                .await?;
            Server::builder().add_service(HealthServer::new(Relay(HealthClient::new(ch))))
        }
    };
    let tmp = a.addr_file.with_extension("tmp");
    std::fs::write(&tmp, addr.to_string())?;
    std::fs::rename(&tmp, &a.addr_file)?;
    router.serve_with_incoming_shutdown(incoming, stop).await?;
    Ok(())
}

/// The echo and the relay, running.
pub struct Bare {
    echo: Child,
    relay: Child,
    /// The relay's address: the client calls it.
    pub addr: String,
    _dir: tempfile::TempDir,
}

async fn start(
    role: &str,
    to: Option<&str>,
    cpu: Option<usize>,
    dir: &Path,
) -> anyhow::Result<(Child, String)> {
    let file = dir.join(format!("{role}.addr"));
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["bench", "bare", "--role", role, "--addr-file"])
        .arg(&file)
        .env(
            hotline_runtime::server::PARENT_ENV,
            std::process::id().to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    if let Some(to) = to {
        cmd.args(["--to", to]);
    }
    if let Some(cpu) = cpu {
        cmd.args(["--cpu", &cpu.to_string()]);
    }
    let mut child = cmd.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(addr) = std::fs::read_to_string(&file) {
            return Ok((child, addr));
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the bare {role} exited before listening: {status}");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the bare {role} did not listen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Bare {
    /// With `pin_cpus`, placed as `hotline up --pin-cpus` places the mesh:
    /// the relay where the gateway runs, the echo on the centre's CPU.
    pub async fn start(pin_cpus: bool) -> anyhow::Result<Bare> {
        let dir = tempfile::Builder::new().prefix("hotline-bare-").tempdir()?;
        let (relay_cpu, echo_cpu) = if pin_cpus {
            let placed = hotline_node::cpu::placement(
                &hotline_node::cpu::allowed(),
                [false, true].into_iter(),
            );
            (placed[0], placed[1])
        } else {
            (None, None)
        };
        let (echo, echo_addr) = start("echo", None, echo_cpu, dir.path()).await?;
        let (relay, addr) = start("relay", Some(&echo_addr), relay_cpu, dir.path()).await?;
        Ok(Bare {
            echo,
            relay,
            addr,
            _dir: dir,
        })
    }

    fn cpu(&self) -> BTreeMap<String, f64> {
        let procs = [
            ("client", Some(std::process::id())),
            ("relay", self.relay.id()),
            ("echo", self.echo.id()),
        ];
        hotline_node::cpu::used_by(
            procs
                .into_iter()
                .filter_map(|(n, pid)| Some((n.to_string(), pid?))),
        )
        .into_iter()
        .collect()
    }

    /// `calls` checks (at least [`MIN_CALLS`]) through the relay,
    /// `concurrency` at a time, after a warm-up: CPU µs per call by
    /// process and in all, and calls/s.
    pub async fn measure(&self, calls: usize, concurrency: usize) -> anyhow::Result<Value> {
        // CPU time is read in clock ticks (10 ms): at a tiny size a bare
        // client's 200 calls (about 5 ms) could read as no time at all.
        // At least MIN_CALLS timed calls make a tick 5 µs a call.
        let calls = calls.max(MIN_CALLS);
        let ch = Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await?;
        let c = HealthClient::new(ch);
        let run = |n: usize| {
            let c = c.clone();
            async move {
                let results: Vec<Result<_, Status>> = futures::stream::iter(0..n)
                    .map(|_| {
                        let mut c = c.clone();
                        async move {
                            c.check(HealthCheckRequest {
                                service: "HL00000001".into(),
                            })
                            .await
                        }
                    })
                    .buffer_unordered(concurrency.max(1))
                    .collect()
                    .await;
                for r in results {
                    r?;
                }
                anyhow::Ok(())
            }
        };
        run((calls / 10).max(concurrency)).await?;
        let before = self.cpu();
        let started = Instant::now();
        run(calls).await?;
        let secs = started.elapsed().as_secs_f64();
        let after = self.cpu();
        let n = calls as f64;
        let by: BTreeMap<String, f64> = after
            .iter()
            .map(|(p, s)| (p.clone(), ((s - before[p]) * 1e6 / n).round()))
            .collect();
        let chain: f64 = by.values().sum();
        Ok(json!({
            "calls": calls,
            "concurrency": concurrency,
            "seconds": (secs * 100.0).round() / 100.0,
            "relay_calls_per_second": (n / secs).round(),
            "chain_cpu_us": chain,
            "relay_cpu_us": by.get("relay").copied().unwrap_or_default(),
            "cpu_us_by_process": by,
        }))
    }

    pub async fn stop(mut self) {
        for child in [&mut self.relay, &mut self.echo] {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// The fewest timed calls the baseline makes, whatever the workloads'.
const MIN_CALLS: usize = 2_000;

/// The baseline measured on its own processes: start, measure, stop.
pub async fn baseline(calls: usize, concurrency: usize, pin_cpus: bool) -> anyhow::Result<Value> {
    let bare = Bare::start(pin_cpus).await?;
    let result = bare.measure(calls, concurrency).await;
    bare.stop().await;
    result
}
