//! Behaviour models: how a unit of each type acts on its assignments, how
//! arbitrators rule and how citizens answer the callback. Defaults per unit
//! type; a scenario overrides them per type, per group of units or per
//! unit (`[behaviour.township]`, `[behaviour.group.NAME] units = […]`,
//! `[behaviour.unit.ID]`).

use std::collections::BTreeMap;

use hotline_core::{Tier, Topology};
use hotline_geo::tiling::Rng;
use serde::Deserialize;

macro_rules! model {
    ($( $(#[$doc:meta])* $f:ident ),* $(,)?) => {
        /// How one unit behaves (all times are means of exponential draws).
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        pub struct Model { $( $(#[$doc])* pub $f: f64, )* }

        /// A partial [`Model`]: what a scenario table overrides.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Partial { $( #[serde(default)] pub $f: Option<f64>, )* }

        impl Model {
            /// The fields' names, as a scenario writes them.
            pub const FIELDS: &[&str] = &[$( stringify!($f) ),*];

            fn apply(&mut self, p: &Partial) {
                $( if let Some(v) = p.$f { self.$f = v; } )*
            }

            fn scale(&mut self, field: &str, factor: f64) {
                match field {
                    $( stringify!($f) => self.$f *= factor, )*
                    _ => {}
                }
            }
        }
    };
}

model!(
    /// Minutes from dispatch to accepting.
    accept_minutes,
    /// Minutes from accepting to contacting the requester.
    contact_minutes,
    /// Orders in hand before delays grow (in proportion beyond it).
    capacity,
    /// Share of dispatches that truly belong to a neighbour.
    misroute,
    /// Propensity to object when the dispatch was right (a wrong objection).
    object_propensity,
    /// Propensity to object when the dispatch was wrong (a right objection).
    object_if_wrong,
    /// Both propensities and the misroute share are multiplied near a
    /// border and for catalogue items marked ambiguous.
    near_border_factor,
    ambiguous_factor,
    /// A unit handed an order by a ruling objects this much more readily
    /// (another unit has just refused it).
    redirected_factor,
    /// Minutes from dispatch to objecting.
    object_minutes,
    /// Time to reply, as a share of the order's time limit.
    reply_fraction,
    /// Share of replies that resolve the matter.
    resolve_probability,
    /// A township leading alone on a matter of a line department's powers
    /// resolves it at this fraction of `resolve_probability` unless a
    /// department it whistled has helped by the reply (Art. 16).
    unaided_resolve_factor,
    /// Share of answered (dispatched) consultations whose answer the unit
    /// adds to the knowledge base (Art. 31).
    publish_answer,
    /// Propensity to whistle departments (townships), and on a matter of a
    /// line department's powers that no department co-leads.
    whistle_propensity,
    whistle_if_beyond,
    /// Summoned departments: mean hours to check in, per whistle kind.
    check_in_daily_hours,
    check_in_tough_hours,
    check_in_emergency_minutes,
    /// Share of summonses never answered.
    no_show,
    /// Propensity to ask for an extension (general and complex items).
    extension_propensity,
    /// Propensity to hand a duty-list item down to the community, and any
    /// other item (refused while the duty list is enforced).
    hand_down_propensity,
    hand_down_other_propensity,
    /// As an arbitration authority: hours to rule, and the share of
    /// rulings that find the truly responsible unit.
    ruling_hours,
    ruling_accuracy,
    /// As an approver of extensions: share approved.
    approve_extension,
);

impl Default for Model {
    fn default() -> Self {
        Model {
            accept_minutes: 20.0,
            contact_minutes: 45.0,
            capacity: 40.0,
            misroute: 0.03,
            object_propensity: 0.01,
            object_if_wrong: 0.85,
            near_border_factor: 6.0,
            ambiguous_factor: 2.5,
            redirected_factor: 3.0,
            object_minutes: 40.0,
            reply_fraction: 0.35,
            resolve_probability: 0.85,
            unaided_resolve_factor: 1.0,
            publish_answer: 0.5,
            whistle_propensity: 0.0,
            whistle_if_beyond: 0.0,
            check_in_daily_hours: 8.0,
            check_in_tough_hours: 30.0,
            check_in_emergency_minutes: 20.0,
            no_show: 0.08,
            extension_propensity: 0.03,
            hand_down_propensity: 0.0,
            hand_down_other_propensity: 0.0,
            ruling_hours: 6.0,
            ruling_accuracy: 0.8,
            approve_extension: 0.8,
        }
    }
}

/// The unit types behaviour is configured by.
pub fn unit_type(topology: &Topology, unit: &str) -> &'static str {
    match topology.unit(unit) {
        Some(u) => match u.tier {
            Tier::City => "city",
            Tier::District => "district",
            Tier::Township => "township",
            Tier::Community => "community",
            Tier::Central => "central",
            Tier::Department if u.enterprise => "enterprise",
            Tier::Department => "department",
        },
        None => "unknown",
    }
}

fn type_default(kind: &str) -> Model {
    let d = Model::default();
    match kind {
        "township" => Model {
            whistle_propensity: 0.04,
            whistle_if_beyond: 0.5,
            unaided_resolve_factor: 0.6,
            hand_down_propensity: 0.25,
            hand_down_other_propensity: 0.02,
            ..d
        },
        "department" => Model {
            accept_minutes: 35.0,
            misroute: 0.01,
            object_propensity: 0.015,
            reply_fraction: 0.45,
            ..d
        },
        "enterprise" => Model {
            accept_minutes: 15.0,
            misroute: 0.005,
            reply_fraction: 0.3,
            resolve_probability: 0.9,
            ..d
        },
        "city" => Model {
            ruling_hours: 12.0,
            ruling_accuracy: 0.7,
            ..d
        },
        "district" => Model {
            ruling_hours: 4.0,
            ruling_accuracy: 0.9,
            misroute: 0.0,
            ..d
        },
        _ => d,
    }
}

/// How a requester feels when they call: it shapes what they do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mood {
    Calm,
    Anxious,
    Angry,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub units: Vec<String>,
    #[serde(flatten)]
    pub model: Partial,
}

/// How the citizen answers the callback.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Citizen {
    /// Hours from the reply to the centre's callback.
    pub callback_hours: f64,
    /// Says "resolved" after a resolving reply, and after any other.
    pub confirms_resolved: f64,
    pub claims_resolved_otherwise: f64,
    /// Base satisfaction after a resolved matter and after an unresolved one.
    pub satisfied_resolved: f64,
    pub satisfied_unresolved: f64,
    /// Lost per limit's worth of lateness, and per redirection.
    pub lateness_penalty: f64,
    pub redirect_penalty: f64,
    /// Mood shifts: anxious and angry requesters.
    pub anxious_penalty: f64,
    pub angry_penalty: f64,
}

impl Default for Citizen {
    fn default() -> Self {
        Citizen {
            callback_hours: 20.0,
            confirms_resolved: 0.95,
            claims_resolved_otherwise: 0.15,
            satisfied_resolved: 0.9,
            satisfied_unresolved: 0.35,
            lateness_penalty: 0.3,
            redirect_penalty: 0.1,
            anxious_penalty: 0.07,
            angry_penalty: 0.2,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviours {
    pub default: Partial,
    pub township: Partial,
    pub district: Partial,
    pub community: Partial,
    pub department: Partial,
    pub enterprise: Partial,
    pub central: Partial,
    pub city: Partial,
    pub group: BTreeMap<String, Group>,
    pub unit: BTreeMap<String, Partial>,
    pub citizen: Citizen,
    /// A factor on one field for every unit, after every other table
    /// (`[behaviour.scale] resolve_probability = 1.2`): what the
    /// sensitivity runs move.
    pub scale: BTreeMap<String, f64>,
}

impl Behaviours {
    /// Multiplies `field` for every unit by `factor` (on top of any
    /// factor already set).
    pub fn scale(&mut self, field: &str, factor: f64) {
        *self.scale.entry(field.to_string()).or_insert(1.0) *= factor;
    }

    /// A scale naming no field, if any.
    pub fn unknown_scale(&self) -> Option<&str> {
        self.scale
            .keys()
            .map(String::as_str)
            .find(|k| !Model::FIELDS.contains(k))
    }

    /// The model of a unit type before group and unit tables.
    pub fn model_of_type(&self, kind: &str) -> Model {
        let mut m = self.typed(kind);
        for (k, f) in &self.scale {
            m.scale(k, *f);
        }
        m
    }

    fn typed(&self, kind: &str) -> Model {
        let mut m = type_default(kind);
        m.apply(&self.default);
        let by_type = match kind {
            "township" => &self.township,
            "district" => &self.district,
            "community" => &self.community,
            "department" => &self.department,
            "enterprise" => &self.enterprise,
            "central" => &self.central,
            "city" => &self.city,
            _ => &self.default,
        };
        m.apply(by_type);
        m
    }

    /// The model of one unit: type default, then the scenario's default,
    /// type, groups (in name order) and unit tables, then the scales.
    pub fn model(&self, topology: &Topology, unit: &str) -> Model {
        let mut m = self.typed(unit_type(topology, unit));
        for g in self.group.values() {
            if g.units.iter().any(|u| u == unit) {
                m.apply(&g.model);
            }
        }
        if let Some(p) = self.unit.get(unit) {
            m.apply(p);
        }
        for (k, f) in &self.scale {
            m.scale(k, *f);
        }
        m
    }
}

/// An exponential draw with `mean`.
pub fn exp(rng: &mut Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.unit()).max(1e-12).ln()
}

/// The callback: (resolved, satisfaction) from the reply's outcome, how
/// late the business clock ran (in limits), redirections and mood.
pub fn callback(
    c: &Citizen,
    rng: &mut Rng,
    resolved_reply: bool,
    lateness: f64,
    redirects: u32,
    mood: Mood,
) -> (bool, hotline_proto::v1::Satisfaction) {
    use hotline_proto::v1::Satisfaction;
    let p = if resolved_reply {
        c.confirms_resolved
    } else {
        c.claims_resolved_otherwise
    };
    let resolved = rng.unit() < p;
    let mut s = if resolved {
        c.satisfied_resolved
    } else {
        c.satisfied_unresolved
    };
    s -= c.lateness_penalty * lateness.max(0.0);
    s -= c.redirect_penalty * redirects as f64;
    s -= match mood {
        Mood::Calm => 0.0,
        Mood::Anxious => c.anxious_penalty,
        Mood::Angry => c.angry_penalty,
    };
    let x = rng.unit();
    let sat = if x < s {
        Satisfaction::Satisfied
    } else if x < s + 0.2 {
        Satisfaction::BasicallySatisfied
    } else {
        Satisfaction::Dissatisfied
    };
    (resolved, sat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_type_group_then_unit() {
        let t = Topology::parse("demo", hotline_node::DEMO_TOPOLOGY).unwrap();
        let b: Behaviours = toml::from_str(
            "[township]\naccept_minutes = 5\n[group.slow]\nunits = [\"t-pine\", \"t-lake\"]\naccept_minutes = 90\n[unit.t-lake]\nno_show = 0.5\n",
        )
        .unwrap();
        assert_eq!(b.model(&t, "t-market").accept_minutes, 5.0);
        assert_eq!(b.model(&t, "t-pine").accept_minutes, 90.0);
        assert_eq!(b.model(&t, "t-lake").no_show, 0.5);
        assert_eq!(b.model(&t, "dept-utility").resolve_probability, 0.9);
        assert!(toml::from_str::<Behaviours>("[township]\nspeed = 1\n").is_err());
    }

    #[test]
    fn late_angry_unresolved_requesters_are_less_satisfied() {
        let c = Citizen::default();
        let share = |resolved, late, mood| {
            let mut rng = Rng::new(3);
            (0..2000)
                .filter(|_| {
                    callback(&c, &mut rng, resolved, late, 0, mood).1
                        == hotline_proto::v1::Satisfaction::Satisfied
                })
                .count()
        };
        assert!(share(true, 0.0, Mood::Calm) > share(false, 0.0, Mood::Calm));
        assert!(share(true, 0.0, Mood::Calm) > share(true, 1.0, Mood::Calm));
        assert!(share(true, 0.0, Mood::Calm) > share(true, 0.0, Mood::Angry));
    }
}
