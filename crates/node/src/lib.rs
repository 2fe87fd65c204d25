//! A node of the mesh: a topology and a listener make a running tier
//! service or the gateway. `hotline serve`, `hotline gateway`, `hotline up`
//! (through [`mesh`], which runs each node as a process of its own), the
//! simulator's in-process mode and the tests (through [`inproc`], which runs
//! them as tasks of one process) all build their nodes here.

use std::sync::Arc;

use anyhow::Context;
use hotline_core::Tier;
use hotline_gateway::{GatewayConfig, UnitRoute};
use hotline_proto::v1 as pb;
use hotline_runtime::wire::WireEnum;
use hotline_runtime::{Ctx, client::Gateway, metrics::Metrics, outbox::Waker};
use hotline_store::{Db, Schema};
use hotline_telemetry::metrics::Registry;

pub mod cpu;
pub mod inproc;
pub mod mesh;
pub mod pki;
#[cfg(test)]
mod schema_tests;

/// The demo city, built into the binary so `hotline demo` runs anywhere.
pub const DEMO_TOPOLOGY: &str = include_str!("../../../topology/demo-city.toml");

/// Reads and checks a topology file; errors name the file, line and
/// problem. The boundaries side file (`boundaries = "…"`) and calendar file
/// (`calendar = "…"`) a topology names are read relative to it.
pub fn load_topology(path: &std::path::Path) -> anyhow::Result<hotline_core::Topology> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
    };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut topology =
        hotline_core::Topology::parse_with(&path.display().to_string(), &read(path)?, |name| {
            read(&dir.join(name)).map_err(|e| e.to_string())
        })?;
    if let Some(file) = topology.calendar_file.clone() {
        let p = dir.join(file);
        let calendar =
            hotline_core::calendar::Calendar::parse(&p.display().to_string(), &read(&p)?)?;
        topology.calendar = calendar;
    }
    Ok(topology)
}

/// A service's clock, and the same clock when it is virtual.
pub type Clocks = (
    Arc<dyn hotline_core::Clock>,
    Option<Arc<hotline_core::ManualClock>>,
);

/// Every owner's tables: for scratch databases that hold them all (the
/// benchmarks, the store's tests). A service holds only its own: [`schemas`].
pub static EVERY_SCHEMA: [&Schema; 3] = [
    &hotline_runtime::SCHEMA,
    &hotline_city::SCHEMA,
    &hotline_handler::SCHEMA,
];

/// The tables a service's database holds: the runtime's, and the city's
/// or the handler's as the service hosts the city unit or handling units
/// (a service hosts the units of one tier, its own). A township's database
/// has no requester, order or audit table at all.
pub fn schemas(spec: &hotline_core::topology::ServiceSpec) -> Vec<&'static Schema> {
    let mut schemas = vec![&hotline_runtime::SCHEMA];
    match spec.tier {
        Tier::City => schemas.push(&hotline_city::SCHEMA),
        Tier::District | Tier::Township | Tier::Community | Tier::Department | Tier::Central => {
            schemas.push(&hotline_handler::SCHEMA)
        }
    }
    schemas
}

/// A service's context: its database, clock and gateway client.
pub async fn service_ctx(
    topology: Arc<hotline_core::Topology>,
    spec: hotline_core::topology::ServiceSpec,
    db_url: &str,
    pool_size: u32,
    gateway: &str,
    (clock, manual): Clocks,
    security: hotline_identity::Security,
) -> anyhow::Result<Ctx> {
    let db = Db::connect(db_url, pool_size, &schemas(&spec))
        .await
        .with_context(|| format!("opening {}", hotline_store::redact(db_url)))?;
    let tier_of = hotline_runtime::tier_of(topology.clone());
    let metrics = Arc::new(Metrics::new(Registry::default(), Some(tier_of.clone())));
    metrics.seed(spec.tier);
    let mut client = Gateway::traced(gateway, Some(metrics.rpc.clone()), Some(tier_of), &security)?;
    if !security.is_mtls() {
        client = client.claiming(&hotline_identity::Principal::Service(spec.name.clone()));
    }
    Ok(Ctx {
        db,
        topology,
        clock,
        manual,
        gateway: client,
        service: spec,
        outbox: Waker::default(),
        metrics,
        security,
    })
}

/// The tier a service's context serves.
pub fn service_tier(ctx: &Ctx) -> hotline_runtime::server::Tier {
    match ctx.service.tier {
        Tier::City => hotline_city::tier(ctx.clone()),
        handling => hotline_handler::tier(ctx.clone(), handling),
    }
}

/// The gateway's routing table and authorization from the topology.
pub fn gateway_config(
    topology: &Arc<hotline_core::Topology>,
    security: hotline_identity::Security,
) -> GatewayConfig {
    let routes = topology
        .units()
        .filter_map(|u| {
            let service = topology.service_of(&u.id)?;
            Some(UnitRoute {
                unit_id: u.id.clone(),
                tier: pb::Tier::try_from(u.tier.to_wire()).unwrap_or(pb::Tier::Unspecified),
                service: service.name.clone(),
            })
        })
        .collect();
    let static_addresses = topology
        .services()
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.address.clone()?)))
        .collect();
    GatewayConfig {
        routes,
        static_addresses,
        security,
        topology: Some(topology.clone()),
        ..GatewayConfig::default()
    }
}

pub use hotline_client::instant::{parse_instant, show_instant};

/// Said at the start of anything running without mTLS.
pub fn warn_plaintext() {
    eprintln!(
        "WARNING: --insecure-plaintext: no TLS, and every caller is believed to be whoever \
         its headers say. Anyone who can reach a port can act as any unit. Never run this \
         way outside a test bench."
    );
    tracing::warn!("running with --insecure-plaintext: callers are not proven");
}

#[cfg(test)]
mod tests {
    use hotline_core::{Tier, Urgency};

    #[test]
    fn demo_city_has_the_promised_shape() {
        let t = hotline_core::Topology::parse("demo-city.toml", super::DEMO_TOPOLOGY).unwrap();
        let count = |tier| t.units().filter(|u| u.tier == tier).count();
        assert_eq!(count(Tier::District), 2);
        assert_eq!(count(Tier::Township), 4);
        assert_eq!(count(Tier::Community), 8);
        assert_eq!(count(Tier::Department), 5);
        assert_eq!(count(Tier::Central), 1);
        assert!(
            t.units()
                .any(|u| u.tier == Tier::Department && u.enterprise),
            "a utility"
        );
        assert!(t.catalogue().count() >= 12);
        for u in Urgency::ALL {
            assert!(t.catalogue().any(|i| i.urgency == *u), "no {u} item");
        }
        assert_eq!(t.services().len(), 6, "one service per tier");
        assert_eq!(t.district_area("Ridge Road").unwrap().id, "d-hillview");
    }

    #[test]
    fn a_named_calendar_file_is_read_beside_the_topology() {
        let dir = tempfile::tempdir().unwrap();
        let topo = "name = \"t\"\ncalendar = \"cal.toml\"\n[[unit]]\nid = \"city\"\ntier = \"city\"\nname = \"C\"\n";
        std::fs::write(dir.path().join("t.toml"), topo).unwrap();
        std::fs::write(
            dir.path().join("cal.toml"),
            "holidays = [\"2026-10-01\"]\nworkdays = [\"2026-10-10\"]\n",
        )
        .unwrap();
        let t = super::load_topology(&dir.path().join("t.toml")).unwrap();
        let d = |s| hotline_core::calendar::Date::parse(s).unwrap();
        assert!(!t.calendar.is_working_day(d("2026-10-01")));
        assert!(t.calendar.is_working_day(d("2026-10-10")));
        std::fs::write(dir.path().join("cal.toml"), "holidays = [\"someday\"]").unwrap();
        let e = super::load_topology(&dir.path().join("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cal.toml") && e.contains("someday"), "{e}");
    }
}
