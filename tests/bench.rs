//! Every benchmark of `hotline bench`, run once at a tiny size as a user
//! runs it: each finishes, and reports what it measured. Smoke tests, not
//! timed: the figures are measured by the benchmarks, never asserted.

use std::process::Command;

use hotline_store::testing::postgres_url;
use serde_json::Value;

/// `hotline bench ARGS --json`, which must succeed; its JSON.
fn bench(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hotline bench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn positive(v: &Value, key: &str) -> f64 {
    let x = v[key].as_f64().unwrap_or_else(|| panic!("{key}: {v}"));
    assert!(x > 0.0, "{key}: {v}");
    x
}

/// Timers fire timer by timer and as sets, the synthetic effect and the
/// centre's own, every armed timer exactly once, on both backends (the
/// centre's rows also check each order's history lines and notices).
#[tokio::test]
async fn bench_timers_fires_every_timer_both_ways_on_both_backends() {
    let mut dbs = vec!["sqlite".to_string()];
    dbs.extend(postgres_url());
    for db in &dbs {
        let out = bench(&["timers", "--count", "300", "--db", db]);
        let rows = out.as_array().unwrap();
        let effects: Vec<&str> = rows
            .iter()
            .map(|r| r["effects"].as_str().unwrap())
            .collect();
        assert_eq!(
            effects,
            ["per_timer", "sets", "city_one_by_one", "city"],
            "{out}"
        );
        for r in rows {
            assert_eq!(r["timers"], 300, "{r}");
            positive(r, "timers_per_second");
        }
    }
}

#[tokio::test]
async fn bench_inbox_scoring_and_proactive_run_at_a_tiny_size() {
    let inbox = bench(&["inbox", "--count", "200"]);
    positive(&inbox, "recorded_per_second");
    positive(&inbox, "replayed_per_second");
    let scoring = bench(&["scoring", "--orders", "2000", "--repeat", "1"]);
    positive(&scoring, "ranked_units");
    let proactive = bench(&["proactive", "--requests", "5000"]);
    positive(&proactive, "requests");
}

/// `bench triage` measures the model on its held-apart set: the figures a
/// user reads, and an accuracy a broken model would not reach (chance is
/// under 2 % among its 54 items).
#[test]
fn bench_triage_reports_accuracy_on_the_held_apart_set() {
    let out = bench(&["triage", "--repeat", "1"]);
    let (top1, top3) = (positive(&out, "top1"), positive(&out, "top3"));
    assert!(top3 >= top1 && top3 <= 1.0, "{out}");
    assert!(top1 > 0.3, "top-1 {top1} is near chance: {out}");
    assert!(out["requests"].as_u64().unwrap() >= 600, "{out}");
    assert!(out["items"].as_u64().unwrap() >= 40, "{out}");
    let confused = out["confused"].as_array().unwrap();
    assert!(!confused.is_empty() && confused.len() <= 10, "{out}");
    for c in confused {
        assert_ne!(c["truth"], c["predicted"], "{c}");
        assert!(c["count"].as_u64().unwrap() >= 1, "{c}");
    }
    let categories = out["categories"].as_array().unwrap();
    let counted: u64 = categories
        .iter()
        .map(|c| c["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, out["requests"].as_u64().unwrap(), "{out}");
    positive(&out, "suggestions_per_second");
    positive(&out["training"]["cross_validation"], "top1");
}

/// A few minutes of the demo scenario, in process on SQLite.
#[tokio::test]
async fn bench_simulate_runs_at_a_tiny_size() {
    let out = bench(&[
        "simulate",
        "--scenario",
        "scenarios/demo.toml",
        "--hours",
        "0.25",
        "--transport",
        "inproc",
        "--sqlite-synchronous",
        "normal",
    ]);
    let rows = out.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{out}");
    positive(&rows[0], "contacts");
    positive(&rows[0], "contacts_per_second");
}

/// `bench tracing` drives whole lifecycles (it failed when its repeated
/// complaint became a duplicate at intake) with export off and on.
#[tokio::test]
async fn bench_tracing_drives_lifecycles_with_export_off_and_on() {
    let Some(pg) = postgres_url() else { return };
    let out = bench(&[
        "tracing",
        "--orders",
        "4",
        "--concurrency",
        "2",
        "--rounds",
        "1",
        "--db",
        &pg,
    ]);
    positive(&out, "untraced_orders_per_second");
    positive(&out, "traced_orders_per_second");
    positive(&out, "spans_received");
}

/// `bench lifecycle` on PostgreSQL, tracing on: lifecycles per second, the
/// calls each took through the gateway, and the bound the bare relay
/// measured in the same run puts on them.
#[tokio::test]
async fn bench_lifecycle_reports_the_rate_beside_the_bare_relay_bound() {
    let Some(pg) = postgres_url() else { return };
    let out = bench(&[
        "lifecycle",
        "--orders",
        "4",
        "--concurrency",
        "2",
        "--db",
        &pg,
        "--pin-cpus",
    ]);
    assert_eq!(out["backend"], "postgresql");
    assert_eq!(out["pinned"], true);
    assert_eq!(out["lifecycles"], 4);
    let rate = positive(&out, "lifecycles_per_second");
    // submit, the handoff, accept, contact, progress, reply and its
    // handoff, callback: at least eight forwarded calls each.
    let per = positive(&out, "gateway_calls_per_lifecycle");
    assert!(per >= 8.0, "{out}");
    let relay = positive(&out, "relay_calls_per_second");
    let bound = positive(&out, "bare_relay_bound");
    assert!((bound - relay / per).abs() <= 0.1 + bound * 0.01, "{out}");
    assert!(
        (out["ratio_to_bound"].as_f64().unwrap() - rate / bound).abs() <= 0.002,
        "{out}"
    );
    positive(&out, "spans_received");
}

/// A process of the bare baseline asked for a CPU keeps to it, as the
/// mesh's processes do under `--pin-cpus`: the pinned baseline is placed
/// like the pinned mesh it is set against.
#[test]
fn the_bare_baseline_keeps_to_the_cpu_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let addr = dir.path().join("echo.addr");
    let mut echo = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "bench",
            "bare",
            "--role",
            "echo",
            "--cpu",
            "0",
            "--addr-file",
        ])
        .arg(&addr)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !addr.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the echo never listened"
        );
        assert!(echo.try_wait().unwrap().is_none(), "the echo exited");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", echo.id())).unwrap();
    let _ = echo.kill();
    let _ = echo.wait();
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(str::trim);
    assert_eq!(allowed, Some("0"), "{status}");
}

/// `hotline bench hop` on PostgreSQL: both workloads run through the
/// gateway and every call is charged to the processes that did the work
/// (the figures themselves are measured, not asserted), beside a bare
/// tonic chain measured in the same run, before each round.
#[tokio::test]
async fn bench_hop_charges_each_call_to_the_processes_that_served_it() {
    let Some(pg) = postgres_url() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "bench",
            "hop",
            "--calls",
            "200",
            "--concurrency",
            "8",
            "--rounds",
            "2",
            "--json",
        ])
        .args(["--db", &pg])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = out["workloads"].as_array().unwrap();
    // Each workload over mTLS, then again over plaintext, same run.
    assert_eq!(rows.len(), 4);
    let transports: Vec<&str> = rows
        .iter()
        .map(|r| r["transport"].as_str().unwrap())
        .collect();
    assert_eq!(transports, ["mtls", "mtls", "plaintext", "plaintext"]);
    let ratios = out["mtls_vs_plaintext"].as_array().unwrap();
    assert_eq!(ratios.len(), 2, "{out}");
    for r in ratios {
        assert!(r["mtls_throughput_ratio"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["mtls_cpu_ratio"].as_f64().unwrap() > 0.0, "{r}");
    }
    let (read, submit) = (&rows[0], &rows[1]);
    assert_eq!(read["workload"], "read");
    assert_eq!(submit["workload"], "submit");
    // A read is one forwarded call; a complaint's intake three: the
    // submit, then its handoffs to the township's service (the lead) and
    // to the district's (told as a copy), each counted in the submit's
    // figures.
    assert_eq!(read["gateway_calls_per_call"], 1.0);
    assert_eq!(read["handoffs_per_call"], 0.0);
    assert_eq!(submit["handoffs_per_call"], 2.0, "{submit}");
    assert_eq!(submit["gateway_calls_per_call"], 3.0, "{submit}");
    for (row, served_by) in [(read, "city"), (submit, "township"), (submit, "district")] {
        let by = &row["cpu_us_per_call_by_process"];
        for p in ["client", "gateway", served_by] {
            assert!(by[p].as_f64().unwrap() > 0.0, "{p}: {row}");
        }
    }
    // A read is not the township's: at most its idle sweeps, which the
    // CPU clock (to the nanosecond) does see.
    let read_by = &read["cpu_us_per_call_by_process"];
    let (township, city) = (
        read_by["township"].as_f64().unwrap(),
        read_by["city"].as_f64().unwrap(),
    );
    assert!(township * 10.0 < city, "{read}");
    // The bare chain ran in the same invocation, each of its processes
    // charged, and every workload is set against it.
    let base = &out["baseline"];
    for p in ["client", "relay", "echo"] {
        assert!(
            base["cpu_us_by_process"][p].as_f64().unwrap() > 0.0,
            "{p}: {base}"
        );
    }
    // Measured once before each round of each transport.
    assert_eq!(base["measures"], 4, "{base}");
    let close = |x: f64, y: f64| (x - y).abs() <= 0.011;
    let num = |v: &Value| v.as_f64().unwrap();
    for row in rows {
        // Each round is set against the chain measured just before it;
        // the row's figures are the rounds' medians (of two, their mean).
        let rounds = row["rounds"].as_array().unwrap();
        assert_eq!(rounds.len(), 2, "{row}");
        let mut ratios = Vec::new();
        for r in rounds {
            let total = num(&r["cpu_us_per_call"]);
            let gateway = num(&r["cpu_us_per_call_by_process"]["gateway"]);
            let (chain, relay) = (num(&r["chain_cpu_us"]), num(&r["relay_cpu_us"]));
            assert!(close(num(&r["ratio_to_chain"]), total / chain), "{r}");
            assert!(
                close(num(&r["gateway_ratio_to_relay"]), gateway / relay),
                "{r}"
            );
            ratios.push((num(&r["ratio_to_chain"]), num(&r["cpu_us_per_call"])));
        }
        let mean = |f: fn(&(f64, f64)) -> f64| ratios.iter().map(f).sum::<f64>() / 2.0;
        assert!(close(num(&row["ratio_to_chain"]), mean(|r| r.0)), "{row}");
        assert!(close(num(&row["cpu_us_per_call"]), mean(|r| r.1)), "{row}");
    }
}

/// `hotline bench overload` at a tiny size: what was offered is accounted
/// for (admitted, shed or other), nothing admitted is left undelivered or
/// parked. Whether anything is shed at this size is the machine's.
#[tokio::test]
async fn bench_overload_accounts_for_every_call_offered() {
    let out = bench(&["overload", "--seconds", "1", "--concurrency", "4"]);
    let offered = out["offered"].as_u64().unwrap();
    let parts: u64 = ["admitted", "shed", "other"]
        .iter()
        .map(|k| out[*k].as_u64().unwrap())
        .sum();
    assert_eq!(parts, offered, "{out}");
    assert!(out["admitted"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(out["other"], 0, "{out}");
    assert_eq!(
        (out["outbox_after"].as_i64(), out["dead_letters"].as_i64()),
        (Some(0), Some(0)),
        "{out}"
    );
}
