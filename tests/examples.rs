//! The client examples in `examples/` against a live mesh: the Rust
//! departmental system (killed mid-stream and restarted from its saved
//! cursor), the Python one with grpcio and the Go one with grpc-go; and
//! all three continuing the order's trace with their calls.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use hotline_proto::v1::*;
use hotline_telemetry::sink::{ReceivedSpan, Sink};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::support::*;

/// The built Rust example, built now if `cargo test` has not built it.
fn rust_example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().unwrap().parent().unwrap();
    let path = profile.join("examples").join("departmental_system");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--example", "departmental_system"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "the example builds");
    }
    path
}

fn spawn(cmd: &mut Command) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Reads lines until one equals `want`; returns every line read.
async fn until(lines: &mut Lines<BufReader<ChildStdout>>, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line == want;
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    };
    let found = tokio::time::timeout(Duration::from_secs(120), read).await;
    assert!(matches!(found, Ok(true)), "no {want:?} in {seen:?}");
    seen
}

fn order(category: &str) -> SubmitRequestRequest {
    submit(category, "", RequestKind::Help)
}

mesh_test! {
    async fn the_rust_example_resumes_after_a_kill_missing_nothing_handling_nothing_twice(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let dir = tempfile::tempdir().unwrap();
        let cursor_file = dir.path().join("cursor");
        let gateway = t.gateway_url.clone();
        let tls = unit_certificate(&t, "dept-transport");
        let args = [
            "--gateway",
            gateway.as_str(),
            "--unit",
            "dept-transport",
            "--cursor-file",
            cursor_file.to_str().unwrap(),
            "--cert",
            &tls[0],
            "--key",
            &tls[1],
            "--ca",
            &tls[2],
        ];
        let (mut child, mut lines) = spawn(Command::new(rust_example()).args(args));
        let a = c.submit(order("traffic.signal_broken")).await.unwrap();
        until(&mut lines, &format!("handled {}", a.order_id)).await;
        // Killed mid-stream: no goodbye, only the cursor file it kept.
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        let b = c.submit(order("traffic.signal_broken")).await.unwrap();
        c.wait_assignment("dept-transport", &b.order_id, 1, WAIT)
            .await
            .unwrap();

        let (mut child, mut lines) = spawn(
            Command::new(rust_example())
                .args(args)
                .args(["--orders", "1"]),
        );
        let seen = until(&mut lines, &format!("handled {}", b.order_id)).await;
        let events: Vec<&String> = seen.iter().filter(|l| l.starts_with("event ")).collect();
        assert_eq!(events.len(), 1, "only the missed event: {seen:?}");
        assert!(
            events[0].contains(&format!("INBOX_EVENT_KIND_DISPATCHED {}", b.order_id)),
            "{seen:?}"
        );
        assert!(child.wait().await.unwrap().success());
        for o in [&a, &b] {
            let a = c.assignment("dept-transport", &o.order_id).await.unwrap();
            assert_eq!(a.state, AssignmentState::Replied as i32, "{a:?}");
        }
        t.stop().await;
    }
}

/// Issues `unit`'s certificate in the mesh's CA: its certificate, key and
/// the CA certificate, as a department gets them.
fn unit_certificate(t: &TestMesh, unit: &str) -> [String; 3] {
    let files = hotline_identity::Pki::open(t.opts.pki_dir())
        .issue(
            &hotline_identity::Principal::Unit(unit.into()),
            &hotline_identity::IssueOptions::default(),
        )
        .unwrap();
    [files.cert, files.key, files.ca].map(|p| p.display().to_string())
}

/// The interpreter with grpcio: `HOTLINE_PYTHON` (CI sets it up), else
/// `python3`. Missing under CI=true is a failure, not a skip.
pub fn python() -> Option<String> {
    python_with("grpc, grpc_tools", "grpcio and grpcio-tools")
}

/// `HOTLINE_PYTHON` (else `python3`) when it can `import {modules}`, or
/// `None`, said loudly; missing under CI=true, where `.ci/run` installs
/// `what`, is a failure.
pub fn python_with(modules: &str, what: &str) -> Option<String> {
    let python = std::env::var("HOTLINE_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{python} lacks {what}, which CI installs (.ci/run)"
    );
    eprintln!("SKIPPED: {python} lacks {what}");
    None
}

mesh_test! {
    async fn the_python_example_handles_an_order_over_grpcio(store) {
        let Some(python) = python() else {
            return;
        };
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/python/departmental_system.py");
        let mut cmd = Command::new(&python);
        cmd.arg(&script);
        handles_one_order(store, cmd, "dept-utility", "water.outage", "Python").await;
    }
}

/// The Go example, built once per run by `examples/go/build.sh` (offline,
/// against Debian's packaged grpc-go), when its toolchain is here. Missing
/// under CI=true is a failure, not a skip: `.ci/run` installs it.
fn go_example() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let gocode =
                std::env::var("HOTLINE_GOCODE").unwrap_or_else(|_| "/usr/share/gocode".into());
            let src = Path::new(&gocode).join("src");
            let runs = |tool: &str, arg: &str| {
                std::process::Command::new(tool)
                    .arg(arg)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let missing: Vec<&str> = [
                ("go", runs("go", "version")),
                ("protoc", runs("protoc", "--version")),
                ("protoc-gen-go", runs("protoc-gen-go", "--version")),
                (
                    "protoc-gen-go-grpc",
                    runs("protoc-gen-go-grpc", "--version"),
                ),
                (
                    "grpc-go sources (golang-google-grpc-dev)",
                    src.join("google.golang.org/grpc").is_dir(),
                ),
                // grpc-go 1.33 encodes through golang/protobuf: its 1.3
                // cannot carry the stubs' messages, 1.4 and later can.
                (
                    "golang/protobuf 1.5 (golang-github-golang-protobuf-1-5-dev)",
                    src.join("github.com/golang/protobuf/proto/registry.go")
                        .is_file(),
                ),
            ]
            .into_iter()
            .filter_map(|(what, there)| (!there).then_some(what))
            .collect();
            if !missing.is_empty() {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "the Go example needs {missing:?}, which CI installs (.ci/run)"
                );
                eprintln!("SKIPPED: the Go example needs {missing:?} (see examples/go/build.sh)");
                return None;
            }
            let exe = std::env::current_exe().unwrap();
            let out = exe
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("examples")
                .join("departmental_system_go");
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let built = std::process::Command::new("bash")
                .arg(root.join("examples/go/build.sh"))
                .arg(&out)
                .env("HOTLINE_GOCODE", &gocode)
                .output()
                .unwrap();
            assert!(
                built.status.success(),
                "the Go example builds: {}",
                String::from_utf8_lossy(&built.stderr)
            );
            Some(out)
        })
        .clone()
}

mesh_test! {
    async fn the_go_example_handles_an_order_over_grpc_go(store) {
        let Some(go) = go_example() else {
            return;
        };
        handles_one_order(store, Command::new(&go), "dept-housing", "housing.old_estate_renovation", "Go").await;
    }
}

/// An example (`cmd`, before its flags) handles one order of `category`
/// for `unit` on a fresh mesh: it watches, accepts and replies, and the
/// assignment ends REPLIED with the example's reply text.
async fn handles_one_order(
    store: &Store,
    mut cmd: Command,
    unit: &str,
    category: &str,
    system: &str,
) {
    let t = mesh(store).await;
    let c = &t.client;
    let tls = unit_certificate(&t, unit);
    let (mut child, mut lines) = spawn(cmd.args(example_args(&t, unit, &tls)));
    until(&mut lines, &format!("watching {unit} after cursor 0")).await;
    let o = c.submit(order(category)).await.unwrap();
    until(&mut lines, &format!("handled {}", o.order_id)).await;
    assert!(child.wait().await.unwrap().success());
    let a = c.assignment(unit, &o.order_id).await.unwrap();
    assert_eq!(a.state, AssignmentState::Replied as i32, "{a:?}");
    assert_eq!(
        a.reply_text,
        format!("repaired by the {system} departmental system")
    );
    t.stop().await;
}

/// The flags every example takes to handle one order for `unit`.
fn example_args(t: &TestMesh, unit: &str, tls: &[String; 3]) -> Vec<String> {
    [
        "--gateway",
        &t.gateway_url,
        "--unit",
        unit,
        "--orders",
        "1",
        "--cert",
        &tls[0],
        "--key",
        &tls[1],
        "--ca",
        &tls[2],
    ]
    .map(String::from)
    .to_vec()
}

const SERVER: i32 = 2;

/// A department's calls about an order, as their spans are named.
const ACTING: &[&str] = &[
    "hotline.v1.DispatchService/AcceptAssignment",
    "hotline.v1.DispatchService/ContactRequester",
    "hotline.v1.DispatchService/ReplyAssignment",
];

/// Without a `traceparent` a department's accept, contact and reply would
/// each start a trace of their own, only linked to the order's. Each
/// example sends a child of its assignment's `trace_parent`, and says
/// which: the gateway's span of each call is that child's child, in the
/// order's trace, and so are the department's and the relay's below it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_continue_the_orders_trace() {
    let store = &Store::preferred();
    let sink = Sink::start("127.0.0.1:0").await.unwrap();
    let t = TestMesh::start(
        store,
        Spec {
            otlp_endpoint: Some(sink.endpoint()),
            ..processes()
        },
    )
    .await;
    let c = &t.client;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // (unit, a catalogue item it leads, how to run its example)
    let mut runs: Vec<(&str, &str, Command)> = vec![(
        "dept-transport",
        "traffic.signal_broken",
        Command::new(rust_example()),
    )];
    if let Some(python) = python() {
        let mut cmd = Command::new(python);
        cmd.arg(root.join("examples/python/departmental_system.py"));
        runs.push(("dept-utility", "water.outage", cmd));
    }
    if let Some(go) = go_example() {
        runs.push((
            "dept-housing",
            "housing.old_estate_renovation",
            Command::new(go),
        ));
    }
    let mut handled = Vec::new();
    for (unit, category, mut cmd) in runs {
        let tls = unit_certificate(&t, unit);
        let (child, mut lines) = spawn(cmd.args(example_args(&t, unit, &tls)));
        until(&mut lines, &format!("watching {unit} after cursor 0")).await;
        let o = c.submit(order(category)).await.unwrap();
        let seen = until(&mut lines, &format!("handled {}", o.order_id)).await;
        let said = format!("traceparent {} ", o.order_id);
        let sent = seen
            .iter()
            .find_map(|l| l.strip_prefix(&said))
            .unwrap_or_else(|| panic!("{unit}'s example says the traceparent it sends: {seen:?}"))
            .to_string();
        // Its stdout stays open until it has said goodbye.
        handled.push((unit, o, sent, child, lines));
    }
    for (unit, _, _, child, _) in &mut handled {
        assert!(child.wait().await.unwrap().success(), "{unit}'s example");
    }
    t.stop().await;

    let spans = sink.spans();
    for (unit, o, sent, _, _) in &handled {
        let order: Vec<&str> = o.trace_parent.split('-').collect();
        let ours: Vec<&str> = sent.split('-').collect();
        assert_eq!(order.len(), 4, "the order's trace: {:?}", o.trace_parent);
        assert_eq!(ours.len(), 4, "{unit} sent {sent:?}");
        let (trace_id, our_span) = (order[1], ours[2]);
        assert_eq!(
            ours[1], trace_id,
            "{unit} sent {sent:?}, the order's is {:?}",
            o.trace_parent
        );
        assert_ne!(
            our_span, order[2],
            "{unit} sent a child, not the order's own span"
        );
        let in_trace = |s: &&ReceivedSpan| s.trace_id == trace_id;
        for name in ACTING {
            let at_gateway: Vec<&ReceivedSpan> = spans
                .iter()
                .filter(|s| {
                    s.service == "hotline-gateway"
                        && s.kind == SERVER
                        && s.name == *name
                        && s.attr("hotline.from_unit") == Some(*unit)
                })
                .collect();
            assert_eq!(at_gateway.len(), 1, "{unit}'s {name}: {at_gateway:#?}");
            let hop = at_gateway[0];
            assert_eq!(
                (hop.trace_id.as_str(), hop.parent_span_id.as_str()),
                (trace_id, our_span),
                "{unit}'s {name} continues the order's trace from the span it sent"
            );
            let served: Vec<&ReceivedSpan> = spans
                .iter()
                .filter(in_trace)
                .filter(|s| {
                    s.service == "hotline-department" && s.kind == SERVER && s.name == *name
                })
                .filter(|s| s.parent_span_id == hop.span_id)
                .collect();
            assert_eq!(
                served.len(),
                1,
                "{unit}'s department serves its {name} in the order's trace"
            );
        }
        // The contact reaches the requester through the centre's relay, in
        // the same trace.
        let relayed = spans.iter().filter(in_trace).any(|s| {
            s.service == "hotline-city"
                && s.kind == SERVER
                && s.name == "hotline.v1.ContactRelayService/RelayContact"
        });
        assert!(relayed, "{unit}'s contact is relayed in the order's trace");
    }
}
