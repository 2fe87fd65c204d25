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

use crate::history::note;

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
    arm_timers(conn, &due, None, now).await
}

/// Arms assignments' timers (kind, instant, assignment) and, when given,
/// an order's callback timer (the order, its due instant), in one
/// statement.
async fn arm_timers(
    conn: &mut Conn,
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
    timers::arm_all(conn, &arms, now).await?;
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
/// as [`arm_callback_at_limit`]), in one statement.
pub async fn arm_new_clocks(
    ctx: &Ctx,
    conn: &mut Conn,
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
    arm_timers(conn, &due, callback, now).await
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

impl CityTimers {
    async fn tell(
        &self,
        conn: &mut Conn,
        t: &Timer,
        unit: &str,
        kind: NoticeKind,
        now: Micros,
        detail: String,
    ) -> Result<()> {
        let n = notice::notice(
            format!("notice:{}:{unit}", t.timer_id),
            unit,
            &t.order_id,
            kind,
            now,
            detail,
        );
        notice::send(conn, &self.ctx.topology.city().id, n, now).await
    }

    fn is_central(&self, unit: &str) -> bool {
        self.ctx
            .topology
            .unit(unit)
            .is_some_and(|u| u.tier == hotline_core::Tier::Central)
    }

    fn parent(&self, unit: &str) -> Option<String> {
        self.ctx.topology.parent_of(unit).map(|p| p.id.clone())
    }
}

#[tonic::async_trait]
impl TimerEffects for CityTimers {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        let Some(mut order) = orders::lock(conn, &t.order_id).await? else {
            return Ok(());
        };
        let city = self.ctx.topology.city().id.clone();
        if t.kind == RULING {
            // The authority has not ruled within the ruling deadline.
            let pending = hotline_runtime::tables::objections::get(conn, &t.payload)
                .await?
                .is_some_and(|o| o.state == hotline_core::ObjectionState::Pending);
            if pending {
                let detail = format!("{}: {} has not ruled by the deadline", t.payload, t.unit_id);
                note(conn, &mut order, now, &city, "ruling_overdue", detail).await?;
                if t.unit_id != city {
                    self.tell(
                        conn,
                        t,
                        &t.unit_id,
                        NoticeKind::Supervision,
                        now,
                        format!("rule on objection {}", t.payload),
                    )
                    .await?;
                }
                orders::update(conn, &order).await?;
            }
            return Ok(());
        }
        if t.kind == CALLBACK {
            // Art. 23: due at the end of the time limit, replied or not
            // (or at the reply, by policy).
            let detail = match order.state {
                OrderState::Replied => "the centre's callback to the requester is due",
                s if s.awaits_reply() => {
                    "the time limit has ended without a reply: the centre's callback is due"
                }
                _ => return Ok(()),
            };
            note(conn, &mut order, now, &city, "callback_due", detail.into()).await?;
            orders::update(conn, &order).await?;
            return Ok(());
        }
        // A timer whose cause has gone (replied, superseded) does nothing.
        let Some(a) = assignments::get(conn, &t.order_id, &t.unit_id).await? else {
            return Ok(());
        };
        if a.epoch != t.epoch || !a.state.is_open() || order.state.is_final() {
            return Ok(());
        }
        let unit = a.unit_id.clone();
        match t.kind {
            WARNING => {
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "warning",
                    format!("{unit} nears its limit ({})", a.due_us),
                )
                .await?;
                self.tell(
                    conn,
                    t,
                    &unit,
                    NoticeKind::Warning,
                    now,
                    "the handling limit is near".into(),
                )
                .await?;
            }
            BREACH if self.is_central(&unit) => {
                order.overdue = true;
                // Art. 22: the centre forwards and pushes (推动); it does
                // not supervise a central unit.
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "pushed",
                    format!("{unit} (a central unit, Art. 22) passed its limit: the centre pushes"),
                )
                .await?;
                self.tell(
                    conn,
                    t,
                    &unit,
                    NoticeKind::Urge,
                    now,
                    "the centre pushes: the matter is past its limit".into(),
                )
                .await?;
            }
            // Nothing is escalated above a central unit.
            ESCALATION if self.is_central(&unit) => {}
            // Art. 14 ¶2: a co-handler late with its part; the lead gets an
            // interim report of where it stands, the co-handler an urge.
            CO_HANDLER => {
                let leads: Vec<String> = if a.lead_unit.is_empty() {
                    assignments::for_order(conn, &t.order_id)
                        .await?
                        .into_iter()
                        .filter(|l| l.role.is_lead() && l.state.is_open())
                        .map(|l| l.unit_id)
                        .collect()
                } else {
                    vec![a.lead_unit.clone()]
                };
                let progress = match a.progress_note.as_str() {
                    "" => "no progress reported".to_string(),
                    p => format!("latest progress: {p}"),
                };
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "co_handler_late",
                    format!(
                        "{unit} has not reported its part (due {}) to {}: interim report sent",
                        a.due_us,
                        leads.join(", ")
                    ),
                )
                .await?;
                self.tell(
                    conn,
                    t,
                    &unit,
                    NoticeKind::Urge,
                    now,
                    "your part is due: report it to the lead, or where it stands".into(),
                )
                .await?;
                for l in &leads {
                    self.tell(
                        conn,
                        t,
                        l,
                        NoticeKind::CoHandlerReport,
                        now,
                        format!("interim: {unit} has not finished its part; {progress}"),
                    )
                    .await?;
                }
            }
            BREACH => {
                order.overdue = true;
                // Observed in the sweep's transaction: a rolled-back sweep
                // fires again and observes again, rare enough to accept.
                let m = &self.ctx.metrics;
                let labels = m.pair(&city, &unit, a.urgency.as_str());
                hotline_runtime::metrics::Metrics::observe(
                    &m.business.breach_to_supervision,
                    &labels,
                    now - t.due_us,
                );
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "breached",
                    format!("{unit} passed its limit"),
                )
                .await?;
                let mut told = vec![unit.clone()];
                told.extend(self.parent(&unit));
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "supervision",
                    format!("督办 to {}", told.join(", ")),
                )
                .await?;
                for u in &told {
                    self.tell(
                        conn,
                        t,
                        u,
                        NoticeKind::Supervision,
                        now,
                        format!("supervision: {unit} is past its limit"),
                    )
                    .await?;
                }
            }
            ESCALATION => {
                let Some(parent) = self.parent(&unit) else {
                    return Ok(());
                };
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "escalated",
                    format!("overdue at {unit}; to {parent} for coordination"),
                )
                .await?;
                self.tell(
                    conn,
                    t,
                    &parent,
                    NoticeKind::Escalation,
                    now,
                    format!("coordinate: {unit} is overdue"),
                )
                .await?;
            }
            ACCEPT if a.accepted_us.is_none() => {
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "accept_overdue",
                    format!("{unit} did not accept in time"),
                )
                .await?;
                self.tell(
                    conn,
                    t,
                    &unit,
                    NoticeKind::AcceptOverdue,
                    now,
                    "accept the assignment".into(),
                )
                .await?;
            }
            CONTACT if a.contacted_us.is_none() => {
                note(
                    conn,
                    &mut order,
                    now,
                    &city,
                    "contact_overdue",
                    format!("{unit} did not contact the requester in time"),
                )
                .await?;
                self.tell(
                    conn,
                    t,
                    &unit,
                    NoticeKind::ContactOverdue,
                    now,
                    "contact the requester".into(),
                )
                .await?;
            }
            // Accepted or contacted in time; the ruling and callback
            // timers returned above; a check-in timer is a district's.
            ACCEPT | CONTACT | RULING | CALLBACK | CHECK_IN => return Ok(()),
        }
        orders::update(conn, &order).await?;
        Ok(())
    }
}
