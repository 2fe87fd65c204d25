//! The `hotline` command as a library, so cross-service tests drive the
//! same mesh supervisor, client and demo as the command line.

pub mod bench;
mod bench_hop;
mod bench_inbox;
pub mod bench_proactive;
pub mod bench_scoring;
pub mod bench_tracing;
pub mod client;
pub mod cmd;
pub mod conformance;
pub mod cpu;
pub mod demo;
mod demo_disputes;
mod demo_integration;
mod demo_proactive;
pub mod export;
pub mod identity;
pub mod mesh;
pub mod proactive;
pub mod report;
pub mod sim;
pub mod topology;
pub mod trace;

/// The demo city, built into the binary so `hotline demo` runs anywhere.
pub const DEMO_TOPOLOGY: &str = include_str!("../topology/demo-city.toml");

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
