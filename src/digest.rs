//! `hotline digest`: the weekly digest (民情摘报) of the city or a district
//! through a running gateway, as readable text or JSON (rendered by
//! `hotline_client::digest`).

use clap::Args;

use crate::client::digest::{digest_json, digest_text};
use crate::client::status_error;
use crate::identity::GatewayArg;

#[derive(Args, Clone)]
pub struct DigestArgs {
    /// ISO week, YYYY-Www (2026-W49), Monday to Sunday in Asia/Shanghai;
    /// the last complete week on the mesh's clock when unset.
    #[arg(long, default_value = "")]
    pub week: String,
    /// Whose digest: the city or a district.
    #[arg(long, default_value = "city")]
    pub unit: String,
    /// The unit reading (the city reads any district's; a district only
    /// its own); the unit itself when unset.
    #[arg(long = "as")]
    pub reader: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub at: GatewayArg,
}

pub async fn run(a: DigestArgs) -> anyhow::Result<()> {
    let client = a.at.client()?;
    let unit = a.unit.trim_start_matches("units/");
    let reader = a.reader.as_deref().unwrap_or(unit);
    // A unit reading its own digest asks its own service; another reader
    // names the area.
    let area = if reader == unit { "" } else { unit };
    let r = client
        .digest(reader, area, &a.week)
        .await
        .map_err(status_error)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&digest_json(&r))?);
    } else {
        print!("{}", digest_text(&r));
    }
    Ok(())
}
