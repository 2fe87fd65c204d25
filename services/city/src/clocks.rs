//! The centre's clocks on each order (DESIGN.md §4): the handler clock of
//! every lead assignment — warning, breach with supervision (督办),
//! escalation to the parent — the response windows (accept, contact), and
//! the callback falling due. All durable timers, fired by the sweeper.

use crate::tables::orders::{self, Order};
use hotline_core::deadline::{self, HandlerClock};
use hotline_core::{Micros, OrderState};
use hotline_handler::notice;
use hotline_proto::v1::NoticeKind;
use hotline_runtime::Ctx;
use hotline_runtime::error::Result;
use hotline_runtime::sweeper::TimerEffects;
use hotline_runtime::tables::assignments::{self, Assignment};
use hotline_runtime::tables::timers::{self, Arm, Timer};
use hotline_store::Conn;

use crate::history::entry;
use crate::tables::orders::HistoryEntry;
use hotline_proto::v1::DeliverNoticeRequest;
use hotline_runtime::handoff;
use hotline_runtime::sweeper::timer_span;
use hotline_runtime::tables::outbox::{self, NewMessage};
use std::collections::{BTreeSet, HashMap, HashSet};

use hotline_core::kinds::TimerKind::{
    self, Accept as ACCEPT, Breach as BREACH, Callback as CALLBACK, CheckIn as CHECK_IN,
    CoHandler as CO_HANDLER, Contact as CONTACT, Escalation as ESCALATION, Ruling as RULING,
    Warning as WARNING,
};

/// The authority must rule on an objection by its ruling deadline.
pub async fn arm_ruling(
    conn: &mut Conn,
    objection_id: &str,
    order_id: &str,
    authority: &str,
    due_us: Micros,
    now: Micros,
) -> Result<()> {
    let timer_id = format!("{RULING}:{objection_id}");
    let t = Arm {
        timer_id: &timer_id,
        kind: RULING,
        order_id,
        unit_id: authority,
        epoch: 0,
        due_us,
        payload: objection_id,
    };
    timers::arm(conn, t, now).await?;
    Ok(())
}

pub async fn ruled(conn: &mut Conn, objection_id: &str) -> Result<()> {
    timers::cancel_one(conn, &format!("{RULING}:{objection_id}")).await?;
    Ok(())
}

fn id(kind: TimerKind, a: &Assignment) -> String {
    format!("{kind}:{}:{}:{}", a.order_id, a.unit_id, a.epoch)
}

/// Arms the assignment's timers of these kinds, in one statement.
async fn arm(
    conn: &mut Conn,
    a: &Assignment,
    due: &[(TimerKind, Micros)],
    now: Micros,
) -> Result<()> {
    let due: Vec<_> = due.iter().map(|&(kind, at)| (kind, at, a)).collect();
    let mut b = hotline_store::Batch::of(conn);
    arm_timers(&mut b, &due, None, now)?;
    Ok(b.run(conn).await?)
}

/// Arms assignments' timers (kind, instant, assignment) and, when given,
/// an order's callback timer (the order, its due instant), in one
/// statement.
fn arm_timers(
    b: &mut hotline_store::Batch,
    due: &[(TimerKind, Micros, &Assignment)],
    callback: Option<(&Order, Micros)>,
    now: Micros,
) -> Result<()> {
    let ids: Vec<String> = due.iter().map(|&(kind, _, a)| id(kind, a)).collect();
    let mut arms: Vec<Arm> = due
        .iter()
        .zip(&ids)
        .map(|(&(kind, due_us, a), timer_id)| Arm {
            timer_id,
            kind,
            order_id: &a.order_id,
            unit_id: &a.unit_id,
            epoch: a.epoch,
            due_us,
            payload: "",
        })
        .collect();
    let callback_timer = callback.map(|(order, _)| callback_id(order));
    if let (Some((order, at)), Some(timer_id)) = (callback, &callback_timer) {
        arms.push(callback_arm(order, timer_id, at));
    }
    if arms.is_empty() {
        return Ok(());
    }
    timers::arm_all_into(b, &arms, now)?;
    Ok(())
}

/// The handler clock of a lead (warning, breach, escalation) from its
/// dispatch to its due time.
fn handler_clock(ctx: &Ctx, a: &Assignment) -> [(TimerKind, Micros); 3] {
    let h = HandlerClock::new(&ctx.topology.policy, a.dispatched_us, a.due_us);
    [
        (WARNING, h.warning),
        (BREACH, h.breach),
        (ESCALATION, h.escalation),
    ]
}

/// Arms the handler clock of a lead. Re-arming after an extension moves
/// them.
pub async fn arm_handler_clock(
    ctx: &Ctx,
    conn: &mut Conn,
    a: &Assignment,
    now: Micros,
) -> Result<()> {
    arm(conn, a, &handler_clock(ctx, a), now).await
}

/// New assignments of `order`: each new lead's handler clock and accept
/// window, each new co-handler's part deadline (Art. 14 ¶2), and, with a
/// new lead, the order's callback at the end of the time limit (Art. 23,
/// as [`arm_callback_at_limit`]), in one statement, added to `b`.
pub fn arm_new_clocks(
    ctx: &Ctx,
    b: &mut hotline_store::Batch,
    order: &Order,
    leads: &[&Assignment],
    co_handlers: &[&Assignment],
    now: Micros,
) -> Result<()> {
    let mut due: Vec<(TimerKind, Micros, &Assignment)> = Vec::with_capacity(leads.len() * 4);
    for &a in leads {
        let accept = deadline::accept_due(&ctx.topology.policy, a.urgency, a.dispatched_us);
        let clock = handler_clock(ctx, a).into_iter().chain([(ACCEPT, accept)]);
        due.extend(clock.map(|(kind, at)| (kind, at, a)));
    }
    due.extend(co_handlers.iter().map(|&a| (CO_HANDLER, a.due_us, a)));
    let latest = leads.iter().map(|a| a.due_us).max();
    let callback = latest
        .filter(|_| order.kind.is_citizen_request())
        .map(|latest| (order, order.due_us.max(latest)));
    arm_timers(b, &due, callback, now)
}

/// Accepted: the accept window closes, the contact window opens.
pub async fn accepted(
    ctx: &Ctx,
    conn: &mut Conn,
    a: &Assignment,
    accepted_us: Micros,
    now: Micros,
) -> Result<()> {
    timers::cancel_one(conn, &id(ACCEPT, a)).await?;
    // A proactive task has no requester to contact.
    if a.contacted_us.is_none() && a.kind.is_citizen_request() {
        let due = deadline::contact_due(&ctx.topology.policy, a.urgency, accepted_us);
        arm(conn, a, &[(CONTACT, due)], now).await?;
    }
    Ok(())
}

pub async fn contacted(conn: &mut Conn, a: &Assignment) -> Result<()> {
    timers::cancel_one(conn, &id(CONTACT, a)).await?;
    Ok(())
}

/// The assignment is done (replied, revoked, superseded): its clocks stop.
pub async fn stop(conn: &mut Conn, order_id: &str, unit_id: &str) -> Result<()> {
    timers::cancel(conn, order_id, Some(unit_id), None).await?;
    Ok(())
}

/// When the order's time limit ends ([`deadline::time_limit`]), from its
/// live leads as stored.
pub async fn time_limit(conn: &mut Conn, order: &Order) -> Result<Micros> {
    let held = assignments::for_order(conn, &order.order_id).await?;
    let leads = held
        .iter()
        .filter(|a| a.role.is_lead() && a.state != hotline_core::AssignmentState::Revoked);
    Ok(deadline::time_limit(order.due_us, leads.map(|a| a.due_us)))
}

/// Art. 23: a dispatched order is called back when its time limit ends,
/// replied or not: armed when a lead's clock starts, at the later of the
/// order's deadline and `lead_due`. Proactive tasks have no one to call.
pub async fn arm_callback_at_limit(
    conn: &mut Conn,
    order: &Order,
    lead_due: Micros,
    now: Micros,
) -> Result<()> {
    if !order.kind.is_citizen_request() {
        return Ok(());
    }
    arm_callback_timer(conn, order, order.due_us.max(lead_due), now).await
}

/// The order is replied: the callback falls due at the reply
/// (`callback_at = "reply"`) or still at the end of the time limit
/// (`"limit"`, the default), at once if that has passed.
pub async fn arm_callback(ctx: &Ctx, conn: &mut Conn, order: &Order, now: Micros) -> Result<()> {
    let due = if ctx.topology.policy.callback_at == "reply" {
        now
    } else {
        time_limit(conn, order).await?.max(now)
    };
    arm_callback_timer(conn, order, due, now).await
}

/// The callback timer of the order's current round.
async fn arm_callback_timer(
    conn: &mut Conn,
    order: &Order,
    due: Micros,
    now: Micros,
) -> Result<()> {
    let timer_id = callback_id(order);
    timers::arm(conn, callback_arm(order, &timer_id, due), now).await?;
    Ok(())
}

/// The id of the callback timer of the order's current round.
fn callback_id(order: &Order) -> String {
    format!("{CALLBACK}:{}:{}", order.order_id, order.reopen_count)
}

/// The order's callback timer, due at `due`.
fn callback_arm<'a>(order: &'a Order, timer_id: &'a str, due: Micros) -> Arm<'a> {
    Arm {
        timer_id,
        kind: CALLBACK,
        order_id: &order.order_id,
        unit_id: "",
        epoch: 0,
        due_us: due,
        payload: "",
    }
}

pub async fn callback_done(conn: &mut Conn, order_id: &str) -> Result<()> {
    timers::cancel(conn, order_id, None, Some(CALLBACK)).await?;
    Ok(())
}

/// Whether any open lead is past its handler deadline.
pub async fn any_lead_overdue(conn: &mut Conn, order_id: &str, now: Micros) -> Result<bool> {
    Ok(assignments::for_order(conn, order_id)
        .await?
        .iter()
        .any(|a| a.role.is_lead() && a.state.is_open() && a.due_us <= now))
}

/// What the centre's timers do when they fall due.
pub struct CityTimers {
    pub ctx: Ctx,
}

/// A claimed batch of the centre's timers: its orders (locked) and what
/// its effects write, one statement per table (history lines, notices in
/// the outbox, the orders' records). What it only reads is [`Seen`].
struct Batch {
    city: String,
    orders: HashMap<String, Order>,
    changed: BTreeSet<String>,
    history: Vec<(String, HistoryEntry)>,
    /// Each notice with the trace context of the timer that sent it.
    notices: Vec<(DeliverNoticeRequest, String, String)>,
}

/// What a batch reads besides its orders, one statement per table: the
/// orders' assignments and the objections still awaiting a ruling.
struct Seen {
    held: HashMap<String, Vec<Assignment>>,
    pending_rulings: HashSet<String>,
}

impl Batch {
    async fn read(conn: &mut Conn, city: String, due: &[Timer]) -> Result<(Batch, Seen)> {
        let ids: Vec<&str> = due.iter().map(|t| t.order_id.as_str()).collect();
        let orders = orders::lock_all(conn, &ids).await?;
        let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        let mut held: HashMap<String, Vec<Assignment>> = HashMap::new();
        for a in assignments::for_orders(conn, &ids).await? {
            held.entry(a.order_id.clone()).or_default().push(a);
        }
        let mut pending_rulings = HashSet::new();
        // Rare (an authority late with a ruling): one read each.
        for t in due.iter().filter(|t| t.kind == RULING) {
            let o = hotline_runtime::tables::objections::get(conn, &t.payload).await?;
            if o.is_some_and(|o| o.state == hotline_core::ObjectionState::Pending) {
                pending_rulings.insert(t.payload.clone());
            }
        }
        let batch = Batch {
            city,
            orders: orders
                .into_iter()
                .map(|o| (o.order_id.clone(), o))
                .collect(),
            changed: BTreeSet::new(),
            history: Vec::new(),
            notices: Vec::new(),
        };
        Ok((
            batch,
            Seen {
                held,
                pending_rulings,
            },
        ))
    }

    /// The order's next history line, by the centre.
    fn note(&mut self, order: &mut Order, now: Micros, action: &str, detail: String) {
        let line = entry(order, now, &self.city, action, detail);
        self.history.push((order.order_id.clone(), line));
        self.changed.insert(order.order_id.clone());
    }

    /// A notice from the centre to `unit` about the timer's order,
    /// continuing the trace of the timer's span (entered by the caller).
    fn tell(&mut self, t: &Timer, unit: &str, kind: NoticeKind, now: Micros, detail: String) {
        let n = notice::notice(
            format!("notice:{}:{unit}", t.timer_id),
            unit,
            &t.order_id,
            kind,
            now,
            detail,
        );
        let (trace_parent, baggage) = hotline_runtime::trace::current();
        self.notices.push((n, trace_parent, baggage));
    }

    async fn write(self, conn: &mut Conn, now: Micros) -> Result<()> {
        let lines: Vec<(&str, &HistoryEntry)> =
            self.history.iter().map(|(o, e)| (o.as_str(), e)).collect();
        orders::append_history_lines(conn, &lines).await?;
        let messages: Vec<NewMessage> = self
            .notices
            .iter()
            .map(|(n, trace_parent, baggage)| {
                let (route, kind) = notice::route(&self.city, n);
                handoff::message(route, kind, n, trace_parent, baggage)
            })
            .collect();
        outbox::enqueue_all(conn, &messages, now).await?;
        let changed: Vec<&Order> = self.changed.iter().map(|id| &self.orders[id]).collect();
        orders::update_records(conn, &changed).await?;
        Ok(())
    }
}

impl CityTimers {
    fn is_central(&self, unit: &str) -> bool {
        self.ctx
            .topology
            .unit(unit)
            .is_some_and(|u| u.tier == hotline_core::Tier::Central)
    }

    fn parent(&self, unit: &str) -> Option<String> {
        self.ctx.topology.parent_of(unit).map(|p| p.id.clone())
    }

    /// What one timer does to its order, into the batch's writes. A timer
    /// whose cause has gone (the order replied meanwhile) does nothing.
    fn decide(&self, seen: &Seen, b: &mut Batch, order: &mut Order, t: &Timer, now: Micros) {
        if t.kind == RULING {
            // The authority has not ruled within the ruling deadline.
            if seen.pending_rulings.contains(&t.payload) {
                let detail = format!("{}: {} has not ruled by the deadline", t.payload, t.unit_id);
                b.note(order, now, "ruling_overdue", detail);
                if t.unit_id != b.city {
                    let detail = format!("rule on objection {}", t.payload);
                    b.tell(t, &t.unit_id, NoticeKind::Supervision, now, detail);
                }
            }
            return;
        }
        if t.kind == CALLBACK {
            // Art. 23: due at the end of the time limit, replied or not
            // (or at the reply, by policy).
            let detail = match order.state {
                OrderState::Replied => "the centre's callback to the requester is due",
                s if s.awaits_reply() => {
                    "the time limit has ended without a reply: the centre's callback is due"
                }
                _ => return,
            };
            b.note(order, now, "callback_due", detail.into());
            return;
        }
        let held = seen.held.get(&t.order_id).map_or(&[][..], Vec::as_slice);
        let Some(a) = held.iter().find(|a| a.unit_id == t.unit_id) else {
            return;
        };
        if a.epoch != t.epoch || !a.state.is_open() || order.state.is_final() {
            return;
        }
        let unit = a.unit_id.clone();
        match t.kind {
            WARNING => {
                let detail = format!("{unit} nears its limit ({})", a.due_us);
                b.note(order, now, "warning", detail);
                let detail = "the handling limit is near".into();
                b.tell(t, &unit, NoticeKind::Warning, now, detail);
            }
            BREACH if self.is_central(&unit) => {
                order.overdue = true;
                // Art. 22: the centre forwards and pushes (推动); it does
                // not supervise a central unit.
                let detail =
                    format!("{unit} (a central unit, Art. 22) passed its limit: the centre pushes");
                b.note(order, now, "pushed", detail);
                let detail = "the centre pushes: the matter is past its limit".into();
                b.tell(t, &unit, NoticeKind::Urge, now, detail);
            }
            // Nothing is escalated above a central unit.
            ESCALATION if self.is_central(&unit) => {}
            // Art. 14 ¶2: a co-handler late with its part; the lead gets an
            // interim report of where it stands, the co-handler an urge.
            CO_HANDLER => {
                let leads: Vec<String> = if a.lead_unit.is_empty() {
                    held.iter()
                        .filter(|l| l.role.is_lead() && l.state.is_open())
                        .map(|l| l.unit_id.clone())
                        .collect()
                } else {
                    vec![a.lead_unit.clone()]
                };
                let progress = match a.progress_note.as_str() {
                    "" => "no progress reported".to_string(),
                    p => format!("latest progress: {p}"),
                };
                let detail = format!(
                    "{unit} has not reported its part (due {}) to {}: interim report sent",
                    a.due_us,
                    leads.join(", ")
                );
                b.note(order, now, "co_handler_late", detail);
                let detail = "your part is due: report it to the lead, or where it stands".into();
                b.tell(t, &unit, NoticeKind::Urge, now, detail);
                for l in &leads {
                    let detail = format!("interim: {unit} has not finished its part; {progress}");
                    b.tell(t, l, NoticeKind::CoHandlerReport, now, detail);
                }
            }
            BREACH => {
                order.overdue = true;
                // Observed in the sweep's transaction: a rolled-back sweep
                // fires again and observes again, rare enough to accept.
                let m = &self.ctx.metrics;
                let labels = m.pair(&b.city, &unit, a.urgency.as_str());
                hotline_runtime::metrics::Metrics::observe(
                    &m.business.breach_to_supervision,
                    &labels,
                    now - t.due_us,
                );
                b.note(order, now, "breached", format!("{unit} passed its limit"));
                let mut told = vec![unit.clone()];
                told.extend(self.parent(&unit));
                b.note(
                    order,
                    now,
                    "supervision",
                    format!("督办 to {}", told.join(", ")),
                );
                for u in &told {
                    let detail = format!("supervision: {unit} is past its limit");
                    b.tell(t, u, NoticeKind::Supervision, now, detail);
                }
            }
            ESCALATION => {
                let Some(parent) = self.parent(&unit) else {
                    return;
                };
                let detail = format!("overdue at {unit}; to {parent} for coordination");
                b.note(order, now, "escalated", detail);
                let detail = format!("coordinate: {unit} is overdue");
                b.tell(t, &parent, NoticeKind::Escalation, now, detail);
            }
            ACCEPT if a.accepted_us.is_none() => {
                let detail = format!("{unit} did not accept in time");
                b.note(order, now, "accept_overdue", detail);
                let detail = "accept the assignment".into();
                b.tell(t, &unit, NoticeKind::AcceptOverdue, now, detail);
            }
            CONTACT if a.contacted_us.is_none() => {
                let detail = format!("{unit} did not contact the requester in time");
                b.note(order, now, "contact_overdue", detail);
                let detail = "contact the requester".into();
                b.tell(t, &unit, NoticeKind::ContactOverdue, now, detail);
            }
            // Accepted or contacted in time; the ruling and callback
            // timers returned above; a check-in timer is a district's.
            ACCEPT | CONTACT | RULING | CALLBACK | CHECK_IN => {}
        }
    }
}

#[tonic::async_trait]
impl TimerEffects for CityTimers {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        self.fire_all(conn, std::slice::from_ref(t), now).await
    }

    /// The batch's effects as sets: its reads, then each timer decided in
    /// turn (earliest due first, in a span continuing the trace that armed
    /// it, several timers of one order on the same order), then its
    /// writes.
    async fn fire_all(&self, conn: &mut Conn, due: &[Timer], now: Micros) -> Result<()> {
        let city = self.ctx.topology.city().id.clone();
        let (mut b, seen) = Batch::read(conn, city, due).await?;
        for t in due {
            let Some(mut order) = b.orders.remove(&t.order_id) else {
                continue;
            };
            {
                let span = timer_span(t);
                let _in = span.enter();
                self.decide(&seen, &mut b, &mut order, t, now);
            }
            b.orders.insert(t.order_id.clone(), order);
        }
        b.write(conn, now).await
    }
}
