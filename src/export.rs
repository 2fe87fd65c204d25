//! `hotline export --unit U`: the Art. 28 export as JSON lines.

use crate::client::MeshClient;
pub use crate::client::integration::REQUESTER_TOKEN;
pub use crate::client::views::export_json;

/// `hotline export --unit U`: prints the unit's orders, one JSON a line.
pub async fn run(client: &MeshClient, unit: &str, reader: Option<&str>) -> anyhow::Result<()> {
    let orders = client.export(reader.unwrap_or(unit), unit).await?;
    for o in &orders {
        println!("{}", export_json(o));
    }
    eprintln!(
        "{} orders of unit {unit}, requester identity removed",
        orders.len()
    );
    Ok(())
}
