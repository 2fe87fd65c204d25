//! Scorecards as every tier serves them. The figures come from the city's
//! record: a tier service asks the city through the gateway, on behalf of
//! its caller, and rolls its own subtree up by asking each child's service
//! — through the gateway, with a deadline — naming any child that did not
//! answer.

use std::time::Duration;

use hotline_core::scoring::{Tally, Weights};
use hotline_proto::v1::reporting_service_client::ReportingServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::error::ServiceError;
use hotline_runtime::wire::WireEnum;
use hotline_runtime::{Ctx, guard, meta};
use tonic::{Request, Status};

use crate::unit_name;

/// A unit's counts as a wire scorecard, with its rates under `weights`.
pub fn to_wire(
    topology: &hotline_core::Topology,
    unit: &str,
    month: &str,
    scope: ScorecardScope,
    t: &Tally,
    weights: &Weights,
) -> Scorecard {
    let r = t.rates(weights);
    let rate = |x: hotline_core::scoring::Rate| Rate {
        numerator: x.numerator,
        denominator: x.denominator,
        value: x.value,
    };
    let u = topology.unit(unit);
    Scorecard {
        unit: format!("units/{unit}"),
        tier: u.map(|u| u.tier.to_wire()).unwrap_or(0),
        name: u.map(|u| u.name.clone()).unwrap_or_default(),
        month: month.to_string(),
        scope: scope as i32,
        response: Some(rate(r.response)),
        resolution: Some(rate(r.resolution)),
        satisfaction: Some(rate(r.satisfaction)),
        composite: r.composite,
        dispatched: t.dispatched,
        responded: t.responded,
        callbacks: t.callbacks,
        resolved: t.resolved,
        satisfied: t.satisfied,
        basically_satisfied: t.basically_satisfied,
        dissatisfied: t.dissatisfied,
        whistles: t.whistles,
        summoned: t.summoned,
        checked_in_on_time: t.checked_in_on_time,
        objections_lost: t.objections_lost,
        bounce_limit_hits: t.bounce_limit_hits,
        marked_requests: t.marked_requests,
        marked_assessed: topology.policy.assess_marked_requests,
        overdue: t.overdue,
    }
}

/// The counts a wire scorecard carries.
pub fn tally_of(s: &Scorecard) -> Tally {
    Tally {
        dispatched: s.dispatched,
        responded: s.responded,
        overdue: s.overdue,
        callbacks: s.callbacks,
        resolved: s.resolved,
        satisfied: s.satisfied,
        basically_satisfied: s.basically_satisfied,
        dissatisfied: s.dissatisfied,
        whistles: s.whistles,
        summoned: s.summoned,
        checked_in_on_time: s.checked_in_on_time,
        objections_lost: s.objections_lost,
        bounce_limit_hits: s.bounce_limit_hits,
        marked_requests: s.marked_requests,
    }
}

/// The unit a reporting call is about: named in the request, readable by
/// the caller (its own subtree), and known to the topology.
pub fn readable<'a>(
    ctx: &Ctx,
    caller: &meta::Caller,
    name: &'a str,
) -> Result<&'a str, ServiceError> {
    let unit = unit_name(name)?;
    if ctx.topology.unit(unit).is_none() {
        return Err(ServiceError::not_found("unit", unit));
    }
    guard::may_read_unit(ctx, &caller.unit, unit)?;
    Ok(unit)
}

/// A reporting client through the gateway (the target rides in metadata).
fn client(ctx: &Ctx) -> ReportingServiceClient<hotline_runtime::client::GatewayChannel> {
    ReportingServiceClient::new(ctx.gateway.channel())
}

/// Asks the city for a scorecard on behalf of `caller_unit`.
pub async fn city_scorecard(
    ctx: &Ctx,
    caller_unit: &str,
    r: GetScorecardRequest,
) -> Result<Scorecard, Status> {
    let city = ctx.topology.city().id.clone();
    let answer = client(ctx)
        .get_scorecard(meta::routed(r, &city, caller_unit))
        .await?;
    answer
        .into_inner()
        .scorecard
        .ok_or_else(|| Status::internal("the city answered without a scorecard"))
}

/// Who a forwarded read acts for: this service may act only for units it
/// hosts, so it asks for the unit read (when hosted) or the unit the
/// caller addressed; the caller's own right to read was checked here.
fn on_behalf(ctx: &Ctx, caller: &meta::Caller, unit: &str) -> String {
    if ctx.hosts(unit) {
        unit.to_owned()
    } else {
        caller.target.clone()
    }
}

/// A tier service's answers: checked here, computed by the city.
pub async fn forward_scorecard(
    ctx: &Ctx,
    req: Request<GetScorecardRequest>,
) -> Result<GetScorecardResponse, Status> {
    let caller = meta::Caller::of(&req)?;
    let unit = readable(ctx, &caller, &req.get_ref().unit)?.to_owned();
    let scorecard = city_scorecard(ctx, &on_behalf(ctx, &caller, &unit), req.into_inner()).await?;
    Ok(GetScorecardResponse {
        scorecard: Some(scorecard),
    })
}

pub async fn forward_orders(
    ctx: &Ctx,
    req: Request<ListUnitOrdersRequest>,
) -> Result<ListUnitOrdersResponse, Status> {
    let caller = meta::Caller::of(&req)?;
    let unit = readable(ctx, &caller, &req.get_ref().unit)?.to_owned();
    let city = ctx.topology.city().id.clone();
    let acting = on_behalf(ctx, &caller, &unit);
    let answer = client(ctx)
        .list_unit_orders(meta::routed(req.into_inner(), &city, &acting))
        .await?;
    Ok(answer.into_inner())
}

pub async fn forward_rankings(
    ctx: &Ctx,
    req: Request<GetRankingsRequest>,
) -> Result<GetRankingsResponse, Status> {
    let caller = meta::Caller::of(&req)?;
    let city = ctx.topology.city().id.clone();
    let answer = client(ctx)
        .get_rankings(meta::routed(req.into_inner(), &city, &caller.target))
        .await?;
    Ok(answer.into_inner())
}

/// A unit's subtree roll-up: its own scorecard from the city, plus each
/// child's subtree scorecard asked of the child's own service. A child
/// that fails or misses the deadline is listed as missing.
pub async fn roll_up(
    ctx: &Ctx,
    req: Request<RollUpScorecardsRequest>,
) -> Result<RollUpScorecardsResponse, Status> {
    let caller = meta::Caller::of(&req)?;
    let r = req.into_inner();
    let unit = readable(ctx, &caller, &r.unit)?.to_string();
    let deadline = match &r.child_deadline {
        None => Duration::from_secs(2),
        Some(d) if d.seconds < 0 || d.nanos < 0 || (d.seconds == 0 && d.nanos == 0) => {
            return Err(ServiceError::invalid("child_deadline", "must be positive").into());
        }
        Some(d) => Duration::new(d.seconds as u64, d.nanos as u32),
    };
    let ask = |u: &str, scope: ScorecardScope| GetScorecardRequest {
        unit: format!("units/{u}"),
        month: r.month.clone(),
        scope: scope as i32,
    };
    let acting = on_behalf(ctx, &caller, &unit);
    let own = city_scorecard(ctx, &acting, ask(&unit, ScorecardScope::Own)).await?;
    let children: Vec<String> = ctx
        .topology
        .units()
        .filter(|c| c.parent.as_deref() == Some(unit.as_str()))
        .map(|c| c.id.clone())
        .collect();
    let calls = children.iter().map(|c| {
        let mut req = meta::routed(ask(c, ScorecardScope::Subtree), c, &acting);
        req.set_timeout(deadline);
        let mut child = client(ctx);
        async move {
            let answer = tokio::time::timeout(deadline, child.get_scorecard(req)).await;
            match answer {
                Ok(Ok(a)) => a
                    .into_inner()
                    .scorecard
                    .ok_or_else(|| "answered without a scorecard".to_string()),
                Ok(Err(status)) => Err(format!("{:?}: {}", status.code(), status.message())),
                Err(_) => Err(format!("no answer within {} ms", deadline.as_millis())),
            }
        }
    });
    let answers = futures::future::join_all(calls).await;
    let mut total = tally_of(&own);
    let mut got = Vec::new();
    let mut missing = Vec::new();
    for (child, answer) in children.into_iter().zip(answers) {
        match answer {
            Ok(s) => {
                total += tally_of(&s);
                got.push(s);
            }
            Err(reason) => {
                tracing::warn!(unit = %unit, child = %child, %reason, "roll-up: child did not answer");
                missing.push(MissingChild {
                    unit: format!("units/{child}"),
                    reason,
                });
            }
        }
    }
    let weights = Weights::from_policy(&ctx.topology.policy);
    let combined = to_wire(
        &ctx.topology,
        &unit,
        &own.month,
        ScorecardScope::Subtree,
        &total,
        &weights,
    );
    Ok(RollUpScorecardsResponse {
        combined: Some(combined),
        own: Some(own),
        children: got,
        missing,
    })
}
