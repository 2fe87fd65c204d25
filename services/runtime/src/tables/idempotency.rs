//! Request-id records (AIP-155): the first answer to a request id, kept so a
//! retry gets the same answer and no second effect, with the fingerprint of
//! the request it answered, so the id cannot be reused for another request.
//! Receivers also use them to deduplicate handoffs by message id.

use sqlx::Row;

use hotline_store::{Conn, Result};

/// What a request id was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The encoded first answer.
    pub response: Vec<u8>,
    /// The fingerprint of the first request; `None` for a record kept from
    /// before requests were bound to their ids.
    pub fingerprint: Option<Vec<u8>>,
}

/// The record of `request_id` in `scope` (method and caller), if any.
pub async fn get(conn: &mut Conn, scope: &str, request_id: &str) -> Result<Option<Record>> {
    let row = sqlx::query(
        "SELECT response, fingerprint FROM idempotency WHERE scope = $1 AND request_id = $2",
    )
    .bind(scope)
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Record {
            response: r.try_get(0)?,
            fingerprint: r.try_get(1)?,
        })
    })
    .transpose()
}

/// Records the answer to the request with `fingerprint`, added to `b`:
/// the record goes to the store with the effect's last writes, in the
/// same transaction. A second record of the id is a unique violation
/// ([`crate::StoreError::is_conflict`]).
pub fn put_into(
    b: &mut hotline_store::Batch,
    scope: &str,
    request_id: &str,
    fingerprint: &[u8],
    response: &[u8],
    now: i64,
) -> Result<()> {
    b.push(
        sqlx::query(
            "INSERT INTO idempotency (scope, request_id, fingerprint, response, created_us) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(scope)
        .bind(request_id)
        .bind(fingerprint.to_vec())
        .bind(response.to_vec())
        .bind(now),
    )
}

/// Forgets records older than `before`; callers keep them well past the
/// senders' retry horizon.
pub async fn prune(conn: &mut Conn, before: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM idempotency WHERE created_us < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}
