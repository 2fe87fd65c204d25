//! A small departmental system: it follows its unit's inbox in the mesh
//! (WatchAssignments), and handles each order it leads — accept, record
//! progress, reply — keeping its cursor in a file so a restart resumes
//! where it stopped, missing nothing and handling nothing twice. Its calls
//! about an order continue the order's trace (W3C `traceparent`), so the
//! department's work shows in the same trace as the order's dispatch.
//!
//! Every hop of the mesh is mutual TLS: the unit's certificate (from
//! `hotline certs issue --unit dept-transport`) proves which unit it is.
//!
//! ```text
//! cargo run --example departmental_system -- \
//!     --gateway https://127.0.0.1:7345 --unit dept-transport --orders 1 \
//!     --cert hotline-data/pki/unit-dept-transport.crt \
//!     --key hotline-data/pki/unit-dept-transport.key \
//!     --ca hotline-data/pki/ca.crt
//! ```

use std::path::PathBuf;

use anyhow::{Context, bail};
use hotline_proto::v1::dispatch_service_client::DispatchServiceClient;
use hotline_proto::v1::inbox_service_client::InboxServiceClient;
use hotline_proto::v1::*;
use tonic::Request;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

struct Args {
    gateway: String,
    unit: String,
    /// Stop after handling this many orders (0: run until killed).
    orders: usize,
    cursor_file: Option<PathBuf>,
    /// The unit's certificate, its key and the mesh CA (PEM).
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        gateway: "http://127.0.0.1:7345".into(),
        unit: String::new(),
        orders: 0,
        cursor_file: None,
        cert: None,
        key: None,
        ca: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--gateway" => a.gateway = value,
            "--unit" => a.unit = value,
            "--orders" => a.orders = value.parse()?,
            "--cursor-file" => a.cursor_file = Some(value.into()),
            "--cert" => a.cert = Some(value.into()),
            "--key" => a.key = Some(value.into()),
            "--ca" => a.ca = Some(value.into()),
            _ => bail!("unknown flag {flag}"),
        }
    }
    if a.unit.is_empty() {
        bail!("--unit is required");
    }
    Ok(a)
}

/// Connects with the unit's certificate (tonic's `ClientTlsConfig`); the
/// gateway's certificate names 127.0.0.1 and localhost.
async fn connect(a: &Args) -> anyhow::Result<Channel> {
    let (Some(cert), Some(key), Some(ca)) = (&a.cert, &a.key, &a.ca) else {
        bail!("--cert, --key and --ca are required: the mesh speaks mutual TLS");
    };
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca)?))
        .identity(Identity::from_pem(
            std::fs::read(cert)?,
            std::fs::read(key)?,
        ));
    let url = a.gateway.replacen("http://", "https://", 1);
    Ok(Endpoint::from_shared(url)?
        .tls_config(tls)?
        .connect()
        .await?)
}

/// Every call names the unit it is for and the unit making it: here, the
/// same unit — a departmental system acts for its own unit only.
fn own<T>(unit: &str, message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut()
        .insert("x-hotline-target", unit.parse().expect("ascii unit id"));
    req.metadata_mut()
        .insert("x-hotline-unit", unit.parse().expect("ascii unit id"));
    req
}

/// A call about an order: its own call, continuing the order's trace.
fn on_order<T>(unit: &str, traceparent: Option<&str>, message: T) -> Request<T> {
    let mut req = own(unit, message);
    if let Some(tp) = traceparent.and_then(|tp| tp.parse().ok()) {
        req.metadata_mut().insert("traceparent", tp);
    }
    req
}

/// A child of the order's W3C `traceparent` (the assignment's
/// `trace_parent`): the same trace id and flags, and a span id of our own
/// for this handling of the assignment. None when the parent is missing or
/// malformed: the calls then start traces of their own, which the mesh
/// only links to the order's.
fn child_traceparent(parent: &str) -> Option<String> {
    let parts: Vec<&str> = parent.split('-').collect();
    let [version, trace_id, span_id, flags] = parts[..] else {
        return None;
    };
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = version == "00"
        && hex(trace_id, 32)
        && hex(span_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0');
    // A span id names a span and guards nothing: fastrand will do.
    #[allow(clippy::disallowed_methods)]
    let span = fastrand::u64(1..);
    valid.then(|| format!("00-{trace_id}-{span:016x}-{flags}"))
}

/// Accepts, contacts the requester, records progress and replies; each call's request_id is derived
/// from the order and epoch, so a retry after a crash is answered, not
/// applied twice.
async fn handle(
    c: &mut DispatchServiceClient<Channel>,
    unit: &str,
    order_id: &str,
) -> anyhow::Result<bool> {
    let a = c
        .get_assignment(own(
            unit,
            GetAssignmentRequest {
                order_id: order_id.into(),
            },
        ))
        .await?
        .into_inner()
        .assignment
        .unwrap_or_default();
    let lead = a.role == AssignmentRole::Lead as i32 || a.role == AssignmentRole::CoHandler as i32;
    if !lead || a.state != AssignmentState::Dispatched as i32 {
        return Ok(false);
    }
    // The calls about the order continue its trace; the read above did not
    // (a poll is no part of the order's story).
    let tp = child_traceparent(&a.trace_parent);
    if let Some(tp) = &tp {
        println!("traceparent {order_id} {tp}");
    }
    let tp = tp.as_deref();
    let rid = |step: &str| format!("{unit}:{order_id}:{}:{step}", a.epoch);
    c.accept_assignment(on_order(
        unit,
        tp,
        AcceptAssignmentRequest {
            request_id: rid("accept"),
            order_id: order_id.into(),
            epoch: a.epoch,
        },
    ))
    .await?;
    // The requester is reached through the centre's relay: the number
    // never leaves the centre.
    c.contact_requester(on_order(
        unit,
        tp,
        ContactRequesterRequest {
            request_id: rid("contact"),
            order_id: order_id.into(),
            epoch: a.epoch,
            purpose: "confirm the location".into(),
        },
    ))
    .await?;
    c.update_progress(on_order(
        unit,
        tp,
        UpdateProgressRequest {
            request_id: rid("progress"),
            order_id: order_id.into(),
            epoch: a.epoch,
            note: "crew sent".into(),
        },
    ))
    .await?;
    c.reply_assignment(on_order(
        unit,
        tp,
        ReplyAssignmentRequest {
            request_id: rid("reply"),
            order_id: order_id.into(),
            epoch: a.epoch,
            outcome: ReplyOutcome::Resolved as i32,
            text: "repaired by the departmental system".into(),
        },
    ))
    .await?;
    Ok(true)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let channel = connect(&a).await?;
    let mut dispatch = DispatchServiceClient::new(channel.clone());
    let mut inbox = InboxServiceClient::new(channel);
    let mut cursor: u64 = match &a.cursor_file {
        Some(p) if p.exists() => std::fs::read_to_string(p)?.trim().parse()?,
        _ => 0,
    };
    let mut stream = inbox
        .watch_assignments(own(
            &a.unit,
            WatchAssignmentsRequest {
                after_cursor: cursor,
            },
        ))
        .await?
        .into_inner();
    println!("watching {} after cursor {cursor}", a.unit);
    let mut handled = 0;
    while let Some(item) = stream.message().await? {
        let e = item.event.unwrap_or_default();
        let kind = InboxEventKind::try_from(e.kind)
            .map(|k| k.as_str_name())
            .unwrap_or("?");
        println!("event {} {kind} {} epoch {}", e.cursor, e.order_id, e.epoch);
        let done = e.kind == InboxEventKind::Dispatched as i32
            && handle(&mut dispatch, &a.unit, &e.order_id).await?;
        // The cursor is saved once the event is handled: a crash before
        // this line replays the event, which the handling tolerates.
        cursor = e.cursor;
        if let Some(p) = &a.cursor_file {
            std::fs::write(p, cursor.to_string())?;
        }
        if done {
            handled += 1;
            println!("handled {}", e.order_id);
        }
        if a.orders > 0 && handled >= a.orders {
            break;
        }
    }
    println!("stopped at cursor {cursor}");
    Ok(())
}
