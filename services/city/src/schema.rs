//! The city's tables, only in the city service's database: requesters and
//! their credentials, orders, history, contacts, callbacks, whistle
//! parties, proactive tasks, settings, the audit log and the knowledge
//! base. Migrations: `migrations/{sqlite,postgres}/`, versions 2000–2999
//! (owners number apart: see `hotline_store::Schema`).

use hotline_store::Schema;

pub static SCHEMA: Schema = Schema {
    owner: "city",
    versions: 2000..=2999,
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};
