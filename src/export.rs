//! `hotline export --unit U`: the Art. 28 export as JSON lines.

use hotline_proto::v1::*;

use crate::client::MeshClient;
pub use crate::client::integration::REQUESTER_TOKEN;

/// An exported order as one JSON line: the demo's order view and the
/// request text (requester name and phone masked by the centre).
pub fn export_json(o: &Order) -> serde_json::Value {
    let mut v = crate::demo::order_json(o);
    v["text"] = serde_json::Value::String(o.text.clone());
    v["replies"] = o
        .assignments
        .iter()
        .filter(|a| !a.reply_text.is_empty())
        .map(|a| serde_json::json!({"unit": a.unit_id, "text": a.reply_text}))
        .collect();
    v
}

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
