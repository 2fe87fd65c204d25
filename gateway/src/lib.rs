//! The gateway: one gRPC endpoint for the whole mesh.
//!
//! It serves `hotline.v1.GatewayService`, health and reflection itself, and
//! forwards every other `hotline.v1` call to the service hosting the unit named
//! in `x-hotline-target`, without decoding the body. Every forwarded call is
//! counted as a handoff between tiers. [`stack`] puts it together, one layer
//! after another.

mod deadline;
mod error;
mod forward;
mod hop_metrics;
mod identity;
mod registry;
mod rescue;
mod route;
mod stats;
mod telemetry;
#[cfg(test)]
mod testing;
mod trace_context;

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use hotline_proto::v1::{Tier, gateway_service_server::GatewayServiceServer};
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::limit::ConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;

use crate::{
    deadline::DeadlineLayer,
    forward::Forward,
    hop_metrics::HopMetricsLayer,
    identity::{Admission, IdentityLayer},
    registry::Registry,
    registry::service::GatewayApi,
    rescue::RescueLayer,
    route::RouteLayer,
    stats::Stats,
    telemetry::GatewayMetrics,
    trace_context::TraceContextLayer,
};

/// Metadata key naming the unit a call is addressed to.
pub const TARGET_HEADER: &str = "x-hotline-target";
/// Metadata key naming the unit that makes the call.
pub const UNIT_HEADER: &str = "x-hotline-unit";

/// How long in-flight calls may take to finish once shutdown starts.
const DRAIN_BOUND: Duration = Duration::from_secs(5);

/// One unit of the topology and the service that hosts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRoute {
    pub unit_id: String,
    pub tier: Tier,
    pub service: String,
}

/// What the gateway routes and how much load it takes.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// From the topology: which service hosts which unit.
    pub routes: Vec<UnitRoute>,
    /// Service name -> `http://host:port`, known before any announcement;
    /// an announcement overrides it.
    pub static_addresses: HashMap<String, String>,
    /// Calls in flight across all connections before new ones are shed.
    pub max_concurrency: usize,
    /// Bound on a forwarded call when the caller sends no `grpc-timeout`.
    pub default_timeout: Duration,
    /// Where the gateway's metrics go (served on `/metrics` by the caller).
    pub metrics: hotline_telemetry::metrics::Registry,
    /// Close client connections after this long, so that clients balancing
    /// over DNS (a headless Service) reconnect and spread their load.
    pub max_connection_age: Option<Duration>,
    /// mTLS with the mesh CA, or plaintext behind `--insecure-plaintext`.
    pub security: hotline_identity::Security,
    /// The topology the authorization table is checked against; `None`
    /// forwards whatever the caller may act for (the gateway crate's own
    /// routing tests, which have no topology). `hotline gateway` always
    /// sets it.
    pub topology: Option<Arc<hotline_core::Topology>>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            static_addresses: HashMap::new(),
            max_concurrency: 1024,
            default_timeout: Duration::from_secs(30),
            metrics: hotline_telemetry::metrics::Registry::default(),
            max_connection_age: None,
            security: hotline_identity::Security::Plaintext,
            topology: None,
        }
    }
}

/// Serve until `shutdown` resolves, on an already-bound listener (port 0 works).
///
/// On shutdown, health turns NOT_SERVING, the listener closes, in-flight calls
/// get [`DRAIN_BOUND`] to finish, and whatever is left is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: GatewayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let registry = Arc::new(Registry::new(
        &config.routes,
        &config.static_addresses,
        config.security.clone(),
    )?);
    let admission = Admission::new(config.security.clone(), config.topology.clone());
    let stats = Arc::new(Stats::default());

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, ServingStatus::Serving).await;

    let reflection_v1 = reflection()
        .build_v1()
        .context("build reflection v1 service")?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .context("build reflection v1alpha service")?;

    let own_services = Routes::new(GatewayServiceServer::new(GatewayApi::new(
        registry.clone(),
        stats.clone(),
        admission.clone(),
    )))
    .add_service(health_service)
    .add_service(reflection_v1)
    .add_service(reflection_v1alpha);
    let metrics = GatewayMetrics::new(&config.metrics);
    let (server_layers, routes) = stack(
        &config,
        own_services,
        Parts {
            registry,
            stats,
            admission,
            metrics,
        },
    );

    // Each connection is handshaken off the accept loop, its client
    // certificate proven; small frames skip Nagle's algorithm.
    let incoming = config.security.incoming(listener)?;
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel();
    let signal = async move {
        shutdown.await;
        set_health(&health, ServingStatus::NotServing).await;
        tracing::info!("gateway draining");
        let _ = draining_tx.send(());
    };

    // Header lists up to 64 KiB are read, so that metadata over the 16 KiB
    // limit is answered RESOURCE_EXHAUSTED (rescue) rather than reset.
    let mut builder = Server::builder().http2_max_header_list_size(rescue::HEADER_LIST_READ);
    if let Some(age) = config
        .security
        .max_connection_age(config.max_connection_age)
    {
        builder = builder.max_connection_age(age);
    }
    let server = builder
        .layer(server_layers)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal);
    tokio::pin!(server);

    tokio::select! {
        result = &mut server => return result.context("gateway server failed"),
        Ok(()) = draining_rx => {}
    }
    match tokio::time::timeout(DRAIN_BOUND, server).await {
        Ok(result) => result.context("gateway server failed")?,
        Err(_) => tracing::warn!("drain bound reached, dropping in-flight calls"),
    }
    tracing::info!("gateway stopped");
    Ok(())
}

/// What the forwarding layers share with the gateway's own API.
struct Parts {
    registry: Arc<Registry>,
    stats: Arc<Stats>,
    admission: Admission,
    metrics: GatewayMetrics,
}

/// The layers every call to the server goes through.
type ServerLayers =
    Stack<ConcurrencyLimitLayer, Stack<LoadShedLayer, Stack<RescueLayer, Identity>>>;

/// The gateway, read top to bottom (each layer in the module named after
/// it). Every call goes through the server's layers; a call the gateway
/// does not serve itself (its own API, health, reflection) falls through
/// to the proxy layers and is forwarded. A layer passes what it learnt on
/// in the request's extensions: the arrival, the route, the principal.
///
/// Trace context sits above identity so that refused calls are logged and
/// measured too, and route above identity because the table is read
/// against the target unit; a call that fails several checks gets the
/// status of the first, as it always has.
fn stack(config: &GatewayConfig, own_services: Routes, parts: Parts) -> (ServerLayers, Routes) {
    let server = ServiceBuilder::new()
        // rescue: errors from below become statuses, never INTERNAL.
        .layer(RescueLayer)
        // shed: at the limit, RESOURCE_EXHAUSTED rather than a queue.
        .load_shed()
        // limit: calls in flight across all connections.
        .concurrency_limit(config.max_concurrency)
        .into_inner();
    let proxy = ServiceBuilder::new()
        // The caller's traceparent and baggage, read once (the layer every
        // service's server shares).
        .layer(hotline_telemetry::trace_context::TraceContextLayer)
        // trace_context: the call's span, traceparent and baggage on, its
        // log and duration; refusals from below become statuses here.
        .layer(TraceContextLayer::new(
            parts.registry.clone(),
            parts.metrics.clone(),
        ))
        // route: the target unit and the service hosting it.
        .layer(RouteLayer::new(parts.registry.clone()))
        // The peer's certificate proven once, or UNAUTHENTICATED (the
        // layer every service's server shares).
        .layer(hotline_identity::IdentityLayer::new(
            config.security.clone(),
        ))
        // identity: the proven principal may make this call.
        .layer(IdentityLayer::new(parts.admission))
        // deadline: the caller's grpc-timeout, or the default.
        .layer(DeadlineLayer::new(config.default_timeout))
        // hop_metrics: answered calls count; the hop's overhead.
        .layer(HopMetricsLayer::new(
            parts.registry,
            parts.stats,
            parts.metrics,
        ))
        // forward: the request, body unread, to the chosen upstream.
        .service(Forward);
    let router = own_services.into_axum_router().fallback_service(proxy);
    (server, Routes::from(router))
}

/// Reflection over the whole contract plus health, so a stock grpcurl pointed
/// at the gateway can call any hotline.v1 service.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(hotline_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// The gateway answers health for the mesh as a whole and for every service
/// reachable through it.
async fn set_health(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for name in hotline_proto::SERVICE_NAMES {
        health.set_service_status(*name, status).await;
    }
}
