//! The mesh's certificates on disk: what `hotline up` makes on first start.

use std::sync::Arc;

use hotline_identity::{IssueOptions, MeshTls, Pki, Principal};

/// Makes the CA (once) and every process's certificate for `topology`,
/// as `hotline up` does on first start; re-issues any that are missing,
/// from another CA or near their end.
pub fn provision(dir: &std::path::Path, topology: &hotline_core::Topology) -> anyhow::Result<Pki> {
    let pki = Pki::open(dir);
    pki.init()?;
    let opts = IssueOptions::default();
    pki.ensure(&Principal::Service("gateway".into()), &opts)?;
    for s in topology.services() {
        pki.ensure(&Principal::Service(s.name.clone()), &opts)?;
    }
    for o in topology.operators() {
        pki.ensure(&Principal::Operator(o.name.clone()), &opts)?;
    }
    // The web front (`hotline web`): a client of the gateway, and the
    // server of the mesh's HTTP side.
    pki.ensure(&hotline_core::authz::web_front(), &opts)?;
    Ok(pki)
}

/// Loads a holder's credentials from a PKI dir (tests, benchmarks).
pub fn holder(pki: &Pki, principal: &Principal) -> anyhow::Result<Arc<MeshTls>> {
    MeshTls::load(pki.files(principal))
}
