//! The runtime's tables, in every service's database: request-id replay,
//! counters, the outbox, dead letters, handoffs and timers, and the
//! records the centre and the handling units both keep (assignments,
//! objections, coordination requests). Migrations:
//! `migrations/{sqlite,postgres}/`, versions 1000–1999 (owners number
//! apart: see `hotline_store::Schema`).

use hotline_store::Schema;

pub static SCHEMA: Schema = Schema {
    owner: "runtime",
    versions: 1000..=1999,
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};
