//! The weekly digest (民情摘报) of the city or a district, from the city's
//! record: the week's rising problems against the four weeks before, new
//! hot spots, repeat requesters with unresolved matters (pseudonymous),
//! and the orders that went overdue or bounced. The rules are in
//! docs/assessment.md, "The weekly digest"; their numbers are the
//! constants here.

mod hotspots;
mod store;
pub mod week;

use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, Mac};
use hotline_core::{Micros, OrderState, Tier, Topology};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError};
use hotline_runtime::wire::{WireEnum, ts};
use hotline_runtime::{Ctx, guard, meta};
use sha2::Sha256;

use crate::intake::CityKey;
use hotspots::LonLat;
use store::{Listed, Located};
use week::{WEEK, Week};

/// The weeks before the digest's week it compares against.
const PRIOR: usize = 4;
/// A rising problem has at least this many requests in the week…
pub const RISING_MIN: u64 = 3;
/// …and at least this multiple of its weekly mean over the weeks before.
pub const RISING_RATIO: f64 = 2.0;

/// The digest `r` asks for, read by `caller`: the city reads any area, a
/// district only its own.
pub async fn get_digest(
    ctx: &Ctx,
    caller: &meta::Caller,
    r: &GetDigestRequest,
) -> Result<GetDigestResponse> {
    guard::hosted(ctx, &caller.target)?;
    let now = ctx.now();
    let week = match r.week.as_str() {
        "" => Week::of(now).previous(),
        w => Week::parse(w).ok_or_else(|| {
            ServiceError::invalid("week", "must be an ISO week, YYYY-Www (2026-W49)")
        })?,
    };
    if week.start() > now {
        return Err(ServiceError::invalid(
            "week",
            format!("{week} has not begun"),
        ));
    }
    let t = &ctx.topology;
    let id = match r.area.as_str() {
        "" => caller.unit.as_str(),
        a => a
            .strip_prefix("units/")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ServiceError::invalid("area", "must be units/{unit_id}"))?,
    };
    let area = t
        .unit(id)
        .ok_or_else(|| ServiceError::not_found("unit", id))?;
    guard::may_read_unit(ctx, &caller.unit, &area.id)?;
    if !matches!(area.tier, Tier::City | Tier::District) {
        return Err(ServiceError::invalid(
            "area",
            format!("{} is not the city or a district", area.id),
        ));
    }
    // The city reads its whole record; a district the orders placed in its
    // subtree.
    let units: Option<Vec<String>> = (area.tier != Tier::City).then(|| {
        t.units()
            .filter(|u| t.is_within(&u.id, &area.id))
            .map(|u| u.id.clone())
            .collect()
    });
    let scope = units.as_deref();
    let (start, end) = (week.start(), week.end());
    let prior_start = start - PRIOR as i64 * WEEK;
    let as_of = now.min(end);
    let mut c = ctx.db.acquire().await?;
    let counts = store::weekly_counts(&mut c, prior_start, end, WEEK, scope).await?;
    let located = store::located(&mut c, prior_start, end, scope).await?;
    let repeats = store::repeat_requesters(&mut c, start, end, scope).await?;
    let events = store::events(&mut c, start, end, scope).await?;
    // The key is read (or, in a fresh store, drawn) only when needed.
    let key = match repeats.is_empty() {
        true => String::new(),
        false => CityKey::default().get(&mut c).await?,
    };
    drop(c);

    let mut weeks: BTreeMap<&str, [u64; PRIOR + 1]> = BTreeMap::new();
    for (code, wk, n) in &counts {
        if let Ok(i) = usize::try_from(*wk)
            && i <= PRIOR
        {
            weeks.entry(code).or_default()[i] += u64::try_from(*n).unwrap_or(0);
        }
    }
    let requests = weeks.values().map(|w| w[PRIOR]).sum();
    let prior: u64 = weeks.values().flat_map(|w| &w[..PRIOR]).sum();

    let (overdue, bounced): (Vec<_>, Vec<_>) = events
        .iter()
        .map(|e| event_to_wire(t, e, as_of))
        .partition(|e| e.event == "breached");
    let distinct = |v: &[DigestEvent]| {
        v.iter()
            .filter_map(|e| e.order.as_ref().map(|o| o.order_id.as_str()))
            .collect::<BTreeSet<_>>()
            .len() as u64
    };
    Ok(GetDigestResponse {
        area: Some(unit_to_wire(t, &area.id)),
        week: week.to_string(),
        week_start_time: Some(ts(start)),
        week_end_time: Some(ts(end)),
        prior_start_time: Some(ts(prior_start)),
        requests,
        prior_mean: prior as f64 / PRIOR as f64,
        rising: rising(t, &weeks),
        hot_spots: hot_spots(t, &located, start),
        repeat_requesters: repeat_requesters(t, &repeats, as_of, |r| {
            pseudonym(&key, &area.id, week, r)
        }),
        overdue_orders: distinct(&overdue),
        bounced_orders: distinct(&bounced),
        overdue,
        bounced,
        children: t
            .units()
            .filter(|u| u.parent.as_deref() == Some(area.id.as_str()))
            .filter(|u| matches!(u.tier, Tier::District | Tier::Township))
            .map(|u| unit_to_wire(t, &u.id))
            .collect(),
    })
}

/// Items at least [`RISING_MIN`] this week and at least [`RISING_RATIO`]
/// times their prior weekly mean; new ones (no prior mean) first, then by
/// ratio and count.
fn rising(t: &Topology, weeks: &BTreeMap<&str, [u64; PRIOR + 1]>) -> Vec<RisingProblem> {
    let mut out: Vec<RisingProblem> = weeks
        .iter()
        .filter_map(|(code, w)| {
            let count = w[PRIOR];
            let prior_mean = w[..PRIOR].iter().sum::<u64>() as f64 / PRIOR as f64;
            if count < RISING_MIN || (count as f64) < RISING_RATIO * prior_mean {
                return None;
            }
            let path = t.item_path(code);
            Some(RisingProblem {
                category_code: code.to_string(),
                category_name: item_name(t, code),
                subcategory_name: path.map(|p| p.1.name.clone()).unwrap_or_default(),
                group_name: path.map(|p| p.0.name.clone()).unwrap_or_default(),
                count,
                prior_mean,
                ratio: (prior_mean > 0.0).then(|| count as f64 / prior_mean),
                prior_weeks: w[..PRIOR].to_vec(),
            })
        })
        .collect();
    let key = |r: &RisingProblem| r.ratio.unwrap_or(f64::INFINITY);
    out.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.category_code.cmp(&b.category_code))
    });
    out
}

/// This week's clusters of each item that the weeks before had no
/// cluster near; most requests first.
fn hot_spots(t: &Topology, located: &[Located], start: Micros) -> Vec<HotSpot> {
    let mut items: BTreeMap<&str, (Vec<&Located>, Vec<&Located>)> = BTreeMap::new();
    for l in located {
        let (this, before) = items.entry(&l.category_code).or_default();
        if l.received_us >= start {
            this.push(l);
        } else {
            before.push(l);
        }
    }
    let at = |l: &&Located| LonLat {
        lon: l.longitude,
        lat: l.latitude,
    };
    let mut out = Vec::new();
    for (code, (this, before)) in items {
        let now: Vec<LonLat> = this.iter().map(at).collect();
        let then: Vec<LonLat> = before.iter().map(at).collect();
        let earlier: Vec<Vec<LonLat>> = hotspots::clusters(&then)
            .into_iter()
            .map(|c| c.into_iter().map(|i| then[i]).collect())
            .collect();
        for members in hotspots::clusters(&now) {
            let points: Vec<LonLat> = members.iter().map(|&i| now[i]).collect();
            if !hotspots::is_new(&points, &earlier) {
                continue;
            }
            let (centre, radius) = hotspots::centroid(&points);
            let township = t
                .locate(centre.lat, centre.lon)
                .ok()
                .map(|l| l.place.township)
                .unwrap_or_else(|| most_common(members.iter().map(|&i| &this[i].territory_unit)));
            out.push(HotSpot {
                category_code: code.to_string(),
                category_name: item_name(t, code),
                latitude: centre.lat,
                longitude: centre.lon,
                radius_meters: radius,
                count: members.len() as u64,
                township_name: unit_name(t, &township),
                township_unit: township,
                order_ids: members.iter().map(|&i| this[i].order_id.clone()).collect(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.category_code.cmp(&b.category_code))
            .then_with(|| a.township_unit.cmp(&b.township_unit))
    });
    out
}

/// The most frequent of `units` (the first of equals by id).
fn most_common<'a>(units: impl Iterator<Item = &'a String>) -> String {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for u in units {
        *n.entry(u).or_default() += 1;
    }
    n.iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(u, _)| u.to_string())
        .unwrap_or_default()
}

/// Each repeat requester's requests under the digest's pseudonym; most
/// unresolved first.
fn repeat_requesters(
    t: &Topology,
    rows: &[Listed],
    as_of: Micros,
    pseudonym: impl Fn(&str) -> String,
) -> Vec<RepeatRequester> {
    let mut by: BTreeMap<&str, Vec<&Listed>> = BTreeMap::new();
    for r in rows {
        by.entry(&r.requester_ref).or_default().push(r);
    }
    let mut out: Vec<RepeatRequester> = by
        .into_iter()
        .map(|(requester, orders)| RepeatRequester {
            pseudonym: pseudonym(requester),
            unresolved: orders.iter().filter(|o| o.unresolved()).count() as u64,
            orders: orders.iter().map(|o| order_to_wire(t, o, as_of)).collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.unresolved
            .cmp(&a.unresolved)
            .then(b.orders.len().cmp(&a.orders.len()))
            .then_with(|| a.pseudonym.cmp(&b.pseudonym))
    });
    out
}

/// A requester's pseudonym in one digest: the first 6 bytes of
/// HMAC-SHA256 under the city's key of the area, the week and the
/// requester's record pseudonym. The same requester reads the same
/// throughout the digest; nothing links it to another digest's, nor to
/// the record, without the key.
fn pseudonym(key: &str, area: &str, week: Week, requester_ref: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("hmac takes any key length");
    mac.update(format!("digest\u{1f}{area}\u{1f}{week}\u{1f}{requester_ref}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("rp-{hex}")
}

fn event_to_wire(t: &Topology, e: &store::Event, as_of: Micros) -> DigestEvent {
    // A breach names its unit first in the line ("t-pine passed its
    // limit", services/city/src/clocks.rs); an objection is its unit's act.
    let unit = match e.action.as_str() {
        "breached" => e
            .detail
            .split_whitespace()
            .next()
            .filter(|u| t.unit(u).is_some())
            .unwrap_or(""),
        "objected" => e.actor_unit.as_str(),
        _ => "",
    };
    DigestEvent {
        order: Some(order_to_wire(t, &e.order, as_of)),
        event: e.action.clone(),
        time: Some(ts(e.time_us)),
        unit_id: unit.to_string(),
        unit_name: unit_name(t, unit),
    }
}

fn order_to_wire(t: &Topology, o: &Listed, as_of: Micros) -> DigestOrder {
    let end = o.closed_us.unwrap_or(as_of).min(as_of);
    let us = (end - o.received_us).max(0);
    DigestOrder {
        order_id: o.order_id.clone(),
        category_code: o.category_code.clone(),
        category_name: item_name(t, &o.category_code),
        state: OrderState::parse(&o.state)
            .map(|s| s.to_wire())
            .unwrap_or(0),
        territory_name: unit_name(t, &o.territory_unit),
        territory_unit: o.territory_unit.clone(),
        received_time: Some(ts(o.received_us)),
        due_time: Some(ts(o.due_us)),
        unresolved: o.unresolved(),
        business_time: Some(prost_types::Duration {
            seconds: us / 1_000_000,
            nanos: ((us % 1_000_000) * 1_000) as i32,
        }),
    }
}

fn unit_to_wire(t: &Topology, id: &str) -> DigestUnit {
    let u = t.unit(id);
    DigestUnit {
        unit_id: id.to_string(),
        name: u.map(|u| u.name.clone()).unwrap_or_default(),
        tier: u.map(|u| u.tier.to_wire()).unwrap_or(0),
    }
}

fn unit_name(t: &Topology, id: &str) -> String {
    t.unit(id).map(|u| u.name.clone()).unwrap_or_default()
}

fn item_name(t: &Topology, code: &str) -> String {
    t.item(code).map(|i| i.name.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pseudonym_holds_within_a_digest_and_differs_across_digests() {
        let w = Week::parse("2026-W51").unwrap();
        let a = pseudonym("key", "d-riverside", w, "rq-0011223344556677");
        assert_eq!(a, pseudonym("key", "d-riverside", w, "rq-0011223344556677"));
        assert!(a.starts_with("rp-") && a.len() == 15, "{a}");
        assert!(!a.contains("0011223344556677"));
        for other in [
            pseudonym("key", "city", w, "rq-0011223344556677"),
            pseudonym("key", "d-riverside", w.previous(), "rq-0011223344556677"),
            pseudonym("other key", "d-riverside", w, "rq-0011223344556677"),
            pseudonym("key", "d-riverside", w, "rq-0011223344556678"),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn rising_needs_three_and_twice_the_prior_mean() {
        let t = Topology::parse("demo-city.toml", hotline_node_demo()).unwrap();
        let mut weeks = BTreeMap::new();
        // Tripled from one a week: rising, ratio 3.
        weeks.insert("sanitation.garbage", [1, 1, 1, 1, 3]);
        // Steady at four: not.
        weeks.insert("community.elderly_care", [4, 4, 4, 4, 4]);
        // New, but only two: not.
        weeks.insert("noise.night_construction", [0, 0, 0, 0, 2]);
        // New and three: rising, first (no ratio).
        weeks.insert("road.pothole", [0, 0, 0, 0, 3]);
        // Twice the mean exactly (5 of 2.5): rising.
        weeks.insert("water.outage", [2, 3, 2, 3, 5]);
        // Just under twice (5 of 2.75): not.
        weeks.insert("gas.leak", [3, 3, 2, 3, 5]);
        let r = rising(&t, &weeks);
        let got: Vec<(&str, Option<f64>)> = r
            .iter()
            .map(|r| (r.category_code.as_str(), r.ratio))
            .collect();
        assert_eq!(
            got,
            vec![
                ("road.pothole", None),
                ("sanitation.garbage", Some(3.0)),
                ("water.outage", Some(2.0)),
            ]
        );
        assert_eq!(r[1].prior_weeks, vec![1, 1, 1, 1]);
        assert_eq!(r[1].category_name, "Uncollected garbage");
        assert_eq!(r[1].subcategory_name, "Environment and sanitation");
        assert_eq!(r[1].group_name, "Urban management");
    }

    fn hotline_node_demo() -> &'static str {
        include_str!("../../../../topology/demo-city.toml")
    }
}
