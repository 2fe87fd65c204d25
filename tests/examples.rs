//! The client examples in `examples/` against a live mesh: the Rust
//! departmental system (killed mid-stream and restarted from its saved
//! cursor) and the Python one with grpcio.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use hotline_proto::v1::*;
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
    let python = std::env::var("HOTLINE_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import grpc, grpc_tools"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{python} lacks grpcio and grpcio-tools, which CI installs (.ci/run)"
    );
    eprintln!("SKIPPED: {python} lacks grpcio and grpcio-tools");
    None
}

mesh_test! {
    async fn the_python_example_handles_an_order_over_grpcio(store) {
        let Some(python) = python() else {
            return;
        };
        let t = mesh(store).await;
        let c = &t.client;
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/python/departmental_system.py");
        let tls = unit_certificate(&t, "dept-utility");
        let (mut child, mut lines) = spawn(Command::new(&python).arg(&script).args([
            "--gateway",
            &t.gateway_url,
            "--unit",
            "dept-utility",
            "--orders",
            "1",
            "--cert",
            &tls[0],
            "--key",
            &tls[1],
            "--ca",
            &tls[2],
        ]));
        until(&mut lines, "watching dept-utility after cursor 0").await;
        let o = c.submit(order("water.outage")).await.unwrap();
        until(&mut lines, &format!("handled {}", o.order_id)).await;
        assert!(child.wait().await.unwrap().success());
        let a = c.assignment("dept-utility", &o.order_id).await.unwrap();
        assert_eq!(a.state, AssignmentState::Replied as i32, "{a:?}");
        assert_eq!(a.reply_text, "repaired by the Python departmental system");
        t.stop().await;
    }
}
