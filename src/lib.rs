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
