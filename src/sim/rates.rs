//! The three rates (response, resolution, satisfaction) by peer group and
//! the rankings. They come from the centre's assessment —
//! `ReportingService.GetRankings` / `GetScorecard` — never from the
//! simulator's own arithmetic, so `hotline report --json` on the same data
//! states the same figures.

use hotline_core::Topology;
use serde_json::{Value, json};

use crate::client::MeshClient;

/// The rates section of the report.
// TODO(reporting): call ReportingService.GetRankings for each peer group
// (townships, districts, city departments, enterprises) and GetScorecard
// per day for the rates-over-time chart once reporting.proto carries them
// on main; until then the section says where its figures will come from.
pub async fn rates(_client: &MeshClient, _topology: &Topology) -> Value {
    json!({
        "source": "ReportingService.GetRankings",
        "status": "pending: the assessment RPCs are not on this branch yet",
        "peer_groups": {},
    })
}
