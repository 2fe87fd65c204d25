//! Open311 tokens: what `POST requests` hands a client beside the
//! service_request_id, for `GET tokens/{token}`.
//!
//! A token is the order id and an HMAC-SHA256 tag over it, under a key
//! drawn once from the OS CSPRNG and kept in `DATA_DIR/open311/token.key`
//! (mode 0600): it needs no store, survives a restart of the web front,
//! and only the web front can make one. It opens nothing but the lookup
//! of its order's id: it is not the requester's RequesterService
//! credential (which the web front never asks for) and derives from
//! nothing about the requester.

use std::path::Path;

use anyhow::{Context as _, bail};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::keys::{hex, random_hex, write_private};

/// Bytes of the tag kept in a token: 128 bits.
const TAG_BYTES: usize = 16;

/// Issues and checks tokens under the web front's token key.
pub struct Tokens {
    key: Vec<u8>,
}

impl Tokens {
    /// The key in `DATA_DIR/open311/token.key`, drawn on first start.
    pub fn open(data_dir: &Path) -> anyhow::Result<Tokens> {
        let path = super::keys::dir(data_dir).join("token.key");
        if !path.exists() {
            write_private(&path, &format!("{}\n", random_hex(32)?))?;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
        let key = unhex(text.trim())
            .filter(|k| k.len() >= 32)
            .with_context(|| format!("{}: not a key of 64 hex digits", path.display()))?;
        Ok(Tokens { key })
    }

    /// A key given outright (tests).
    pub fn with_key(key: &[u8]) -> anyhow::Result<Tokens> {
        if key.len() < 32 {
            bail!("a token key has at least 32 bytes");
        }
        Ok(Tokens { key: key.to_vec() })
    }

    fn mac(&self, order_id: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("hmac takes any key length");
        mac.update(b"open311-token\0");
        mac.update(order_id.as_bytes());
        mac
    }

    /// The token of an order: `tk_{hex order id}_{hex tag}`, letters a
    /// URL path carries as they are.
    pub fn issue(&self, order_id: &str) -> String {
        let tag = self.mac(order_id).finalize().into_bytes();
        format!("tk_{}_{}", hex(order_id.as_bytes()), hex(&tag[..TAG_BYTES]))
    }

    /// The order id a token names, when this web front issued it.
    pub fn order_of(&self, token: &str) -> Option<String> {
        let (id, tag) = token.strip_prefix("tk_")?.split_once('_')?;
        let order_id = String::from_utf8(unhex(id)?).ok()?;
        let tag = unhex(tag).filter(|t| t.len() == TAG_BYTES)?;
        self.mac(&order_id)
            .verify_truncated_left(&tag)
            .ok()
            .map(|()| order_id)
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_token_names_its_order_and_only_this_key_makes_one() {
        let t = Tokens::with_key(&[7; 32]).unwrap();
        let token = t.issue("HL00000042");
        assert!(!token.contains('.') && !token.contains('/'), "{token}");
        assert_eq!(t.order_of(&token).as_deref(), Some("HL00000042"));
        // Another key's token, a changed id or tag, and junk open nothing.
        let other = Tokens::with_key(&[8; 32]).unwrap();
        assert_eq!(other.order_of(&token), None);
        let forged = token.replace(&hex(b"HL00000042"), &hex(b"HL00000043"));
        assert_eq!(t.order_of(&forged), None);
        let mut cut = token.clone();
        cut.pop();
        assert_eq!(t.order_of(&cut), None);
        for junk in ["", "tk_", "tk__", "tk_zz_zz", "HL00000042", "rt-abc"] {
            assert_eq!(t.order_of(junk), None, "{junk}");
        }
    }

    #[test]
    fn the_key_is_kept_and_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let token = Tokens::open(dir.path()).unwrap().issue("HL00000001");
        let again = Tokens::open(dir.path()).unwrap();
        assert_eq!(again.order_of(&token).as_deref(), Some("HL00000001"));
    }
}
