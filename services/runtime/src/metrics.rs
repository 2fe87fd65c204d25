//! A service's metrics, served in Prometheus text format on
//! `--metrics-addr`: RPC durations, the outbox and timers, and the business
//! durations of handoffs by tier pair. Business durations are measured on
//! the business clock (virtual under the simulator), in seconds. Labels are
//! bounded: tiers, roles, kinds, urgencies; never an order or unit id.
//! Every series the domain can name in advance is there from the start at
//! zero ([`Metrics::seed`]), so a fresh mesh's dashboards read zero rather
//! than "no data".

use std::sync::Arc;

use crate::tables::outbox;
use crate::tables::timers;
use hotline_core::jurisdiction::handles_dispatch;
use hotline_core::kinds::TimerKind;
use hotline_core::{Role, RulingKind, Satisfaction, Tier, Urgency, WhistleKind};
use hotline_store::Db;
use hotline_telemetry::metrics::{self as m, Histograms, Registry, RpcMetrics};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// A tier pair and what went between them.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PairLabels {
    pub from_tier: String,
    pub to_tier: String,
    /// The handoff kind, or what refines it (a role, a whistle kind).
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UrgencyLabels {
    pub urgency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// A response window (Art. 15) closing: accept, then contact.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WindowLabels {
    pub to_tier: String,
    /// `accept` or `contact`.
    pub window: String,
    /// `true` when met in time.
    pub met: String,
}

/// The centre's callback: the resolution and satisfaction rates' source.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallbackLabels {
    pub urgency: String,
    pub resolved: String,
    pub satisfaction: String,
}

/// Business durations, each by tier pair and kind.
#[derive(Clone)]
pub struct Business {
    /// A lead or co-handler assignment dispatched → accepted; kind: role.
    pub dispatch_to_accept: Histograms<PairLabels>,
    /// A whistle blown → a summoned department checked in; kind: whistle kind.
    pub whistle_to_check_in: Histograms<PairLabels>,
    /// A jurisdiction objection filed → ruled; kind: the ruling.
    pub objection_to_ruling: Histograms<PairLabels>,
    /// A lead's limit passed → the centre's supervision issued; kind: urgency.
    pub breach_to_supervision: Histograms<PairLabels>,
    /// Intake → closed after the callback.
    pub intake_to_close: Histograms<UrgencyLabels>,
}

pub struct Metrics {
    pub registry: Registry,
    pub rpc: RpcMetrics,
    pub outbox_delivered: Family<PairLabels, Counter>,
    pub outbox_retries: Counter,
    pub outbox_dead_letters: Counter,
    pub outbox_depth: Gauge,
    pub dead_letters: Gauge,
    pub timers_pending: Gauge,
    pub timers_due: Gauge,
    pub timers_fired: Family<KindLabels, Counter>,
    pub response_windows: Family<WindowLabels, Counter>,
    pub callbacks: Family<CallbackLabels, Counter>,
    pub business: Business,
    /// A unit's tier, for labels (from the topology).
    tier_of: Option<hotline_telemetry::rpc::TierOf>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(Registry::default(), None)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(registry: Registry, tier_of: Option<hotline_telemetry::rpc::TierOf>) -> Self {
        let business = Business {
            dispatch_to_accept: m::business(),
            whistle_to_check_in: m::business(),
            objection_to_ruling: m::business(),
            breach_to_supervision: m::business(),
            intake_to_close: m::business(),
        };
        let metrics = Self {
            rpc: RpcMetrics::new(&registry),
            outbox_delivered: Family::default(),
            outbox_retries: Counter::default(),
            outbox_dead_letters: Counter::default(),
            outbox_depth: Gauge::default(),
            dead_letters: Gauge::default(),
            timers_pending: Gauge::default(),
            timers_due: Gauge::default(),
            timers_fired: Family::default(),
            response_windows: Family::default(),
            callbacks: Family::default(),
            business,
            registry,
            tier_of,
        };
        let r = &metrics.registry;
        r.register(
            "hotline_outbox_delivered",
            "Handoffs delivered from this service's outbox, by tier pair and handoff kind",
            metrics.outbox_delivered.clone(),
        );
        r.register(
            "hotline_outbox_retries",
            "Deliveries that failed with a transient code and will be retried",
            metrics.outbox_retries.clone(),
        );
        r.register(
            "hotline_outbox_dead_letters",
            "Handoffs the receiver refused for good, parked as dead letters",
            metrics.outbox_dead_letters.clone(),
        );
        r.register(
            "hotline_outbox_depth",
            "Handoffs waiting in the outbox",
            metrics.outbox_depth.clone(),
        );
        r.register(
            "hotline_dead_letters",
            "Dead letters held, waiting for an operator",
            metrics.dead_letters.clone(),
        );
        r.register(
            "hotline_timers_pending",
            "Armed timers not yet fired",
            metrics.timers_pending.clone(),
        );
        r.register(
            "hotline_timers_due",
            "Timers due on the business clock and not yet fired (the sweep backlog)",
            metrics.timers_due.clone(),
        );
        r.register(
            "hotline_timers_fired",
            "Timers fired, by kind",
            metrics.timers_fired.clone(),
        );
        r.register(
            "hotline_response_windows",
            "Leads' accept and contact windows closed, by handler tier and whether met (the response rate)",
            metrics.response_windows.clone(),
        );
        r.register(
            "hotline_callbacks",
            "Callbacks to requesters, by urgency, resolved and satisfaction (the resolution and satisfaction rates)",
            metrics.callbacks.clone(),
        );
        let b = &metrics.business;
        for (name, help, family) in [
            (
                "hotline_dispatch_to_accept_seconds",
                "Business time from dispatch to accept, by tier pair and role",
                &b.dispatch_to_accept,
            ),
            (
                "hotline_whistle_to_check_in_seconds",
                "Business time from a whistle to a summoned department's check-in, by tier pair and whistle kind",
                &b.whistle_to_check_in,
            ),
            (
                "hotline_objection_to_ruling_seconds",
                "Business time from a jurisdiction objection to its ruling, by tier pair and ruling",
                &b.objection_to_ruling,
            ),
            (
                "hotline_breach_to_supervision_seconds",
                "Business time from a lead passing its limit to the centre's supervision, by tier pair and urgency",
                &b.breach_to_supervision,
            ),
        ] {
            r.register(name, help, family.clone());
        }
        r.register(
            "hotline_intake_to_close_seconds",
            "Business time from intake to close, by urgency",
            b.intake_to_close.clone(),
        );
        metrics
    }

    /// Creates, at zero, every series whose labels the domain fixes, in
    /// the service that observes them (`host`, the tier of the units it
    /// hosts): the centre's callbacks, response windows, business
    /// durations and timers in the city's service; whistle to check-in and
    /// the check-in timer in the districts', which register whistles.
    /// Families labelled by what only traffic tells (RPC codes, handoff
    /// kinds) appear with their first event.
    pub fn seed(&self, host: Tier) {
        let fired = |kind: TimerKind| {
            drop(self.timers_fired.get_or_create(&KindLabels {
                kind: kind.to_string(),
            }))
        };
        if host.registers_whistles() {
            self.seed_whistles();
            fired(TimerKind::CheckIn);
        }
        if host == Tier::City {
            self.seed_centre();
            TimerKind::ALL
                .iter()
                .filter(|k| **k != TimerKind::CheckIn)
                .for_each(|k| fired(*k));
        }
    }

    fn seed_whistles(&self) {
        // A township whistles to its district; departments check in.
        for kind in WhistleKind::ALL {
            drop(
                self.business
                    .whistle_to_check_in
                    .get_or_create(&PairLabels {
                        from_tier: Tier::Township.as_str().to_string(),
                        to_tier: Tier::Department.as_str().to_string(),
                        kind: kind.as_str().to_string(),
                    }),
            );
        }
    }

    fn seed_centre(&self) {
        let pair = |from: Tier, to: Tier, kind: &str| PairLabels {
            from_tier: from.as_str().to_string(),
            to_tier: to.as_str().to_string(),
            kind: kind.to_string(),
        };
        let b = &self.business;
        let leads: Vec<Tier> = Tier::ALL
            .iter()
            .copied()
            .filter(|t| t.takes(Role::Lead))
            .collect();
        for urgency in Urgency::ALL.iter().map(|u| u.as_str()) {
            let labels = UrgencyLabels {
                urgency: urgency.to_string(),
            };
            drop(b.intake_to_close.get_or_create(&labels));
            for resolved in ["true", "false"] {
                for satisfaction in Satisfaction::ALL {
                    let labels = CallbackLabels {
                        urgency: urgency.to_string(),
                        resolved: resolved.to_string(),
                        satisfaction: satisfaction.as_str().to_string(),
                    };
                    drop(self.callbacks.get_or_create(&labels));
                }
            }
            // The centre supervises a lead that passed its limit.
            for &to in &leads {
                drop(
                    b.breach_to_supervision
                        .get_or_create(&pair(Tier::City, to, urgency)),
                );
            }
        }
        for &to in &leads {
            for window in ["accept", "contact"] {
                for met in ["true", "false"] {
                    let labels = WindowLabels {
                        to_tier: to.as_str().to_string(),
                        window: window.to_string(),
                        met: met.to_string(),
                    };
                    drop(self.response_windows.get_or_create(&labels));
                }
            }
        }
        // The centre dispatches; a unit accepts in any role it takes but a copy.
        for &to in Tier::ALL {
            for role in [Role::Lead, Role::CoHandler, Role::Assist] {
                if to.takes(role) {
                    drop(
                        b.dispatch_to_accept
                            .get_or_create(&pair(Tier::City, to, role.as_str())),
                    );
                }
            }
        }
        // A unit that handles dispatch objects; the centre rules, or under
        // district-first the district of a township or department.
        for &from in Tier::ALL.iter().filter(|t| handles_dispatch(**t)) {
            let rulers: &[Tier] = match from {
                Tier::Township | Tier::Department => &[Tier::City, Tier::District],
                _ => &[Tier::City],
            };
            for &to in rulers {
                for ruling in RulingKind::ALL {
                    drop(
                        b.objection_to_ruling
                            .get_or_create(&pair(from, to, ruling.as_str())),
                    );
                }
            }
        }
    }

    /// A unit's tier name, or `unknown`.
    pub fn tier(&self, unit: &str) -> &'static str {
        self.tier_of
            .as_ref()
            .and_then(|t| t(unit))
            .unwrap_or("unknown")
    }

    /// Labels for a handoff from `from` to `to`.
    pub fn pair(&self, from: &str, to: &str, kind: &str) -> PairLabels {
        PairLabels {
            from_tier: self.tier(from).to_string(),
            to_tier: self.tier(to).to_string(),
            kind: kind.to_string(),
        }
    }

    /// A lead's response window closed at `unit`.
    pub fn window(&self, unit: &str, window: &str, met: bool) {
        self.response_windows
            .get_or_create(&WindowLabels {
                to_tier: self.tier(unit).to_string(),
                window: window.to_string(),
                met: met.to_string(),
            })
            .inc();
    }

    pub fn delivered(&self, from: &str, to: &str, kind: &str) {
        self.outbox_delivered
            .get_or_create(&self.pair(from, to, kind))
            .inc();
    }

    /// Observes a business duration in microseconds (negative ones, from
    /// clock skew between tiers, count as zero).
    pub fn observe(family: &Histograms<PairLabels>, labels: &PairLabels, micros: i64) {
        family
            .get_or_create(labels)
            .observe(micros.max(0) as f64 / 1e6);
    }

    /// Reads the gauges kept in the database; run before each scrape.
    pub async fn refresh(&self, db: &Db, now: i64) {
        let Ok(mut c) = db.acquire().await else {
            return;
        };
        if let Ok(n) = outbox::depth(&mut c).await {
            self.outbox_depth.set(n);
        }
        if let Ok(n) = outbox::dead_letter_count(&mut c).await {
            self.dead_letters.set(n);
        }
        if let Ok((pending, due)) = timers::counts(&mut c, now).await {
            self.timers_pending.set(pending);
            self.timers_due.set(due);
        }
    }
}

/// The refresher for a service's `/metrics`.
pub fn refresher(ctx: &crate::Ctx) -> hotline_telemetry::metrics::Refresh {
    let (metrics, db, clock) = (ctx.metrics.clone(), ctx.db.clone(), ctx.clock.clone());
    Arc::new(move || {
        let (metrics, db, clock) = (metrics.clone(), db.clone(), clock.clone());
        Box::pin(async move { metrics.refresh(&db, clock.now()).await })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_in_base_units() {
        let m = Metrics::default();
        m.outbox_dead_letters.inc_by(2);
        m.outbox_depth.set(5);
        Metrics::observe(
            &m.business.dispatch_to_accept,
            &m.pair("city", "t-1", "lead"),
            90_000_000,
        );
        let text = m.registry.render();
        assert!(
            text.contains("hotline_outbox_dead_letters_total 2\n"),
            "{text}"
        );
        assert!(text.contains("hotline_outbox_depth 5\n"), "{text}");
        assert!(
            text.contains("hotline_dispatch_to_accept_seconds_sum{from_tier=\"unknown\",to_tier=\"unknown\",kind=\"lead\"} 90.0"),
            "{text}"
        );
        // Unseeded: a family shows once it has a series.
        assert!(!text.contains("hotline_intake_to_close_seconds"), "{text}");
    }

    #[test]
    fn a_fresh_service_has_every_family_it_observes_at_zero() {
        let centre = Metrics::default();
        centre.seed(Tier::City);
        let township = Metrics::default();
        township.seed(Tier::District);
        let department = Metrics::default();
        department.seed(Tier::Department);
        let (text, township, department) = (
            centre.registry.render(),
            township.registry.render(),
            department.registry.render(),
        );
        let whistle = "hotline_whistle_to_check_in_seconds_count{from_tier=\"township\",to_tier=\"department\",kind=\"daily\"} 0\n";
        assert!(township.contains(whistle), "{township}");
        assert!(!text.contains(whistle), "the centre observes no whistle");
        assert!(
            township.contains("hotline_timers_fired_total{kind=\"check_in\"} 0\n"),
            "{township}"
        );
        assert!(
            text.contains("hotline_timers_fired_total{kind=\"breach\"} 0\n")
                && !text.contains("kind=\"check_in\""),
            "{text}"
        );
        assert!(!township.contains("hotline_callbacks_total{"), "{township}");
        assert!(!department.contains("_seconds_count{"), "{department}");
        for series in [
            "hotline_callbacks_total{urgency=\"general\",resolved=\"true\",satisfaction=\"satisfied\"} 0\n",
            "hotline_callbacks_total{urgency=\"emergency\",resolved=\"false\",satisfaction=\"dissatisfied\"} 0\n",
            "hotline_response_windows_total{to_tier=\"township\",window=\"accept\",met=\"true\"} 0\n",
            "hotline_intake_to_close_seconds_count{urgency=\"complex\"} 0\n",
            "hotline_breach_to_supervision_seconds_count{from_tier=\"city\",to_tier=\"township\",kind=\"general\"} 0\n",
            "hotline_objection_to_ruling_seconds_count{from_tier=\"township\",to_tier=\"district\",kind=\"redirect\"} 0\n",
            "hotline_dispatch_to_accept_seconds_count{from_tier=\"city\",to_tier=\"department\",kind=\"co_handler\"} 0\n",
        ] {
            assert!(text.contains(series), "{series} missing: {text}");
        }
        // Only pairs the domain allows: the centre takes no lead, a district
        // no co-handler.
        for absent in [
            "to_tier=\"city\",kind=\"lead\"",
            "to_tier=\"district\",kind=\"co_handler\"",
        ] {
            assert!(!text.contains(absent), "{absent}: {text}");
        }
    }
}
