//! The gateway: one gRPC endpoint for the whole mesh.
//!
//! It serves `hotline.v1.GatewayService`, health and reflection itself, and
//! forwards every other `hotline.v1` call to the service hosting the unit named
//! in `x-hotline-target`, without decoding the body. Every forwarded call is
//! counted as a handoff between tiers.

mod deadline;
mod error;
mod identity;
mod proxy;
mod registry;
mod rescue;
mod stats;
mod telemetry;

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use hotline_proto::v1::{Tier, gateway_service_server::GatewayServiceServer};
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::ServiceBuilder;

use crate::{
    proxy::Proxy, registry::Registry, registry::service::GatewayApi, rescue::RescueLayer,
    stats::Stats,
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
    let admission = identity::Admission::new(config.security.clone(), config.topology.clone());
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
    // Paths the gateway does not serve itself fall through to the proxy.
    let router = own_services.into_axum_router().fallback_service(Proxy::new(
        registry,
        stats,
        config.default_timeout,
        telemetry::GatewayMetrics::new(&config.metrics),
        admission,
    ));

    // Read top to bottom: rescue errors into statuses, shed load when the
    // limit is reached (rather than queueing), bound concurrency, route.
    let stack = ServiceBuilder::new()
        .layer(RescueLayer)
        .load_shed()
        .concurrency_limit(config.max_concurrency)
        .into_inner();

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

    let mut builder = Server::builder();
    if let Some(age) = config
        .security
        .max_connection_age(config.max_connection_age)
    {
        builder = builder.max_connection_age(age);
    }
    let server = builder
        .layer(stack)
        .add_routes(Routes::from(router))
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
