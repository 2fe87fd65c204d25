//! The runtime's tables (migrations in `migrations/`): the machinery every
//! service needs (request-id replay, counters, outbox and dead letters,
//! handoffs, timers) and the records the centre and the handling units
//! both keep (assignments, objections, coordinations).

pub mod assignments;
pub mod context;
pub mod handoffs;
pub mod idempotency;
pub mod misc;
pub mod objections;
pub mod outbox;
pub mod timers;
