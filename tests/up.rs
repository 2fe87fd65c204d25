//! `hotline up`: separate OS processes, supervised, stopped together.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use hotline::client::MeshClient;

/// `hotline up` on `dir`, its standard output read line by line.
fn start_up(
    dir: &std::path::Path,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut up = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        // The supervisor's own default for its children, whatever this
        // test runs under.
        .env_remove(hotline::mesh::PURGE_DELAY_ENV)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(up.stdout.take().unwrap()).lines();
    (up, lines)
}

/// The eight rows of the `process │ pid` table `up` prints after its
/// first line (its header and rule first): the gateway, six services and
/// the web front.
fn pid_lines(
    lines: &mut std::io::Lines<BufReader<std::process::ChildStdout>>,
) -> Vec<(String, i32)> {
    let header = lines.next().unwrap().unwrap();
    assert_eq!(
        header.split('│').map(str::trim).collect::<Vec<_>>(),
        ["process", "pid"]
    );
    lines.next().unwrap().unwrap();
    (0..8)
        .map(|_| {
            let line = lines.next().unwrap().unwrap();
            let cells: Vec<&str> = line.split('│').map(str::trim).collect();
            (cells[0].to_string(), cells[1].parse().expect(&line))
        })
        .collect()
}

#[tokio::test]
async fn up_starts_separate_processes_and_stops_them_all_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut up, mut lines) = start_up(dir.path());
    let first = lines.next().unwrap().unwrap();
    let gateway = first
        .strip_prefix("hotline mesh up: gateway ")
        .expect(&first)
        .to_string();
    let mut pids: Vec<i32> = pid_lines(&mut lines).into_iter().map(|(_, p)| p).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(
        pids.len(),
        8,
        "gateway, six services and the web front, each its own process"
    );
    assert!(!pids.contains(&(up.id() as i32)));
    // Each child's allocator gives freed memory back at once.
    let purge_now = format!("{}=0", hotline::mesh::PURGE_DELAY_ENV);
    for pid in &pids {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        assert!(
            environ
                .split(|b| *b == 0)
                .any(|v| v == purge_now.as_bytes()),
            "process {pid} runs without {purge_now}"
        );
    }
    // The web front says where Open311 is and where its first key is.
    let open311 = lines.next().unwrap().unwrap();
    assert!(
        open311.starts_with("Open311: https://127.0.0.1:") && open311.contains("/open311/v2/"),
        "{open311}"
    );
    let key = dir.path().join("open311/api-key");
    assert!(open311.contains(&key.display().to_string()), "{open311}");
    assert!(std::fs::read_to_string(&key).unwrap().starts_with("o311-"));

    // Every hop is mTLS: the client presents certificates from the CA
    // `up` made in the data dir.
    assert!(
        dir.path().join("pki/ca.crt").exists(),
        "the mesh CA in DATA_DIR/pki"
    );
    let client = MeshClient::new(
        &gateway,
        "city",
        hotline_identity::Credentials::Mint(hotline_identity::Pki::open(dir.path().join("pki"))),
    )
    .unwrap();
    let routes = client.routes().await.unwrap();
    assert!(
        routes.iter().all(|r| !r.address.is_empty()),
        "every unit routed: {routes:?}"
    );
    for db in [
        "city",
        "district",
        "township",
        "community",
        "department",
        "central",
    ] {
        assert!(
            dir.path().join(format!("{db}.db")).exists(),
            "{db}.db in the data dir"
        );
    }

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = up.wait().unwrap();
    assert!(status.success(), "{status}");
    for pid in pids {
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        assert!(!alive, "process {pid} still running after up stopped");
    }
}

/// A supervisor killed outright (SIGKILL: no handler runs) leaves no
/// service behind: each child notices its parent is gone and stops.
#[tokio::test]
async fn a_killed_supervisor_leaves_no_process_running() {
    let dir = tempfile::tempdir().unwrap();
    let (mut up, mut lines) = start_up(dir.path());
    assert!(
        lines
            .next()
            .unwrap()
            .unwrap()
            .starts_with("hotline mesh up")
    );
    let pids: Vec<i32> = pid_lines(&mut lines).into_iter().map(|(_, p)| p).collect();
    up.kill().unwrap();
    up.wait().unwrap();
    let alive = |pid: i32| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    while pids.iter().any(|p| alive(*p)) {
        assert!(
            std::time::Instant::now() < deadline,
            "still running after the supervisor died: {:?}",
            pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// `up` keeps the mesh up: a gateway and a township killed outright are
/// started again, the gateway on the address every client and service
/// already has, and a complaint submitted afterwards reaches its township.
#[tokio::test]
async fn up_restarts_a_killed_gateway_and_service() {
    let dir = tempfile::tempdir().unwrap();
    let (mut up, mut lines) = start_up(dir.path());
    let first = lines.next().unwrap().unwrap();
    let gateway = first
        .strip_prefix("hotline mesh up: gateway ")
        .expect(&first)
        .to_string();
    let pids: std::collections::BTreeMap<String, i32> = pid_lines(&mut lines).into_iter().collect();
    let kill = |pid: i32| {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap()
    };
    kill(pids["gateway"]);
    kill(pids["township"]);
    // `up` says which it started again, with the new pids.
    let mut restarted = std::collections::BTreeMap::new();
    while restarted.len() < 2 {
        let line = lines.next().unwrap().unwrap();
        if line.contains("started again") {
            let name = line.split_whitespace().next().unwrap().to_string();
            let pid: i32 = line.split_whitespace().last().unwrap().parse().unwrap();
            restarted.insert(name, pid);
        }
    }
    assert_ne!(restarted["gateway"], pids["gateway"]);
    assert_ne!(restarted["township"], pids["township"]);
    assert!(up.try_wait().unwrap().is_none(), "up keeps running");

    let client = MeshClient::new(
        &gateway,
        "city",
        hotline_identity::Credentials::Mint(hotline_identity::Pki::open(dir.path().join("pki"))),
    )
    .unwrap();
    // The services re-announce to the new gateway within seconds; until
    // then a submit may be refused as unavailable.
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    let order = loop {
        let req = crate::support::submit(
            "road.pothole",
            "1 Harbour Road",
            hotline_proto::v1::RequestKind::Complaint,
        );
        match client.submit(req).await {
            Ok(o) => break o,
            Err(s) => assert!(
                std::time::Instant::now() < deadline,
                "the mesh did not come back: {s:?}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let a = client
        .wait_assignment("t-harbour", &order.order_id, 1, crate::support::WAIT)
        .await
        .unwrap();
    assert_eq!(a.unit_id, "t-harbour");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(up.wait().unwrap().success());
}
