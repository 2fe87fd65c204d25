//! The routing table: which service hosts each unit, and where each service
//! listens.

pub(crate) mod service;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::{Context as _, bail};
use hotline_proto::v1::{Route, Tier};
use http::Uri;
use tonic::transport::{Channel, Endpoint};

use crate::{UnitRoute, error::GatewayError};

/// Bounds connecting to an upstream when the caller's deadline is long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a unit is served, from the topology. Cheap to clone: a chosen
/// route travels with its call.
#[derive(Debug, Clone)]
pub(crate) struct UnitHome {
    pub tier: Tier,
    pub service: Arc<str>,
}

/// An announced (or statically configured) service; shared, so that a
/// call takes it without copying.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub address: String,
    pub pid: u32,
    pub channel: Channel,
}

#[derive(Debug)]
pub(crate) struct Registry {
    /// Topology order, for `ListRoutes`.
    topology: Vec<UnitRoute>,
    units: HashMap<String, UnitHome>,
    /// Every service in the topology and its units, sorted.
    services: BTreeMap<String, Vec<String>>,
    upstreams: RwLock<HashMap<String, Arc<Upstream>>>,
    /// How upstream channels connect: over mTLS each checks that the
    /// server is the service it was announced as.
    security: hotline_identity::Security,
}

impl Registry {
    pub(crate) fn new(
        routes: &[UnitRoute],
        static_addresses: &HashMap<String, String>,
        security: hotline_identity::Security,
    ) -> anyhow::Result<Self> {
        let mut units = HashMap::new();
        let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for route in routes {
            let home = UnitHome {
                tier: route.tier,
                service: route.service.as_str().into(),
            };
            if units.insert(route.unit_id.clone(), home).is_some() {
                bail!("unit {} is routed twice", route.unit_id);
            }
            services
                .entry(route.service.clone())
                .or_default()
                .push(route.unit_id.clone());
        }
        services.values_mut().for_each(|units| units.sort());
        let registry = Self {
            topology: routes.to_vec(),
            units,
            services,
            upstreams: RwLock::default(),
            security,
        };
        for (service, address) in static_addresses {
            registry
                .announce(service, address, 0)
                .with_context(|| format!("static address of service {service}"))?;
        }
        Ok(registry)
    }

    pub(crate) fn unit(&self, unit_id: &str) -> Option<&UnitHome> {
        self.units.get(unit_id)
    }

    /// The tier of a calling unit; unspecified when absent or not routed.
    pub(crate) fn tier_of(&self, unit_id: Option<&str>) -> Tier {
        unit_id
            .and_then(|id| self.units.get(id))
            .map_or(Tier::Unspecified, |home| home.tier)
    }

    pub(crate) fn upstream(&self, service: &str) -> Option<Arc<Upstream>> {
        self.upstreams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(service)
            .cloned()
    }

    /// Records where `service` listens, replacing any earlier announcement,
    /// and returns the units now routed to it.
    pub(crate) fn announce(
        &self,
        service: &str,
        address: &str,
        pid: u32,
    ) -> Result<Vec<String>, GatewayError> {
        let units = self
            .services
            .get(service)
            .ok_or_else(|| GatewayError::UnknownService(service.to_owned()))?;
        let endpoint = endpoint(address).map_err(GatewayError::InvalidAddress)?;

        let mut upstreams = self
            .upstreams
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Keep the connection of a service re-announcing the same address,
        // for instance after a blip.
        let channel = match upstreams.get(service) {
            Some(upstream) if upstream.address == address => upstream.channel.clone(),
            _ => self
                .security
                .channel(
                    endpoint,
                    Some(hotline_core::authz::Principal::Service(service.to_owned())),
                )
                .map_err(|_| GatewayError::InvalidAddress("cannot make a channel to it"))?,
        };
        let upstream = Upstream {
            address: address.to_owned(),
            pid,
            channel,
        };
        upstreams.insert(service.to_owned(), Arc::new(upstream));
        Ok(units.clone())
    }

    pub(crate) fn routes(&self) -> Vec<Route> {
        let upstreams = self
            .upstreams
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        self.topology
            .iter()
            .map(|route| Route {
                unit_id: route.unit_id.clone(),
                tier: route.tier.into(),
                service: route.service.clone(),
                address: upstreams
                    .get(&route.service)
                    .map(|upstream| upstream.address.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// Validates an announced address. Only plaintext `http://host[:port]` is
/// accepted: the mesh speaks h2c inside the cluster and tonic is built
/// without TLS here.
fn endpoint(address: &str) -> Result<Endpoint, &'static str> {
    if address.is_empty() {
        return Err("must not be empty");
    }
    let uri: Uri = address.parse().map_err(|_| "not a valid uri")?;
    if uri.scheme_str() != Some("http") {
        return Err("must start with http://");
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err("must not have a path");
    }
    let endpoint = Endpoint::from_shared(address.to_owned()).map_err(|_| "not a valid uri")?;
    Ok(endpoint.connect_timeout(CONNECT_TIMEOUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_http_addresses_only() {
        for good in [
            "http://127.0.0.1:50051",
            "http://township.hotline.svc:8080/",
        ] {
            assert!(endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "127.0.0.1:50051",
            "https://127.0.0.1:50051",
            "http://127.0.0.1:50051/x",
            "http://",
            "not a uri",
        ] {
            assert!(endpoint(bad).is_err(), "{bad:?}");
        }
    }
}
