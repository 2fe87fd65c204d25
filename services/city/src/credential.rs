//! Secrets from the operating system's CSPRNG: the city key and requester
//! credentials. A requester credential is 192 random bits handed out once
//! by intake; the city keeps only its SHA-256, bound to one order, with
//! an expiry and, once revoked, the revocation time. It never derives
//! from the requester's phone or pseudonym.

use crate::tables::requester_tokens::{self, Grant};
use hotline_core::Policy;
use hotline_runtime::error::{Result, ServiceError};
use hotline_store::{Batch, Conn};
use sha2::{Digest, Sha256};

/// Metadata carrying the requester credential.
pub const TOKEN: &str = "x-hotline-requester-token";

/// `bytes` bytes from the OS CSPRNG, in hex.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| ServiceError::Unavailable(format!("os random source: {e}")))?;
    Ok(hex(&buf))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps of a credential.
fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Issues a new credential for `order_id`, valid for the policy's
/// `requester_token_days` from `now`; the token is returned once and
/// stored only as its hash.
pub async fn issue(conn: &mut Conn, order_id: &str, now: i64, policy: &Policy) -> Result<String> {
    let (token, grant) = fresh(order_id, now, policy)?;
    requester_tokens::insert(conn, &digest(&token), &grant).await?;
    Ok(token)
}

/// [`issue`] among the writes of `batch`.
pub fn issue_into(batch: &mut Batch, order_id: &str, now: i64, policy: &Policy) -> Result<String> {
    let (token, grant) = fresh(order_id, now, policy)?;
    requester_tokens::insert_into(batch, &digest(&token), &grant)?;
    Ok(token)
}

/// A new token and the grant to keep under its hash.
fn fresh(order_id: &str, now: i64, policy: &Policy) -> Result<(String, Grant)> {
    let token = format!("rt-{}", random_hex(24)?);
    let grant = Grant {
        order_id: order_id.to_string(),
        created_us: now,
        expires_us: policy.requester_token_expires(now),
        revoked_us: None,
    };
    Ok((token, grant))
}

/// The order `token` opens at `now`; UNAUTHENTICATED when it is not a
/// credential intake issued, has expired or was revoked.
pub async fn check(conn: &mut Conn, token: &str, now: i64) -> Result<Grant> {
    let refused = |why: &str| ServiceError::Unauthenticated(format!("{TOKEN}: {why}"));
    let grant = requester_tokens::get(conn, &digest(token))
        .await?
        .ok_or_else(|| refused("not a credential intake issued"))?;
    if grant.revoked_us.is_some() {
        return Err(refused("revoked"));
    }
    if now >= grant.expires_us {
        return Err(refused("expired; it opened its order for a limited time"));
    }
    Ok(grant)
}

/// The grant of `token` whatever its state, for a retried revocation.
pub async fn find(conn: &mut Conn, token: &str) -> Result<Option<Grant>> {
    Ok(requester_tokens::get(conn, &digest(token)).await?)
}

/// Revokes every credential of `order_id` at `now`; how many were live.
pub async fn revoke_order(conn: &mut Conn, order_id: &str, now: i64) -> Result<u64> {
    Ok(requester_tokens::revoke_order(conn, order_id, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secrets_are_long_and_distinct() {
        let a = random_hex(24).unwrap();
        let b = random_hex(24).unwrap();
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_store_keeps_a_digest_not_the_token() {
        let d = digest("rt-00");
        assert_eq!(d.len(), 64);
        assert!(!d.contains("rt-"));
        assert_eq!(d, digest("rt-00"));
        assert_ne!(d, digest("rt-01"));
    }
}
