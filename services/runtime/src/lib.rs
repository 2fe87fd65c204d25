//! Runtime plumbing every hotline service shares: the wall clock, the error
//! table, call metadata, the gateway client, outbox delivery, request-id
//! replay, wire conversions and the server bootstrap.

pub mod admit;
pub mod client;
pub mod clock;
pub mod control;
pub mod error;
pub mod failpoint;
pub mod gate;
pub mod guard;
pub mod handoff;
pub mod idem;
pub mod meta;
pub mod metrics;
pub mod outbox;
mod schema;
pub mod server;
pub mod sweeper;
pub mod tables;
pub mod trace;
pub mod wire;

use std::sync::Arc;

use hotline_core::topology::ServiceSpec;
use hotline_core::{Clock, Topology};
use hotline_store::Db;

pub use error::ServiceError;
pub use schema::SCHEMA;

/// What a service's handlers share.
#[derive(Clone)]
pub struct Ctx {
    pub db: Db,
    pub topology: Arc<Topology>,
    pub clock: Arc<dyn Clock>,
    /// The same clock when it is virtual, for `AdvanceTo`.
    pub manual: Option<Arc<hotline_core::ManualClock>>,
    /// Client for calls through the gateway.
    pub gateway: client::Gateway,
    /// The service this process runs and the units it hosts.
    pub service: ServiceSpec,
    /// Wakes the outbox deliverer after a commit that queued messages.
    pub outbox: outbox::Waker,
    pub metrics: Arc<metrics::Metrics>,
    /// This process's mesh identity, for its listener and its channels.
    pub security: hotline_identity::Security,
}

/// A unit's tier name from the topology, for span attributes and labels.
pub fn tier_of(topology: Arc<Topology>) -> hotline_telemetry::rpc::TierOf {
    Arc::new(move |unit: &str| topology.unit(unit).map(|u| u.tier.as_str()))
}

impl Ctx {
    /// The city's context over `db` on a virtual clock, calling no one:
    /// its gateway is an address nothing listens on, so effects only
    /// queue. For tests and benchmarks of one service's store.
    pub fn offline_city(
        db: Db,
        topology: Arc<Topology>,
        clock: Arc<hotline_core::ManualClock>,
    ) -> anyhow::Result<Ctx> {
        Ok(Ctx {
            db,
            topology,
            clock: clock.clone(),
            manual: Some(clock),
            gateway: client::Gateway::new("http://127.0.0.1:9")?,
            service: ServiceSpec {
                name: "city".into(),
                tier: hotline_core::Tier::City,
                units: vec!["city".into()],
                address: None,
            },
            outbox: outbox::Waker::default(),
            metrics: Arc::new(metrics::Metrics::new(Default::default(), None)),
            security: hotline_identity::Security::Plaintext,
        })
    }

    pub fn now(&self) -> hotline_core::Micros {
        self.clock.now()
    }

    /// One mutation, once per request id (AIP-155): begins a transaction,
    /// replays the first answer if `request_id` was already handled for
    /// this same `request` (ALREADY_EXISTS if for another), else runs `act`
    /// and records its answer in the same transaction as its effect (a
    /// concurrent duplicate loses with ABORTED), commits, and wakes the
    /// outbox for whatever `act` queued. An error from `act` rolls it all
    /// back and records nothing.
    pub async fn apply_once<Q, R>(
        &self,
        scope: &str,
        request_id: &str,
        request: &Q,
        act: impl AsyncFnOnce(&mut hotline_store::Conn, hotline_core::Micros) -> error::Result<R>,
    ) -> error::Result<R>
    where
        Q: prost::Message,
        R: prost::Message + Default,
    {
        self.apply_once_batched(scope, request_id, request, async |conn, _, now| {
            act(conn, now).await
        })
        .await
    }

    /// [`Ctx::apply_once`], with a batch for the act's last writes, those
    /// whose results nothing reads: they reach the store with the record
    /// of the answer ([`idem::once_batched`]).
    pub async fn apply_once_batched<Q, R>(
        &self,
        scope: &str,
        request_id: &str,
        request: &Q,
        act: impl AsyncFnOnce(
            &mut hotline_store::Conn,
            &mut hotline_store::Batch,
            hotline_core::Micros,
        ) -> error::Result<R>,
    ) -> error::Result<R>
    where
        Q: prost::Message,
        R: prost::Message + Default,
    {
        let now = self.now();
        self.outbox
            .after(async {
                let mut tx = self.db.begin().await?;
                let answer =
                    idem::once_batched(&mut tx, scope, request_id, request, now, act).await?;
                tx.commit().await?;
                Ok(answer)
            })
            .await
    }

    /// Whether this process hosts `unit`.
    pub fn hosts(&self, unit: &str) -> bool {
        self.service.units.iter().any(|u| u == unit)
    }
}

#[cfg(test)]
mod apply_once_tests;
#[cfg(test)]
mod backends;
#[cfg(test)]
mod sweeper_tests;
