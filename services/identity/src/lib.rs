//! Mesh identity: the mesh CA and its certificates ([`pki`]), each
//! process's credentials reloaded as they rotate ([`tls`]), and listeners
//! and channels that prove who is at the other end ([`net`]), and the
//! identity layer every server puts first ([`door`]).
//!
//! A holder is named by the SAN URI of its certificate
//! (`spiffe://hotline/unit/t-harbour`); see [`Principal`].

pub mod client;
pub mod door;
pub mod net;
pub mod pki;
pub mod tls;

pub use client::{Credentials, MeshChannel};
pub use door::{IdentityLayer, Proven, Unproven};
pub use hotline_core::authz::Principal;
pub use net::{Peer, Security};
pub use pki::{IssueOptions, Minted, Pki, TlsFiles};
pub use tls::MeshTls;

/// Metadata the gateway sets on every forwarded call: the caller it proved
/// (`unit/t-harbour`). A service believes it only from the gateway.
pub const PRINCIPAL_HEADER: &str = "x-hotline-principal";

/// Metadata naming the unit a caller acts for.
pub const UNIT_HEADER: &str = "x-hotline-unit";
/// Metadata naming the unit a call is addressed to.
pub const TARGET_HEADER: &str = "x-hotline-target";
