//! Request-id replay (AIP-155) inside the transaction of the effect: the
//! same id again with the same request returns the first answer and changes
//! nothing; the same id with another request (another body, another
//! resource) is refused with ALREADY_EXISTS, and the first effect stands.
//!
//! A request is bound to its id by the SHA-256 of its protobuf encoding.
//! No request message has a `map` field, so prost encodes equal messages
//! to equal bytes (fields in number order, repeated fields in their order),
//! and a handoff redelivered from the outbox decodes and encodes to the
//! bytes it was first sent as.

use crate::tables::idempotency;
use hotline_core::Micros;
use hotline_store::{Batch, Conn};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::error::{Result, ServiceError, required};

/// The scope a request id lives in: the method and the calling unit.
pub fn scope(method: &str, caller: &str) -> String {
    format!("{method}:{caller}")
}

/// What binds a request id to its request.
pub fn fingerprint<Q: Message>(request: &Q) -> [u8; 32] {
    Sha256::digest(request.encode_to_vec()).into()
}

/// The first answer to this request id, if it was already handled for
/// this same request; an error naming the conflict if it was handled for
/// another.
pub async fn replay<Q: Message, R: Message + Default>(
    conn: &mut Conn,
    scope: &str,
    request_id: &str,
    request: &Q,
) -> Result<Option<R>> {
    required("request_id", request_id)?;
    let Some(first) = idempotency::get(conn, scope, request_id).await? else {
        return Ok(None);
    };
    // A record kept from before requests were bound has no fingerprint and
    // replays as it always did.
    if first
        .fingerprint
        .is_some_and(|f| f.as_slice() != fingerprint(request))
    {
        return Err(ServiceError::RequestIdReused {
            request_id: request_id.to_string(),
            method: method_of(scope).to_string(),
        });
    }
    R::decode(first.response.as_slice()).map(Some).map_err(|e| {
        ServiceError::Store(hotline_store::StoreError::Corrupt(format!(
            "stored answer: {e}"
        )))
    })
}

/// Once per request id, in the caller's transaction: the first answer if
/// this request was already handled, else `act`'s answer, recorded in the
/// same transaction as its effect. [`crate::Ctx::apply_once`] wraps it in
/// its own transaction; call this directly only where the transaction
/// holds more than the mutation (a read that names the scope, a credential
/// issued to every caller, replayed or not).
pub async fn once<Q: Message, R: Message + Default>(
    conn: &mut Conn,
    scope: &str,
    request_id: &str,
    request: &Q,
    now: Micros,
    act: impl AsyncFnOnce(&mut Conn, Micros) -> Result<R>,
) -> Result<R> {
    once_batched(
        conn,
        scope,
        request_id,
        request,
        now,
        async |conn, _, now| act(conn, now).await,
    )
    .await
}

/// [`once`], with a batch for `act`'s last writes, those whose results
/// nothing reads: they go to the store with the record of the answer, in
/// one round trip on SQLite. A statement `act` runs itself runs before them.
pub async fn once_batched<Q: Message, R: Message + Default>(
    conn: &mut Conn,
    scope: &str,
    request_id: &str,
    request: &Q,
    now: Micros,
    act: impl AsyncFnOnce(&mut Conn, &mut Batch, Micros) -> Result<R>,
) -> Result<R> {
    if let Some(done) = replay(conn, scope, request_id, request).await? {
        return Ok(done);
    }
    let mut writes = Batch::of(conn);
    let answer = act(&mut *conn, &mut writes, now).await?;
    idempotency::put_into(
        &mut writes,
        scope,
        request_id,
        &fingerprint(request),
        &answer.encode_to_vec(),
        now,
    )?;
    // A concurrent duplicate loses with ABORTED, so its retry finds the
    // record.
    writes.run(conn).await.map_err(|e| {
        if e.is_conflict() {
            ServiceError::Concurrent(request_id.to_string())
        } else {
            e.into()
        }
    })?;
    Ok(answer)
}

/// The method a scope belongs to; the caller part stays out of messages.
fn method_of(scope: &str) -> &str {
    scope.split_once(':').map_or(scope, |(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_proto::v1::{AcceptAssignmentRequest, SupplementOrderRequest};

    #[test]
    fn equal_requests_bind_alike_and_any_difference_shows() {
        let a = AcceptAssignmentRequest {
            request_id: "r1".into(),
            order_id: "HL1".into(),
            epoch: 1,
        };
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        let other_order = AcceptAssignmentRequest {
            order_id: "HL2".into(),
            ..a.clone()
        };
        assert_ne!(fingerprint(&a), fingerprint(&other_order));
        // A redelivery decodes and encodes to the same bytes.
        let again = AcceptAssignmentRequest::decode(a.encode_to_vec().as_slice()).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&again));
        let s = SupplementOrderRequest {
            request_id: "r1".into(),
            name: "orders/HL1".into(),
            text: "more".into(),
            media_refs: vec!["a".into(), "b".into()],
        };
        let swapped = SupplementOrderRequest {
            media_refs: vec!["b".into(), "a".into()],
            ..s.clone()
        };
        assert_ne!(fingerprint(&s), fingerprint(&swapped));
    }

    #[test]
    fn the_method_names_the_scope() {
        assert_eq!(
            method_of(&scope("AcceptAssignment", "dept-x")),
            "AcceptAssignment"
        );
        assert_eq!(method_of("bare"), "bare");
    }
}
