//! The `hotline` command as a library, so cross-service tests drive the
//! same mesh supervisor, client and demo as the command line.

pub mod client;
pub mod cmd;
pub mod demo;
pub mod mesh;

/// The demo city, built into the binary so `hotline demo` runs anywhere.
pub const DEMO_TOPOLOGY: &str = include_str!("../topology/demo-city.toml");

/// Reads and checks a topology file; errors name the file, line and problem.
pub fn load_topology(path: &std::path::Path) -> anyhow::Result<hotline_core::Topology> {
    let src =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(hotline_core::Topology::parse(
        &path.display().to_string(),
        &src,
    )?)
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
}
