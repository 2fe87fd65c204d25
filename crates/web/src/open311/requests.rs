//! Service requests: posted as an intake like any other, and read back in
//! the citizen's form.
//!
//! `POST requests` becomes the centre's `SubmitRequest` for the channel
//! the api_key names: the same classification, dispatch, deadlines and
//! callbacks as every intake. The requester's name, phone and e-mail go
//! to the centre in the request's `requester` and nowhere else: not in a
//! response, a log line or a span of this process.
//!
//! A request read back carries what any citizen may see of it: its
//! status, the answer given or the handlers' reply to the requester
//! (scrubbed by the centre of numbers, e-mail addresses and the
//! requester's name), the handling unit's name, the deadline. Never
//! another person's data, nor a handler's internal notes.

use std::time::{SystemTime, UNIX_EPOCH};

use hotline_core::{OrderState, RequestKind, Topology};
use hotline_proto::v1 as pb;
use hotline_runtime::wire::{WireEnum, micros};
use sha2::{Digest as _, Sha256};

use super::error::Open311Error;
use super::params::Params;
use super::render::{Doc, Record, Value};
use super::services::{self, REQUEST_KIND};
use super::time;
use crate::WebState;

/// The most requests one `GET requests` answers (the specification's
/// default volume).
pub const MAX_LISTED: usize = 1000;
/// The widest `start_date`–`end_date` window: 90 days.
pub const MAX_WINDOW_US: i64 = 90 * 86_400_000_000;
/// The most ids one `service_request_id` list names.
pub const MAX_IDS: usize = 200;

/// `POST requests`: the new request's id, its token and what happens next.
pub async fn post(
    state: &WebState,
    params: &Params,
    idempotency_key: Option<&str>,
) -> Result<Doc, Open311Error> {
    let topology = &state.topology;
    let api_key = params
        .get("api_key")
        .ok_or_else(|| Open311Error::forbidden("api_key: missing; POST requests needs one"))?;
    let channel = state
        .config
        .open311
        .keys
        .channel_of(api_key)
        .ok_or_else(|| Open311Error::forbidden("api_key: not a key this endpoint issued"))?;
    super::check_jurisdiction(topology, params)?;
    let code = params
        .get("service_code")
        .ok_or_else(|| Open311Error::bad_request("service_code: required"))?;
    let item = super::item(topology, code)?;
    let location = location(params)?;
    let address = params
        .get("address_string")
        .or_else(|| params.get("address_id"))
        .unwrap_or_default();
    if location.is_none() && address.is_empty() {
        return Err(Open311Error::bad_request(
            "a location is required: lat and long, or address_string",
        ));
    }
    let mut kind = services::default_kind(item);
    for (attribute, value) in params.attributes() {
        if attribute == REQUEST_KIND && item.answer.is_some() {
            kind = RequestKind::parse(&value)
                .filter(|k| services::kinds(item).contains(k))
                .ok_or_else(|| {
                    Open311Error::bad_request(format!(
                        "attribute[{REQUEST_KIND}]: not one of the service's values ({})",
                        services::kinds(item)
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
        } else {
            return Err(Open311Error::bad_request(format!(
                "attribute[{attribute}]: not an attribute of service {}",
                item.code
            )));
        }
    }
    let phone = params.get("phone").unwrap_or_default();
    let email = params.get("email").unwrap_or_default();
    if phone.is_empty() && email.is_empty() {
        return Err(Open311Error::bad_request(
            "phone or email: required, for the hotline's call back",
        ));
    }
    let name = [params.get("first_name"), params.get("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut text = params.get("description").unwrap_or(&item.name).to_string();
    if let Some(media) = params.get("media_url") {
        text += &format!("\nmedia: {media}");
    }
    let request_id = match idempotency_key.filter(|k| !k.is_empty()) {
        // The client's key, bound to the channel: a retry is the same
        // request, whoever else used the same words.
        Some(key) => format!(
            "open311:{channel}:{}",
            &super::keys::hex(&Sha256::digest(key.as_bytes()))[..32]
        ),
        None => format!(
            "open311:{channel}:{}",
            super::keys::random_hex(16).map_err(|_| Open311Error::unavailable())?
        ),
    };
    let submitted = state
        .centre
        .submit(pb::SubmitRequestRequest {
            request_id,
            channel: channel.to_wire(),
            kind: kind.to_wire(),
            requester: Some(pb::Requester {
                name,
                phone: phone.to_string(),
                email: email.to_string(),
            }),
            text,
            category_code: item.code.clone(),
            address: address.to_string(),
            location,
            ..Default::default()
        })
        .await
        .map_err(|s| super::refused("SubmitRequest", &s))?;
    let order = submitted.order.unwrap_or_default();
    tracing::info!(order_id = %order.order_id, %channel, category = %item.code, "open311 request received");
    let token = state.config.open311.tokens.issue(&order.order_id);
    Ok(Doc::List {
        root: "service_requests",
        item: "request",
        records: vec![
            Record::default()
                .with("service_request_id", Value::text(&order.order_id))
                .with("token", Value::text(token))
                .with("service_notice", Value::text(notice(topology, &order)))
                .with("account_id", Value::Null),
        ],
    })
}

/// `lat` and `long`, both or neither, as WGS 84 degrees.
fn location(params: &Params) -> Result<Option<pb::Location>, Open311Error> {
    let degrees = |name: &str, limit: f64| -> Result<Option<f64>, Open311Error> {
        params
            .get(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && d.abs() <= limit)
                    .ok_or_else(|| {
                        Open311Error::bad_request(format!(
                            "{name}: not a WGS 84 degree between -{limit} and {limit}"
                        ))
                    })
            })
            .transpose()
    };
    match (degrees("lat", 90.0)?, degrees("long", 180.0)?) {
        (Some(latitude), Some(longitude)) => Ok(Some(pb::Location {
            latitude,
            longitude,
        })),
        (None, None) => Ok(None),
        _ => Err(Open311Error::bad_request(
            "lat and long: give both, or neither",
        )),
    }
}

/// `GET requests/{id}`.
pub async fn one(state: &WebState, id: &str) -> Result<Doc, Open311Error> {
    let order = match state.centre.order(id).await {
        Ok(o) => o,
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::NotFound | tonic::Code::InvalidArgument
            ) =>
        {
            return Err(not_found(id));
        }
        Err(s) => return Err(super::refused("GetOrder", &s)),
    };
    Ok(requests_doc(&state.topology, &[order]))
}

fn not_found(id: &str) -> Open311Error {
    Open311Error::not_found(format!("service_request_id {id} not found"))
}

/// `GET requests`: by ids (which override every other argument), or by
/// service codes, status and the window of `requested_datetime`.
pub async fn list(state: &WebState, params: &Params) -> Result<Doc, Open311Error> {
    if let Some(ids) = params.get("service_request_id") {
        let mut wanted: Vec<&str> = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if !wanted.contains(&id) {
                wanted.push(id);
            }
        }
        if wanted.len() > MAX_IDS {
            return Err(Open311Error::bad_request(format!(
                "service_request_id: at most {MAX_IDS} ids at once"
            )));
        }
        let mut found = Vec::new();
        for id in wanted {
            match state.centre.order(id).await {
                Ok(o) => found.push(o),
                // An id that names no request is left out of the list.
                Err(s)
                    if matches!(
                        s.code(),
                        tonic::Code::NotFound | tonic::Code::InvalidArgument
                    ) => {}
                Err(s) => return Err(super::refused("GetOrder", &s)),
            }
        }
        return Ok(requests_doc(&state.topology, &found));
    }
    let filter = filter(&state.topology, params, now_us())?;
    let mut orders = Vec::new();
    let mut token = String::new();
    loop {
        let page = state
            .centre
            .list(pb::ListOrdersRequest {
                page_size: 500,
                page_token: token,
                ..filter.clone()
            })
            .await
            .map_err(|s| super::refused("ListOrders", &s))?;
        orders.extend(page.orders);
        if orders.len() >= MAX_LISTED || page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    orders.truncate(MAX_LISTED);
    Ok(requests_doc(&state.topology, &orders))
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The centre's list filter for `service_code`, `status`, `start_date`
/// and `end_date`, at `now`.
pub fn filter(
    topology: &Topology,
    params: &Params,
    now: i64,
) -> Result<pb::ListOrdersRequest, Open311Error> {
    let mut codes = Vec::new();
    for code in list_values(params.get("service_code")) {
        if topology.item(code).is_none() {
            return Err(Open311Error::bad_request(format!(
                "service_code: {code} is not a service of {}",
                topology.name
            )));
        }
        codes.push(code.to_string());
    }
    let (mut open, mut closed) = (false, false);
    for s in list_values(params.get("status")) {
        match s {
            "open" => open = true,
            "closed" => closed = true,
            _ => {
                return Err(Open311Error::bad_request(
                    "status: open or closed, comma separated",
                ));
            }
        }
    }
    let states = if open == closed {
        Vec::new()
    } else {
        OrderState::ALL
            .iter()
            .filter(|s| s.is_final() == closed)
            .map(|s| s.to_wire())
            .collect()
    };
    let date = |name: &str| -> Result<Option<i64>, Open311Error> {
        params
            .get(name)
            .map(|v| {
                time::parse(v).ok_or_else(|| {
                    Open311Error::bad_request(format!(
                        "{name}: not a W3C date-time such as 2026-11-16T09:00:00+08:00"
                    ))
                })
            })
            .transpose()
    };
    let (start, end) = match (date("start_date")?, date("end_date")?) {
        (Some(s), Some(e)) => (s, Some(e)),
        (Some(s), None) => (s, Some(s + MAX_WINDOW_US)),
        (None, Some(e)) => (e - MAX_WINDOW_US, Some(e)),
        // The most recent 90 days, up to whatever arrives meanwhile.
        (None, None) => (now - MAX_WINDOW_US, None),
    };
    if let Some(end) = end {
        if end < start {
            return Err(Open311Error::bad_request("end_date: before start_date"));
        }
        if end - start > MAX_WINDOW_US {
            return Err(Open311Error::bad_request(
                "start_date and end_date: at most 90 days apart",
            ));
        }
    }
    Ok(pb::ListOrdersRequest {
        states,
        category_codes: codes,
        received_start_time: Some(hotline_runtime::wire::ts(start)),
        received_end_time: end.map(hotline_runtime::wire::ts),
        ..Default::default()
    })
}

/// A comma-separated list's entries.
fn list_values(v: Option<&str>) -> impl Iterator<Item = &str> {
    v.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `GET tokens/{token}`: the id of the request the token was issued for.
pub fn token(state: &WebState, token: &str) -> Result<Doc, Open311Error> {
    let id = state
        .config
        .open311
        .tokens
        .order_of(token)
        .ok_or_else(|| Open311Error::not_found("token not found"))?;
    Ok(Doc::List {
        root: "service_requests",
        item: "request",
        records: vec![
            Record::default()
                .with("service_request_id", Value::text(id))
                .with("token", Value::text(token)),
        ],
    })
}

fn requests_doc(topology: &Topology, orders: &[pb::Order]) -> Doc {
    Doc::List {
        root: "service_requests",
        item: "request",
        records: orders.iter().map(|o| request(topology, o)).collect(),
    }
}

fn state_of(order: &pb::Order) -> Option<OrderState> {
    OrderState::from_wire(order.state)
}

/// The live lead assignments: who handles the order.
fn leads(order: &pb::Order) -> impl Iterator<Item = &pb::Assignment> {
    order.assignments.iter().filter(|a| {
        a.role == pb::AssignmentRole::Lead as i32 && a.state != pb::AssignmentState::Revoked as i32
    })
}

fn unit_name(topology: &Topology, id: &str) -> String {
    topology
        .unit(id)
        .map_or_else(|| id.to_string(), |u| u.name.clone())
}

/// Who answers for the request: the lead units, or the centre for one it
/// answered or disposed of itself.
fn agency(topology: &Topology, order: &pb::Order) -> String {
    let names: Vec<String> = leads(order)
        .map(|a| unit_name(topology, &a.unit_id))
        .collect();
    if names.is_empty() {
        topology.city().name.clone()
    } else {
        names.join("; ")
    }
}

/// Why the status is what it is, in what the requester was told.
fn status_notes(order: &pb::Order) -> String {
    match state_of(order) {
        Some(OrderState::Answered | OrderState::Disposed) => order.answer.clone(),
        Some(OrderState::Withdrawn) => "Withdrawn by the requester.".into(),
        _ => leads(order)
            .filter(|a| !a.reply_text.is_empty())
            .max_by_key(|a| a.replied_time.as_ref().map(micros))
            .map(|a| a.reply_text.clone())
            .unwrap_or_default(),
    }
}

/// What happens next.
fn notice(topology: &Topology, order: &pb::Order) -> String {
    let due = order.due_time.as_ref().map(|t| time::format(micros(t)));
    match state_of(order) {
        Some(OrderState::Answered) => "Answered at once: see status_notes.".into(),
        Some(OrderState::Disposed) => "Not dispatched: see status_notes.".into(),
        Some(s) if s.is_final() => String::new(),
        _ => match due {
            Some(due) => format!(
                "Sent to {}; a reply is due by {due}.",
                agency(topology, order)
            ),
            None => String::new(),
        },
    }
}

/// When the request last changed: when it closed, else its last step.
fn updated(order: &pb::Order) -> Option<i64> {
    let closed = order
        .closed_time
        .as_ref()
        .map(micros)
        .filter(|_| state_of(order).is_some_and(|s| s.is_final()));
    closed
        .or_else(|| {
            order
                .history
                .iter()
                .filter_map(|h| h.time.as_ref().map(micros))
                .max()
        })
        .or_else(|| order.received_time.as_ref().map(micros))
}

/// One request as any citizen may see it.
pub fn request(topology: &Topology, order: &pb::Order) -> Record {
    let at = |t: Option<i64>| t.map_or(Value::Null, |us| Value::Str(time::format(us)));
    let closed = state_of(order).is_some_and(|s| s.is_final());
    let (lat, long) = order
        .location
        .as_ref()
        .map_or((Value::Null, Value::Null), |l| {
            (Value::Float(l.latitude), Value::Float(l.longitude))
        });
    Record::default()
        .with("service_request_id", Value::text(&order.order_id))
        .with(
            "status",
            Value::text(if closed { "closed" } else { "open" }),
        )
        .with("status_notes", Value::text(status_notes(order)))
        .with("service_name", Value::text(&order.category_name))
        .with("service_code", Value::text(&order.category_code))
        .with("description", Value::text(&order.text))
        .with("agency_responsible", Value::text(agency(topology, order)))
        .with("service_notice", Value::text(notice(topology, order)))
        .with(
            "requested_datetime",
            at(order.received_time.as_ref().map(micros)),
        )
        .with("updated_datetime", at(updated(order)))
        .with("expected_datetime", at(order.due_time.as_ref().map(micros)))
        .with("address", Value::text(&order.address))
        .with("address_id", Value::Null)
        .with("zipcode", Value::Null)
        .with("lat", lat)
        .with("long", long)
        .with("media_url", Value::Null)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn demo() -> Topology {
        let src = include_str!("../../../../topology/demo-city.toml");
        Topology::parse("demo-city.toml", src).unwrap()
    }

    fn params(q: &str) -> Params {
        Params::parse(Some(q), b"")
    }

    const NOW: i64 = 1_800_000_000_000_000;

    #[test]
    fn a_window_is_at_most_ninety_days_and_defaults_to_the_last_ninety() {
        let t = demo();
        let f = filter(&t, &params(""), NOW).unwrap();
        assert_eq!(
            f.received_start_time,
            Some(hotline_runtime::wire::ts(NOW - MAX_WINDOW_US))
        );
        assert_eq!(f.received_end_time, None);
        let ok = "start_date=2026-01-01T00:00:00Z&end_date=2026-03-31T00:00:00Z";
        filter(&t, &params(ok), NOW).unwrap();
        for bad in [
            "start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z",
            "start_date=2026-03-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
            "start_date=yesterday",
            "end_date=2026-13-01T00:00:00Z",
        ] {
            assert_eq!(
                filter(&t, &params(bad), NOW).unwrap_err().status,
                http::StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn status_and_codes_become_the_centres_filter() {
        let t = demo();
        let f = filter(
            &t,
            &params("status=closed&service_code=water.outage,road.pothole"),
            NOW,
        )
        .unwrap();
        assert_eq!(f.category_codes, ["water.outage", "road.pothole"]);
        assert!(f.states.contains(&OrderState::Closed.to_wire()));
        assert!(!f.states.contains(&OrderState::Dispatched.to_wire()));
        // Both statuses, or none: no filter.
        assert!(
            filter(&t, &params("status=open,closed"), NOW)
                .unwrap()
                .states
                .is_empty()
        );
        assert!(filter(&t, &params("status=pending"), NOW).is_err());
        assert!(filter(&t, &params("service_code=no.such"), NOW).is_err());
    }

    #[test]
    fn a_citizen_sees_status_reply_agency_and_deadline() {
        let t = demo();
        let order = pb::Order {
            order_id: "HL00000007".into(),
            state: pb::OrderState::Replied as i32,
            category_code: "road.pothole".into(),
            category_name: "Pothole in a street".into(),
            text: "pothole by the gate".into(),
            received_time: Some(hotline_runtime::wire::ts(NOW)),
            due_time: Some(hotline_runtime::wire::ts(NOW + 7 * 86_400_000_000)),
            assignments: vec![
                pb::Assignment {
                    unit_id: "t-harbour".into(),
                    role: pb::AssignmentRole::Lead as i32,
                    state: pb::AssignmentState::Replied as i32,
                    reply_text: "filled on Tuesday".into(),
                    ..Default::default()
                },
                pb::Assignment {
                    unit_id: "d-riverside".into(),
                    role: pb::AssignmentRole::Copy as i32,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let r = request(&t, &order);
        assert_eq!(r.get("status"), Some(&Value::text("open")));
        assert_eq!(
            r.get("status_notes"),
            Some(&Value::text("filled on Tuesday"))
        );
        let harbour = t.unit("t-harbour").unwrap().name.clone();
        assert_eq!(r.get("agency_responsible"), Some(&Value::text(harbour)));
        assert_eq!(
            r.get("expected_datetime"),
            Some(&Value::text(time::format(NOW + 7 * 86_400_000_000)))
        );
        assert_eq!(r.get("lat"), Some(&Value::Null));
        let closed = pb::Order {
            state: pb::OrderState::Disposed as i32,
            answer: "this repeats your earlier request".into(),
            ..order
        };
        let r = request(&t, &closed);
        assert_eq!(r.get("status"), Some(&Value::text("closed")));
        assert_eq!(
            r.get("status_notes"),
            Some(&Value::text("this repeats your earlier request"))
        );
    }
}
