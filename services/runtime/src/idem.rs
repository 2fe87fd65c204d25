//! Request-id replay (AIP-155) inside the transaction of the effect: the
//! same id again returns the first answer and changes nothing.

use hotline_store::{Conn, idempotency};
use prost::Message;

use crate::error::{Result, ServiceError, required};

/// The scope a request id lives in: the method and the calling unit.
pub fn scope(method: &str, caller: &str) -> String {
    format!("{method}:{caller}")
}

/// The first answer to this request id, if it was already handled.
pub async fn replay<R: Message + Default>(
    conn: &mut Conn,
    scope: &str,
    request_id: &str,
) -> Result<Option<R>> {
    required("request_id", request_id)?;
    match idempotency::get(conn, scope, request_id).await? {
        None => Ok(None),
        Some(bytes) => R::decode(bytes.as_slice()).map(Some).map_err(|e| {
            ServiceError::Store(hotline_store::StoreError::Corrupt(format!(
                "stored answer: {e}"
            )))
        }),
    }
}

/// Records the answer; a concurrent duplicate loses with ABORTED.
pub async fn record<R: Message>(
    conn: &mut Conn,
    scope: &str,
    request_id: &str,
    answer: &R,
    now: i64,
) -> Result<()> {
    idempotency::put(conn, scope, request_id, &answer.encode_to_vec(), now)
        .await
        .map_err(|e| {
            if e.is_conflict() {
                ServiceError::Concurrent(request_id.to_string())
            } else {
                e.into()
            }
        })
}
