//! What the gateway measures of each forwarded call: its duration by tier
//! pair, its own overhead per hop (the call's time here less the time the
//! upstream says it served), and the RPC histogram every process exports.

use std::sync::Arc;

use hotline_proto::v1::Tier;
use hotline_telemetry::metrics::{self as m, Histograms, Registry, RpcLabels, RpcMetrics};
use hotline_telemetry::rpc::TierOf;
use prometheus_client::encoding::EncodeLabelSet;

use crate::registry::Registry as Routes;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HopLabels {
    pub from_tier: String,
    pub to_tier: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PairLabels {
    pub from_tier: String,
    pub to_tier: String,
}

#[derive(Clone)]
pub(crate) struct GatewayMetrics {
    pub rpc: RpcMetrics,
    pub forwarded: Histograms<HopLabels>,
    pub overhead: Histograms<PairLabels>,
}

impl std::fmt::Debug for GatewayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GatewayMetrics")
    }
}

impl GatewayMetrics {
    pub(crate) fn new(registry: &Registry) -> Self {
        let metrics = Self {
            rpc: RpcMetrics::new(registry),
            forwarded: m::latency(),
            overhead: m::latency(),
        };
        registry.register(
            "hotline_gateway_forward_duration_seconds",
            "Forwarded calls from arrival to the end of the response, by tier pair and status code",
            metrics.forwarded.clone(),
        );
        registry.register(
            "hotline_gateway_overhead_seconds",
            "Per-hop overhead: a forwarded call's time to its response head less the time the upstream served it, by tier pair",
            metrics.overhead.clone(),
        );
        metrics
    }

    pub(crate) fn observe_rpc(&self, labels: RpcLabels, seconds: f64) {
        self.rpc.server.get_or_create(&labels).observe(seconds);
    }
}

/// The lower-case tier name, as in span attributes and labels.
pub(crate) fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::City => "city",
        Tier::District => "district",
        Tier::Township => "township",
        Tier::Community => "community",
        Tier::Department => "department",
        Tier::Central => "central",
        Tier::Unspecified => "unknown",
    }
}

pub(crate) fn tier_of(routes: Arc<Routes>) -> TierOf {
    Arc::new(move |unit: &str| routes.unit(unit).map(|home| tier_name(home.tier)))
}
