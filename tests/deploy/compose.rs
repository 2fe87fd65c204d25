//! The compose file: its commands, ports and scrape targets line up, and its
//! processes, run directly with the same flags on loopback, carry an order
//! through, which the web front then shows over HTTPS.

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

/// The flag naming where a process serves: the web front's HTTPS, the
/// others' gRPC.
fn serving_flag(args: &[String]) -> &'static str {
    if args[0] == "web" {
        "--http-listen"
    } else {
        "--listen"
    }
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
        2 + demo_services(),
        "the gateway, the web front and each service of the demo city"
    );
    assert_eq!(
        procs.iter().filter(|p| p.args[0] == "web").count(),
        1,
        "one web front"
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
            grpc.insert(port_of(flag(&p.args, serving_flag(&p.args)).unwrap())),
            "{}",
            p.name
        );
        if p.args[0] == "web" {
            // Its Open311 keys and token key in a named volume: they, and
            // the tokens it handed out, survive a restart.
            let data = flag(&p.args, "--data-dir").expect("web: a --data-dir");
            let svc = &services[p.name.as_str()];
            let volume = seq(svc, &["volumes"])
                .iter()
                .map(|v| v.as_str().unwrap())
                .find(|v| v.split(':').nth(1) == Some(data))
                .unwrap_or_else(|| panic!("web: nothing mounted at {data}"))
                .split(':')
                .next()
                .unwrap();
            assert!(
                file["volumes"].get(volume).is_some(),
                "web: {data} is the named volume, not {volume}"
            );
            let published: Vec<u16> = seq(svc, &["ports"])
                .iter()
                .map(|p| port_of(p.as_str().unwrap()))
                .collect();
            assert!(
                published.contains(&port_of(flag(&p.args, "--http-listen").unwrap())),
                "web: its HTTPS port published: {published:?}"
            );
        }
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
    let tmp = tempfile::tempdir().unwrap();
    let web_data = tmp.path().join("web-data");
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
                    // The web front's volume: a scratch directory.
                    "--data-dir" => web_data.display().to_string(),
                    "--listen" | "--http-listen" | "--metrics-addr" | "--gateway"
                    | "--otlp-endpoint" => {
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
    let mut web_addr = None;
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
        if p.args[0] == "web" {
            let port = port_of(flag(&args, "--http-listen").unwrap());
            web_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
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
        // The web front shows it over HTTPS with its mesh certificate,
        // having asked the centre through the gateway as itself.
        let web = web_addr.expect("compose runs the web front");
        let path = format!("/open311/v2/requests/{id}.json");
        let body = loop {
            match https_get(&pki, web, &path).await {
                Ok((200, body)) => break body,
                other => anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "the web front: {other:?}"
                ),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let shown: serde_json::Value = serde_json::from_str(&body)?;
        anyhow::ensure!(
            shown[0]["service_request_id"] == id.as_str() && shown[0]["status"] == "closed",
            "{body}"
        );
        let mut scraped = String::new();
        for (name, port) in &metrics {
            let text = http_get(([127, 0, 0, 1], *port).into(), "/metrics")
                .await
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            if name == "web" {
                // The web front measures what it served, and is a process
                // like the others.
                anyhow::ensure!(
                    text.contains(
                        "hotline_http_server_duration_seconds_count{route=\"/open311/v2/requests/{file}\",method=\"GET\",code=\"200\"}"
                    ) && text.contains("hotline_build_info")
                        && text.contains("process_resident_memory_bytes"),
                    "web: {text}"
                );
            }
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

/// GET `path` from the web front at `addr` over HTTPS, trusting the mesh CA
/// of `pki` and presenting no certificate: the status and the body.
async fn https_get(
    pki: &Path,
    addr: std::net::SocketAddr,
    path: &str,
) -> anyhow::Result<(u16, String)> {
    use rustls_pki_types::pem::PemObject as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::rustls;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pki_types::CertificateDer::pem_file_iter(pki.join("ca.crt"))? {
        roots.add(ca?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
    let mut s = tls.connect(name, tcp).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw).await {
        Ok(_) => {}
        // A peer that closes without close_notify ends the body too.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.into()),
    }
    let raw = String::from_utf8(raw)?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no HTTP reply: {raw}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status: {head}"))?;
    Ok((status, body.to_string()))
}
