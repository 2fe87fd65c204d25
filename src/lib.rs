//! The `hotline` command as a library, so cross-service tests drive the
//! same mesh supervisor, client and demo as the command line.

pub use hotline_bench as bench;
pub use hotline_client as client;
pub mod cmd;
pub mod digest;
pub use hotline_client::conformance;
pub use hotline_demo as demo;
pub use hotline_node::cpu;
pub mod export;
pub mod identity;
pub use hotline_node::mesh;
pub mod proactive;
pub mod report;
pub use hotline_client::trace;
pub use hotline_sim as sim;
pub use hotline_topogen as topology;

pub use hotline_node::{DEMO_TOPOLOGY, load_topology};
