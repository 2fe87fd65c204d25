//! Proactive governance at the centre (未诉先办, Art. 24): problem analysis
//! over the city's record of requests, and proactive tasks. A task is an
//! order of kind proactive_task, issued through the same path as any lead
//! (clocks armed, handlers accept, progress and reply with DispatchService);
//! it closes on the reply, without a callback. The centre answers any unit
//! for its own subtree: districts call here as themselves.

use std::collections::BTreeMap;

use crate::tables::orders::{self, Order as Stored};
use crate::tables::proactive::{self as store, Task};
use hotline_core::proactive::{self, Month, Window};
use hotline_core::{Micros, OrderState, RequestKind, Role, Tier, Urgency};
use hotline_proto::v1::proactive_service_server::ProactiveService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::wire::{self, WireEnum, opt_ts, ts};
use hotline_runtime::{Ctx, guard, idem, meta};
use hotline_store::Conn;
use tonic::{Request, Response, Status};

use crate::record::{self, note, transition};

pub struct CityProactive {
    ctx: Ctx,
}

impl CityProactive {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

/// `units/{id}` (or a bare id) of a known unit, else INVALID_ARGUMENT on
/// `field`.
fn area<'a>(ctx: &'a Ctx, field: &str, name: &str) -> Result<&'a hotline_core::Unit> {
    let id = name.strip_prefix("units/").unwrap_or(name);
    required(field, id)?;
    ctx.topology
        .unit(id)
        .ok_or_else(|| ServiceError::invalid(field, format!("unknown unit {id}")))
}

/// The calling unit, which must be the centre or a district to `act`
/// (issue proactive tasks, sweep for similar problems).
pub(crate) fn issuer<'a>(
    ctx: &'a Ctx,
    caller: &meta::Caller,
    act: &str,
) -> Result<&'a hotline_core::Unit> {
    let issuer = ctx
        .topology
        .unit(&caller.unit)
        .ok_or_else(|| ServiceError::not_found("unit", caller.unit.clone()))?;
    if !matches!(issuer.tier, Tier::City | Tier::District) {
        return Err(ServiceError::PermissionDenied(format!(
            "only the centre or a district {act}; caller is {}",
            caller.unit
        )));
    }
    Ok(issuer)
}

/// The caller reads and acts only within its own subtree.
fn within(ctx: &Ctx, caller: &str, unit: &str) -> Result<()> {
    guard::may_read_unit(ctx, caller, unit)
}

/// The units a request counts in, smallest first, from its township up to
/// and including `top`; empty when the request is outside `top`'s subtree.
fn areas_of(ctx: &Ctx, o: &Stored, top: &str) -> Vec<String> {
    let t = &ctx.topology;
    let leaf = [&o.community_unit, &o.territory_unit]
        .into_iter()
        .find(|u| !u.is_empty());
    let mut chain = Vec::new();
    let mut at = match leaf {
        Some(u) => t.unit(u),
        None => Some(t.city()),
    };
    while let Some(u) = at {
        if u.tier != Tier::Community {
            chain.push(u.id.clone());
        }
        if u.id == top {
            return chain;
        }
        at = t.parent_of(&u.id);
    }
    Vec::new()
}

/// Merges overlapping windows, so each request is read once.
fn merged(mut ws: Vec<Window>) -> Vec<Window> {
    ws.sort_by_key(|w| w.from);
    let mut out: Vec<Window> = Vec::new();
    for w in ws {
        match out.last_mut() {
            Some(last) if w.from <= last.to => last.to = last.to.max(w.to),
            _ => out.push(w),
        }
    }
    out
}

impl CityProactive {
    async fn analyze(
        &self,
        caller: &meta::Caller,
        r: AnalyzeProblemsRequest,
    ) -> Result<AnalyzeProblemsResponse> {
        let ctx = &self.ctx;
        let top_unit = if r.area.is_empty() {
            ctx.topology
                .unit(&caller.unit)
                .ok_or_else(|| ServiceError::not_found("unit", caller.unit.clone()))?
        } else {
            area(ctx, "area", &r.area)?
        };
        if !matches!(top_unit.tier, Tier::City | Tier::District | Tier::Township) {
            return Err(ServiceError::invalid(
                "area",
                format!("{} is not the city, a district or a township", top_unit.id),
            ));
        }
        within(ctx, &caller.unit, &top_unit.id)?;
        let now = ctx.now();
        let month = match r.month.as_str() {
            "" => Month::of(now),
            m => {
                Month::parse(m).ok_or_else(|| ServiceError::invalid("month", "must be YYYY-MM"))?
            }
        };
        let policy = &ctx.topology.policy;
        let p = &policy.proactive;
        let top = match r.top {
            0 => p.top_problems as usize,
            n @ 1..=500 => n as usize,
            _ => return Err(ServiceError::invalid("top", "must be between 0 and 500")),
        };
        let window = p.window(month);
        let mut spans = vec![window];
        spans.extend(p.baseline(month));
        spans.extend(p.earlier_years(month));
        let mut requests = Vec::new();
        let mut c = ctx.db.acquire().await?;
        for w in merged(spans) {
            for s in store::requests_between(&mut c, w.from, w.to).await? {
                let areas = areas_of(ctx, &s.order, &top_unit.id);
                if areas.is_empty() {
                    continue;
                }
                requests.push(to_core(p, s, areas));
            }
        }
        drop(c);
        let in_window: Vec<&proactive::Request> = requests
            .iter()
            .filter(|r| window.contains(r.received_us))
            .collect();
        let mut volume: BTreeMap<&str, u64> = BTreeMap::new();
        for r in &in_window {
            for a in &r.areas {
                *volume.entry(a.as_str()).or_default() += 1;
            }
        }
        let townships: Vec<(String, u64, u64)> = ctx
            .topology
            .units()
            .filter(|u| u.tier == Tier::Township && ctx.topology.is_within(&u.id, &top_unit.id))
            .map(|u| {
                let v = volume.get(u.id.as_str()).copied().unwrap_or(0);
                (u.id.clone(), v, u.population)
            })
            .collect();
        let focus = proactive::focus_townships(p, &townships);
        let mut problems = proactive::analyse(p, &policy.season, month, &requests);
        problems.truncate(top);
        Ok(AnalyzeProblemsResponse {
            area_unit: top_unit.id.clone(),
            month: month.to_string(),
            window_start_time: Some(ts(window.from)),
            window_end_time: Some(ts(window.to)),
            requests: in_window.len() as u64,
            problems: problems.iter().map(|x| self.problem_to_wire(x)).collect(),
            focus_townships: focus
                .into_iter()
                .map(|f| FocusTownship {
                    unit_id: f.unit,
                    volume: f.volume,
                    population: f.population,
                    per_ten_thousand: f.per_10k,
                })
                .collect(),
        })
    }

    fn problem_to_wire(&self, x: &proactive::Problem) -> Problem {
        let t = &self.ctx.topology;
        Problem {
            category_code: x.category.clone(),
            category_name: t
                .item(&x.category)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            area_unit: x.area.clone(),
            area_tier: t.unit(&x.area).map(|u| u.tier.to_wire()).unwrap_or(0),
            count: x.count,
            baseline: x.baseline,
            earlier_years: x.earlier_years.clone(),
            high_frequency: x.high_frequency,
            periodic: x.periodic,
            seasons: x.seasons.clone(),
            repeat_requesters: x.repeat_requesters,
            repeat_locations: x.repeat_places,
            people: x.people,
            units: x.units,
            shares: Some(DifficultyShares {
                overdue: x.shares.overdue,
                reopened: x.shares.reopened,
                disputed: x.shares.disputed,
                escalated: x.shares.escalated,
                any: x.shares.any,
            }),
            degrees: Some(FourDegrees {
                frequency: x.degrees.frequency.into(),
                breadth: x.degrees.breadth.into(),
                intensity: x.degrees.intensity.into(),
                difficulty: x.degrees.difficulty.into(),
            }),
            risk_score: x.score,
            risk_level: x.risk.to_wire(),
        }
    }

    pub(crate) async fn create(
        &self,
        caller: &meta::Caller,
        r: CreateProactiveTaskRequest,
    ) -> Result<CreateProactiveTaskResponse> {
        let ctx = &self.ctx;
        let t = &ctx.topology;
        let issuer = issuer(ctx, caller, "issues proactive tasks")?;
        required("category_code", &r.category_code)?;
        let item = t.item(&r.category_code).ok_or_else(|| {
            ServiceError::invalid(
                "category_code",
                format!("{} is not in the dispatch catalogue", r.category_code),
            )
        })?;
        let unit = area(ctx, "area_unit", &r.area_unit)?;
        if !matches!(unit.tier, Tier::District | Tier::Township | Tier::Community) {
            return Err(ServiceError::invalid(
                "area_unit",
                format!("{} is not a district, township or community", unit.id),
            ));
        }
        within(ctx, &caller.unit, &unit.id)?;
        required("instructions", &r.instructions)?;
        let now = ctx.now();
        let due = r
            .due_time
            .as_ref()
            .map(wire::micros)
            .ok_or_else(|| ServiceError::invalid("due_time", "required"))?;
        if due <= now {
            return Err(ServiceError::invalid("due_time", "must be after now"));
        }
        let scope = idem::scope("CreateProactiveTask", &caller.unit);
        let mut issued = None;
        let answer = ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let city = t.city().id.clone();
                let order_id = record::next_id(tx, "order", "HL").await?;
                let mut order = task_order(ctx, &order_id, item, unit, &r.instructions, now, due);
                orders::insert(tx, &order).await?;
                let task = Task {
                    order_id: order_id.clone(),
                    issuer_unit: issuer.id.clone(),
                    area_unit: unit.id.clone(),
                    created_us: now,
                };
                store::insert_task(tx, &task).await?;
                let received = format!("proactive task from {} to {}", issuer.id, unit.id);
                note(tx, &mut order, now, &issuer.id, "received", received).await?;
                let dispatched = format!("{}:{}", unit.id, Role::Lead);
                note(tx, &mut order, now, &city, "dispatched", dispatched).await?;
                let a = record::fresh(
                    &ctx.topology.policy,
                    &order,
                    &unit.id,
                    Role::Lead,
                    1,
                    now,
                    due,
                );
                record::issue(ctx, tx, &order, &a, now).await?;
                orders::update(tx, &order).await?;
                let answer = CreateProactiveTaskResponse {
                    task: Some(self.task_to_wire(tx, &order, &task, now).await?),
                };
                issued = Some(order_id);
                Ok(answer)
            })
            .await?;
        let Some(order_id) = issued else {
            return Ok(answer);
        };
        tracing::info!(order_id = %order_id, issuer = %issuer.id, unit = %unit.id, category = %item.code, "proactive task issued");
        Ok(answer)
    }

    /// A task with its assignment and the matching requests before and
    /// after its issue.
    pub(crate) async fn task_to_wire(
        &self,
        conn: &mut Conn,
        o: &Stored,
        task: &Task,
        now: Micros,
    ) -> Result<ProactiveTask> {
        let a = assignments::get(conn, &o.order_id, &task.area_unit).await?;
        let p = &self.ctx.topology.policy.proactive;
        let (before, after) = p.task_windows(task.created_us);
        let (category, area) = (&o.category_code, &task.area_unit);
        let before_n = self.matching(conn, category, area, before).await?;
        let so_far = Window {
            from: after.from,
            to: after.to.min(now.max(after.from)),
        };
        let after_n = self.matching(conn, category, area, so_far).await?;
        Ok(ProactiveTask {
            name: format!("orders/{}", o.order_id),
            order_id: o.order_id.clone(),
            issuer_unit: task.issuer_unit.clone(),
            area_unit: task.area_unit.clone(),
            category_code: o.category_code.clone(),
            instructions: o.body.clone(),
            issued_time: Some(ts(task.created_us)),
            due_time: Some(ts(o.due_us)),
            state: o.state.to_wire(),
            assignment_state: a.as_ref().map(|a| a.state.to_wire()).unwrap_or(0),
            replied_time: a.as_ref().and_then(|a| opt_ts(a.replied_us)),
            reply_text: a.map(|a| a.reply_text).unwrap_or_default(),
            overdue: o.overdue,
            effect: Some(TaskEffect {
                window_days: p.task_window_days,
                before: before_n,
                after: after_n,
                after_complete: now >= after.to,
            }),
        })
    }

    /// Citizens' requests of the category in the window whose place is in
    /// the area's subtree.
    async fn matching(
        &self,
        conn: &mut Conn,
        category: &str,
        area: &str,
        w: Window,
    ) -> Result<u64> {
        let t = &self.ctx.topology;
        let places = store::places_of(conn, category, w.from, w.to).await?;
        Ok(places
            .iter()
            .filter(|(territory, community)| {
                [territory, community]
                    .iter()
                    .any(|u| !u.is_empty() && t.is_within(u, area))
            })
            .count() as u64)
    }

    async fn get(
        &self,
        caller: &meta::Caller,
        r: GetProactiveTaskRequest,
    ) -> Result<ProactiveTask> {
        let order_id = record::order_id(&r.name)?;
        let mut c = self.ctx.db.acquire().await?;
        let not_found = || ServiceError::not_found("proactive task", r.name.clone());
        let task = store::get_task(&mut c, order_id)
            .await?
            .ok_or_else(not_found)?;
        self.may_see(caller, &task)?;
        let o = orders::get(&mut c, order_id).await?.ok_or_else(not_found)?;
        self.task_to_wire(&mut c, &o, &task, self.ctx.now()).await
    }

    /// A task is seen by its issuer and by any unit above its area.
    pub(crate) fn may_see(&self, caller: &meta::Caller, task: &Task) -> Result<()> {
        if task.issuer_unit == caller.unit {
            return Ok(());
        }
        within(&self.ctx, &caller.unit, &task.area_unit)
    }

    async fn list(
        &self,
        caller: &meta::Caller,
        r: ListProactiveTasksRequest,
    ) -> Result<ListProactiveTasksResponse> {
        let page = wire::Page::parse(r.page_size, &r.page_token)?;
        let mut c = self.ctx.db.acquire().await?;
        // Tasks are few (a handful a season per unit): read them all, keep
        // the caller's, then cut the page.
        let visible: Vec<Task> = store::list_tasks(&mut c, &page.after, i64::MAX)
            .await?
            .into_iter()
            .filter(|t| self.may_see(caller, t).is_ok())
            .collect();
        let (rows, next) = page.finish(visible, |t| t.order_id.as_str());
        let now = self.ctx.now();
        let mut tasks = Vec::new();
        for t in &rows {
            if let Some(o) = orders::get(&mut c, &t.order_id).await? {
                tasks.push(self.task_to_wire(&mut c, &o, t, now).await?);
            }
        }
        Ok(ListProactiveTasksResponse {
            tasks,
            next_page_token: next,
        })
    }
}

fn to_core(
    p: &proactive::ProactivePolicy,
    s: store::Request,
    areas: Vec<String>,
) -> proactive::Request {
    let o = s.order;
    proactive::Request {
        place: proactive::place_key(
            p,
            o.location.map(|l| (l.latitude, l.longitude)),
            &o.community_unit,
            &o.address,
        ),
        unit: [&o.community_unit, &o.territory_unit]
            .into_iter()
            .find(|u| !u.is_empty())
            .cloned()
            .unwrap_or_default(),
        category: o.category_code,
        areas,
        received_us: o.received_us,
        requester_ref: o.requester_ref,
        urgency: o.urgency,
        mood: o.mood,
        overdue: o.overdue,
        reopened: o.reopen_count > 0,
        disputed: s.disputed,
        escalated: s.escalated || o.urge_count > 0,
    }
}

/// The order that carries a task: no requester, the instructions as its
/// text, the unit as its territory, the deadline as both clocks' limit.
fn task_order(
    ctx: &Ctx,
    order_id: &str,
    item: &hotline_core::CatalogueItem,
    unit: &hotline_core::Unit,
    instructions: &str,
    now: Micros,
    due: Micros,
) -> Stored {
    Stored {
        body: instructions.to_string(),
        territory_unit: unit.id.clone(),
        trace_parent: hotline_runtime::trace::current_traceparent(),
        ..Stored::new(
            order_id.to_string(),
            OrderState::Dispatched,
            RequestKind::ProactiveTask,
            // No channel brought it in; the record's column is not optional.
            hotline_core::Channel::Web,
            item.code.clone(),
            Urgency::General,
            ctx.topology.catalogue_version.clone(),
            now,
            due,
        )
    }
}

/// A replied task closes: there is no one to call back.
pub async fn close_replied(conn: &mut Conn, order: &mut Stored, now: Micros) -> Result<()> {
    order.closed_us = Some(now);
    let detail = "proactive task replied; no callback".to_string();
    transition(conn, order, now, "city", OrderState::Closed, detail).await
}

#[tonic::async_trait]
impl ProactiveService for CityProactive {
    async fn analyze_problems(
        &self,
        req: Request<AnalyzeProblemsRequest>,
    ) -> Result<Response<AnalyzeProblemsResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(
            self.analyze(&caller, req.into_inner()).await?,
        ))
    }

    async fn create_proactive_task(
        &self,
        req: Request<CreateProactiveTaskRequest>,
    ) -> Result<Response<CreateProactiveTaskResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.create(&caller, req.into_inner()).await?))
    }

    async fn get_proactive_task(
        &self,
        req: Request<GetProactiveTaskRequest>,
    ) -> Result<Response<GetProactiveTaskResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        let task = self.get(&caller, req.into_inner()).await?;
        Ok(Response::new(GetProactiveTaskResponse { task: Some(task) }))
    }

    async fn list_proactive_tasks(
        &self,
        req: Request<ListProactiveTasksRequest>,
    ) -> Result<Response<ListProactiveTasksResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.list(&caller, req.into_inner()).await?))
    }

    async fn sweep_similar(
        &self,
        req: Request<SweepSimilarRequest>,
    ) -> Result<Response<SweepSimilarResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(
            crate::sweep::sweep(self, &self.ctx, &caller, req.into_inner()).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_windows_merge() {
        let w = |from, to| Window { from, to };
        assert_eq!(
            merged(vec![w(10, 20), w(0, 5), w(5, 12), w(30, 40)]),
            vec![w(0, 20), w(30, 40)]
        );
    }
}
