//! The city's tables (migrations in `migrations/`): the order record and
//! its history, requesters and their credentials, callbacks and the
//! assessment's reads, the audit log, the knowledge base, proactive
//! tasks and settings. Only the city service's database has them.

pub mod assessment;
pub mod audit;
pub mod knowledge;
pub mod orders;
pub mod proactive;
pub mod requester_tokens;
pub mod settings;
