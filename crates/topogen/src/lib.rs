//! `hotline topology generate | check`, `hotline locate` and
//! `hotline bench locate`: making, validating and querying cities.

pub mod beijing;
mod catalogue;
mod check;
pub mod demo;
mod locate;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

pub use locate::{BenchLocateArgs, LocateArgs, bench, locate};

#[derive(Subcommand)]
pub enum TopologyCommand {
    /// Write a topology: the demo city, or a Beijing-sized city with its boundaries.
    Generate(GenerateArgs),
    /// Validate a topology and print its counts and a survey of its boundaries.
    Check(CheckArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Scale {
    /// The demo city (topology/demo-city.toml), boundaries inline.
    Demo,
    /// 16 districts, 343 townships, about 7,100 communities; boundaries in a GeoJSON side file.
    Beijing,
}

#[derive(Args)]
pub struct GenerateArgs {
    #[arg(long, value_enum)]
    pub scale: Scale,
    /// Seed of the generated city (the demo city has a fixed one).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The topology file to write; the Beijing boundaries go beside it, as .geojson.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Topology file (TOML).
    pub topology: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: TopologyCommand) -> anyhow::Result<()> {
    match command {
        TopologyCommand::Generate(a) => generate(a),
        TopologyCommand::Check(a) => check::run(&a.topology, a.json),
    }
}

fn write(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Writes the generated Beijing-sized city to `out` and its boundaries
/// beside it (as `topology generate --scale beijing` does).
pub fn write_beijing(seed: u64, out: &std::path::Path) -> anyhow::Result<()> {
    let side = out.with_extension("geojson");
    let side_name = side
        .file_name()
        .and_then(|n| n.to_str())
        .context("out: needs a file name")?;
    let city = beijing::generate(seed, side_name);
    write(out, &city.toml)?;
    write(&side, &city.geojson)
}

fn generate(a: GenerateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    match a.scale {
        Scale::Demo => {
            write(&a.out, &demo::generate())?;
            println!("wrote {} (the demo city)", a.out.display());
        }
        Scale::Beijing => {
            let side = a.out.with_extension("geojson");
            let side_name = side
                .file_name()
                .and_then(|n| n.to_str())
                .context("out: needs a file name")?;
            let city = beijing::generate(a.seed, side_name);
            write(&a.out, &city.toml)?;
            write(&side, &city.geojson)?;
            println!(
                "wrote {} and {} ({} communities and villages, seed {}) in {:.2} s",
                a.out.display(),
                side.display(),
                city.communities,
                a.seed,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
