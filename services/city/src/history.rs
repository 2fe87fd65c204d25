//! The order's history: every change to an order is a line, numbered by
//! the order's sequence.

use crate::tables::orders::{self, HistoryEntry, Order};
use hotline_core::Micros;
use hotline_runtime::error::Result;
use hotline_store::Conn;

/// Appends a history line and advances the order's sequence number.
pub async fn note(
    conn: &mut Conn,
    order: &mut Order,
    now: Micros,
    actor: &str,
    action: &str,
    detail: String,
) -> Result<()> {
    let entry = entry(order, now, actor, action, detail);
    orders::append_history(conn, &order.order_id, &entry).await?;
    Ok(())
}

/// The order's next history line, not yet stored: the sequence number
/// advances now, the line is written with [`orders::append_history_all`].
pub fn entry(
    order: &mut Order,
    now: Micros,
    actor: &str,
    action: &str,
    detail: String,
) -> HistoryEntry {
    order.seq += 1;
    HistoryEntry {
        seq: order.seq,
        time_us: now,
        actor_unit: actor.to_string(),
        action: action.to_string(),
        detail,
    }
}
