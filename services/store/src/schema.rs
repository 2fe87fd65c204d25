//! Each crate owns its tables (issue 22). The runtime owns what every
//! service needs (request-id replay, counters, outbox, dead letters,
//! handoffs, timers) and the records the centre and the handling units
//! both keep (assignments, objections, coordinations); the city owns the
//! order record, requesters, audit and knowledge; the handler owns what
//! only handling units keep (part reports, notices, whistles, the inbox
//! event log). Each owner's migrations sit in its crate
//! (`migrations/{sqlite,postgres}/`), embedded with `sqlx::migrate!`.
//!
//! A service runs the runtime's schema, plus the city's when it hosts the
//! city unit, plus the handler's when it hosts handling units. All of a
//! database's owners share sqlx's `_sqlx_migrations` table, with its
//! checksums; so that they do not collide, each owner numbers its
//! migrations within its own range of versions ([`Schema::versions`]), and
//! its migrator ignores the versions other owners applied.
//!
//! Databases made before this (by hotline's own runner, which kept a
//! `schema_migrations` table and put every table in every service) are
//! refused on open, naming the database: see docs/operations.md.

use std::ops::RangeInclusive;

use sqlx::migrate::Migrator;

use crate::backend::Backend;
use crate::{Result, StoreError};

/// One owner's migrations, per backend.
#[derive(Debug)]
pub struct Schema {
    /// The owning crate, for messages: `runtime`, `city`, `handler`.
    pub owner: &'static str,
    /// The migration versions this owner may use; no two owners' overlap.
    pub versions: RangeInclusive<i64>,
    /// `sqlx::migrate!("migrations/sqlite")`, in the owning crate.
    pub sqlite: fn() -> Migrator,
    /// `sqlx::migrate!("migrations/postgres")`, in the owning crate.
    pub postgres: fn() -> Migrator,
}

/// The bookkeeping table of the runner before `sqlx::migrate!`.
pub(crate) const LEGACY_TABLE: &str = "schema_migrations";

impl Schema {
    /// The owner's migrator for `backend`, checked to number its
    /// migrations within the owner's range, and told to ignore the
    /// versions other owners applied.
    pub fn migrator(&self, backend: Backend) -> Result<Migrator> {
        let mut m = match backend {
            Backend::Sqlite => (self.sqlite)(),
            Backend::Postgres => (self.postgres)(),
        };
        if let Some(stray) = m.iter().find(|x| !self.versions.contains(&x.version)) {
            return Err(StoreError::Config(format!(
                "db: the {} migration {} is outside the {}'s versions {:?}",
                self.owner, stray.version, self.owner, self.versions
            )));
        }
        m.set_ignore_missing(true);
        Ok(m)
    }
}
