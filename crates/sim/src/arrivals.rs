//! Synthetic citizens: how many contacts arrive in a step (population,
//! hour of day, weekday, season), what they are about (category mix,
//! catalogue urgency), where (inside a community's boundary, some near a
//! border), by which channel, from whom (repeat requesters) and in what
//! mood.

use std::collections::BTreeMap;

use hotline_core::calendar::Date;
use hotline_core::{Micros, Topology, Urgency};
use hotline_geo::geo::BoundingRect;
use hotline_geo::tiling::Rng;
use hotline_proto::v1 as pb;

use super::scenario::{Arrivals, Proactive};

pub const DAY: Micros = 86_400_000_000;
pub const HOUR: Micros = 3_600_000_000;
pub const MINUTE: Micros = 60_000_000;

pub use super::behaviour::Mood;

/// One contact, before it reaches the hotline.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// Position in the arrival stream: the key of every later decision.
    pub index: u64,
    pub requester: u64,
    pub kind: pb::RequestKind,
    pub channel: pb::Channel,
    pub item: String,
    pub category: String,
    /// (latitude, longitude) inside a community.
    pub location: Option<(f64, f64)>,
    /// An address of the index, where the city has no boundaries.
    pub address: String,
    pub township: Option<String>,
    pub near_border: bool,
    pub mood: Mood,
    pub repeat: bool,
    /// Which of its item's questions a consultation asks, by popularity
    /// rank (0 is the most asked); the same matter asks the same one.
    pub question: u32,
}

impl Arrival {
    /// An arrival with nothing drawn, for building one by hand.
    pub fn blank() -> Arrival {
        Arrival {
            index: 0,
            requester: 0,
            kind: pb::RequestKind::Consultation,
            channel: pb::Channel::Phone,
            item: String::new(),
            category: String::new(),
            location: None,
            address: String::new(),
            township: None,
            near_border: false,
            mood: Mood::Calm,
            repeat: false,
            question: 0,
        }
    }
}

struct Place {
    leaf: u32,
    township: String,
    cumulative: f64,
}

/// A category's items: those with an answer, and those a request may be
/// dispatched on with their weights.
type Choices = (Vec<String>, Vec<(String, f64)>);

struct Category {
    code: String,
    weight: f64,
    /// Items carrying an answer for consultations.
    answers: Vec<String>,
    /// Items a request may be dispatched on, cumulative weights.
    requests: Vec<(String, f64)>,
}

/// Draws arrivals step by step; deterministic for a seed.
pub struct Generator {
    rng: Rng,
    cfg: Arrivals,
    proactive: Proactive,
    start: Micros,
    places: Vec<Place>,
    addresses: Vec<(String, String)>,
    categories: Vec<Category>,
    category_total: f64,
    next_index: u64,
    next_requester: u64,
    /// Earlier contacts a repeat requester may come back about.
    past: Vec<Arrival>,
    step_past: Vec<Arrival>,
    /// Per proactive task and day: matching arrivals drawn, and prevented.
    pub proactive_days: BTreeMap<(usize, i64), (u64, u64)>,
    seed: u64,
    /// Cumulative Zipf weights of an item's questions by rank.
    questions: Vec<(u32, f64)>,
}

fn weighted<'a, T>(rng: &mut Rng, items: &'a [(T, f64)]) -> &'a T {
    let total = items.last().map(|(_, c)| *c).unwrap_or(0.0);
    let x = rng.unit() * total;
    let i = items.partition_point(|(_, c)| *c <= x).min(items.len() - 1);
    &items[i].0
}

fn cumulative<T: Clone>(v: impl IntoIterator<Item = (T, f64)>) -> Vec<(T, f64)> {
    let mut sum = 0.0;
    v.into_iter()
        .filter(|(_, w)| *w > 0.0)
        .map(|(t, w)| {
            sum += w;
            (t, sum)
        })
        .collect()
}

/// A Poisson draw (normal approximation for large means).
pub fn poisson(rng: &mut Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 50.0 {
        let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        return (mean + z * mean.sqrt()).round().max(0.0) as u64;
    }
    let l = (-mean).exp();
    let (mut k, mut p) = (0u64, 1.0);
    loop {
        p *= rng.unit();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

impl Generator {
    pub fn new(
        topology: &Topology,
        cfg: &Arrivals,
        proactive: &Proactive,
        seed: u64,
        start: Micros,
    ) -> Self {
        let atlas = topology.atlas();
        let mut sum = 0.0;
        let mut places = Vec::new();
        for leaf in 0..atlas.len() as u32 {
            let unit = topology.leaf_unit(leaf);
            let Some(township) = topology.parent_of(&unit.id) else {
                continue;
            };
            sum += unit.population.max(1) as f64;
            places.push(Place {
                leaf,
                township: township.id.clone(),
                cumulative: sum,
            });
        }
        let mut addresses: Vec<(String, String)> = topology
            .addresses()
            .into_iter()
            .map(|(a, p)| (a.to_string(), p.township.clone()))
            .collect();
        addresses.sort();
        let mut by_category: BTreeMap<String, Choices> = BTreeMap::new();
        for item in topology.catalogue() {
            let category = topology
                .group(&item.subcategory)
                .and_then(|g| g.parent.clone())
                .unwrap_or_else(|| item.subcategory.clone());
            let e = by_category.entry(category).or_default();
            if item.answer.is_some() {
                e.0.push(item.code.clone());
            }
            if item.territory || item.department.is_some() || item.line.is_some() {
                let w = cfg
                    .urgency_weights
                    .get(item.urgency.as_str())
                    .copied()
                    .unwrap_or(0.0);
                e.1.push((item.code.clone(), w));
            }
        }
        let mut categories = Vec::new();
        let mut category_total = 0.0;
        for (code, (answers, requests)) in by_category {
            let requests = cumulative(requests);
            if requests.is_empty() && answers.is_empty() {
                continue;
            }
            let w = cfg
                .categories
                .get(&code)
                .copied()
                .unwrap_or(cfg.other_category_weight);
            category_total += w;
            categories.push(Category {
                code,
                weight: category_total,
                answers,
                requests,
            });
        }
        let questions = cumulative(
            (0..cfg.questions_per_item.max(1))
                .map(|k| (k, 1.0 / (k as f64 + 1.0).powf(cfg.question_zipf))),
        );
        Generator {
            seed,
            questions,
            rng: Rng::new(seed ^ 0xa11_1a1),
            cfg: cfg.clone(),
            proactive: proactive.clone(),
            start,
            places,
            addresses,
            categories,
            category_total,
            next_index: 0,
            next_requester: 0,
            past: Vec::new(),
            step_past: Vec::new(),
            proactive_days: BTreeMap::new(),
        }
    }

    /// The expected contacts in `[t, t + len)`.
    pub fn expected(&self, t: Micros, len: Micros) -> f64 {
        let c = &self.cfg;
        let day = Date::of(t);
        let hour = ((t - day.start()) / HOUR).clamp(0, 23) as usize;
        let weekday = day.weekday() as usize;
        let month = day.month as usize - 1;
        c.per_day * (len as f64 / DAY as f64) * c.hour_weights[hour] / mean(&c.hour_weights)
            * c.weekday_weights[weekday]
            / mean(&c.weekday_weights)
            * c.month_weights[month]
            / mean(&c.month_weights)
    }

    /// The contacts of the step `[t, t + len)`, in arrival order.
    pub fn step(&mut self, topology: &Topology, t: Micros, len: Micros) -> Vec<Arrival> {
        // Repeats come back about contacts of earlier steps only, so no two
        // contacts of one step depend on each other's outcome.
        self.past.append(&mut self.step_past);
        if self.past.len() > 20_000 {
            self.past.drain(..10_000);
        }
        let expected = self.expected(t, len);
        let n = poisson(&mut self.rng, expected);
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let a = self.draw(topology);
            if self.prevented(&a, t) {
                continue;
            }
            out.push(a);
        }
        self.step_past.extend(out.iter().cloned());
        out
    }

    /// Whether a proactive task in force prevents this contact.
    fn prevented(&mut self, a: &Arrival, t: Micros) -> bool {
        if !self.proactive.enabled {
            return false;
        }
        let day = (t - self.start) / DAY;
        for (i, task) in self.proactive.tasks.iter().enumerate() {
            let area = match (&task.area, &a.township) {
                (None, _) => true,
                (Some(area), Some(tw)) => area == tw || area.is_empty(),
                (Some(_), None) => false,
            };
            if task.category != a.category || !area {
                continue;
            }
            let e = self.proactive_days.entry((i, day)).or_default();
            e.0 += 1;
            let active = (t - self.start) as f64 >= task.from_day * DAY as f64;
            if active && self.rng.unit() < task.effect {
                e.1 += 1;
                return true;
            }
        }
        false
    }

    fn draw(&mut self, topology: &Topology) -> Arrival {
        let index = self.next_index;
        self.next_index += 1;
        let rng = &mut self.rng;
        let mood = match rng.unit() {
            x if x < self.cfg.moods.get("calm").copied().unwrap_or(0.7) => Mood::Calm,
            x if x < self.cfg.moods.get("calm").copied().unwrap_or(0.7)
                + self.cfg.moods.get("anxious").copied().unwrap_or(0.2) =>
            {
                Mood::Anxious
            }
            _ => Mood::Angry,
        };
        let channels = cumulative(self.cfg.channels.iter().map(|(k, v)| (k.clone(), *v)));
        let channel = pb::Channel::from_str_name(&format!(
            "CHANNEL_{}",
            weighted(rng, &channels).to_uppercase()
        ))
        .unwrap_or(pb::Channel::Phone);
        if !self.past.is_empty() && rng.unit() < self.cfg.repeat_share {
            let prev = self.past[rng.below(self.past.len())].clone();
            let same = rng.unit() < self.cfg.repeat_same_matter;
            let mut a = if same {
                prev.clone()
            } else {
                let mut fresh = self.fresh(topology, mood);
                fresh.requester = prev.requester;
                fresh
            };
            a.index = index;
            a.channel = channel;
            a.mood = if same {
                Mood::Angry.max(prev.mood)
            } else {
                mood
            };
            a.repeat = true;
            return a;
        }
        let mut a = self.fresh(topology, mood);
        a.index = index;
        a.channel = channel;
        a
    }

    fn fresh(&mut self, topology: &Topology, mood: Mood) -> Arrival {
        let requester = self.next_requester;
        self.next_requester += 1;
        let rng = &mut self.rng;
        let x = rng.unit() * self.category_total;
        let ci = self
            .categories
            .partition_point(|c| c.weight <= x)
            .min(self.categories.len() - 1);
        let cat = &self.categories[ci];
        let consult = rng.unit() < self.cfg.consultation_share;
        let (kind, item) = if consult && !cat.answers.is_empty() {
            let i = cat.answers[rng.below(cat.answers.len())].clone();
            (pb::RequestKind::Consultation, i)
        } else if !cat.requests.is_empty() {
            let kind = if consult {
                pb::RequestKind::Consultation
            } else {
                *weighted(
                    rng,
                    &[
                        (pb::RequestKind::Help, 0.25),
                        (pb::RequestKind::Complaint, 0.7),
                        (pb::RequestKind::Report, 0.9),
                        (pb::RequestKind::Suggestion, 1.0),
                    ],
                )
            };
            (kind, weighted(rng, &cat.requests).clone())
        } else {
            let i = cat.answers[rng.below(cat.answers.len())].clone();
            (pb::RequestKind::Consultation, i)
        };
        let category = cat.code.clone();
        let near = rng.unit() < self.cfg.near_border_share;
        let (location, township, near_border, address) = self.place(topology, near);
        Arrival {
            index: 0,
            requester,
            kind,
            channel: pb::Channel::Phone,
            item,
            category,
            location,
            address,
            township,
            near_border,
            mood,
            repeat: false,
            question: self.question(requester),
        }
    }

    /// The question a fresh matter asks, from its own generator so the
    /// arrival stream is drawn the same whatever the question model.
    fn question(&self, requester: u64) -> u32 {
        let mut rng = Rng::new(self.seed ^ requester.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x0a5c);
        *weighted(&mut rng, &self.questions)
    }

    /// Catalogue items a consultation may ask about that carry no
    /// catalogue answer: only the knowledge base answers those at intake.
    pub fn knowledge_items(&self) -> Vec<String> {
        let mut items: Vec<String> = self
            .categories
            .iter()
            .filter(|c| c.answers.is_empty())
            .flat_map(|c| c.requests.iter().map(|(code, _)| code.clone()))
            .collect();
        items.sort();
        items.dedup();
        items
    }

    /// A point in a community drawn by population; near a border when asked.
    fn place(
        &mut self,
        topology: &Topology,
        near: bool,
    ) -> (Option<(f64, f64)>, Option<String>, bool, String) {
        let rng = &mut self.rng;
        if self.places.is_empty() {
            if self.addresses.is_empty() {
                return (None, None, false, String::new());
            }
            let (a, t) = self.addresses[rng.below(self.addresses.len())].clone();
            return (None, Some(t), false, a);
        }
        let total = self.places.last().map(|p| p.cumulative).unwrap_or(0.0);
        let x = rng.unit() * total;
        let i = self
            .places
            .partition_point(|p| p.cumulative <= x)
            .min(self.places.len() - 1);
        let place = &self.places[i];
        let atlas = topology.atlas();
        let shape = atlas.shape(place.leaf);
        if near {
            let verts: Vec<_> = shape
                .0
                .iter()
                .flat_map(|p| p.exterior().0.iter().copied())
                .collect();
            // About a third of the near-boundary distance, in degrees.
            let jitter = atlas.near_metres().max(3.0) / 3.0 / 111_000.0;
            for _ in 0..20 {
                let v = verts[rng.below(verts.len())];
                let (lon, lat) = (v.x + rng.signed() * jitter, v.y + rng.signed() * jitter);
                if let Some(hit) = atlas.locate(lon, lat)
                    && hit.near_boundary()
                {
                    let township = topology
                        .parent_of(&topology.leaf_unit(hit.leaf).id)
                        .map(|u| u.id.clone());
                    return (Some((lat, lon)), township, true, String::new());
                }
            }
        }
        if let Some(bbox) = shape.bounding_rect() {
            for _ in 0..50 {
                let lon = bbox.min().x + rng.unit() * bbox.width();
                let lat = bbox.min().y + rng.unit() * bbox.height();
                if let Some(hit) = atlas.locate(lon, lat)
                    && hit.leaf == place.leaf
                {
                    return (
                        Some((lat, lon)),
                        Some(place.township.clone()),
                        hit.near_boundary(),
                        String::new(),
                    );
                }
            }
        }
        (None, Some(place.township.clone()), false, String::new())
    }
}

/// The catalogue urgency of an item.
pub fn urgency(topology: &Topology, item: &str) -> Urgency {
    topology
        .item(item)
        .map(|i| i.urgency)
        .unwrap_or(Urgency::General)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Topology {
        Topology::parse("demo", hotline_node::DEMO_TOPOLOGY).unwrap()
    }

    #[test]
    fn arrivals_peak_in_office_hours_and_are_seeded() {
        let t = demo();
        let cfg = Arrivals::default();
        let start = hotline_node::parse_instant("2026-11-16T00:00").unwrap();
        let g = Generator::new(&t, &cfg, &Proactive::default(), 1, start);
        let at = |h: i64| g.expected(start + h * HOUR, HOUR);
        assert!(at(10) > 3.0 * at(3), "a morning peak");
        assert!(at(15) > 3.0 * at(3), "an afternoon peak");
        let draw = |seed| {
            let mut g = Generator::new(&t, &cfg, &Proactive::default(), seed, start);
            (0..24)
                .flat_map(|h| g.step(&t, start + h * HOUR, HOUR))
                .map(|a| (a.item, a.location.map(|(x, y)| (x.to_bits(), y.to_bits()))))
                .collect::<Vec<_>>()
        };
        let one = draw(1);
        assert_eq!(one, draw(1));
        assert_ne!(one, draw(2));
        assert!(one.iter().all(|(_, l)| l.is_some()), "located in the city");
    }

    #[test]
    fn consultations_take_their_share() {
        let t = demo();
        let cfg = Arrivals {
            per_day: 5000.0,
            ..Arrivals::default()
        };
        let start = hotline_node::parse_instant("2026-11-16T00:00").unwrap();
        let mut g = Generator::new(&t, &cfg, &Proactive::default(), 7, start);
        let all = g.step(&t, start, DAY);
        let share = all
            .iter()
            .filter(|a| a.kind == pb::RequestKind::Consultation)
            .count() as f64
            / all.len() as f64;
        assert!((share - 0.585).abs() < 0.05, "{share}");
        let near = all.iter().filter(|a| a.near_border).count() as f64 / all.len() as f64;
        assert!(near >= 0.04, "{near}");
    }

    /// A calibration check, not evidence: the generated catalogue's
    /// routing was written so that, applied to the published category mix,
    /// the leads at intake fall on the published shares by handler type
    /// (district departments, townships, city departments, enterprises,
    /// others). The report lists the routing as a fitted input; the final
    /// shares, after behaviour, are its outputs.
    #[test]
    fn beijing_routing_is_fitted_to_the_published_shares_at_intake() {
        let city = hotline_topogen::beijing::generate(1, "b.geojson");
        let t = Topology::parse_with("b.toml", &city.toml, |_| Ok(city.geojson.clone())).unwrap();
        let cfg = Arrivals {
            per_day: 58_700.0,
            ..Arrivals::default()
        };
        let start = hotline_node::parse_instant("2026-11-16T00:00").unwrap();
        let mut g = Generator::new(&t, &cfg, &Proactive::default(), 3, start);
        let mut leads: BTreeMap<&str, f64> = BTreeMap::new();
        let day: Vec<Arrival> = (0..24)
            .flat_map(|h| g.step(&t, start + h * HOUR, HOUR))
            .collect();
        for a in day {
            let place = hotline_core::topology::Place {
                township: a.township.clone().expect("located"),
                community: None,
            };
            let kind: hotline_core::model::RequestKind =
                hotline_runtime::wire::WireEnum::from_wire(a.kind as i32).unwrap();
            let d = hotline_core::dispatch::decide_at(
                &t,
                kind,
                &a.item,
                hotline_core::dispatch::Site::Place(&place),
            )
            .unwrap();
            if let hotline_core::dispatch::Decision::Dispatch { assignments, .. } = d {
                for p in assignments
                    .iter()
                    .filter(|p| p.role == hotline_core::model::Role::Lead)
                {
                    *leads
                        .entry(crate::driver::handler_type(&t, &p.unit_id))
                        .or_default() += 1.0;
                }
            }
        }
        let total: f64 = leads.values().sum();
        assert!(total > 20_000.0, "{total} leads");
        for (kind, published) in [
            ("district_departments", 37.8),
            ("townships", 36.0),
            ("city_departments", 16.1),
            ("enterprises", 7.4),
            ("others", 2.7),
        ] {
            let share = 100.0 * leads.get(kind).copied().unwrap_or(0.0) / total;
            eprintln!("{kind}: {share:.1} % (published {published} %)");
            assert!(
                (share - published).abs() < 3.0,
                "{kind}: {share:.1} % against the published {published} % ({leads:?})"
            );
        }
    }
}
