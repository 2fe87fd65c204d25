//! The virtual-time loop. Each step: `AdvanceTo(t)` across the mesh (every
//! service's timers and outbox drained up to t), the step's arrivals
//! submitted to the centre, then the behaviour events due by t executed as
//! real RPCs. RPCs of different orders run concurrently; every decision is
//! drawn from a generator keyed by the arrival, and results are applied in
//! (time, arrival, sequence) order, so the outcome does not depend on
//! which RPC finished first.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use hotline_core::{Micros, Tier, Topology, Urgency};
use hotline_geo::tiling::Rng;
use hotline_proto::v1 as pb;
use hotline_runtime::wire::{WireEnum, micros};
use pb::{AssignmentRole, AssignmentState, OrderState, ReplyOutcome};

use super::arrivals::{Arrival, Generator, MINUTE, Mood};
use super::behaviour::{self, Behaviours, Model, exp};
use super::scenario::Scenario;
use super::triage::{Outcome, TextPool};
use hotline_client::{MeshClient, request_id};

/// Runs an RPC, again when the store aborted it on a concurrent update
/// (nothing was changed); any other refusal is the event's outcome.
macro_rules! call {
    ($rpc:expr) => {{
        let mut tries = 0;
        loop {
            match $rpc.await {
                Err(s) if s.code() == tonic::Code::Aborted && tries < 8 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5 << tries)).await;
                }
                r => break r.map_err(|s| Done::Refused(s.code())),
            }
        }
    }};
}

/// An event's place in the queue: (time, arrival, sequence).
type Key = (Micros, u64, u64);

/// Keys of proactive tasks' orders, above every arrival's index.
const TASK_KEY: u64 = 1 << 62;

/// What a behaviour does next on one order.
#[derive(Debug, Clone)]
enum Ev {
    Accept {
        unit: String,
        epoch: u64,
    },
    Contact {
        unit: String,
        epoch: u64,
    },
    Reply {
        unit: String,
        epoch: u64,
        outcome: ReplyOutcome,
        /// The outcome when the matter needs powers the unit lacks and no
        /// summoned department has helped by the reply (Art. 16).
        unaided: Option<ReplyOutcome>,
    },
    /// A unit adds its answer to a dispatched consultation to the
    /// knowledge base (Art. 31), so intake answers the question next time.
    Publish {
        unit: String,
    },
    Object {
        unit: String,
        epoch: u64,
        proposed: String,
    },
    Rule {
        by: String,
        correct: bool,
    },
    Refresh,
    Callback {
        seed: u64,
        tries: u32,
    },
    Whistle {
        unit: String,
        epoch: u64,
        kind: pb::WhistleKind,
        departments: Vec<String>,
    },
    CheckIn {
        department: String,
        district: String,
        whistle: String,
    },
    Assist {
        unit: String,
        tries: u32,
    },
    HandDown {
        unit: String,
        epoch: u64,
        community: String,
    },
    Extension {
        unit: String,
        epoch: u64,
    },
    Decide {
        approver: String,
        unit: String,
        approve: bool,
    },
    /// The lead of an order triage misclassified flags it; the centre
    /// reclassifies it to the caller's item.
    Reclassify {
        code: String,
    },
}

impl Ev {
    fn name(&self) -> &'static str {
        match self {
            Ev::Accept { .. } => "accept",
            Ev::Contact { .. } => "contact",
            Ev::Reply { .. } => "reply",
            Ev::Object { .. } => "object",
            Ev::Rule { .. } => "rule",
            Ev::Refresh => "refresh",
            Ev::Callback { .. } => "callback",
            Ev::Whistle { .. } => "whistle",
            Ev::CheckIn { .. } => "check_in",
            Ev::Assist { .. } => "assist",
            Ev::HandDown { .. } => "hand_down",
            Ev::Extension { .. } => "extension",
            Ev::Decide { .. } => "decide_extension",
            Ev::Publish { .. } => "publish_answer",
            Ev::Reclassify { .. } => "reclassify",
        }
    }
}

/// What an executed event returned, for the apply phase.
enum Done {
    Nothing,
    Order(Box<pb::Order>),
    Whistled {
        whistle_id: String,
        district: String,
    },
    /// The callback found the order neither replied nor at its time
    /// limit, which ends then.
    NotReplied(Micros),
    Refused(tonic::Code),
}

/// The simulator's view of one order.
struct Sim {
    arrival: Arrival,
    order_id: String,
    rng: Rng,
    urgency: Urgency,
    limit: Micros,
    received: Micros,
    ambiguous: bool,
    duty_list: bool,
    community: String,
    territory: String,
    near: Vec<String>,
    /// The township truly responsible, when the dispatch missed it.
    truth: Option<String>,
    /// Lead (unit, epoch) turns already scheduled.
    known: BTreeSet<(String, u64)>,
    in_hand: BTreeSet<String>,
    /// Rulings made on the order so far.
    rulings: u32,
    seq: u64,
    /// A proactive task: no requester to contact or call back.
    task: bool,
    /// A department leads beside the territory (dual dispatch).
    department_leads: bool,
    /// A summoned department has helped (checked in and handled its part).
    assisted: bool,
}

/// Counts the driver keeps (what the behaviours did); everything the
/// report states about the city comes from the services' stores.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Activity {
    pub contacts: u64,
    pub submitted_by_kind: BTreeMap<String, u64>,
    pub near_border_contacts: u64,
    pub repeat_contacts: u64,
    pub by_mood: BTreeMap<String, u64>,
    pub events: BTreeMap<String, u64>,
    /// Calls the services refused, by event and status code.
    pub refusals: BTreeMap<String, u64>,
    /// Dispatches whose lead territory was truly a neighbour's.
    pub misrouted: u64,
    pub whistle_ids: Vec<(String, String)>,
    /// Knowledge base entries the run seeded at the start, and those units
    /// published after answering a dispatched consultation.
    pub knowledge_seeded: u64,
    pub knowledge_published: u64,
    /// Handler type of each initial lead, from the centre's dispatch.
    pub initial_leads: BTreeMap<String, u64>,
    /// Contacts per simulated day.
    pub daily_contacts: BTreeMap<i64, u64>,
    pub steps: u64,
    /// The centre's city-wide rates at the end of each simulated day.
    pub rates_over_time: Vec<serde_json::Value>,
    #[serde(skip)]
    pub order_ids: Vec<String>,
    #[serde(skip)]
    pub rpcs: u64,
    /// Wall seconds in AdvanceTo, submitting, and running behaviours.
    #[serde(skip)]
    pub phase_seconds: [f64; 3],
    /// Proactive tasks issued: (scenario task, issuer, order id).
    #[serde(skip)]
    pub tasks: Vec<(usize, String, String)>,
    /// Text triage at intake (`triage = true`).
    pub triage: super::triage::TriageActivity,
}

pub struct Driver<'a> {
    pub client: MeshClient,
    pub topology: &'a Topology,
    pub scenario: &'a Scenario,
    behaviours: &'a Behaviours,
    models: BTreeMap<String, Model>,
    orders: BTreeMap<u64, Sim>,
    queue: BTreeMap<Key, Ev>,
    in_hand: BTreeMap<String, u64>,
    pub activity: Activity,
    pub start: Micros,
    pub now: Micros,
    seed: u64,
    /// One unit per service, to reach each service's control RPC.
    pub services: Vec<String>,
    /// Scenario proactive tasks already issued.
    issued: BTreeSet<usize>,
    /// Callers' words by item, when requests come as text (`triage`).
    texts: Option<TextPool>,
}

fn key_rng(seed: u64, index: u64, salt: u64) -> Rng {
    let mut r = Rng::new(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt);
    r.next_u64();
    r
}

fn leads(o: &pb::Order) -> impl Iterator<Item = &pb::Assignment> {
    o.assignments.iter().filter(|a| {
        a.role == AssignmentRole::Lead as i32 && a.state != AssignmentState::Revoked as i32
    })
}

fn at(t: &Option<prost_types::Timestamp>) -> Micros {
    t.as_ref().map(micros).unwrap_or(0)
}

/// When the order's time limit ends, as the centre counts it for the
/// callback (Art. 23): the later of its deadline and its live leads'.
fn time_limit(o: &pb::Order) -> Micros {
    hotline_core::deadline::time_limit(at(&o.due_time), leads(o).map(|a| at(&a.due_time)))
}

/// The handler type the published shares use.
pub fn handler_type(t: &Topology, unit: &str) -> &'static str {
    match t.unit(unit) {
        Some(u) => match u.tier {
            Tier::Township => "townships",
            Tier::Department if u.enterprise => "enterprises",
            Tier::Department if u.level == Some(hotline_core::Level::District) => {
                "district_departments"
            }
            Tier::Department => "city_departments",
            _ => "others",
        },
        None => "others",
    }
}

impl<'a> Driver<'a> {
    pub fn new(
        client: MeshClient,
        topology: &'a Topology,
        scenario: &'a Scenario,
        start: Micros,
        seed: u64,
    ) -> Self {
        let models = topology
            .units()
            .map(|u| (u.id.clone(), scenario.behaviour.model(topology, &u.id)))
            .collect();
        Driver {
            client,
            topology,
            scenario,
            behaviours: &scenario.behaviour,
            models,
            orders: BTreeMap::new(),
            queue: BTreeMap::new(),
            in_hand: BTreeMap::new(),
            activity: Activity::default(),
            start,
            now: start,
            seed,
            services: Vec::new(),
            issued: BTreeSet::new(),
            texts: scenario.triage.then(TextPool::evaluation),
        }
    }

    fn model(&self, unit: &str) -> &Model {
        static DEFAULT: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
        self.models
            .get(unit)
            .unwrap_or_else(|| DEFAULT.get_or_init(Model::default))
    }

    /// Delays grow in proportion once a unit holds more than its capacity.
    fn load_factor(&self, unit: &str) -> f64 {
        let held = self.in_hand.get(unit).copied().unwrap_or(0) as f64;
        (held / self.model(unit).capacity.max(1.0)).max(1.0)
    }

    fn schedule(&mut self, key: u64, after_minutes: f64, ev: Ev) {
        let Some(sim) = self.orders.get_mut(&key) else {
            return;
        };
        sim.seq += 1;
        let at = self.now + ((after_minutes.max(1.0)) * MINUTE as f64) as Micros;
        self.queue.insert((at, key, sim.seq), ev);
    }

    /// One step: arrivals of `[now, now + len)` submitted, due events run.
    /// After the arrivals' span (`arrive` false) only behaviours and the
    /// services' timers act, so the orders received run their course.
    pub async fn step(
        &mut self,
        arrivals_gen: &mut Generator,
        len: Micros,
        arrive: bool,
    ) -> anyhow::Result<()> {
        let t0 = std::time::Instant::now();
        advance(&self.client, &self.services, self.now).await?;
        let t1 = std::time::Instant::now();
        self.issue_tasks().await?;
        if arrive {
            let arrivals = arrivals_gen.step(self.topology, self.now, len);
            self.submit(arrivals).await?;
        }
        let t2 = std::time::Instant::now();
        self.run_due().await?;
        let t3 = std::time::Instant::now();
        // Deliver what the step's calls sent while every clock still reads
        // this step's time: a handoff a store aborted and retried must
        // not land after the receiver's clock has moved on.
        advance(&self.client, &self.services, self.now).await?;
        let p = &mut self.activity.phase_seconds;
        p[0] += (t1 - t0).as_secs_f64() + t3.elapsed().as_secs_f64();
        p[1] += (t2 - t1).as_secs_f64();
        p[2] += (t3 - t2).as_secs_f64();
        self.activity.steps += 1;
        self.now += len;
        Ok(())
    }

    /// The knowledge base at the start: for each item a consultation may
    /// ask about without a catalogue answer, its `seeded_per_item` most
    /// asked questions, entered by the centre through
    /// `KnowledgeService.UpsertKnowledgeEntry`.
    pub async fn seed_knowledge(&mut self, arrivals_gen: &Generator) -> anyhow::Result<()> {
        let n = self.scenario.knowledge.seeded_per_item;
        let c = &self.client;
        let now = self.now;
        let entries: Vec<pb::KnowledgeEntry> = arrivals_gen
            .knowledge_items()
            .into_iter()
            .flat_map(|item| {
                (0..n).map(move |question| {
                    let a = Arrival {
                        item: item.clone(),
                        question,
                        ..Arrival::blank()
                    };
                    knowledge_entry(&a, now)
                })
            })
            .collect();
        let seeded = entries.len() as u64;
        futures::stream::iter(
            entries
                .into_iter()
                .map(|e| async move { c.upsert_knowledge(&c.city, e).await }),
        )
        .buffer_unordered(self.scenario.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        self.activity.knowledge_seeded = seeded;
        Ok(())
    }

    /// Issues the scenario's proactive tasks due by now through
    /// `ProactiveService.CreateProactiveTask`: by the area's district (the
    /// centre when the area is a district), or by the centre to every
    /// district for a city-wide task. Each becomes an order of kind
    /// PROACTIVE_TASK its unit accepts and replies to.
    async fn issue_tasks(&mut self) -> anyhow::Result<()> {
        let p = &self.scenario.proactive;
        if !p.enabled {
            return Ok(());
        }
        let t = self.topology;
        let city = t.city().id.clone();
        for (i, task) in p.tasks.iter().enumerate() {
            let at = self.start + (task.from_day * super::arrivals::DAY as f64) as Micros;
            if at > self.now || !self.issued.insert(i) {
                continue;
            }
            // The task's catalogue item: the category's first.
            let Some(item) = t
                .catalogue()
                .filter(|it| {
                    it.code == task.category
                        || t.item_path(&it.code)
                            .is_some_and(|(cat, _, _)| cat.code == task.category)
                })
                .min_by(|a, b| a.code.cmp(&b.code))
            else {
                anyhow::bail!("proactive task {i}: no catalogue item in {}", task.category);
            };
            let targets: Vec<(String, String)> = match task.area.as_deref() {
                Some(area) if !area.is_empty() => {
                    let issuer = t
                        .district_of(area)
                        .filter(|d| d.id != area)
                        .map(|d| d.id.clone())
                        .unwrap_or_else(|| city.clone());
                    vec![(issuer, area.to_string())]
                }
                _ => t
                    .units()
                    .filter(|u| u.tier == Tier::District)
                    .map(|u| (city.clone(), u.id.clone()))
                    .collect(),
            };
            for (j, (issuer, area)) in targets.into_iter().enumerate() {
                let req = pb::CreateProactiveTaskRequest {
                    request_id: format!("sim-task-{:016x}-{i}-{j}", self.seed),
                    category_code: item.code.clone(),
                    area_unit: area.clone(),
                    instructions: format!("check {} before the complaints", item.name),
                    due_time: Some(hotline_runtime::wire::ts(
                        self.now + 7 * super::arrivals::DAY,
                    )),
                };
                let created = self.client.create_task(&issuer, req).await;
                self.activity.rpcs += 1;
                let created = match created {
                    Ok(task) => task,
                    Err(s) => {
                        *self
                            .activity
                            .refusals
                            .entry(format!("create_proactive_task:{:?}", s.code()))
                            .or_default() += 1;
                        continue;
                    }
                };
                let order = self.client.order(&created.order_id).await?;
                self.activity
                    .tasks
                    .push((i, issuer, created.order_id.clone()));
                let arrival = Arrival {
                    index: TASK_KEY | ((i as u64) << 20) | j as u64,
                    requester: 0,
                    kind: pb::RequestKind::Unspecified,
                    channel: pb::Channel::Unspecified,
                    item: item.code.clone(),
                    category: task.category.clone(),
                    location: None,
                    address: String::new(),
                    township: Some(area),
                    near_border: false,
                    mood: Mood::Calm,
                    repeat: false,
                    question: 0,
                };
                self.admit(arrival, order, true, None);
            }
        }
        Ok(())
    }

    async fn submit(&mut self, arrivals: Vec<Arrival>) -> anyhow::Result<()> {
        let day = (self.now - self.start) / super::arrivals::DAY;
        let c = &self.client;
        let texts = self.texts.as_ref();
        let seed = self.seed;
        let mut results: Vec<(Arrival, Result<pb::Order, Done>, Outcome)> =
            futures::stream::iter(arrivals.into_iter().map(|a| async move {
                let mut req = request(&a);
                // Under triage a request comes as a caller's words without
                // a code; a consultation keeps its question and code.
                let text = match texts {
                    Some(pool) if a.kind != pb::RequestKind::Consultation => {
                        let mut rng = key_rng(seed, a.index, 0x7e47);
                        Some(pool.text(&a.item, &mut rng))
                    }
                    _ => None,
                };
                let Some(Some(text)) = text else {
                    let outcome = match text {
                        Some(None) => Outcome::WithoutText,
                        _ => Outcome::Coded,
                    };
                    let r = call!(c.submit(req.clone()));
                    return (a, r, outcome);
                };
                req.text = text.to_string();
                req.category_code.clear();
                match call!(c.submit(req.clone())) {
                    // Below the threshold: the operator confirms the item
                    // the caller means and submits again with its code.
                    Err(Done::Refused(tonic::Code::FailedPrecondition)) => {
                        req.category_code = a.item.clone();
                        req.request_id += "-confirmed";
                        let r = call!(c.submit(req.clone()));
                        (a, r, Outcome::Confirmed)
                    }
                    r => (a, r, Outcome::Chosen),
                }
            }))
            .buffer_unordered(self.scenario.concurrency)
            .collect()
            .await;
        results.sort_by_key(|(a, _, _)| a.index);
        self.activity.rpcs += results.len() as u64;
        for (a, r, outcome) in results {
            let act = &mut self.activity;
            act.contacts += 1;
            *act.daily_contacts.entry(day).or_default() += 1;
            *act.submitted_by_kind
                .entry(
                    a.kind
                        .as_str_name()
                        .trim_start_matches("REQUEST_KIND_")
                        .to_lowercase(),
                )
                .or_default() += 1;
            act.near_border_contacts += a.near_border as u64;
            act.repeat_contacts += a.repeat as u64;
            *act.by_mood
                .entry(format!("{:?}", a.mood).to_lowercase())
                .or_default() += 1;
            let order = match r {
                Ok(o) => o,
                Err(d) => {
                    let code = match d {
                        Done::Refused(code) => code,
                        _ => tonic::Code::Unknown,
                    };
                    *act.refusals.entry(format!("submit:{code:?}")).or_default() += 1;
                    continue;
                }
            };
            act.order_ids.push(order.order_id.clone());
            act.triage.record(outcome, &a.item, &order.category_code);
            let misclassified = (outcome == Outcome::Chosen && order.category_code != a.item)
                .then(|| a.item.clone());
            if leads(&order).next().is_none() {
                continue;
            }
            for l in leads(&order) {
                *act.initial_leads
                    .entry(handler_type(self.topology, &l.unit_id).into())
                    .or_default() += 1;
            }
            self.admit(a, order, false, misclassified);
        }
        Ok(())
    }

    /// A dispatched order enters the simulation: its truth is drawn and
    /// its leads get their turns; or, when triage took it for another item
    /// than the caller's (`misclassified`, the caller's item), its lead
    /// flags it instead and the centre reclassifies it.
    fn admit(&mut self, a: Arrival, order: pb::Order, task: bool, misclassified: Option<String>) {
        let item = self.topology.item(&order.category_code);
        let urgency = item.map(|i| i.urgency).unwrap_or(Urgency::General);
        let ambiguous = item.is_some_and(|i| i.ambiguous);
        let mut rng = key_rng(self.seed, a.index, 0x5151);
        let territory = order.territory_unit.clone();
        let near: Vec<String> = order
            .near_boundary_units
            .iter()
            .filter(|u| {
                *u != &territory
                    && self
                        .topology
                        .unit(u)
                        .is_some_and(|x| x.tier == Tier::Township)
            })
            .cloned()
            .collect();
        let mut truth = None;
        if !task
            && self
                .topology
                .unit(&territory)
                .is_some_and(|u| u.tier == Tier::Township)
        {
            let m = self.model(&territory);
            let mut p = m.misroute;
            if a.near_border || !near.is_empty() {
                p *= m.near_border_factor;
            }
            if ambiguous {
                p *= m.ambiguous_factor;
            }
            if rng.unit() < p.min(0.95) {
                truth = neighbour(self.topology, &territory, &near, &mut rng);
            }
        }
        self.activity.misrouted += truth.is_some() as u64;
        let key = a.index;
        let sim = Sim {
            order_id: order.order_id.clone(),
            rng,
            urgency,
            // A request's own limit (working days where the policy counts
            // them); a proactive task's work is paced by its urgency's limit,
            // not by its task window.
            limit: if task {
                self.topology.policy.limit(urgency)
            } else {
                (time_limit(&order) - at(&order.received_time)).max(MINUTE)
            },
            received: order.received_time.as_ref().map(micros).unwrap_or(self.now),
            ambiguous,
            duty_list: item.is_some_and(|i| i.duty_list),
            community: order.community_unit.clone(),
            territory,
            near,
            truth,
            known: BTreeSet::new(),
            in_hand: BTreeSet::new(),
            rulings: 0,
            seq: 0,
            department_leads: leads(&order).any(|l| {
                self.topology
                    .unit(&l.unit_id)
                    .is_some_and(|u| matches!(u.tier, Tier::Department | Tier::Central))
            }),
            assisted: false,
            arrival: a,
            task,
        };
        self.orders.insert(key, sim);
        if !task {
            // Art. 23: every dispatched order is called back once its time
            // limit ends, replied or not.
            self.callback_after(key, time_limit(&order));
        }
        match misclassified {
            Some(code) => {
                let unit = leads(&order).next().map(|l| l.unit_id.clone());
                let mean = unit.map_or(40.0, |u| self.model(&u).object_minutes);
                let d = exp(&mut self.orders.get_mut(&key).expect("admitted").rng, mean);
                self.schedule(key, d, Ev::Reclassify { code });
            }
            None => self.turns(key, &order),
        }
    }

    /// Schedules a turn for every lead assignment not seen yet.
    fn turns(&mut self, key: u64, order: &pb::Order) {
        let fresh: Vec<pb::Assignment> = leads(order)
            .filter(|l| {
                self.orders[&key]
                    .known
                    .contains(&(l.unit_id.clone(), l.epoch))
                    .then_some(())
                    .is_none()
            })
            .cloned()
            .collect();
        for l in fresh {
            let sim = self.orders.get_mut(&key).expect("admitted");
            sim.known.insert((l.unit_id.clone(), l.epoch));
            let (unit, epoch) = (l.unit_id.clone(), l.epoch);
            if l.state == AssignmentState::Accepted as i32 {
                let m = self.model(&unit).contact_minutes;
                let f = self.load_factor(&unit);
                let d = exp(&mut self.orders.get_mut(&key).expect("admitted").rng, m) * f;
                self.schedule(key, d, Ev::Contact { unit, epoch });
                continue;
            }
            if l.state != AssignmentState::Dispatched as i32 {
                continue;
            }
            let objection = if l.designated || self.orders[&key].task {
                None
            } else {
                self.objection(key, &unit)
            };
            let m = self.model(&unit).clone();
            let f = self.load_factor(&unit);
            let rng = &mut self.orders.get_mut(&key).expect("admitted").rng;
            match objection {
                Some(proposed) => {
                    let d = exp(rng, m.object_minutes);
                    self.schedule(
                        key,
                        d,
                        Ev::Object {
                            unit,
                            epoch,
                            proposed,
                        },
                    );
                }
                None => {
                    let d = exp(rng, m.accept_minutes) * f;
                    self.schedule(key, d, Ev::Accept { unit, epoch });
                }
            }
        }
    }

    /// Whether `unit` objects to leading the order, and whom it proposes.
    fn objection(&mut self, key: u64, unit: &str) -> Option<String> {
        let tier = self.topology.unit(unit)?.tier;
        let m = self.model(unit).clone();
        let topology = self.topology;
        let sim = self.orders.get_mut(&key)?;
        match tier {
            Tier::Township => {
                let wrong = sim.truth.as_deref().is_some_and(|t| t != unit)
                    || (sim.truth.is_none() && unit != sim.territory);
                let mut p = if wrong {
                    m.object_if_wrong
                } else {
                    m.object_propensity
                };
                if !wrong {
                    if sim.arrival.near_border || !sim.near.is_empty() {
                        p *= m.near_border_factor;
                    }
                    if sim.ambiguous {
                        p *= m.ambiguous_factor;
                    }
                    if sim.rulings > 0 {
                        p *= m.redirected_factor;
                    }
                }
                if sim.rng.unit() >= p.min(0.95) {
                    return None;
                }
                if wrong {
                    return Some(sim.truth.clone().unwrap_or_else(|| sim.territory.clone()));
                }
                let near = sim.near.clone();
                neighbour(topology, unit, &near, &mut sim.rng)
            }
            Tier::Department => {
                let mut p = m.object_propensity;
                if sim.ambiguous {
                    p *= m.ambiguous_factor;
                }
                if sim.territory.is_empty()
                    || sim.territory == unit
                    || topology
                        .unit(&sim.territory)
                        .is_none_or(|u| u.tier != Tier::Township)
                    || sim.rng.unit() >= p
                {
                    return None;
                }
                Some(sim.territory.clone())
            }
            _ => None,
        }
    }

    async fn run_due(&mut self) -> anyhow::Result<()> {
        let now = self.now;
        let mut due: BTreeMap<u64, Vec<(Key, Ev)>> = BTreeMap::new();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (k, ev) = entry.remove_entry();
            due.entry(k.1).or_default().push((k, ev));
        }
        if due.is_empty() {
            return Ok(());
        }
        let c = &self.client;
        let orders = &self.orders;
        let behaviours = self.behaviours;
        let mut results: Vec<(Key, Ev, Done)> =
            futures::stream::iter(due.into_values().map(|evs| async move {
                let mut out = Vec::new();
                for (k, ev) in evs {
                    let sim = &orders[&k.1];
                    let done = execute(c, behaviours, sim, &ev, now).await;
                    out.push((k, ev, done));
                }
                out
            }))
            .buffer_unordered(self.scenario.concurrency)
            .flat_map(futures::stream::iter)
            .collect()
            .await;
        results.sort_by_key(|(k, _, _)| *k);
        self.activity.rpcs += results.len() as u64;
        for (k, ev, done) in results {
            *self.activity.events.entry(ev.name().into()).or_default() += 1;
            let retried = matches!(
                (&ev, &done),
                (Ev::Assist { tries, .. }, Done::Refused(tonic::Code::NotFound)) if *tries < 4
            );
            if let (Done::Refused(code), false) = (&done, retried) {
                *self
                    .activity
                    .refusals
                    .entry(format!("{}:{code:?}", ev.name()))
                    .or_default() += 1;
            }
            self.apply(k.1, ev, done);
        }
        Ok(())
    }

    fn took(&mut self, key: u64, unit: &str) {
        if self
            .orders
            .get_mut(&key)
            .is_some_and(|s| s.in_hand.insert(unit.to_string()))
        {
            *self.in_hand.entry(unit.to_string()).or_default() += 1;
        }
    }

    fn released(&mut self, key: u64, unit: &str) {
        if self
            .orders
            .get_mut(&key)
            .is_some_and(|s| s.in_hand.remove(unit))
            && let Some(n) = self.in_hand.get_mut(unit)
        {
            *n = n.saturating_sub(1);
        }
    }

    fn apply(&mut self, key: u64, ev: Ev, done: Done) {
        let refused = matches!(done, Done::Refused(_));
        match ev {
            Ev::Accept { unit, epoch } => {
                if refused {
                    return;
                }
                self.took(key, &unit);
                if self.orders[&key].task {
                    self.task_reply(key, unit, epoch);
                    return;
                }
                let m = self.model(&unit).contact_minutes;
                let f = self.load_factor(&unit);
                let d = exp(&mut self.orders.get_mut(&key).expect("admitted").rng, m) * f;
                self.schedule(key, d, Ev::Contact { unit, epoch });
            }
            Ev::Contact { unit, epoch } => {
                if refused {
                    return;
                }
                self.took(key, &unit);
                self.handling(key, unit, epoch);
            }
            Ev::Reply { unit, .. } => {
                self.released(key, &unit);
                let publish = self.model(&unit).publish_answer;
                let sim = self.orders.get_mut(&key).expect("admitted");
                if !refused
                    && sim.arrival.kind == pb::RequestKind::Consultation
                    && sim.rng.unit() < publish
                {
                    let d = exp(&mut sim.rng, 120.0);
                    self.schedule(key, d, Ev::Publish { unit: unit.clone() });
                }
                // The centre calls back at the reply where the policy says
                // so, and at once after a reply past the limit; otherwise
                // the callback at the limit stands.
                let sim = &self.orders[&key];
                let at_reply = self.topology.policy.callback_at == "reply"
                    || self.now >= sim.received + sim.limit;
                if !refused && !sim.task && at_reply {
                    self.callback_after(key, self.now);
                }
            }
            Ev::Object {
                unit,
                epoch,
                proposed,
            } => {
                if refused {
                    // Too late or designated: the first-receiver rule holds.
                    self.schedule(key, 5.0, Ev::Accept { unit, epoch });
                    return;
                }
                let by = hotline_core::jurisdiction::authority(
                    self.topology,
                    &self.topology.policy,
                    &unit,
                    &proposed,
                );
                let m = self.model(&by).clone();
                let sim = self.orders.get_mut(&key).expect("admitted");
                let correct = sim.rng.unit() < m.ruling_accuracy;
                // The objection reaches the authority through the outbox.
                let d = exp(&mut sim.rng, m.ruling_hours * 60.0) + 1.0;
                self.schedule(key, d, Ev::Rule { by, correct });
            }
            Ev::Rule { .. } => {
                self.orders.get_mut(&key).expect("admitted").rulings += 1;
                self.schedule(key, 1.0, Ev::Refresh);
            }
            Ev::Refresh => {
                if let Done::Order(o) = done {
                    self.turns(key, &o);
                }
            }
            Ev::Callback { tries, .. } => {
                match done {
                    Done::Order(o) if o.state == OrderState::Reopened as i32 => {
                        self.schedule(key, 1.0, Ev::Refresh);
                    }
                    // Reopened and dispatched again (a callback on an
                    // unreplied order leaves its limit behind it): the
                    // new round's leads take their turns, and it is called
                    // back at its own limit.
                    Done::Order(o) if o.state == OrderState::Dispatched as i32 => {
                        let limit = time_limit(&o);
                        if limit > self.now {
                            self.turns(key, &o);
                            self.callback_after(key, limit);
                        }
                    }
                    Done::NotReplied(limit) if tries < 12 => {
                        let sim = self.orders.get_mut(&key).expect("admitted");
                        let seed = sim.rng.next_u64();
                        let wait = ((limit - self.now) / MINUTE).max(360) as f64;
                        self.schedule(
                            key,
                            wait,
                            Ev::Callback {
                                seed,
                                tries: tries + 1,
                            },
                        );
                    }
                    _ => {}
                }
            }
            Ev::Whistle {
                kind, departments, ..
            } => {
                let Done::Whistled {
                    whistle_id,
                    district,
                } = done
                else {
                    return;
                };
                self.activity
                    .whistle_ids
                    .push((district.clone(), whistle_id.clone()));
                for department in departments {
                    let m = self.model(&department).clone();
                    let sim = self.orders.get_mut(&key).expect("admitted");
                    if sim.rng.unit() < m.no_show {
                        continue;
                    }
                    let mean = match kind {
                        pb::WhistleKind::Emergency => m.check_in_emergency_minutes,
                        pb::WhistleKind::Tough => m.check_in_tough_hours * 60.0,
                        _ => m.check_in_daily_hours * 60.0,
                    };
                    let d = exp(&mut sim.rng, mean);
                    let w = whistle_id.clone();
                    let ds = district.clone();
                    self.schedule(
                        key,
                        d,
                        Ev::CheckIn {
                            department,
                            district: ds,
                            whistle: w,
                        },
                    );
                }
            }
            Ev::CheckIn { department, .. } => {
                if !refused {
                    let sim = self.orders.get_mut(&key).expect("admitted");
                    let d = exp(&mut sim.rng, 120.0);
                    self.schedule(
                        key,
                        d,
                        Ev::Assist {
                            unit: department,
                            tries: 0,
                        },
                    );
                }
            }
            Ev::HandDown { community, .. } => {
                if !refused {
                    let sim = self.orders.get_mut(&key).expect("admitted");
                    let d = exp(&mut sim.rng, 180.0);
                    self.schedule(
                        key,
                        d,
                        Ev::Assist {
                            unit: community,
                            tries: 0,
                        },
                    );
                }
            }
            Ev::Extension { unit, .. } => {
                if !refused && self.topology.policy.extension_approval {
                    let approver = self
                        .topology
                        .parent_of(&unit)
                        .map(|p| p.id.clone())
                        .unwrap_or_else(|| self.topology.city().id.clone());
                    let share = self.model(&approver).approve_extension;
                    let sim = self.orders.get_mut(&key).expect("admitted");
                    let approve = sim.rng.unit() < share;
                    let d = exp(&mut sim.rng, 120.0);
                    self.schedule(
                        key,
                        d,
                        Ev::Decide {
                            approver,
                            unit,
                            approve,
                        },
                    );
                }
            }
            Ev::Assist { unit, tries } => {
                let department = self
                    .topology
                    .unit(&unit)
                    .is_some_and(|u| u.tier == Tier::Department);
                if department && matches!(done, Done::Nothing) {
                    self.orders.get_mut(&key).expect("admitted").assisted = true;
                }
                // Not arrived yet (the assignment travels through two
                // outboxes): look again later.
                if matches!(done, Done::Refused(tonic::Code::NotFound)) && tries < 4 {
                    self.schedule(
                        key,
                        30.0,
                        Ev::Assist {
                            unit,
                            tries: tries + 1,
                        },
                    );
                }
            }
            Ev::Decide { .. } => {}
            Ev::Reclassify { .. } => match done {
                // The order's new leads take their turns under the
                // caller's item, its urgency and its time limit.
                Done::Order(o) => {
                    self.activity.triage.reclassified += 1;
                    let item = self.topology.item(&o.category_code);
                    let sim = self.orders.get_mut(&key).expect("admitted");
                    sim.urgency = item.map_or(sim.urgency, |i| i.urgency);
                    sim.ambiguous = item.is_some_and(|i| i.ambiguous);
                    sim.duty_list = item.is_some_and(|i| i.duty_list);
                    sim.limit = (time_limit(&o) - at(&o.received_time)).max(MINUTE);
                    self.turns(key, &o);
                }
                // Not reclassified: its leads act on it as it stands.
                _ => self.schedule(key, 1.0, Ev::Refresh),
            },
            Ev::Publish { .. } => {
                self.activity.knowledge_published += !refused as u64;
            }
        }
    }

    /// A callback some time after `from` (the citizen's reachability, the
    /// centre's queue), at `from` or later.
    fn callback_after(&mut self, key: u64, from: Micros) {
        let hours = self.behaviours.citizen.callback_hours;
        let sim = self.orders.get_mut(&key).expect("admitted");
        let seed = sim.rng.next_u64();
        let d = ((from - self.now).max(0) / MINUTE) as f64 + exp(&mut sim.rng, hours * 60.0);
        self.schedule(key, d, Ev::Callback { seed, tries: 0 });
    }

    /// A proactive task needs no requester contact: the unit does the
    /// work and replies (progress, then reply), which closes the task.
    fn task_reply(&mut self, key: u64, unit: String, epoch: u64) {
        let m = self.model(&unit).clone();
        let f = self.load_factor(&unit);
        let sim = self.orders.get_mut(&key).expect("admitted");
        let mean = m.reply_fraction * sim.limit as f64 / MINUTE as f64;
        let d = exp(&mut sim.rng, mean) * f + 5.0;
        self.schedule(
            key,
            d,
            Ev::Reply {
                unit,
                epoch,
                outcome: ReplyOutcome::Resolved,
                unaided: None,
            },
        );
    }

    /// After contact: whistle, hand down, ask for an extension, then reply.
    fn handling(&mut self, key: u64, unit: String, epoch: u64) {
        let m = self.model(&unit).clone();
        let f = self.load_factor(&unit);
        let topology = self.topology;
        let tier = topology.unit(&unit).map(|u| u.tier);
        let sim = self.orders.get_mut(&key).expect("admitted");
        let mut extra = 0.0;
        let mut later: Vec<(f64, Ev)> = Vec::new();
        // A township alone on a matter of a line department's powers
        // (看得见的管不着) whistles more readily, and resolves it less often
        // unless a summoned department helps.
        let beyond = tier == Some(Tier::Township)
            && !sim.department_leads
            && topology
                .item(&sim.arrival.item)
                .is_some_and(|i| i.line.is_some() || i.department.is_some());
        if tier == Some(Tier::Township) {
            let base = if beyond {
                m.whistle_if_beyond
            } else {
                m.whistle_propensity
            };
            let p = base
                * if sim.urgency == Urgency::Complex {
                    2.0
                } else {
                    1.0
                };
            if sim.rng.unit() < p {
                let kind = match sim.urgency {
                    Urgency::Emergency => pb::WhistleKind::Emergency,
                    Urgency::Complex => pb::WhistleKind::Tough,
                    _ => pb::WhistleKind::Daily,
                };
                let departments = summoned(topology, &sim.arrival.item, &unit, &mut sim.rng);
                if !departments.is_empty() {
                    later.push((
                        exp(&mut sim.rng, 30.0),
                        Ev::Whistle {
                            unit: unit.clone(),
                            epoch,
                            kind,
                            departments,
                        },
                    ));
                }
            }
            let p = if sim.duty_list {
                m.hand_down_propensity
            } else {
                m.hand_down_other_propensity
            };
            if !sim.community.is_empty()
                && topology
                    .parent_of(&sim.community)
                    .is_some_and(|p| p.id == unit)
                && sim.rng.unit() < p
            {
                later.push((
                    exp(&mut sim.rng, 20.0),
                    Ev::HandDown {
                        unit: unit.clone(),
                        epoch,
                        community: sim.community.clone(),
                    },
                ));
            }
        }
        if matches!(sim.urgency, Urgency::General | Urgency::Complex)
            && sim.rng.unit() < m.extension_propensity
        {
            later.push((
                60.0,
                Ev::Extension {
                    unit: unit.clone(),
                    epoch,
                },
            ));
            extra = sim.limit as f64 / MINUTE as f64 * 0.3;
        }
        let (x, y) = (sim.rng.unit(), sim.rng.unit());
        let outcome_at = |p: f64| {
            if x < p {
                ReplyOutcome::Resolved
            } else if y < 0.5 {
                ReplyOutcome::PartlyResolved
            } else {
                ReplyOutcome::Explained
            }
        };
        let outcome = outcome_at(m.resolve_probability);
        let unaided = beyond.then(|| outcome_at(m.resolve_probability * m.unaided_resolve_factor));
        let mean = m.reply_fraction * sim.limit as f64 / MINUTE as f64;
        let reply = exp(&mut sim.rng, mean) * f + extra + 5.0;
        later.push((
            reply,
            Ev::Reply {
                unit,
                epoch,
                outcome,
                unaided,
            },
        ));
        for (d, ev) in later {
            self.schedule(key, d, ev);
        }
    }

    /// Pending order ids, for the closing read.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// When the next behaviour event is due.
    pub fn next_due(&self) -> Option<Micros> {
        self.queue.keys().next().map(|k| k.0)
    }
}

/// `AdvanceTo` across the mesh, service after service in a fixed order
/// (so a message one service's timer sends meets the receiver's clock in
/// the same state every run), in rounds until a round where no service
/// fired a timer or delivered a message and no outbox holds a message (one
/// may be in flight in a service's own background delivery, which a drain
/// pass does not see). A call a store aborted on a concurrent update is
/// made again.
pub async fn advance(c: &MeshClient, services: &[String], t: Micros) -> anyhow::Result<()> {
    let mut quiet_waits = 0;
    let mut aborted = 0;
    loop {
        let (mut busy, mut pending) = (false, false);
        for unit in services {
            let mut cc =
                pb::control_service_client::ControlServiceClient::new(c.operator_channel());
            let req = pb::AdvanceToRequest {
                request_id: request_id(),
                time: Some(hotline_runtime::wire::ts(t)),
            };
            match cc
                .advance_to(hotline_runtime::meta::routed(req, unit, &c.city))
                .await
            {
                Ok(r) => {
                    let r = r.into_inner();
                    busy |= r.fired + r.delivered > 0;
                    pending |= r.pending > 0;
                }
                Err(s) if s.code() == tonic::Code::Aborted && aborted < 20 => {
                    aborted += 1;
                    busy = true;
                }
                Err(s) => anyhow::bail!("advancing the clock: {s}"),
            }
        }
        if busy {
            continue;
        }
        // Messages only in backoff (a receiver down) stay; bounded wait.
        if !pending || quiet_waits >= 50 {
            return Ok(());
        }
        quiet_waits += 1;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// A township to propose instead of `unit`: a near-boundary neighbour, or
/// a sibling in its district.
fn neighbour(t: &Topology, unit: &str, near: &[String], rng: &mut Rng) -> Option<String> {
    if !near.is_empty() {
        return Some(near[rng.below(near.len())].clone());
    }
    let parent = t.parent_of(unit)?.id.clone();
    let siblings: Vec<&str> = t
        .units()
        .filter(|u| {
            u.tier == Tier::Township && u.parent.as_deref() == Some(&parent) && u.id != unit
        })
        .map(|u| u.id.as_str())
        .collect();
    (!siblings.is_empty()).then(|| siblings[rng.below(siblings.len())].to_string())
}

/// The departments a township summons: the item's, else one of its line.
fn summoned(t: &Topology, item: &str, township: &str, rng: &mut Rng) -> Vec<String> {
    let district = t.district_of(township).map(|d| d.id.clone());
    let item = t.item(item);
    if let Some(d) = item.and_then(|i| i.department.clone())
        && t.unit(&d).is_some_and(|u| u.tier == Tier::Department)
    {
        return vec![d];
    }
    if let Some(l) = item.and_then(|i| i.line.clone())
        && let Some(d) = t.line_department(&l, district.as_deref())
    {
        return vec![d.id.clone()];
    }
    let depts: Vec<&str> = t
        .units()
        .filter(|u| u.tier == Tier::Department && !u.enterprise)
        .map(|u| u.id.as_str())
        .collect();
    if depts.is_empty() {
        return Vec::new();
    }
    vec![depts[rng.below(depts.len())].to_string()]
}

/// The words a consultation's question is asked and answered in: one word
/// per question, so an entry answers its own question and no other.
fn question_words(rank: u32) -> String {
    format!("q{rank}")
}

/// A knowledge base entry answering `a`'s question.
fn knowledge_entry(a: &Arrival, now: Micros) -> pb::KnowledgeEntry {
    pb::KnowledgeEntry {
        question: question_words(a.question),
        answer: format!("答复 {}", question_words(a.question)),
        category_codes: vec![a.item.clone()],
        valid_from: Some(hotline_runtime::wire::ts(now)),
        ..Default::default()
    }
}

fn request(a: &Arrival) -> pb::SubmitRequestRequest {
    pb::SubmitRequestRequest {
        request_id: format!("sim-{:016x}-{}", a.requester, a.index),
        channel: a.channel as i32,
        kind: a.kind as i32,
        requester: Some(pb::Requester {
            name: format!("Resident {}", a.requester),
            phone: format!("1{:010}", 3_000_000_000u64 + a.requester),
            ..Default::default()
        }),
        text: format!(
            "simulated {} ({}){}",
            a.item,
            match a.mood {
                Mood::Calm => "calm",
                Mood::Anxious => "anxious",
                Mood::Angry => "angry",
            },
            match a.kind {
                pb::RequestKind::Consultation => format!(" {}", question_words(a.question)),
                _ => String::new(),
            }
        ),
        category_code: a.item.clone(),
        address: a.address.clone(),
        location: a.location.map(|(latitude, longitude)| pb::Location {
            latitude,
            longitude,
        }),
        mood: match a.mood {
            Mood::Calm => pb::Mood::Calm,
            Mood::Anxious => pb::Mood::Anxious,
            Mood::Angry => pb::Mood::Angry,
        } as i32,
        ..Default::default()
    }
}

/// Runs one event's RPCs.
async fn execute(c: &MeshClient, behaviours: &Behaviours, sim: &Sim, ev: &Ev, now: Micros) -> Done {
    let id = sim.order_id.as_str();
    let r: Result<Done, Done> = async {
        match ev {
            Ev::Accept { unit, epoch } => {
                call!(c.accept(unit, id, *epoch, &request_id()))?;
            }
            Ev::Contact { unit, epoch } => {
                call!(c.contact(unit, id, *epoch, "confirm the details"))?;
            }
            Ev::Reply {
                unit,
                epoch,
                outcome,
                unaided,
            } => {
                let outcome = match unaided {
                    Some(o) if !sim.assisted => o,
                    _ => outcome,
                };
                call!(c.progress(unit, id, *epoch, "work under way"))?;
                call!(c.reply(unit, id, *epoch, *outcome, "handled; details given"))?;
            }
            Ev::Publish { unit } => {
                call!(c.upsert_knowledge(unit, knowledge_entry(&sim.arrival, now)))?;
            }
            Ev::Object {
                unit,
                epoch,
                proposed,
            } => {
                call!(c.object(unit, id, *epoch, proposed, "the site is not ours"))?;
            }
            Ev::Rule { by, correct } => {
                let pending = call!(c.objections(&c.city, id))?;
                for o in pending
                    .iter()
                    .filter(|o| o.state == pb::ObjectionState::Pending as i32)
                {
                    // Right when the objector is not the responsible unit.
                    let truth = sim.truth.as_deref().unwrap_or(&sim.territory);
                    let right = o.unit_id != truth;
                    let redirect = right == *correct;
                    let (kind, unit) = if redirect {
                        (pb::RulingKind::Redirect, o.proposed_unit.as_str())
                    } else {
                        (pb::RulingKind::Keep, "")
                    };
                    let by = if o.authority_unit.is_empty() {
                        by
                    } else {
                        &o.authority_unit
                    };
                    call!(c.rule(by, &o.objection_id, kind, unit))?;
                }
            }
            Ev::Refresh => {
                return Ok(Done::Order(Box::new(call!(c.order(id))?)));
            }
            Ev::Callback { seed, .. } => {
                let o = call!(c.order(id))?;
                let replied = o.state == OrderState::Replied as i32;
                let open = <hotline_core::OrderState as WireEnum>::from_wire(o.state)
                    .is_some_and(hotline_core::OrderState::awaits_reply);
                let limit = time_limit(&o);
                if !replied {
                    if !open {
                        // Called back already, or closed another way.
                        return Ok(Done::Nothing);
                    }
                    if now < limit {
                        return Ok(Done::NotReplied(limit));
                    }
                }
                // Without a reply nothing was resolved by the handler; the
                // centre counts it unresolved whatever the citizen says.
                let resolved_reply =
                    replied && leads(&o).all(|a| a.outcome == ReplyOutcome::Resolved as i32);
                let lateness = (now - sim.received) as f64 / sim.limit.max(1) as f64 - 1.0;
                let mut rng = Rng::new(*seed);
                let (resolved, sat) = behaviour::callback(
                    &behaviours.citizen,
                    &mut rng,
                    resolved_reply,
                    lateness,
                    o.redirect_count,
                    sim.arrival.mood,
                );
                return Ok(Done::Order(Box::new(call!(c.callback(id, resolved, sat))?)));
            }
            Ev::Whistle {
                unit,
                epoch,
                kind,
                departments,
            } => {
                let d: Vec<&str> = departments.iter().map(String::as_str).collect();
                let w = call!(c.whistle(unit, id, *epoch, *kind, &d))?;
                return Ok(Done::Whistled {
                    whistle_id: w.whistle_id,
                    district: w.district_unit,
                });
            }
            Ev::CheckIn {
                department,
                district,
                whistle,
            } => {
                call!(c.check_in(department, district, whistle))?;
            }
            Ev::Assist { unit, .. } => {
                let a = call!(c.assignment(unit, id))?;
                if a.state == AssignmentState::Dispatched as i32 {
                    call!(c.handle(unit, id, a.epoch, ReplyOutcome::Resolved))?;
                }
            }
            Ev::HandDown {
                unit,
                epoch,
                community,
            } => {
                call!(c.hand_down(unit, id, *epoch, community, AssignmentRole::Assist))?;
            }
            Ev::Extension { unit, epoch } => {
                let a = call!(c.assignment(unit, id))?;
                let due = a.due_time.as_ref().map(micros).unwrap_or(now);
                let until = due.max(now) + sim.limit / 2;
                call!(c.request_extension(unit, id, *epoch, until))?;
            }
            Ev::Decide {
                approver,
                unit,
                approve,
            } => {
                call!(c.decide_extension(approver, id, unit, *approve))?;
            }
            Ev::Reclassify { code } => {
                let reason = "the lead found the matter is another item's: triage misclassified it";
                let o = call!(c.reclassify(id, code, reason))?;
                return Ok(Done::Order(Box::new(o)));
            }
        }
        Ok(Done::Nothing)
    }
    .await;
    r.unwrap_or_else(|d| d)
}
