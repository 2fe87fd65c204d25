//! The handler's tables (migrations in `migrations/`): what only handling
//! units keep — part reports, notices, whistles and summons, the inbox
//! event log.

pub mod inbox_events;
pub mod notices;
pub mod part_reports;
pub mod whistles;
