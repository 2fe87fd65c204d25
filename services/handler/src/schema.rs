//! The handler's tables, in the database of a service hosting handling
//! units: part reports, notices, whistles and summonses, and the inbox
//! event log. Migrations: `migrations/{sqlite,postgres}/`, versions
//! 3000–3999 (owners number apart: see `hotline_store::Schema`).

use hotline_store::Schema;

pub static SCHEMA: Schema = Schema {
    owner: "handler",
    versions: 3000..=3999,
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};
