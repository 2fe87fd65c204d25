//! The domain core of hotline-mesh: the work-order lifecycle, deadlines,
//! dispatch rules and the topology. Pure: no I/O, no clock reads, no
//! transport, so every rule here is tested without a server.

pub mod authz;
pub mod calendar;
pub mod clock;
pub mod deadline;
pub mod dispatch;
pub mod disposition;
pub mod jurisdiction;
pub mod kinds;
pub mod lifecycle;
pub mod model;
pub mod policy;
pub mod proactive;
pub mod scoring;
pub mod scrub;
pub mod territory;
pub mod topology;
pub mod units;

pub use clock::{Clock, ManualClock, Micros};
pub use model::*;
pub use policy::Policy;
pub use territory::{LocateError, Located};
pub use topology::{CatalogueItem, Place, Topology, TopologyError, Unit};
