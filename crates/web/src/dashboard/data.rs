//! The dashboard's reads, through the gateway as the web front: the same
//! calls the command line makes (`hotline report`, `hotline trace`,
//! `hotline deadlines`), so the figures agree with what it prints, each
//! then kept to what the operator looking may see ([`Viewer`]).

use std::collections::{BTreeMap, BTreeSet};

use hotline_client::MeshClient;
use hotline_core::{Tier, Topology};
use hotline_identity::{Credentials, Security};
use hotline_proto::v1::*;
use serde_json::Value;

use super::access::Viewer;

/// Timers of this kind are a summoned department's check-in: an open
/// whistle (`hotline_handler::whistle::CHECK_IN_TIMER`).
const CHECK_IN: &str = "check_in";

/// The deadlines listed on the overview.
pub const DEADLINES_SHOWN: usize = 15;

/// The web front's client of the mesh for the dashboard.
#[derive(Clone)]
pub struct Reader {
    client: MeshClient,
    /// Each mesh service by name, with a unit it hosts to reach it by:
    /// the web front may not list the gateway's routes, and the topology
    /// names the same services.
    services: Vec<(String, String)>,
}

impl Reader {
    /// A client of the gateway at `gateway` presenting the web front's
    /// certificate (in plaintext nothing is read: the dashboard refuses).
    pub fn new(gateway: &str, security: &Security, topology: &Topology) -> anyhow::Result<Self> {
        let credentials = match security {
            Security::Mtls(tls) => Credentials::Holder(tls.clone()),
            Security::Plaintext => Credentials::Plaintext,
        };
        // Orders in the operations form: the operator sees what `hotline
        // trace` shows (the centre scrubs the requester's identity).
        let client = MeshClient::new(gateway, &topology.city().id, credentials)?.operations_view();
        let mut services: Vec<(String, String)> = topology
            .services()
            .iter()
            .filter_map(|s| s.units.iter().min().map(|u| (s.name.clone(), u.clone())))
            .collect();
        services.sort();
        Ok(Self { client, services })
    }

    fn city(&self) -> &str {
        &self.client.city
    }

    /// The scope's subtree rolled up this month, as `hotline report
    /// --unit SCOPE --json` reads it.
    pub async fn rates(&self, v: &Viewer<'_>) -> Option<Result<RollUpScorecardsResponse, String>> {
        if !v.reads("ReportingService/RollUpScorecards", v.scope()) {
            return None;
        }
        Some(
            self.client
                .roll_up(self.city(), v.scope(), "", None)
                .await
                .map_err(status_text),
        )
    }

    /// This month's rankings of every peer group: the one call `hotline
    /// report --json` makes.
    pub async fn rankings(&self, v: &Viewer<'_>) -> Option<Result<GetRankingsResponse, String>> {
        if !v.may("ReportingService/GetRankings", self.city()) {
            return None;
        }
        let req = GetRankingsRequest {
            month: String::new(),
            peer_group: PeerGroup::Unspecified as i32,
            ..Default::default()
        };
        Some(
            self.client
                .rankings(self.city(), req)
                .await
                .map_err(status_text),
        )
    }

    /// Every pending deadline of a unit within scope, soonest first, as
    /// `hotline deadlines --json` lists them.
    pub async fn deadlines(&self, v: &Viewer<'_>) -> Result<Vec<Value>, String> {
        let all = hotline_client::trace::deadlines_via(&self.client, None, &self.services)
            .await
            .map_err(|e| e.to_string())?;
        // A clock of no unit (the callback's) is the centre's.
        let city = self.city();
        Ok(all
            .into_iter()
            .filter(|d| {
                let unit = d["unit"].as_str().filter(|u| !u.is_empty()).unwrap_or(city);
                v.reads("ReportingService/ListDeadlines", unit)
            })
            .collect())
    }

    /// The whistles with a summons still pending (each pending check-in
    /// is a deadline at the district that registered it), as the
    /// district keeps them, those the operator could read.
    pub async fn open_whistles(
        &self,
        topology: &Topology,
        v: &Viewer<'_>,
        deadlines: &[Value],
    ) -> Result<Vec<Whistle>, String> {
        let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
        for d in deadlines.iter().filter(|d| d["kind"] == CHECK_IN) {
            if let (Some(id), Some(service)) = (
                d["timer_id"].as_str().and_then(whistle_of_timer),
                d["service"].as_str(),
            ) {
                wanted.insert((service.to_string(), id.to_string()));
            }
        }
        let mut out = Vec::new();
        for (service, id) in wanted {
            // Any district the service hosts reaches its register.
            let Some(district) = topology
                .service(&service)
                .and_then(|s| {
                    s.units
                        .iter()
                        .find(|u| topology.unit(u).is_some_and(|u| u.tier == Tier::District))
                })
                .cloned()
            else {
                continue;
            };
            let w = self
                .client
                .get_whistle(self.city(), &district, &id)
                .await
                .map_err(status_text)?;
            let involved = v.reads("EscalationService/GetWhistle", &w.district_unit)
                || v.sees(&w.from_unit)
                || w.summonses.iter().any(|s| v.sees(&s.department));
            if involved {
                out.push(w);
            }
        }
        out.sort_by(|a, b| {
            (a.time.map(|t| (t.seconds, t.nanos)), &a.whistle_id)
                .cmp(&(b.time.map(|t| (t.seconds, t.nanos)), &b.whistle_id))
        });
        Ok(out)
    }

    /// An order's timeline, the same rows `hotline trace` prints: the
    /// centre gives the web front the citizen's form of the order (its
    /// steps without their details, its live lead assignments, no trace).
    /// `None` when the operator may not read it.
    pub async fn timeline(
        &self,
        v: &Viewer<'_>,
        order_id: &str,
    ) -> Result<Option<Value>, anyhow::Error> {
        if !v.may("IntakeService/GetOrder", self.city()) {
            return Ok(None);
        }
        let t = hotline_client::trace::trace_via(&self.client, order_id, &self.services).await?;
        // The centre's own rule for a reader below it: an order assigned
        // to a unit within the reader.
        let city = self.city();
        let visible = v.scope() == city
            || t["assignments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["unit"].as_str())
                .any(|u| v.sees(u));
        Ok(visible.then_some(t))
    }

    /// The weekly digest of the scope (the city or a district), the last
    /// complete week or `week`.
    pub async fn digest(
        &self,
        v: &Viewer<'_>,
        week: &str,
    ) -> Option<Result<GetDigestResponse, String>> {
        if !v.reads("ReportingService/GetDigest", v.scope()) {
            return None;
        }
        Some(
            self.client
                .digest(self.city(), v.scope(), week)
                .await
                .map_err(status_text),
        )
    }
}

/// The whistle a check-in timer is for: `check_in:{whistle}:{department}`
/// (`hotline_handler::effects::clock_id`).
fn whistle_of_timer(timer_id: &str) -> Option<&str> {
    timer_id
        .strip_prefix("check_in:")
        .and_then(|rest| rest.rsplit_once(':'))
        .map(|(whistle, _)| whistle)
        .filter(|w| !w.is_empty())
}

fn status_text(s: tonic::Status) -> String {
    format!("{:?}: {}", s.code(), s.message())
}

/// Each ranked unit's scorecard this month, by unit id.
pub fn ranked_cards(r: &GetRankingsResponse) -> BTreeMap<String, Scorecard> {
    r.rankings
        .iter()
        .flat_map(|g| &g.entries)
        .filter_map(|e| e.scorecard.clone())
        .map(|s| (s.unit.trim_start_matches("units/").to_string(), s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_in_timer_names_its_whistle() {
        assert_eq!(
            whistle_of_timer("check_in:WH-t-market-000001:dept-urban"),
            Some("WH-t-market-000001")
        );
        assert_eq!(whistle_of_timer("breach:HL1:t-market"), None);
        assert_eq!(whistle_of_timer("check_in::dept"), None);
    }
}
