//! The compose file: its commands, ports and scrape targets line up, and its
//! processes, run directly with the same flags on loopback, carry an order
//! through.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

struct ComposeProcess {
    name: String,
    args: Vec<String>,
}

/// The compose file's hotline processes, with their commands as written
/// and the host paths of their mounted files.
fn compose() -> (Value, Vec<ComposeProcess>, BTreeMap<String, PathBuf>) {
    let dir = repo().join("deploy/compose");
    let file = yaml_docs(&dir.join("compose.yaml")).remove(0);
    let mut procs = Vec::new();
    let mut mounts = BTreeMap::new();
    for (name, svc) in file["services"].as_mapping().unwrap() {
        let name = name.as_str().unwrap().to_string();
        if s(svc, &["image"]).is_none_or(|i| !i.starts_with("hotline-mesh")) {
            continue;
        }
        for v in seq(svc, &["volumes"]) {
            let mut parts = v.as_str().unwrap().split(':');
            let (from, to) = (parts.next().unwrap(), parts.next().unwrap());
            mounts.insert(to.to_string(), dir.join(from));
        }
        let args = seq(svc, &["command"])
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        procs.push(ComposeProcess { name, args });
    }
    (file, procs, mounts)
}

fn with_mounts(args: &[String], mounts: &BTreeMap<String, PathBuf>) -> Vec<String> {
    args.iter()
        .map(|a| {
            mounts.iter().fold(a.clone(), |a, (to, from)| {
                a.replace(to.as_str(), &from.display().to_string())
            })
        })
        .collect()
}

#[test]
fn compose_commands_ports_and_scrape_targets_line_up() {
    let (file, procs, mounts) = compose();
    let services = file["services"].as_mapping().unwrap();
    let has = |host: &str| services.contains_key(host);
    assert_eq!(
        procs.len(),
        1 + demo_services(),
        "the gateway and each service of the demo city"
    );
    let mut metrics = BTreeMap::new();
    let mut grpc = BTreeSet::new();
    for p in &procs {
        accepted(
            &with_mounts(&p.args, &mounts),
            &[],
            &format!("compose {}", p.name),
        );
        let m = port_of(flag(&p.args, "--metrics-addr").unwrap());
        assert!(metrics.insert(p.name.clone(), m).is_none());
        assert!(
            grpc.insert(port_of(flag(&p.args, "--listen").unwrap())),
            "{}",
            p.name
        );
        let otlp = flag(&p.args, "--otlp-endpoint").unwrap();
        assert!(has(host_of(otlp)), "{otlp}");
        if let Some(gw) = flag(&p.args, "--gateway") {
            assert!(has(host_of(gw)), "{gw}");
            let gateway = procs.iter().find(|g| g.name == host_of(gw)).unwrap();
            assert_eq!(
                port_of(flag(&gateway.args, "--listen").unwrap()),
                port_of(gw)
            );
        }
        if let Some(db) = flag(&p.args, "--db") {
            let host = db.rsplit('@').next().unwrap().split(':').next().unwrap();
            assert!(has(host), "{db}");
        }
        if let Some(h) = flag(&p.args, "--advertise-host") {
            assert_eq!(h, p.name);
        }
    }
    let mut no_port_twice = BTreeSet::new();
    assert!(
        metrics
            .values()
            .chain(grpc.iter())
            .all(|p| no_port_twice.insert(*p))
    );

    let dir = repo().join("deploy/compose");
    // Prometheus scrapes exactly the hotline processes, on their metrics ports.
    let prom = yaml_docs(&dir.join("prometheus/prometheus.yml")).remove(0);
    let mut scraped = BTreeMap::new();
    for job in seq(&prom, &["scrape_configs"]) {
        for sc in seq(job, &["static_configs"]) {
            for t in seq(sc, &["targets"]) {
                let t = t.as_str().unwrap();
                scraped.insert(host_of(t).to_string(), port_of(t));
            }
        }
    }
    assert_eq!(scraped, metrics);
    // The collector listens where the processes export, and forwards to a
    // service of the compose file.
    let otel = yaml_docs(&dir.join("otel-collector/config.yaml")).remove(0);
    let listen = s(
        &otel,
        &["receivers", "otlp", "protocols", "grpc", "endpoint"],
    )
    .unwrap();
    for p in &procs {
        assert_eq!(
            port_of(flag(&p.args, "--otlp-endpoint").unwrap()),
            port_of(listen)
        );
    }
    for (_, exporter) in otel["exporters"].as_mapping().unwrap() {
        assert!(has(host_of(s(exporter, &["endpoint"]).unwrap())));
    }
    let sources =
        yaml_docs(&dir.join("grafana/provisioning/datasources/datasources.yaml")).remove(0);
    for ds in seq(&sources, &["datasources"]) {
        assert!(has(host_of(s(ds, &["url"]).unwrap())));
    }
}

/// The hotline metric families a dashboard query names.
fn dashboard_metrics() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(repo().join("deploy/compose/grafana/dashboards/hotline.json"))
            .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut exprs = Vec::new();
    for p in v["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    let mut names = BTreeSet::new();
    for e in exprs {
        for (i, _) in e.match_indices("hotline_") {
            let name: String = e[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

#[tokio::test]
async fn the_compose_topology_runs_on_loopback_and_carries_an_order() {
    use crate::support::{WAIT, http_get, submit};
    use hotline::client::{MeshClient, request_id};
    use hotline_proto::v1::*;
    use hotline_telemetry::sink::Sink;

    let Some(pg) = hotline_store::testing::postgres_url() else {
        return;
    };
    let (_, procs, mounts) = compose();
    // The same flags, on loopback: compose's host names become 127.0.0.1,
    // its ports move by one offset (below the ephemeral range, clear of
    // other runs), each database is a fresh one on the test server, and
    // the collector is an in-test receiver.
    let (sink, offset) = loop {
        // Ports 12317..21790: under the metrics ports other tests draw.
        let offset = 8_000 + 29 * fastrand::u16(0..150);
        if let Ok(sink) = Sink::start(&format!("127.0.0.1:{}", 4317 + offset)).await {
            break (sink, offset);
        }
    };
    let names: Vec<String> = procs.iter().map(|p| p.name.clone()).collect();
    let prefix = format!("hlc{}x{:06x}", std::process::id(), fastrand::u32(..1 << 24));
    let loopback = |args: &[String]| -> Vec<String> {
        with_mounts(args, &mounts)
            .into_iter()
            .map(|a| {
                let Some((flag, value)) = a.split_once('=') else {
                    return a;
                };
                let value = match flag {
                    "--db" => {
                        let db = value.rsplit('/').next().unwrap();
                        hotline_store::with_database(&pg, &format!("{prefix}_{db}")).unwrap()
                    }
                    "--advertise-host" => "127.0.0.1".to_string(),
                    "--listen" | "--metrics-addr" | "--gateway" | "--otlp-endpoint" => {
                        let port = port_of(value) + offset;
                        let host = host_of(value);
                        let host = if host == "0.0.0.0"
                            || names.iter().any(|n| n == host)
                            || host == "otel-collector"
                        {
                            "127.0.0.1"
                        } else {
                            host
                        };
                        match value.split_once("://") {
                            Some((scheme, _)) => format!("{scheme}://{host}:{port}"),
                            None => format!("{host}:{port}"),
                        }
                    }
                    _ => value.to_string(),
                };
                format!("{flag}={value}")
            })
            .collect()
    };
    let tmp = tempfile::tempdir().unwrap();
    // The certificates `hotline certs provision` makes before compose up.
    let pki = tmp.path().join("pki");
    let topology = hotline::load_topology(&repo().join("topology/demo-city.toml")).unwrap();
    hotline::identity::provision(&pki, &topology).unwrap();
    let with_pki = |args: Vec<String>| -> Vec<String> {
        args.into_iter()
            .map(|a| match a.strip_prefix("--pki-dir=") {
                Some(_) => format!("--pki-dir={}", pki.display()),
                None => a,
            })
            .collect()
    };
    let mut children = Vec::new();
    let mut gateway_url = String::new();
    let mut metrics = Vec::new();
    let mut dbs = Vec::new();
    // The gateway first, as compose's depends_on would have it.
    let mut ordered: Vec<&ComposeProcess> = procs.iter().collect();
    ordered.sort_by_key(|p| p.args[0] != "gateway");
    for p in ordered {
        let args = with_pki(loopback(&p.args));
        metrics.push((
            p.name.clone(),
            port_of(flag(&args, "--metrics-addr").unwrap()),
        ));
        if let Some(db) = flag(&args, "--db") {
            dbs.push(db.to_string());
        }
        if p.args[0] == "gateway" {
            gateway_url = format!("http://{}", flag(&args, "--listen").unwrap());
        }
        let log = std::fs::File::create(tmp.path().join(format!("{}.log", p.name))).unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(&args)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        children.push(child);
    }
    let c = MeshClient::new(
        &gateway_url,
        "city",
        hotline_identity::Credentials::Mint(hotline_identity::Pki::open(&pki)),
    )
    .unwrap();
    let result = async {
        // Ready when every unit routes to an announced service.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(routes) = c.routes().await
                && !routes.is_empty()
                && routes.iter().all(|r| !r.address.is_empty())
            {
                break;
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "mesh not ready");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let o = c
            .submit(submit(
                "sanitation.garbage",
                "8 West Arcade",
                RequestKind::Complaint,
            ))
            .await?;
        let id = &o.order_id;
        c.wait_assignment("t-market", id, 1, WAIT).await?;
        c.accept("t-market", id, 1, &request_id()).await?;
        c.contact("t-market", id, 1, "agree a site visit").await?;
        let w = c
            .whistle("t-market", id, 1, WhistleKind::Daily, &["dept-urban"])
            .await?;
        // The district registers the whistle from the township's outbox.
        while c
            .get_whistle("city", &w.district_unit, &w.whistle_id)
            .await
            .is_err()
        {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "whistle not registered"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        c.check_in("dept-urban", &w.district_unit, &w.whistle_id)
            .await?;
        c.reply("t-market", id, 1, ReplyOutcome::Resolved, "cleared")
            .await?;
        c.wait_order_state(id, OrderState::Replied, WAIT).await?;
        let closed = c.callback(id, true, Satisfaction::Satisfied).await?;
        anyhow::ensure!(closed.state == OrderState::Closed as i32, "{closed:?}");
        let mut scraped = String::new();
        for (name, port) in &metrics {
            let text = http_get(([127, 0, 0, 1], *port).into(), "/metrics")
                .await
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            scraped.push_str(&text);
        }
        anyhow::Ok(scraped)
    }
    .await;
    for child in &mut children {
        if let Some(pid) = child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
    for child in &mut children {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await;
    }
    for db in dbs {
        hotline_store::testing::drop_url(&db).await.unwrap();
    }
    let scraped = result.unwrap_or_else(|e| {
        let logs: Vec<String> = names
            .iter()
            .map(|n| {
                std::fs::read_to_string(tmp.path().join(format!("{n}.log"))).unwrap_or_default()
            })
            .collect();
        panic!("{e:#}\n{}", logs.join("\n"))
    });
    // The dashboard asks only for families the mesh exports (two need
    // events this run has none of: a breach, an objection).
    for name in dashboard_metrics() {
        let family = ["_bucket", "_count", "_sum", "_total"]
            .iter()
            .fold(name.as_str(), |n, suffix| {
                n.strip_suffix(suffix).unwrap_or(n)
            });
        if [
            "hotline_breach_to_supervision_seconds",
            "hotline_objection_to_ruling_seconds",
        ]
        .contains(&family)
        {
            continue;
        }
        assert!(
            scraped.contains(family),
            "the dashboard's {name} is not exported"
        );
    }
    let services: BTreeSet<String> = sink.spans().into_iter().map(|s| s.service).collect();
    assert!(services.len() >= 5, "spans from {services:?}");
}
