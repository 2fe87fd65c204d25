//! Runs the mesh as separate OS processes — the gateway and one process
//! per service of the topology — all children of this binary, supervised.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use hotline_core::Topology;
use hotline_store::with_database_suffix;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use hotline_client::MeshClient;

#[derive(Debug, Clone)]
pub struct MeshOptions {
    /// The `hotline` executable to run as children.
    pub exe: PathBuf,
    pub topology: PathBuf,
    /// SQLite files go here, one per service (when `db` is unset).
    pub data_dir: PathBuf,
    /// A PostgreSQL URL; each service gets its own database named
    /// `{database}_{service}` on that server.
    pub db: Option<String>,
    pub gateway_listen: String,
    /// Children's logs go to `{log_dir}/{name}.log`; inherited when unset.
    pub log_dir: Option<PathBuf>,
    pub pool_size: u32,
    pub json_logs: bool,
    /// Extra environment for one service's process (failpoints in tests).
    pub service_env: BTreeMap<String, Vec<(String, String)>>,
    /// Run every service on a virtual clock starting here
    /// (`YYYY-MM-DDTHH:MM` Shanghai, or microseconds).
    pub virtual_clock: Option<String>,
    /// Every process exports its spans here (OTLP/gRPC); none when unset,
    /// whatever the environment says.
    pub otlp_endpoint: Option<String>,
    pub trace_sample_ratio: Option<f64>,
    /// Metrics on 127.0.0.1 from this port: the gateway's, then each
    /// service's in topology order. 0: each process takes a free port and
    /// writes it to the data dir, where [`Mesh::metrics_addrs`] reads it.
    pub metrics_port_base: Option<u16>,
    /// Keep each process on one CPU, the centre on a CPU of its own
    /// (see [`crate::cpu`]).
    pub pin_cpus: bool,
    /// SQLite only: whether a WAL checkpoint ends in an fsync.
    pub sqlite_sync: SqliteSync,
    /// No TLS: every header believed (`--insecure-plaintext`). Otherwise
    /// the mesh CA and every process's certificate live in `data_dir/pki`.
    pub insecure_plaintext: bool,
    /// Run the web front (`hotline web`: Open311, the dashboard) listening
    /// here, e.g. `127.0.0.1:7380` (port 0: a free one, read back into
    /// [`Mesh::web_url`]); no web process when unset.
    pub http_listen: Option<String>,
}

/// How hard the SQLite stores push to disk (`?synchronous=` of the URL).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// WAL with synchronous=NORMAL, the services' default: a commit survives
    /// a process crash; the last commits may be lost on power loss.
    #[default]
    Normal,
    /// No fsync at checkpoints: a commit survives a process crash, but an
    /// operating-system crash or power loss may corrupt the file. For
    /// scratch stores such as a simulation's.
    Off,
}

impl SqliteSync {
    /// What a commit survives, as the reports state it.
    pub fn durability(self) -> &'static str {
        match self {
            SqliteSync::Normal => {
                "SQLite WAL, synchronous=NORMAL: a commit survives a process crash; the last commits may be lost on power loss"
            }
            SqliteSync::Off => {
                "SQLite WAL, synchronous=OFF: a commit survives a process crash; an OS crash or power loss may corrupt the store"
            }
        }
    }
}

impl MeshOptions {
    pub fn new(exe: PathBuf, topology: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            exe,
            topology,
            data_dir,
            db: None,
            gateway_listen: "127.0.0.1:0".into(),
            log_dir: None,
            pool_size: 5,
            json_logs: false,
            service_env: BTreeMap::new(),
            virtual_clock: None,
            otlp_endpoint: None,
            trace_sample_ratio: None,
            metrics_port_base: None,
            pin_cpus: false,
            sqlite_sync: SqliteSync::Normal,
            insecure_plaintext: false,
            http_listen: None,
        }
    }

    /// Where the mesh CA and the processes' certificates are.
    pub fn pki_dir(&self) -> PathBuf {
        self.data_dir.join("pki")
    }

    /// Makes the CA and every process's certificate (once); the flags
    /// each child needs to find its own.
    fn identity_args(&self, topology: &Topology) -> anyhow::Result<Vec<String>> {
        if self.insecure_plaintext {
            return Ok(vec!["--insecure-plaintext".into()]);
        }
        crate::pki::provision(&self.pki_dir(), topology)?;
        Ok(vec![
            "--pki-dir".into(),
            self.pki_dir().display().to_string(),
        ])
    }

    /// What a client of this mesh presents: with the CA at hand, each
    /// unit's own certificate.
    pub fn credentials(&self) -> hotline_identity::Credentials {
        if self.insecure_plaintext {
            hotline_identity::Credentials::Plaintext
        } else {
            hotline_identity::Credentials::Mint(hotline_identity::Pki::open(self.pki_dir()))
        }
    }

    /// A process's own identity in this mesh.
    pub fn security(
        &self,
        holder: &hotline_identity::Principal,
    ) -> anyhow::Result<hotline_identity::Security> {
        if self.insecure_plaintext {
            return Ok(hotline_identity::Security::Plaintext);
        }
        let pki = hotline_identity::Pki::open(self.pki_dir());
        Ok(hotline_identity::Security::Mtls(crate::pki::holder(
            &pki, holder,
        )?))
    }

    /// Flags every child gets: logs, traces.
    fn telemetry_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.json_logs {
            args.push("--json-logs".into());
        }
        if let Some(e) = &self.otlp_endpoint {
            args.extend(["--otlp-endpoint".into(), e.clone()]);
        }
        if let Some(r) = self.trace_sample_ratio {
            args.extend(["--trace-sample-ratio".into(), r.to_string()]);
        }
        args
    }

    fn metrics_args(&self, index: u16, name: &str) -> Vec<String> {
        match self.metrics_port_base {
            Some(0) => vec![
                "--metrics-addr".into(),
                "127.0.0.1:0".into(),
                "--metrics-addr-file".into(),
                self.metrics_addr_file(name).display().to_string(),
            ],
            Some(base) => vec![
                "--metrics-addr".into(),
                format!("127.0.0.1:{}", base + index),
            ],
            None => Vec::new(),
        }
    }

    /// Where a process started with metrics on port 0 writes its address.
    fn metrics_addr_file(&self, name: &str) -> PathBuf {
        self.data_dir.join(format!("{name}.metrics-addr"))
    }

    /// The CPU of the gateway (`None`) or of the service at this index of
    /// the topology, when the mesh pins its processes.
    fn cpu(&self, topology: &Topology, service: Option<usize>) -> Option<usize> {
        self.placements(topology)[service.map_or(0, |i| i + 1)]
    }

    /// The CPU of the gateway, then of each service of the topology in
    /// order, when the mesh pins its processes (`None` each otherwise).
    pub(crate) fn placements(&self, topology: &Topology) -> Vec<Option<usize>> {
        let city = &topology.city().id;
        let centre = std::iter::once(false)
            .chain(topology.services().iter().map(|s| s.units.contains(city)));
        if self.pin_cpus {
            crate::cpu::placement(&crate::cpu::allowed(), centre)
        } else {
            centre.map(|_| None).collect()
        }
    }

    /// The database URL of one service.
    pub fn db_url(&self, service: &str) -> anyhow::Result<String> {
        match &self.db {
            None => Ok(format!(
                "sqlite://{}/{service}.db{}",
                self.data_dir.display(),
                match self.sqlite_sync {
                    SqliteSync::Normal => "",
                    SqliteSync::Off => "?synchronous=off",
                }
            )),
            Some(url) => Ok(with_database_suffix(url, service)?),
        }
    }
}

fn cpu_args(cpu: Option<usize>) -> Vec<String> {
    cpu.map(|c| vec!["--cpu".into(), c.to_string()])
        .unwrap_or_default()
}

/// The longest a process that keeps dying waits before its next start.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);

/// When a crashed process may start again.
struct Restart {
    started: tokio::time::Instant,
    delay: Duration,
    not_before: tokio::time::Instant,
}

impl Restart {
    fn new(now: tokio::time::Instant) -> Self {
        Self {
            started: now,
            delay: Duration::ZERO,
            not_before: now,
        }
    }

    /// Started again at `now`: should it die within a minute, it waits
    /// twice as long as last time before the next start.
    fn started(&mut self, now: tokio::time::Instant) {
        let ran = now.saturating_duration_since(self.started);
        self.delay = if ran >= Duration::from_secs(60) || self.delay.is_zero() {
            Duration::from_millis(500)
        } else {
            (self.delay * 2).min(MAX_RESTART_DELAY)
        };
        self.started = now;
        self.not_before = now + self.delay;
    }
}

struct Proc {
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Child,
    /// Stopped on purpose (a test's kill); not expected to serve.
    down: bool,
}

/// The web front's process name (its log, `kill`, `restart`).
pub const WEB: &str = "web";

pub struct Mesh {
    pub gateway_url: String,
    pub topology: Topology,
    /// Where the web front serves (`https://…` over mTLS, else `http://…`),
    /// when the mesh runs one ([`MeshOptions::http_listen`]).
    pub web_url: Option<String>,
    opts: MeshOptions,
    gateway: Proc,
    services: BTreeMap<String, Proc>,
    web: Option<Proc>,
    /// The flags that tell each child where its certificate is.
    identity: Vec<String>,
}

impl Mesh {
    /// Starts the gateway, then every service, and waits until each has
    /// announced itself.
    pub async fn start(opts: MeshOptions) -> anyhow::Result<Mesh> {
        let topology = crate::load_topology(&opts.topology)?;
        std::fs::create_dir_all(&opts.data_dir)
            .with_context(|| format!("data dir {}", opts.data_dir.display()))?;
        if let Some(d) = &opts.log_dir {
            std::fs::create_dir_all(d)?;
        }
        let topo = opts.topology.display().to_string();
        let mut args = vec![
            "gateway".to_string(),
            "--topology".into(),
            topo,
            "--listen".into(),
            opts.gateway_listen.clone(),
        ];
        args.extend(opts.telemetry_args());
        args.extend(opts.metrics_args(0, "gateway"));
        args.extend(cpu_args(opts.cpu(&topology, None)));
        let identity = opts.identity_args(&topology)?;
        args.extend(identity.iter().cloned());
        let mut child = spawn(&opts, "gateway", &args, &[], true)?;
        let stdout = child.stdout.take().context("gateway stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("gateway did not report its address within 30 s")??
            .context("gateway exited before reporting its address")?;
        let gateway_url = line
            .strip_prefix("gateway listening on ")
            .map(str::to_string)
            .with_context(|| format!("unexpected gateway output: {line}"))?;
        let gateway = Proc {
            args,
            env: Vec::new(),
            child,
            down: false,
        };
        let mut mesh = Mesh {
            gateway_url,
            topology,
            web_url: None,
            opts,
            gateway,
            services: BTreeMap::new(),
            web: None,
            identity,
        };
        let names: Vec<String> = mesh
            .topology
            .services()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        for name in names {
            mesh.start_service(&name)?;
        }
        if let Some(listen) = mesh.opts.http_listen.clone() {
            mesh.start_web(&listen).await?;
        }
        mesh.wait_ready(Duration::from_secs(60)).await?;
        Ok(mesh)
    }

    /// The web front's flags: like any departmental system it reaches the
    /// centre through the gateway, with its own certificate.
    fn web_args(&self, listen: &str) -> Vec<String> {
        let mut args = vec![
            WEB.to_string(),
            "--topology".into(),
            self.opts.topology.display().to_string(),
            "--gateway".into(),
            self.gateway_url.clone(),
            "--http-listen".into(),
            listen.into(),
            "--data-dir".into(),
            self.opts.data_dir.display().to_string(),
        ];
        args.extend(self.opts.telemetry_args());
        // Its metrics port comes after the services'.
        args.extend(
            self.opts
                .metrics_args(1 + self.topology.services().len() as u16, WEB),
        );
        args.extend(self.identity.iter().cloned());
        args
    }

    /// Starts the web front and reads where it listens from its first
    /// line of output.
    async fn start_web(&mut self, listen: &str) -> anyhow::Result<()> {
        let args = self.web_args(listen);
        let env = self.opts.service_env.get(WEB).cloned().unwrap_or_default();
        let (child, url) = spawn_web(&self.opts, &args, &env).await?;
        self.web_url = Some(url);
        self.web = Some(Proc {
            args,
            env,
            child,
            down: false,
        });
        Ok(())
    }

    /// Starts the web front again where it listened.
    async fn restart_web(&mut self) -> anyhow::Result<()> {
        let url = self
            .web_url
            .clone()
            .context("the mesh runs no web process")?;
        let p = self.web.as_mut().context("the mesh runs no web process")?;
        let _ = p.child.kill().await;
        let mut args = p.args.clone();
        if let Some(i) = args.iter().position(|a| a == "--http-listen") {
            args[i + 1] = url
                .split_once("://")
                .map_or(url.as_str(), |(_, a)| a)
                .to_string();
        }
        let (child, again) = spawn_web(&self.opts, &args, &p.env).await?;
        anyhow::ensure!(
            again == url,
            "the restarted web front listens elsewhere: {again}"
        );
        p.child = child;
        p.down = false;
        Ok(())
    }

    fn service_args(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let mut args = vec![
            "serve".to_string(),
            "--service".into(),
            name.into(),
            "--topology".into(),
            self.opts.topology.display().to_string(),
            "--gateway".into(),
            self.gateway_url.clone(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--db".into(),
            self.opts.db_url(name)?,
            "--pool-size".into(),
            self.opts.pool_size.to_string(),
        ];
        args.extend(self.opts.telemetry_args());
        args.extend(self.identity.iter().cloned());
        let index = self
            .topology
            .services()
            .iter()
            .position(|s| s.name == name)
            .unwrap_or(0);
        args.extend(self.opts.metrics_args(1 + index as u16, name));
        args.extend(cpu_args(self.opts.cpu(&self.topology, Some(index))));
        if let Some(start) = &self.opts.virtual_clock {
            args.extend([
                "--clock".into(),
                "virtual".into(),
                "--clock-start".into(),
                start.clone(),
            ]);
        }
        Ok(args)
    }

    fn start_service(&mut self, name: &str) -> anyhow::Result<()> {
        let args = self.service_args(name)?;
        let env = self.opts.service_env.get(name).cloned().unwrap_or_default();
        let child = spawn(&self.opts, name, &args, &env, false)?;
        self.services.insert(
            name.to_string(),
            Proc {
                args,
                env,
                child,
                down: false,
            },
        );
        Ok(())
    }

    pub fn client(&self) -> anyhow::Result<MeshClient> {
        MeshClient::new(
            &self.gateway_url,
            &self.topology.city().id,
            self.opts.credentials(),
        )
    }

    /// OS process ids: the gateway's, then each service's, then the web
    /// front's.
    pub fn pids(&self) -> Vec<(String, u32)> {
        let mut v = vec![("gateway".to_string(), self.gateway.child.id().unwrap_or(0))];
        v.extend(
            self.services
                .iter()
                .map(|(n, p)| (n.clone(), p.child.id().unwrap_or(0))),
        );
        if let Some(p) = &self.web {
            v.push((WEB.to_string(), p.child.id().unwrap_or(0)));
        }
        v
    }

    /// Where each process serves `/metrics`, when the mesh was started
    /// with a metrics port base: the gateway first, the web front last.
    pub fn metrics_addrs(&self) -> Vec<(String, std::net::SocketAddr)> {
        let Some(base) = self.opts.metrics_port_base else {
            return Vec::new();
        };
        let names = std::iter::once("gateway".to_string())
            .chain(self.topology.services().iter().map(|s| s.name.clone()))
            .chain(self.web.as_ref().map(|_| WEB.to_string()));
        names
            .enumerate()
            .filter_map(|(i, name)| {
                let addr = if base == 0 {
                    // Written before the process listens for calls, so it is
                    // there once the mesh is ready.
                    std::fs::read_to_string(self.opts.metrics_addr_file(&name))
                        .ok()?
                        .parse()
                        .ok()?
                } else {
                    std::net::SocketAddr::from(([127, 0, 0, 1], base + i as u16))
                };
                Some((name, addr))
            })
            .collect()
    }

    /// Waits until the gateway routes every unit to an announced service
    /// whose process is the one running now.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let client = self.client()?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(p) = self.web.as_mut().filter(|p| !p.down)
                && let Some(status) = p.child.try_wait()?
            {
                bail!("{WEB} exited during start-up ({status}); see its log");
            }
            for (name, p) in self
                .services
                .iter_mut()
                .chain(std::iter::once((&"gateway".to_string(), &mut self.gateway)))
            {
                if p.down {
                    continue;
                }
                if let Some(status) = p.child.try_wait()? {
                    bail!("{name} exited during start-up ({status}); see its log");
                }
            }
            let stats = client.stats().await.ok();
            let routes = client.routes().await.ok();
            let ready = match (routes, stats) {
                (Some(routes), Some(_)) => {
                    routes.iter().all(|r| {
                        !r.address.is_empty()
                            || self.services.get(&r.service).is_some_and(|p| p.down)
                    }) && self.announced_current(&client).await
                }
                _ => false,
            };
            if ready {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("mesh not ready within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Every running service has answered a health check through its
    /// announced address (a restarted one re-announces a new port).
    async fn announced_current(&self, client: &MeshClient) -> bool {
        let Ok(routes) = client.routes().await else {
            return false;
        };
        for spec in self.topology.services() {
            if self.services.get(&spec.name).is_some_and(|p| p.down) {
                continue;
            }
            let Some(route) = routes.iter().find(|r| r.service == spec.name) else {
                return false;
            };
            let Ok(endpoint) = tonic::transport::Endpoint::from_shared(route.address.clone())
            else {
                return false;
            };
            // Health only, straight to the service: any holder from the
            // mesh CA may ask; the server must be the service announced.
            let Ok(security) = self.opts.credentials().security() else {
                return false;
            };
            let expect = hotline_identity::Principal::Service(spec.name.clone());
            let Ok(ch) = security.channel(endpoint, Some(expect)) else {
                return false;
            };
            let mut health = tonic_health_client(ch);
            let req = tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            };
            if health.check(req).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Kills a process at once (SIGKILL), as a crash would: a service, or
    /// the gateway.
    pub async fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let p = self.proc(name)?;
        p.child.kill().await?;
        p.down = true;
        Ok(())
    }

    /// Asks a process to stop (SIGTERM) and waits for it: how it exited.
    /// One still running 10 s later (twice the drain bound) is killed and
    /// reported as an error.
    pub async fn sigterm(&mut self, name: &str) -> anyhow::Result<std::process::ExitStatus> {
        let p = self.proc(name)?;
        terminate(&mut p.child);
        p.down = true;
        match tokio::time::timeout(Duration::from_secs(10), p.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = p.child.kill().await;
                bail!("{name} did not stop within 10 s of SIGTERM")
            }
        }
    }

    fn proc(&mut self, name: &str) -> anyhow::Result<&mut Proc> {
        if name == "gateway" {
            return Ok(&mut self.gateway);
        }
        if name == WEB {
            return self.web.as_mut().context("the mesh runs no web process");
        }
        self.services
            .get_mut(name)
            .with_context(|| format!("no service {name}"))
    }

    /// Starts a killed or exited process again with the same arguments and
    /// `env` (failpoints disarmed unless given again), and waits for it:
    /// the gateway on the address it had.
    pub async fn restart(&mut self, name: &str, env: Vec<(String, String)>) -> anyhow::Result<()> {
        if name == "gateway" {
            let _ = self.gateway.child.kill().await;
            self.gateway.env = env;
            self.restart_gateway().await?;
            self.gateway.down = false;
            return self.wait_ready(Duration::from_secs(60)).await;
        }
        if name == WEB {
            if let Some(p) = self.web.as_mut() {
                p.env = env;
            }
            self.restart_web().await?;
            return self.wait_ready(Duration::from_secs(60)).await;
        }
        let p = self
            .services
            .get_mut(name)
            .with_context(|| format!("no service {name}"))?;
        let _ = p.child.kill().await;
        p.child = spawn(&self.opts, name, &p.args, &env, false)?;
        p.env = env;
        p.down = false;
        self.wait_ready(Duration::from_secs(60)).await
    }

    /// Waits for a service's process to exit by itself (a failpoint).
    pub async fn wait_exit(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        let p = self
            .services
            .get_mut(name)
            .with_context(|| format!("no service {name}"))?;
        let status = tokio::time::timeout(timeout, p.child.wait())
            .await
            .context("service did not exit")??;
        p.down = true;
        Ok(status)
    }

    /// Supervises until `shutdown`: any process that dies, the gateway
    /// included, is started again with the same arguments (the gateway on
    /// the address it had, so services still reach it). One that keeps
    /// dying soon after a start waits longer each time, from half a second
    /// up to [`MAX_RESTART_DELAY`]; one that ran a minute starts over.
    pub async fn supervise(&mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        let mut backoff: BTreeMap<String, Restart> = BTreeMap::new();
        loop {
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            let now = tokio::time::Instant::now();
            let mut dead = Vec::new();
            for (name, p) in std::iter::once(("gateway", &mut self.gateway))
                .chain(self.services.iter_mut().map(|(n, p)| (n.as_str(), p)))
                .chain(self.web.iter_mut().map(|p| (WEB, p)))
            {
                if !p.down && p.child.try_wait()?.is_some() {
                    dead.push(name.to_string());
                }
            }
            for name in dead {
                let r = backoff
                    .entry(name.clone())
                    .or_insert_with(|| Restart::new(now));
                if now < r.not_before {
                    continue;
                }
                let pid = if name == "gateway" {
                    self.restart_gateway().await?;
                    self.gateway.child.id()
                } else if name == WEB {
                    self.restart_web().await?;
                    self.web.as_ref().and_then(|p| p.child.id())
                } else {
                    let p = self.services.get_mut(&name).context("known service")?;
                    p.child = spawn(&self.opts, &name, &p.args, &p.env, false)?;
                    p.child.id()
                };
                println!(
                    "  {name:<12} exited; started again, pid {}",
                    pid.unwrap_or(0)
                );
                r.started(tokio::time::Instant::now());
            }
        }
    }

    /// Starts the gateway again where it listened, and waits for it to say so.
    async fn restart_gateway(&mut self) -> anyhow::Result<()> {
        let bound = self
            .gateway_url
            .split_once("://")
            .map_or(self.gateway_url.as_str(), |(_, a)| a)
            .to_string();
        let mut args = self.gateway.args.clone();
        if let Some(i) = args.iter().position(|a| a == "--listen") {
            args[i + 1] = bound;
        }
        let mut child = spawn(&self.opts, "gateway", &args, &self.gateway.env, true)?;
        let stdout = child.stdout.take().context("gateway stdout")?;
        let line = tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).lines().next_line(),
        )
        .await
        .context("the restarted gateway did not report its address within 30 s")??
        .context("the restarted gateway exited before reporting its address")?;
        anyhow::ensure!(
            line.ends_with(&self.gateway_url),
            "the restarted gateway listens elsewhere: {line}"
        );
        self.gateway.child = child;
        Ok(())
    }

    /// Stops every child: SIGTERM, a bounded wait, then SIGKILL.
    pub async fn stop(mut self) {
        if let Some(p) = self.web.as_mut() {
            terminate(&mut p.child);
            reap(&mut p.child).await;
        }
        for p in self.services.values_mut() {
            terminate(&mut p.child);
        }
        for p in self.services.values_mut() {
            reap(&mut p.child).await;
        }
        terminate(&mut self.gateway.child);
        reap(&mut self.gateway.child).await;
    }
}

fn tonic_health_client(
    ch: tonic::transport::Channel,
) -> tonic_health::pb::health_client::HealthClient<tonic::transport::Channel> {
    tonic_health::pb::health_client::HealthClient::new(ch)
}

/// mimalloc's delay, in milliseconds, before it returns freed memory to
/// the system (its default is 1,000); read from the environment when the
/// process starts, so the supervisor sets it for its children.
pub const PURGE_DELAY_ENV: &str = "MIMALLOC_PURGE_DELAY";

fn spawn(
    opts: &MeshOptions,
    name: &str,
    args: &[String],
    env: &[(String, String)],
    piped_stdout: bool,
) -> anyhow::Result<Child> {
    let mut cmd = Command::new(&opts.exe);
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    cmd.env_remove(hotline_runtime::failpoint::ENV);
    // The child stops when this supervisor dies, however it dies.
    cmd.env(
        hotline_runtime::server::PARENT_ENV,
        std::process::id().to_string(),
    );
    // Export only where the mesh says (the flag), not wherever the
    // environment happens to point.
    cmd.env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    // The allocator gives freed memory back at once rather than a second
    // later, unless the operator says otherwise: each process then holds
    // less than under glibc's malloc, at no measured cost in throughput
    // (docs/performance.md, "Whole-program LTO and mimalloc").
    if std::env::var_os(PURGE_DELAY_ENV).is_none() {
        cmd.env(PURGE_DELAY_ENV, "0");
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.stdout(if piped_stdout {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    match &opts.log_dir {
        Some(dir) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path(dir, name))?;
            cmd.stderr(f);
        }
        None => {
            cmd.stderr(Stdio::inherit());
        }
    }
    cmd.spawn()
        .with_context(|| format!("starting {name} ({})", opts.exe.display()))
}

/// Starts the web front and reads its first line, `web listening on URL`.
async fn spawn_web(
    opts: &MeshOptions,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<(Child, String)> {
    let mut child = spawn(opts, WEB, args, env, true)?;
    let stdout = child.stdout.take().context("web stdout")?;
    let line = tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).lines().next_line(),
    )
    .await
    .context("the web front did not report its address within 30 s")??
    .context("the web front exited before reporting its address; see its log")?;
    let url = line
        .strip_prefix("web listening on ")
        .map(str::to_string)
        .with_context(|| format!("unexpected web output: {line}"))?;
    Ok((child, url))
}

pub fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}

fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

async fn reap(child: &mut Child) {
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}
