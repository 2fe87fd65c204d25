//! Cross-service tests: the real `hotline` binary as gateway plus one
//! process per tier service, over PostgreSQL, talking real gRPC.

mod bad_input;
mod demo;
mod deploy;
mod disputes;
mod durability;
mod escalation;
mod geo;
mod jurisdiction;
mod lifecycle;
mod observability;
mod reporting;
mod services;
mod simulate;
mod support;
mod topology;
mod up;
