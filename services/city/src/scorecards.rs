//! The centre computes every scorecard (Art. 32) from its own record of
//! orders and callbacks: a unit's own or its subtree's, a unit's assessed
//! orders, and the monthly rankings within peer groups.

use std::collections::BTreeMap;

use crate::tables::assessment;
use hotline_core::scoring::{self, PeerGroup, Tally, Weights};
use hotline_core::{Micros, Topology};
use hotline_handler::scorecards::{readable, to_wire};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError};
use hotline_runtime::wire::{self, WireEnum};
use hotline_runtime::{Ctx, guard, meta};

/// A month of assessment.
#[derive(Debug, Clone)]
pub struct Month {
    pub label: String,
    pub start: Micros,
    pub end: Micros,
}

impl Month {
    /// `YYYY-MM`, or the current month (business clock) when empty.
    pub fn parse(ctx: &Ctx, field: &str) -> Result<Month> {
        let label = if field.is_empty() {
            scoring::month_of(ctx.now())
        } else {
            field.to_string()
        };
        Month::named(&label).ok_or_else(|| ServiceError::invalid("month", "must be YYYY-MM"))
    }

    /// `YYYY-MM`.
    pub fn named(label: &str) -> Option<Month> {
        let (start, end) = scoring::month_window(label)?;
        Some(Month {
            label: label.to_string(),
            start,
            end,
        })
    }

    /// Overdue is judged as of the month's end, or now if that is earlier.
    pub fn as_of(&self, ctx: &Ctx) -> Micros {
        ctx.now().min(self.end)
    }
}

/// Every unit's own and subtree tallies for a month.
pub struct Scores {
    pub own: BTreeMap<String, Tally>,
    pub subtree: BTreeMap<String, Tally>,
}

/// Every unit's scores, or only those of `units` (and the subtree sums
/// over them).
pub async fn compute(ctx: &Ctx, month: &Month, units: Option<&[String]>) -> Result<Scores> {
    let mut conn = ctx.db.acquire().await?;
    Ok(scores(&mut conn, &ctx.topology, month, month.as_of(ctx), units).await?)
}

/// Reads the month from a store and scores every unit (or `units`).
pub async fn scores(
    conn: &mut hotline_store::Conn,
    topology: &Topology,
    month: &Month,
    as_of: Micros,
    units: Option<&[String]>,
) -> hotline_store::Result<Scores> {
    let data = assessment::dataset(conn, month.start, month.end, units, &topology.policy).await?;
    let own = scoring::tally(&topology.policy, &data, as_of);
    let subtree = scoring::subtrees(topology, &own);
    Ok(Scores { own, subtree })
}

fn scope_of(v: i32) -> Result<ScorecardScope> {
    match ScorecardScope::try_from(v) {
        Ok(ScorecardScope::Unspecified) => Ok(ScorecardScope::Own),
        Ok(s) => Ok(s),
        Err(_) => Err(ServiceError::invalid("scope", "unknown scope")),
    }
}

pub async fn get_scorecard(
    ctx: &Ctx,
    caller: &meta::Caller,
    r: &GetScorecardRequest,
) -> Result<Scorecard> {
    guard::hosted(ctx, &caller.target)?;
    let unit = readable(ctx, caller, &r.unit)?;
    let scope = scope_of(r.scope)?;
    let month = Month::parse(ctx, &r.month)?;
    // Read only the rows that can count: the unit's, or its subtree's (the
    // whole city reads everything).
    let units: Option<Vec<String>> = match scope {
        ScorecardScope::Subtree if unit == ctx.topology.city().id => None,
        ScorecardScope::Subtree => Some(
            ctx.topology
                .units()
                .filter(|u| ctx.topology.is_within(&u.id, unit))
                .map(|u| u.id.clone())
                .collect(),
        ),
        _ => Some(vec![unit.to_string()]),
    };
    let scores = compute(ctx, &month, units.as_deref()).await?;
    let table = match scope {
        ScorecardScope::Subtree => &scores.subtree,
        _ => &scores.own,
    };
    let t = table.get(unit).copied().unwrap_or_default();
    let weights = Weights::from_policy(&ctx.topology.policy);
    Ok(to_wire(
        &ctx.topology,
        unit,
        &month.label,
        scope,
        &t,
        &weights,
    ))
}

pub async fn list_unit_orders(
    ctx: &Ctx,
    caller: &meta::Caller,
    r: &ListUnitOrdersRequest,
) -> Result<ListUnitOrdersResponse> {
    guard::hosted(ctx, &caller.target)?;
    let unit = readable(ctx, caller, &r.unit)?;
    let month = Month::parse(ctx, &r.month)?;
    let page = wire::Page::parse(r.page_size, &r.page_token)?;
    let mut conn = ctx.db.acquire().await?;
    let rows = assessment::unit_orders(
        &mut conn,
        unit,
        month.start,
        month.end,
        &page.after,
        page.limit(),
    )
    .await?;
    let (rows, next_page_token) = page.finish(rows, |o| &o.dispatched.order_id);
    let policy = &ctx.topology.policy;
    let as_of = month.as_of(ctx);
    let orders = rows
        .into_iter()
        .map(|o| AssessedOrder {
            responded: scoring::responded(policy, &o.dispatched),
            overdue: scoring::overdue(&o.dispatched, as_of),
            order_id: o.dispatched.order_id,
            category_code: o.category_code,
            urgency: o.dispatched.urgency.to_wire(),
            dispatch_time: Some(wire::ts(o.dispatched.dispatched_us)),
            state: o.state,
            resolved: o.resolved,
            satisfaction: o.satisfaction.unwrap_or_default(),
        })
        .collect();
    Ok(ListUnitOrdersResponse {
        orders,
        next_page_token,
    })
}

/// One ranking: the members of a group (optionally within a district),
/// best first, with the top and bottom `limit`.
fn ranking(
    topology: &Topology,
    scores: &Scores,
    month: &str,
    group: PeerGroup,
    within: Option<&str>,
    limit: usize,
) -> Ranking {
    let weights = Weights::from_policy(&topology.policy);
    let members: Vec<&str> = topology
        .units()
        .filter(|u| PeerGroup::of(u, &topology.policy) == Some(group))
        .filter(|u| within.is_none_or(|d| topology.is_within(&u.id, d)))
        .map(|u| u.id.as_str())
        .collect();
    let cards: BTreeMap<&str, Scorecard> = members
        .iter()
        .map(|u| {
            let t = scores.subtree.get(*u).copied().unwrap_or_default();
            let card = to_wire(topology, u, month, ScorecardScope::Subtree, &t, &weights);
            (*u, card)
        })
        .collect();
    let scored: Vec<(String, Option<f64>)> = cards
        .iter()
        .map(|(u, c)| (u.to_string(), c.composite))
        .collect();
    let (ranked, unrated) = scoring::rank(&scored);
    let entries: Vec<RankEntry> = ranked
        .iter()
        .map(|r| RankEntry {
            rank: r.rank,
            scorecard: cards.get(r.unit.as_str()).cloned(),
        })
        .collect();
    let top = entries.iter().take(limit).cloned().collect();
    let bottom = entries.iter().rev().take(limit).rev().cloned().collect();
    Ranking {
        peer_group: group.to_wire(),
        within: within.map(|d| format!("units/{d}")).unwrap_or_default(),
        entries,
        top,
        bottom,
        unrated: unrated.into_iter().map(|u| format!("units/{u}")).collect(),
    }
}

pub async fn get_rankings(
    ctx: &Ctx,
    caller: &meta::Caller,
    r: &GetRankingsRequest,
) -> Result<GetRankingsResponse> {
    guard::hosted(ctx, &caller.target)?;
    let group = wire::optional_enum::<PeerGroup>("peer_group", r.peer_group)?;
    let district = if r.district.is_empty() {
        None
    } else {
        let d = hotline_handler::unit_name(&r.district)
            .map_err(|_| ServiceError::invalid("district", "must be units/{unit_id}"))?;
        match ctx.topology.unit(d) {
            Some(u) if u.tier == hotline_core::Tier::District => Some(d),
            Some(_) => {
                return Err(ServiceError::invalid(
                    "district",
                    format!("{d} is not a district"),
                ));
            }
            None => return Err(ServiceError::not_found("unit", d)),
        }
    };
    let limit = match r.limit {
        0 => 10,
        n => n as usize,
    };
    let month = Month::parse(ctx, &r.month)?;
    let scores = compute(ctx, &month, None).await?;
    let rankings = rankings(&ctx.topology, &scores, &month.label, group, district, limit);
    Ok(GetRankingsResponse {
        month: month.label,
        rankings,
    })
}

/// The rankings of one month's scores: every peer group (or `group`),
/// district departments city-wide and within each district (or only
/// within `district`).
pub fn rankings(
    topology: &Topology,
    scores: &Scores,
    month: &str,
    group: Option<PeerGroup>,
    district: Option<&str>,
    limit: usize,
) -> Vec<Ranking> {
    let groups: Vec<PeerGroup> = match group {
        Some(g) => vec![g],
        None => PeerGroup::ALL.to_vec(),
    };
    let mut out = Vec::new();
    for g in groups {
        if g == PeerGroup::DistrictDepartments {
            if district.is_none() {
                out.push(ranking(topology, scores, month, g, None, limit));
            }
            let districts: Vec<&str> = topology
                .units()
                .filter(|u| u.tier == hotline_core::Tier::District)
                .filter(|u| district.is_none_or(|d| d == u.id))
                .map(|u| u.id.as_str())
                .collect();
            for d in districts {
                let within = ranking(topology, scores, month, g, Some(d), limit);
                if !within.entries.is_empty() || !within.unrated.is_empty() {
                    out.push(within);
                }
            }
        } else if district.is_none() {
            out.push(ranking(topology, scores, month, g, None, limit));
        }
    }
    out
}
