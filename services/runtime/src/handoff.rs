//! Queuing a handoff: an encoded gRPC request in the sender's outbox,
//! written in the caller's transaction and delivered later.

use hotline_store::Conn;
use hotline_store::outbox::{self, NewMessage};
use prost::Message;

use crate::error::Result;

/// Where a handoff goes. The message id is also the receiver's request id.
#[derive(Debug, Clone, Copy)]
pub struct Handoff<'a> {
    pub message_id: &'a str,
    pub order_id: &'a str,
    pub from_unit: &'a str,
    pub target_unit: &'a str,
    /// Full gRPC path, e.g. `/hotline.v1.DispatchService/DeliverNotice`.
    pub method: &'a str,
}

pub async fn send<M: Message>(
    conn: &mut Conn,
    h: Handoff<'_>,
    message: &M,
    now: i64,
) -> Result<()> {
    let m = NewMessage {
        message_id: h.message_id,
        order_id: h.order_id,
        from_unit: h.from_unit,
        target_unit: h.target_unit,
        method: h.method,
        payload: message.encode_to_vec(),
    };
    outbox::enqueue(conn, m, now).await?;
    Ok(())
}
