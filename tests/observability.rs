//! What an operator sees: the spans a multi-process run exports to a plain
//! OTLP receiver, every process's `/metrics`, and logs and spans free of
//! requester identity and request text.

use std::collections::{BTreeSet, HashMap};

use hotline::client::request_id;
use hotline_proto::v1::dispatch_service_client::DispatchServiceClient;
use hotline_proto::v1::intake_service_client::IntakeServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use hotline_telemetry::sink::{ReceivedSpan, Sink};
use tonic::Code;

use crate::support::*;

const HOUR: i64 = 3_600_000_000;
const SERVER: i32 = 2;
const CLIENT: i32 = 3;
/// OTLP status codes.
const UNSET: i32 = 0;
const ERROR: i32 = 2;

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
    // Two refusals, each in a trace of its own: the centre takes no
    // assignments (its own failure to serve the method, UNIMPLEMENTED),
    // and a township may not take intake (an answer, PERMISSION_DENIED).
    let accept = AcceptAssignmentRequest {
        request_id: request_id(),
        order_id: id.clone(),
        epoch: 1,
    };
    let s = DispatchServiceClient::new(c.channel())
        .accept_assignment(routed(accept, "city", "city"))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::Unimplemented, "{s:?}");
    let intake = submit(
        "sanitation.garbage",
        "1 Harbour Road",
        RequestKind::Complaint,
    );
    let s = IntakeServiceClient::new(c.channel())
        .submit_request(routed(intake, "city", "t-harbour"))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied, "{s:?}");
    let gateway_port = t
        .gateway_url
        .parse::<tonic::transport::Uri>()
        .unwrap()
        .port_u16()
        .unwrap()
        .to_string();
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
        ("hotline-gateway", "hotline.v1.IntakeService/SubmitRequest")
    );
    let parent = |s: &ReceivedSpan| *trace.get(s.parent_span_id.as_str()).expect("parent");

    // The delivery of the township's lead assignment: the city's outbox
    // (client) → the gateway → the township (server).
    let delivered = find(
        &trace,
        "hotline-township",
        "hotline.v1.DispatchService/DeliverAssignment",
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
    assert_eq!(sent.name, "hotline.v1.DispatchService/DeliverAssignment");
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
        "hotline.v1.DispatchService/DeliverAssignment",
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
    let whistle = find(
        &trace,
        "hotline-township",
        "hotline.v1.EscalationService/Whistle",
        SERVER,
    );
    assert_eq!(whistle.len(), 1, "{whistle:#?}");
    assert_eq!(whistle[0].attr("hotline.order_id"), Some(id.as_str()));
    let registered = find(
        &trace,
        "hotline-district",
        "hotline.v1.EscalationService/RegisterWhistle",
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
        "hotline.v1.DispatchService/DeliverNotice",
        SERVER,
    )
    .into_iter()
    .filter(|s| s.attr("hotline.handoff") == Some("whistle_summons"))
    .collect();
    assert_eq!(summons.len(), 2, "both departments summoned: {summons:#?}");
    // The department's check-in, and the missed one fired by a timer.
    let checked = find(
        &trace,
        "hotline-district",
        "hotline.v1.EscalationService/CheckIn",
        SERVER,
    );
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
        "hotline.v1.EscalationService/RecordEscalationEvent",
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

    rpc_conventions_hold(&spans, &gateway_port);
}

/// Keys tracing-opentelemetry adds of its own unless told not to.
const BOOKKEEPING: &[&str] = &[
    "busy_ns",
    "idle_ns",
    "target",
    "level",
    "code.file.path",
    "code.module.name",
    "code.line.number",
    "code.filepath",
    "code.namespace",
    "code.lineno",
    "thread.id",
    "thread.name",
];

/// Every exported span, of every process: RPC spans named
/// `$rpc.service/$rpc.method` with the conventions' `rpc.*` and `server.*`
/// attributes and status (a server errs only on its own failures, a client
/// on any code but OK), and no span with tracing's bookkeeping.
fn rpc_conventions_hold(spans: &[ReceivedSpan], gateway_port: &str) {
    for s in spans {
        for key in BOOKKEEPING {
            assert_eq!(s.attr(key), None, "{key} on {s:#?}");
        }
    }
    let rpcs: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.attr("rpc.system").is_some())
        .collect();
    assert!(rpcs.len() > 50, "{} RPC spans", rpcs.len());
    for s in &rpcs {
        assert_eq!(s.attr("rpc.system"), Some("grpc"), "{s:#?}");
        let service = s.attr("rpc.service").expect("rpc.service");
        let method = s.attr("rpc.method").expect("rpc.method");
        assert!(service.starts_with("hotline.v1."), "{s:#?}");
        assert_eq!(s.name, format!("{service}/{method}"), "{s:#?}");
        assert!(
            s.attr("server.address").is_some_and(|a| !a.is_empty()),
            "server.address on {s:#?}"
        );
        let port = s.attr("server.port").expect("server.port");
        assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{s:#?}");
        // The gateway is the server its callers address; the services
        // are addressed at their own ports.
        let at_gateway = s.service == "hotline-gateway" || s.kind == CLIENT;
        assert_eq!(port == gateway_port, at_gateway, "server.port on {s:#?}");
        let code: i32 = s
            .attr("rpc.grpc.status_code")
            .expect("rpc.grpc.status_code")
            .parse()
            .unwrap();
        let error = match s.kind {
            // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
            // UNAVAILABLE, DATA_LOSS.
            SERVER => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
            _ => code != 0,
        };
        assert_eq!(s.status == ERROR, error, "status of {s:#?}");
    }
    // The two refusals: the centre's UNIMPLEMENTED is an error at the
    // gateway and at the centre; PERMISSION_DENIED is an answer.
    let coded = |method: &str, code: &str| -> Vec<&ReceivedSpan> {
        rpcs.iter()
            .filter(|s| s.attr("rpc.method") == Some(method))
            .filter(|s| s.attr("rpc.grpc.status_code") == Some(code))
            .copied()
            .collect()
    };
    let unimplemented = coded("AcceptAssignment", "12");
    let services: BTreeSet<&str> = unimplemented.iter().map(|s| s.service.as_str()).collect();
    assert!(
        services.contains("hotline-gateway") && services.contains("hotline-city"),
        "{unimplemented:#?}"
    );
    assert!(unimplemented.iter().all(|s| s.status == ERROR));
    let denied = coded("SubmitRequest", "7");
    assert!(!denied.is_empty(), "the refused intake was traced");
    assert!(denied.iter().all(|s| s.status == UNSET), "{denied:#?}");
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
    let (spans, stdout) = demo_exporting(&[]).await;
    let report: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let order = report["whistled_order"].as_str().unwrap();
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

/// What a fresh mesh's `/metrics` already says, before any request: every
/// family a dashboard panel reads is there at zero, not missing, and every
/// process (the gateway too) has the standard process metrics and its
/// build.
#[tokio::test]
async fn a_fresh_mesh_has_every_family_at_zero_and_process_metrics() {
    let store = &Store::preferred();
    let mut t = TestMesh::start(
        store,
        Spec {
            metrics_port_base: Some(0),
            ..processes()
        },
    )
    .await;
    let listeners = t.processes().metrics_addrs();
    assert_eq!(listeners.len(), 1 + t.topology.services().len());
    let (mut seeded_centre, mut seeded_whistles) = (false, false);
    let build = format!(
        "hotline_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, addr) in listeners {
        let text = http_get(addr, "/metrics").await.unwrap();
        assert!(text.contains(&build), "{name}: {text}");
        let value = |metric: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{metric} ")))
                .unwrap_or_else(|| panic!("{name}: {metric} missing: {text}"));
            line[metric.len() + 1..].parse().unwrap()
        };
        assert!(value("process_cpu_seconds_total") >= 0.0, "{name}");
        assert!(value("process_resident_memory_bytes") > 1e6, "{name}");
        assert!(value("process_open_fds") >= 3.0, "{name}");
        let started = value("process_start_time_seconds");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            (now - 600.0..=now).contains(&started),
            "{name} started at {started}, now {now}"
        );
        if name == "gateway" {
            continue;
        }
        // The families the dashboard's panels read, at zero, in the
        // service that observes them: the centre's, and the districts'
        // whistles (a district registers them); none elsewhere.
        let centre = [
            "hotline_callbacks_total{urgency=\"general\",resolved=\"true\",satisfaction=\"satisfied\"} 0\n",
            "hotline_response_windows_total{to_tier=\"township\",window=\"accept\",met=\"true\"} 0\n",
            "hotline_intake_to_close_seconds_count{urgency=\"general\"} 0\n",
            "hotline_breach_to_supervision_seconds_count{from_tier=\"city\",to_tier=\"township\",kind=\"general\"} 0\n",
            "hotline_objection_to_ruling_seconds_count{from_tier=\"township\",to_tier=\"city\",kind=\"keep\"} 0\n",
            "hotline_dispatch_to_accept_seconds_count{from_tier=\"city\",to_tier=\"township\",kind=\"lead\"} 0\n",
        ];
        let whistle = "hotline_whistle_to_check_in_seconds_count{from_tier=\"township\",to_tier=\"department\",kind=\"daily\"} 0\n";
        let spec = t
            .topology
            .service(&name)
            .unwrap_or_else(|| panic!("{name}: no such service"));
        let hosts_centre = spec.tier == hotline_core::Tier::City;
        for series in centre {
            assert_eq!(text.contains(series), hosts_centre, "{name}: {series}");
        }
        let whistles = spec.tier == hotline_core::Tier::District;
        assert_eq!(text.contains(whistle), whistles, "{name}: {whistle}");
        seeded_centre |= hosts_centre;
        seeded_whistles |= whistles;
    }
    assert!(
        seeded_centre && seeded_whistles,
        "the demo city has a centre and a district service"
    );
    t.stop().await;
}

/// Runs `hotline demo --json` exporting to a fresh receiver with `env`
/// set, and returns what it received and what the demo printed.
async fn demo_exporting(env: &[(&str, &str)]) -> (Vec<ReceivedSpan>, Vec<u8>) {
    let sink = Sink::start("127.0.0.1:0").await.unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["demo", "--json", "--otlp-endpoint", &sink.endpoint()])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_SAMPLER_ARG")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (sink.spans(), out.stdout)
}

/// The spans of [`demo_exporting`].
async fn demo_spans(env: &[(&str, &str)]) -> Vec<ReceivedSpan> {
    demo_exporting(env).await.0
}

/// The standard `OTEL_TRACES_SAMPLER` governs every process, over the
/// mesh's own `HOTLINE_TRACE_SAMPLE_RATIO`, both ways.
#[tokio::test]
async fn the_standard_sampler_variable_wins_over_the_meshs_ratio() {
    let kept = demo_spans(&[
        ("HOTLINE_TRACE_SAMPLE_RATIO", "0"),
        ("OTEL_TRACES_SAMPLER", "always_on"),
    ])
    .await;
    let services: BTreeSet<&str> = kept.iter().map(|s| s.service.as_str()).collect();
    assert!(
        services.contains("hotline-gateway") && services.contains("hotline-city"),
        "a ratio of 0 lost to always_on: {services:?}"
    );
    let dropped = demo_spans(&[
        ("HOTLINE_TRACE_SAMPLE_RATIO", "1"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ])
    .await;
    assert!(
        dropped.is_empty(),
        "a ratio of 1 lost to always_off: {} spans",
        dropped.len()
    );
}
