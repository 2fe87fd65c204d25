//! `hotline simulate`: the real mesh on a virtual clock, run as a user
//! runs it, on fresh PostgreSQL databases. Spans are kept short (a day of
//! the demo city) so the suite stays fast.

use std::path::{Path, PathBuf};
use std::process::Command;

use hotline_store::testing::{drop_url, postgres_url};
use hotline_store::with_database;
use serde_json::Value;

const SERVICES: [&str; 6] = [
    "city",
    "district",
    "township",
    "community",
    "department",
    "central",
];

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// A fresh PostgreSQL base URL for one run (databases `{name}_{service}`).
fn fresh_db(pg: &str) -> String {
    let name = format!("hlsim{}x{:08x}", std::process::id(), fastrand::u32(..));
    with_database(pg, &name).unwrap()
}

async fn drop_dbs(base: &str) {
    let name = base.rsplit('/').next().unwrap().to_string();
    for s in SERVICES {
        drop_url(&with_database(base, &format!("{name}_{s}")).unwrap())
            .await
            .unwrap();
    }
}

/// Runs `hotline simulate ARGS --json OUT` and returns the report.
fn simulate(args: &[&str], db: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let run = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("simulate")
        .args(args)
        .args(["--db", db, "--quiet", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "simulate {args:?}: {}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

fn n(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} in {v}"))
}

#[tokio::test]
async fn demo_scenario_reports_every_area_the_same_for_a_seed_over_both_transports() {
    let Some(pg) = postgres_url() else { return };
    let demo = scenario("demo.toml");
    let demo = demo.to_str().unwrap();
    let args = ["--scenario", demo, "--days", "1", "--seed", "1"];
    let (db1, db2, db3) = (fresh_db(&pg), fresh_db(&pg), fresh_db(&pg));
    let first = simulate(&args, &db1);
    let s = &first["summary"];
    // Every policy area is reported, from the services' records.
    assert!(n(s, "/volume/contacts") > 300.0, "{s}");
    assert!(n(s, "/volume/dispatched") > 100.0);
    let share = n(s, "/volume/consultation_share");
    assert!((0.5..0.67).contains(&share), "≈58 % consultations: {share}");
    assert!(n(s, "/disputes/objections") > 0.0, "{}", s["disputes"]);
    assert!(n(s, "/disputes/ruling_time/count") > 0.0);
    assert!(s.pointer("/disputes/ruling_time/p90_minutes").is_some());
    assert!(s.pointer("/disputes/bounce_limit_hits").is_some());
    assert!(n(s, "/escalations/whistles") > 0.0, "{}", s["escalations"]);
    assert!(s.pointer("/escalations/check_in_latency/count").is_some());
    assert!(s.pointer("/escalations/missed_check_ins").is_some());
    assert!(s["overdue_by_tier"]["late_leads_by_tier"].is_object());
    assert_eq!(
        s["rates"]["source"], "ReportingService.GetRankings",
        "the rates come from the assessment RPCs"
    );
    let townships = &s["rates"]["months"]["2026-11"]["peer_groups"]["townships"];
    assert!(n(townships, "/response/denominator") > 0.0, "{townships}");
    assert!(townships["response"]["value"].as_f64().is_some());
    assert!(!s["rates_over_time"].as_array().unwrap().is_empty());
    let shares = &s["handler_shares"]["by_type"];
    let total: f64 = shares
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["share_percent"].as_f64().unwrap())
        .sum();
    assert!((total - 100.0).abs() < 0.5, "{shares}");
    assert!(n(&first, "/timings/simulated_orders_per_second") > 0.0);
    // Where the work went: every process of the mesh used CPU time, and
    // the gateway forwarded more calls than the driver submitted contacts
    // (the services' handoffs go through it too).
    let cpu = first["timings"]["cpu_seconds"].as_object().unwrap();
    for p in ["driver", "gateway", "city", "township"] {
        assert!(cpu[p].as_f64().unwrap() > 0.0, "{p}: {cpu:?}");
    }
    assert!(n(&first, "/timings/cpu_ms_per_contact") > 0.0);
    let contacts = n(s, "/volume/contacts");
    assert!(
        n(&first, "/timings/gateway_calls") > contacts,
        "{}",
        first["timings"]
    );

    // The same seed again: the same summary, byte for byte.
    let again = simulate(&args, &db2);
    assert_eq!(
        serde_json::to_string(&first["summary"]).unwrap(),
        serde_json::to_string(&again["summary"]).unwrap()
    );
    // In process: the same service code, the same summary.
    let mut inproc = args.to_vec();
    inproc.extend(["--transport", "inproc"]);
    let local = simulate(&inproc, &db3);
    assert_eq!(local["timings"]["transport"], "inproc");
    let cpu = local["timings"]["cpu_seconds"].as_object().unwrap();
    assert_eq!(cpu.len(), 1, "one process: {cpu:?}");
    assert_eq!(first["summary"], local["summary"]);
    for db in [db1, db2, db3] {
        drop_dbs(&db).await;
    }
}

/// Counts the city's orders the centre flagged at the bounce limit.
async fn bounce_hits_in_city_store(base: &str) -> i64 {
    let name = base.rsplit('/').next().unwrap().to_string();
    let url = with_database(base, &format!("{name}_city")).unwrap();
    let db = hotline_store::Db::connect(&url, 1, &[]).await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let orders = hotline_city::tables::orders::list(&mut c, None, "", i64::MAX)
        .await
        .unwrap();
    orders.iter().filter(|o| o.bounce_limit_reached).count() as i64
}

#[tokio::test]
async fn a_bounce_limit_of_one_changes_the_hits_the_city_records() {
    let Some(pg) = postgres_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(scenario("disputes.toml")).unwrap();
    assert!(
        base.contains("bounce_limit = 2"),
        "the disputes scenario's limit"
    );
    let one = base.replace("bounce_limit = 2", "bounce_limit = 1");
    let strict = dir.path().join("bounce-one.toml");
    // The topology path is relative to the scenario file.
    std::fs::write(
        &strict,
        one.replace(
            "../topology/",
            &format!("{}/topology/", env!("CARGO_MANIFEST_DIR")),
        ),
    )
    .unwrap();
    let (db1, db2) = (fresh_db(&pg), fresh_db(&pg));
    let default = simulate(
        &[
            "--scenario",
            scenario("disputes.toml").to_str().unwrap(),
            "--days",
            "1",
        ],
        &db1,
    );
    let limited = simulate(
        &["--scenario", strict.to_str().unwrap(), "--days", "1"],
        &db2,
    );
    assert_eq!(limited["summary"]["policy"]["bounce_limit"], 1);
    let (hits2, hits1) = (
        bounce_hits_in_city_store(&db1).await,
        bounce_hits_in_city_store(&db2).await,
    );
    assert!(hits1 > hits2, "limit 1: {hits1} hits; limit 2: {hits2}");
    assert_eq!(
        hits1 as f64,
        n(&limited, "/summary/disputes/bounce_limit_hits")
    );
    assert_eq!(
        hits2 as f64,
        n(&default, "/summary/disputes/bounce_limit_hits")
    );
    drop_dbs(&db1).await;
    drop_dbs(&db2).await;
}

#[tokio::test]
async fn compare_on_the_disputes_pair_measures_ruling_time_and_bounces() {
    let Some(pg) = postgres_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (out, html) = (dir.path().join("cmp.json"), dir.path().join("cmp.html"));
    let db = fresh_db(&pg);
    let run = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("simulate")
        .arg("--compare")
        .arg(scenario("disputes.toml"))
        .arg(scenario("disputes-district-first.toml"))
        .args([
            "--days", "1.5", "--seed", "1", "--quiet", "--db", &db, "--json",
        ])
        .arg(&out)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("bounce-limit hits"), "{text}");
    let cmp: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let diff = |figure: &str| {
        cmp["differences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["figure"] == figure)
            .unwrap_or_else(|| panic!("{figure}"))
            .clone()
    };
    let p50 = diff("ruling time p50 (min)");
    assert!(
        p50["b"].as_f64().unwrap() < p50["a"].as_f64().unwrap(),
        "districts rule faster: {p50}"
    );
    let hits = diff("bounce-limit hits");
    assert_ne!(hits["a"], hits["b"], "{hits}");
    assert_eq!(cmp["a"]["summary"]["policy"]["arbitration"], "City");
    assert_eq!(
        cmp["b"]["summary"]["policy"]["arbitration"],
        "DistrictFirst"
    );
    assert!(
        n(&cmp, "/b/summary/disputes/ruled_by_tier/district") > 0.0,
        "districts ruled: {}",
        cmp["b"]["summary"]["disputes"]
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<svg") && !page.contains("<script"),
        "inline SVG, no script"
    );
    for suffix in ["a", "b"] {
        drop_dbs(&format!("{db}_{suffix}")).await;
    }
}

#[tokio::test]
async fn hotline_up_on_the_data_dir_reports_the_rates_the_simulator_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out.json");
    let run = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("simulate")
        .arg("--scenario")
        .arg(scenario("demo.toml"))
        .args(["--days", "1", "--transport", "inproc", "--quiet"])
        // Scratch stores without the checkpoint fsync: `hotline up` below
        // serves them with the default settings and reads the same rates.
        .args(["--sqlite-synchronous", "off"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--json")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sim: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(sim["timings"]["backend"], "sqlite synchronous=off");
    let printed = &sim["summary"]["rates"]["months"]["2026-11"]["rankings"];
    assert!(!printed["rankings"].as_array().unwrap().is_empty());

    let mut up = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--topology")
        .arg(data.join("topology.toml"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(up.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    let gateway = first
        .strip_prefix("hotline mesh up: gateway ")
        .expect(&first)
        .to_string();
    let report = Command::new(env!("CARGO_BIN_EXE_hotline"))
        // The CLI presents each unit's certificate from the mesh CA.
        .env("HOTLINE_PKI_DIR", data.join("pki"))
        .args([
            "report",
            "--month",
            "2026-11",
            "--json",
            "--gateway",
            &gateway,
        ])
        .output()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = up.wait();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let served: Value = serde_json::from_slice(&report.stdout).unwrap();
    // The three rates, the composite and the ranks; not the overdue
    // column, which counts open work against the reader's clock (the wall
    // clock now, the virtual one in the simulation).
    let rates = |v: &Value| -> Vec<Value> {
        let mut out = Vec::new();
        for g in v["rankings"].as_array().unwrap() {
            for e in g["entries"].as_array().unwrap() {
                out.push(serde_json::json!([
                    g["peer_group"],
                    e["unit"],
                    e["rank"],
                    e["response"],
                    e["resolution"],
                    e["satisfaction"],
                    e["composite"]
                ]));
            }
        }
        out
    };
    assert!(!rates(printed).is_empty());
    assert_eq!(
        rates(&served),
        rates(printed),
        "the same rates from the same data"
    );
}

#[tokio::test]
async fn proactive_tasks_are_issued_accepted_and_closed_on_reply_the_same_both_ways() {
    let Some(pg) = postgres_url() else { return };
    // The demo scenario with its heating task issued six hours in.
    let src = std::fs::read_to_string(scenario("demo.toml")).unwrap();
    let topology = scenario("../topology/demo-city.toml");
    let src = src
        .replace(
            "topology = \"../topology/demo-city.toml\"",
            &format!("topology = {:?}", topology.to_str().unwrap()),
        )
        .replace("from_day = 3", "from_day = 0.25");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proactive.toml");
    std::fs::write(&path, src).unwrap();
    let args = ["--scenario", path.to_str().unwrap(), "--days", "1"];
    let html = dir.path().join("proactive.html");
    let mut with_html = args.to_vec();
    with_html.extend(["--html", html.to_str().unwrap()]);
    let (db1, db2) = (fresh_db(&pg), fresh_db(&pg));
    let first = simulate(&with_html, &db1);
    let p = &first["summary"]["proactive"];
    assert_eq!(p["issued_through"], "ProactiveService.CreateProactiveTask");
    let task = &p["tasks"][0];
    let issued = task["issued"].as_array().unwrap();
    assert_eq!(issued.len(), 1, "{task}");
    // Pine Town's district issues it; the township replies and it closes.
    assert_eq!(issued[0]["issuer"], "d-hillview", "{task}");
    assert_eq!(issued[0]["area"], "t-pine");
    assert_eq!(issued[0]["state"], "closed", "{task}");
    assert_eq!(issued[0]["replied"], true);
    // Fewer matching arrivals once it is in force.
    let prevented: f64 = task["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["prevented"].as_f64().unwrap())
        .sum();
    assert!(prevented > 0.0, "{task}");
    // The HTML report lists the task issued, with its issuer and outcome.
    let page = std::fs::read_to_string(&html).unwrap();
    let order_id = issued[0]["order_id"].as_str().unwrap();
    assert!(
        page.contains(&format!(
            "<td>{order_id}</td><td>d-hillview</td><td>t-pine</td><td>closed</td>"
        )),
        "{order_id} not in the page"
    );
    let mut inproc = args.to_vec();
    inproc.extend(["--transport", "inproc"]);
    let local = simulate(&inproc, &db2);
    assert_eq!(first["summary"], local["summary"]);
    for db in [db1, db2] {
        drop_dbs(&db).await;
    }
}
