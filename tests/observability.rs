//! What an operator sees: the spans a multi-process run exports to a plain
//! OTLP receiver, every process's `/metrics`, and logs and spans free of
//! requester identity and request text.

use std::collections::{BTreeSet, HashMap};

use hotline::client::request_id;
use hotline_proto::v1::*;
use hotline_telemetry::sink::{ReceivedSpan, Sink};

use crate::support::*;

const HOUR: i64 = 3_600_000_000;
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

/// The spans of one trace, by span id.
fn trace_of<'a>(spans: &'a [ReceivedSpan], trace_id: &str) -> HashMap<&'a str, &'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .map(|s| (s.span_id.as_str(), s))
        .collect()
}

/// A span of `service` named `name` about `order`, in the trace.
fn find<'a>(
    trace: &HashMap<&str, &'a ReceivedSpan>,
    service: &str,
    name: &str,
    kind: i32,
) -> Vec<&'a ReceivedSpan> {
    trace
        .values()
        .filter(|s| s.service == service && s.name == name && s.kind == kind)
        .copied()
        .collect()
}

#[tokio::test]
async fn a_whistled_order_is_one_connected_trace() {
    let store = &Store::preferred();
    let sink = Sink::start("127.0.0.1:0").await.unwrap();
    let t = TestMesh::start(
        store,
        Spec {
            virtual_clock: Some(T0),
            otlp_endpoint: Some(sink.endpoint()),
            ..processes()
        },
    )
    .await;
    let c = &t.client;
    let o = c
        .submit(submit(
            "sanitation.garbage",
            "8 West Arcade",
            RequestKind::Complaint,
        ))
        .await
        .unwrap();
    let id = o.order_id.clone();
    assert!(
        !o.trace_parent.is_empty(),
        "the centre hands out the order's trace"
    );
    c.wait_assignment("t-market", &id, 1, WAIT).await.unwrap();
    c.accept("t-market", &id, 1, &request_id()).await.unwrap();
    let w = c
        .whistle(
            "t-market",
            &id,
            1,
            WhistleKind::Daily,
            &["dept-urban", "dept-housing"],
        )
        .await
        .unwrap();
    c.advance_to(t0() + 2 * HOUR).await.unwrap();
    c.check_in("dept-urban", &w.district_unit, &w.whistle_id)
        .await
        .unwrap();
    // A day on, the housing commission has missed its check-in: the
    // district's timer fires in the trace it was armed in.
    c.advance_to(t0() + 26 * HOUR).await.unwrap();
    t.stop().await;

    let spans = sink.spans();
    let trace_id = o.trace_parent.split('-').nth(1).unwrap().to_string();
    let trace = trace_of(&spans, &trace_id);
    let services: BTreeSet<&str> = trace.values().map(|s| s.service.as_str()).collect();
    for s in [
        "hotline-gateway",
        "hotline-city",
        "hotline-district",
        "hotline-township",
        "hotline-department",
    ] {
        assert!(
            services.contains(s),
            "{s} missing from the trace: {services:?}"
        );
    }
    // Connected: one root (the gateway's span of the intake call), and
    // every other span's parent is in the trace.
    let roots: Vec<&&ReceivedSpan> = trace
        .values()
        .filter(|s| !trace.contains_key(s.parent_span_id.as_str()))
        .collect();
    assert_eq!(roots.len(), 1, "one root: {roots:#?}");
    assert_eq!(
        (roots[0].service.as_str(), roots[0].name.as_str()),
        ("hotline-gateway", "intake.submit_request")
    );
    let parent = |s: &ReceivedSpan| *trace.get(s.parent_span_id.as_str()).expect("parent");

    // The delivery of the township's lead assignment: the city's outbox
    // (client) → the gateway → the township (server).
    let delivered = find(
        &trace,
        "hotline-township",
        "dispatch.deliver_assignment",
        SERVER,
    );
    let d = delivered
        .iter()
        .find(|s| s.attr("hotline.to_unit") == Some("t-market"))
        .expect("the township's delivery");
    let hop = parent(d);
    assert_eq!(
        (hop.service.as_str(), hop.kind),
        ("hotline-gateway", SERVER)
    );
    let sent = parent(hop);
    assert_eq!((sent.service.as_str(), sent.kind), ("hotline-city", CLIENT));
    assert_eq!(sent.name, "dispatch.deliver_assignment");
    for (key, want) in [
        ("rpc.system", "grpc"),
        ("rpc.service", "hotline.v1.DispatchService"),
        ("rpc.method", "DeliverAssignment"),
        ("rpc.grpc.status_code", "0"),
        ("hotline.order_id", id.as_str()),
        ("hotline.from_unit", "city"),
        ("hotline.to_unit", "t-market"),
        ("hotline.from_tier", "city"),
        ("hotline.to_tier", "township"),
        ("hotline.handoff", "dispatch"),
    ] {
        for s in [*d, hop, sent] {
            assert_eq!(s.attr(key), Some(want), "{key} on {s:#?}");
        }
    }
    // The district's copy is a copy.
    let copy = find(
        &trace,
        "hotline-district",
        "dispatch.deliver_assignment",
        SERVER,
    );
    assert!(
        copy.iter()
            .any(|s| s.attr("hotline.handoff") == Some("copy")),
        "{copy:#?}"
    );

    // The whistle: the township's system continued the order's trace; the
    // township registers it with its district, which summons the
    // departments and tells the centre.
    let whistle = find(&trace, "hotline-township", "escalation.whistle", SERVER);
    assert_eq!(whistle.len(), 1, "{whistle:#?}");
    assert_eq!(whistle[0].attr("hotline.order_id"), Some(id.as_str()));
    let registered = find(
        &trace,
        "hotline-district",
        "escalation.register_whistle",
        SERVER,
    );
    assert_eq!(registered.len(), 1);
    let r = registered[0];
    assert_eq!(r.attr("hotline.handoff"), Some("whistle"));
    assert_eq!(r.attr("hotline.from_tier"), Some("township"));
    assert_eq!(r.attr("hotline.to_tier"), Some("district"));
    // register ← gateway ← township client ← the whistle call itself.
    let up = parent(parent(r));
    assert_eq!((up.service.as_str(), up.kind), ("hotline-township", CLIENT));
    assert_eq!(parent(up).span_id, whistle[0].span_id);
    let summons: Vec<&ReceivedSpan> = find(
        &trace,
        "hotline-department",
        "dispatch.deliver_notice",
        SERVER,
    )
    .into_iter()
    .filter(|s| s.attr("hotline.handoff") == Some("whistle_summons"))
    .collect();
    assert_eq!(summons.len(), 2, "both departments summoned: {summons:#?}");
    // The department's check-in, and the missed one fired by a timer.
    let checked = find(&trace, "hotline-district", "escalation.check_in", SERVER);
    assert_eq!(checked.len(), 1);
    assert_eq!(checked[0].attr("hotline.from_unit"), Some("dept-urban"));
    assert!(
        trace
            .values()
            .any(|s| s.service == "hotline-district" && s.name == "timer.check_in"),
        "the missed check-in fires in the order's trace"
    );
    let told = find(
        &trace,
        "hotline-city",
        "escalation.record_escalation_event",
        SERVER,
    );
    let kinds: BTreeSet<&str> = told
        .iter()
        .filter_map(|s| s.attr("hotline.handoff"))
        .collect();
    assert!(
        kinds.contains("whistle") && kinds.contains("check_in") && kinds.contains("escalation"),
        "{kinds:?}"
    );
}

/// What the demo's requesters said and who they are.
const DEMO_PII: &[&str] = &[
    "Li Wei",
    "Wang Fang",
    "Zhao Lei",
    "Chen Jing",
    "Demo Requester",
    "1390000000",
    "How do I move my",
    "Bins not emptied",
    "Radiators cold",
    "Drilling after midnight",
    "Smell of gas",
    "Illegal dumping",
    "Signal dark",
    "Lift broken",
    "Zhou Min",
    "Wu Gang",
    "1390000002",
];

/// Who the demo's requesters are: never in an export to a handler either
/// (the request text is, by design, with identity masked in it).
const DEMO_IDENTITY: &[&str] = &[
    "Li Wei",
    "Wang Fang",
    "Zhao Lei",
    "Chen Jing",
    "Demo Requester",
    "Sun Mei",
    "Qian Resident",
    "Zhou Min",
    "Wu Gang",
    "1390000000",
    "1390000002",
    "1391000000",
];

#[tokio::test]
async fn a_demo_run_is_traced_measured_and_free_of_requester_data() {
    let store = &Store::preferred();
    let sink = Sink::start("127.0.0.1:0").await.unwrap();
    let mut t = TestMesh::start(
        store,
        Spec {
            virtual_clock: Some(T0),
            otlp_endpoint: Some(sink.endpoint()),
            // Port 0: each process takes a free port and says which.
            metrics_port_base: Some(0),
            json_logs: true,
            ..processes()
        },
    )
    .await;
    let report = hotline::demo::script(t.processes(), false).await.unwrap();

    // Every process serves /metrics; the business histograms are there.
    let mut all = String::new();
    let listeners = t.processes().metrics_addrs();
    assert_eq!(
        listeners.len(),
        1 + t.topology.services().len(),
        "{listeners:?}"
    );
    for (name, addr) in listeners {
        let text = http_get(addr, "/metrics").await.unwrap();
        let family = if name == "gateway" {
            "hotline_gateway_forward_duration_seconds_count"
        } else {
            "hotline_rpc_server_duration_seconds_count"
        };
        assert!(text.contains(family), "{name}: {text}");
        assert!(text.contains("hotline_spans_dropped_total"), "{name}");
        all.push_str(&text);
    }
    for family in [
        "hotline_dispatch_to_accept_seconds_count{from_tier=\"city\",to_tier=\"township\",kind=\"lead\"}",
        "hotline_whistle_to_check_in_seconds_count{from_tier=\"township\",to_tier=\"department\",kind=\"daily\"}",
        "hotline_breach_to_supervision_seconds_count",
        "hotline_intake_to_close_seconds_count{urgency=",
        "hotline_gateway_overhead_seconds_count{from_tier=\"city\",to_tier=\"township\"}",
        "hotline_outbox_delivered_total{from_tier=\"city\",to_tier=\"township\",kind=\"dispatch\"}",
        "hotline_timers_fired_total{kind=\"breach\"}",
        "hotline_callbacks_total{urgency=",
        "hotline_response_windows_total{to_tier=\"township\",window=\"accept\"",
        "hotline_response_windows_total{to_tier=\"township\",window=\"contact\"",
        "hotline_outbox_depth",
        "hotline_timers_due",
    ] {
        assert!(all.contains(family), "{family} missing");
    }
    for id in &report.order_ids {
        assert!(!all.contains(id.as_str()), "order id {id} in a metric");
    }
    // Art. 28 exports of every handling unit carry no requester identity.
    let mut exports = String::new();
    for route in t.client.routes().await.unwrap() {
        if route.tier != Tier::City as i32 {
            let orders = t.client.export("city", &route.unit_id).await.unwrap();
            for o in &orders {
                exports += &hotline::export::export_json(o).to_string();
            }
        }
    }
    assert!(
        exports.contains("Signal dark at the bridge"),
        "the exports were read"
    );
    for needle in DEMO_IDENTITY {
        assert!(!exports.contains(needle), "{needle:?} in an export");
    }
    let logs_by_process = t.stop_with_logs().await;

    // One trace holds the whistled order's work in at least four services.
    let spans = sink.spans();
    let traces: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s.attr("hotline.order_id") == Some(report.whistled_order.as_str()))
        .map(|s| s.trace_id.as_str())
        .collect();
    let widest = traces
        .iter()
        .map(|tid| {
            spans
                .iter()
                .filter(|s| s.trace_id == *tid)
                .map(|s| s.service.as_str())
                .collect::<BTreeSet<_>>()
        })
        .max_by_key(BTreeSet::len)
        .unwrap_or_default();
    assert!(widest.len() >= 4, "{widest:?}");

    // JSON log lines, each in traced work with its trace id; no requester
    // data in any log line or exported span.
    let mut traced_lines = 0;
    let mut logs = String::new();
    for (_, text) in &logs_by_process {
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
            traced_lines += v.get("trace_id").is_some() as usize;
        }
        logs.push_str(text);
    }
    assert!(traced_lines > 50, "{traced_lines} traced lines");
    let exported = sink.dump();
    assert!(exported.len() > 10_000, "spans exported");
    for needle in DEMO_PII {
        assert!(!logs.contains(needle), "{needle:?} in a log");
        assert!(!exported.contains(needle), "{needle:?} in a span");
    }
}

/// The check as an operator runs it: `hotline demo
/// --otlp-endpoint URL` against a plain OTLP receiver.
#[tokio::test]
async fn hotline_demo_exports_the_whistled_order_as_one_trace() {
    let sink = Sink::start("127.0.0.1:0").await.unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["demo", "--json", "--otlp-endpoint", &sink.endpoint()])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order = report["whistled_order"].as_str().unwrap();
    let spans = sink.spans();
    let trace = spans
        .iter()
        .find(|s| s.service == "hotline-city" && s.attr("hotline.order_id") == Some(order))
        .map(|s| s.trace_id.clone())
        .expect("the city traced the whistled order");
    let services: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s.trace_id == trace)
        .map(|s| s.service.as_str())
        .collect();
    assert!(services.len() >= 4, "{services:?}");
}
