//! Handoff counts, kept in memory for `GetHandoffStats`.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use hotline_proto::v1::{GetHandoffStatsResponse, ServiceCount, Tier, TierPairCount};

/// One forwarded call the upstream answered.
pub(crate) struct ForwardedCall<'a> {
    pub from_unit: Option<&'a str>,
    pub to_unit: &'a str,
    pub from_tier: Tier,
    pub to_tier: Tier,
    pub service: &'a str,
    pub pid: u32,
}

/// One mutex over all counters, so a snapshot is consistent; the critical
/// section is a few map updates.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    calls: u64,
    handoffs: u64,
    by_tier_pair: BTreeMap<(Tier, Tier), u64>,
    // Keyed by pid as well, so a restarted service shows as a new process.
    by_service: BTreeMap<(String, u32), u64>,
}

impl Stats {
    pub(crate) fn record(&self, call: &ForwardedCall<'_>) {
        let handoff = call.from_unit.is_some_and(|from| from != call.to_unit);
        let mut counts = self.lock();
        counts.calls += 1;
        counts.handoffs += u64::from(handoff);
        *counts
            .by_tier_pair
            .entry((call.from_tier, call.to_tier))
            .or_default() += 1;
        *counts
            .by_service
            .entry((call.service.to_owned(), call.pid))
            .or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> GetHandoffStatsResponse {
        let counts = self.lock();
        GetHandoffStatsResponse {
            calls: counts.calls,
            handoffs: counts.handoffs,
            by_tier_pair: counts
                .by_tier_pair
                .iter()
                .map(|(&(from, to), &count)| TierPairCount {
                    from_tier: from.into(),
                    to_tier: to.into(),
                    count,
                })
                .collect(),
            by_service: counts
                .by_service
                .iter()
                .map(|((service, pid), &calls)| ServiceCount {
                    service: service.clone(),
                    pid: *pid,
                    calls,
                })
                .collect(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counters stay meaningful even if a holder panicked mid-update.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(from_unit: Option<&'a str>, to_unit: &'a str) -> ForwardedCall<'a> {
        ForwardedCall {
            from_unit,
            to_unit,
            from_tier: Tier::City,
            to_tier: Tier::Township,
            service: "township",
            pid: 7,
        }
    }

    #[test]
    fn a_self_call_or_an_anonymous_call_is_not_a_handoff() {
        let stats = Stats::default();
        stats.record(&call(Some("c-city"), "t-east-1"));
        stats.record(&call(Some("t-east-1"), "t-east-1"));
        stats.record(&call(None, "t-east-1"));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.calls, 3);
        assert_eq!(snapshot.handoffs, 1);
        assert_eq!(snapshot.by_service[0].calls, 3);
    }
}
