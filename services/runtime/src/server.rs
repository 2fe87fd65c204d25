//! Service bootstrap: bind first (port 0 works), serve the tier's routes
//! with health and reflection, announce to the gateway, deliver the outbox;
//! on shutdown report NOT_SERVING, drain with a bound, then stop.

use std::time::Duration;

use hotline_proto::v1::AnnounceRequest;
use hotline_proto::v1::gateway_service_client::GatewayServiceClient;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::Routes;
use tonic::transport::Server;

use std::sync::Arc;

use hotline_proto::v1::control_service_server::ControlServiceServer;

use hotline_identity::IdentityLayer;
use hotline_telemetry::rpc::ServerLayer;
use hotline_telemetry::trace_context::TraceContextLayer;

use crate::Ctx;
use crate::admit::AdmitLayer;
use crate::control::Control;
use crate::gate::GateLayer;
use crate::outbox::{Deliverer, RetryPolicy};
use crate::sweeper::{Sweeper, TimerEffects};

pub struct ServeOptions {
    /// Host other processes reach this one at; defaults to the bound IP
    /// (127.0.0.1 when bound to an unspecified address).
    pub advertise_host: Option<String>,
    pub drain: Duration,
    pub retry: RetryPolicy,
    pub announce_every: Duration,
    /// Longest wait between timer sweeps (sooner when a timer is due).
    pub sweep_every: Duration,
    /// Close client connections after this long, so that clients balancing
    /// over DNS (a headless Service) reconnect and spread their load.
    pub max_connection_age: Option<Duration>,
    /// Calls in flight at once before new ones are shed with
    /// RESOURCE_EXHAUSTED ([`crate::admit`]).
    pub max_in_flight: usize,
    /// Intake sheds while the oldest handoff not yet sent is older than
    /// this; `None` never sheds.
    pub intake_max_lag: Option<Duration>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            advertise_host: None,
            drain: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            announce_every: Duration::from_secs(5),
            sweep_every: Duration::from_secs(1),
            max_connection_age: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            intake_max_lag: Some(DEFAULT_INTAKE_MAX_LAG),
        }
    }
}

/// A service's in-flight bound unless told otherwise: well above what the
/// simulator and the benchmarks keep in flight (32–64), well under the
/// gateway's 1,024, so an overloaded service sheds before the gateway does.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// How far behind its outbox may fall before the centre's intake sheds.
pub const DEFAULT_INTAKE_MAX_LAG: Duration = Duration::from_secs(10);

/// The hotline.v1 services a tier serves, for health.
pub const TIER_SERVICES: &[&str] = &[
    "hotline.v1.DispatchService",
    "hotline.v1.EscalationService",
    "hotline.v1.ReportingService",
    "hotline.v1.InboxService",
];

/// What a tier brings to the bootstrap: its routes, the hotline.v1
/// services they carry, and its timers' effects, if it keeps timers.
pub struct Tier {
    pub routes: Routes,
    pub served: &'static [&'static str],
    pub effects: Option<Arc<dyn TimerEffects>>,
}

/// Serves the tier on `listener` until `shutdown` resolves.
pub async fn serve(
    ctx: Ctx,
    tier: Tier,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let Tier {
        routes, effects, ..
    } = tier;
    let served: Vec<&str> = tier
        .served
        .iter()
        .copied()
        .chain(std::iter::once("hotline.v1.ControlService"))
        .collect();
    let served = served.as_slice();
    let local = listener.local_addr()?;
    let host = options.advertise_host.clone().unwrap_or_else(|| {
        if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            local.ip().to_string()
        }
    });
    let address = format!("http://{host}:{}", local.port());

    crate::trace::install();
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    for name in served {
        health
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    // Reflection advertises what this process serves, not the whole contract.
    let reflection = || {
        served
            .iter()
            .chain(std::iter::once(&"grpc.health.v1.Health"))
            .fold(
                tonic_reflection::server::Builder::configure()
                    .register_encoded_file_descriptor_set(hotline_proto::FILE_DESCRIPTOR_SET)
                    .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
                |b, name| b.with_service_name(*name),
            )
    };
    ctx.outbox.shed_intake_after(options.intake_max_lag);
    let deliverer = Arc::new(Deliverer {
        db: ctx.db.clone(),
        gateway: ctx.gateway.clone(),
        waker: ctx.outbox.clone(),
        metrics: ctx.metrics.clone(),
        policy: options.retry,
    });
    let sweeper = effects.map(|e| {
        Sweeper::new(ctx.db.clone(), ctx.clock.clone(), e).with_metrics(ctx.metrics.clone())
    });
    let control = Control {
        clock: ctx.clock.clone(),
        manual: ctx.manual.clone(),
        sweeper: sweeper.clone(),
        deliverer: deliverer.clone(),
    };
    let routes = routes
        .add_service(ControlServiceServer::new(control))
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);

    let (stop_tx, stop_rx) = watch::channel(false);
    let delivery = tokio::spawn(deliverer.run(stop_rx.clone()));
    let sweeping = sweeper
        .map(|s| tokio::spawn(s.run(options.sweep_every, stop_rx.clone(), ctx.outbox.clone())));
    let announcer = tokio::spawn(announce_loop(
        ctx.clone(),
        address.clone(),
        options.announce_every,
        stop_rx.clone(),
    ));

    tracing::info!(service = %ctx.service.name, %address, units = ctx.service.units.len(), "serving");
    let mut server_stop = stop_rx.clone();
    let incoming = ctx.security.incoming(listener)?;
    let mut builder = Server::builder();
    if let Some(age) = ctx.security.max_connection_age(options.max_connection_age) {
        builder = builder.max_connection_age(age);
    }
    let server = tokio::spawn(
        builder
            // The caller's trace context read once (the gateway's layer too).
            .layer(TraceContextLayer)
            .layer(ServerLayer::new(
                ctx.metrics.rpc.clone(),
                Some(crate::tier_of(ctx.topology.clone())),
            ))
            // Back-pressure: past the bound, RESOURCE_EXHAUSTED at once
            // (counted and traced by the layers above).
            .layer(AdmitLayer::new(options.max_in_flight))
            // The peer's certificate proven once (the gateway's layer too).
            .layer(IdentityLayer::new(ctx.security.clone()))
            // Only the gateway gets in, and only with a call the table
            // allows; the authorised caller goes on to the handler.
            .layer(GateLayer::new(ctx.security.clone(), ctx.topology.clone()))
            .add_routes(routes)
            // Each connection is handshaken off the accept loop; small
            // unary frames skip Nagle's algorithm (a delayed ACK costs
            // ~40 ms a reply on loopback).
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = server_stop.wait_for(|s| *s).await;
            }),
    );
    shutdown.await;
    tracing::info!(service = %ctx.service.name, "shutting down: not serving, draining");
    health
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    for name in served {
        health
            .set_service_status(*name, tonic_health::ServingStatus::NotServing)
            .await;
    }
    let _ = stop_tx.send(true);
    let abort = server.abort_handle();
    match tokio::time::timeout(options.drain, server).await {
        Ok(joined) => joined??,
        Err(_) => {
            tracing::warn!("drain bound reached; stopping in-flight calls");
            abort.abort();
        }
    }
    let _ = delivery.await;
    if let Some(s) = sweeping {
        let _ = s.await;
    }
    announcer.abort();
    ctx.db.close().await;
    Ok(())
}

/// Announces this service to the gateway at once and then periodically, so
/// a restarted gateway relearns where it is.
async fn announce_loop(
    ctx: Ctx,
    address: String,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut client = GatewayServiceClient::new(ctx.gateway.channel());
    let mut announced = false;
    loop {
        let req = AnnounceRequest {
            request_id: format!("announce-{}-{}", ctx.service.name, std::process::id()),
            service: ctx.service.name.clone(),
            address: address.clone(),
            pid: std::process::id(),
        };
        // Over mTLS the certificate says who announces; over plaintext the
        // gateway believes this header.
        let mut req = tonic::Request::new(req);
        if let Ok(v) = format!("service/{}", ctx.service.name).parse() {
            req.metadata_mut()
                .insert(hotline_identity::PRINCIPAL_HEADER, v);
        }
        match client.announce(req).await {
            Ok(_) if !announced => {
                announced = true;
                tracing::info!(service = %ctx.service.name, gateway = %ctx.gateway.url(), "announced to gateway");
            }
            Ok(_) => {}
            Err(s) => {
                announced = false;
                tracing::debug!(code = ?s.code(), "announce failed; will retry");
            }
        }
        let wait = if announced {
            every
        } else {
            Duration::from_millis(200)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Names the supervisor's pid in a child's environment: the child stops
/// when that process is gone.
pub const PARENT_ENV: &str = "HOTLINE_PARENT_PID";

/// Resolves on Ctrl-C or SIGTERM, or when the supervisor that started
/// this process (`HOTLINE_PARENT_PID`) has died: a killed `hotline up` or
/// `hotline bench` leaves no service running.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let signal = signal_received();
    let parent = std::env::var(PARENT_ENV)
        .ok()
        .and_then(|p| p.parse::<u32>().ok());
    async move {
        match parent {
            None => signal.await,
            Some(pid) => {
                tokio::select! {
                    () = signal => {}
                    () = parent_gone(pid) => {
                        tracing::warn!(parent = pid, "supervisor gone; shutting down");
                    }
                }
            }
        }
    }
}

/// Resolves when this process's parent is no longer `pid` (it died and
/// the process was re-parented).
async fn parent_gone(pid: u32) {
    #[cfg(unix)]
    loop {
        if std::os::unix::process::parent_id() != pid {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        std::future::pending::<()>().await
    }
}

/// Resolves on Ctrl-C or SIGTERM.
fn signal_received() -> impl Future<Output = ()> + Send + 'static {
    // The handlers are installed now, not at the first poll: a signal that
    // arrives before the caller awaits must not take the default action.
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        async move {
            let (mut term, mut int) = (
                term.expect("install SIGTERM handler"),
                int.expect("install SIGINT handler"),
            );
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
