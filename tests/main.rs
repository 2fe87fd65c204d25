//! Cross-service tests: the real `hotline` binary as gateway plus one
//! process per tier service, over PostgreSQL, talking real gRPC.

// A test's helpers may unwrap (the panic is the failure); its ports and
// scratch names guard nothing, so fastrand is fine here.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod articles;
mod bad_input;
mod bench;
mod chaos;
mod cli;
mod conformance;
mod dashboard;
mod demo;
mod deploy;
mod digest;
mod disputes;
mod durability;
mod escalation;
mod examples;
mod geo;
mod integration;
mod jurisdiction;
mod lifecycle;
mod limits;
mod observability;
mod open311;
mod overload;
mod privacy;
mod proactive;
mod report_html;
mod reporting;
mod requester_tokens;
mod services;
mod simulate;
mod support;
mod topology;
mod triage;
mod trust;
mod up;
