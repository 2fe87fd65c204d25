//! `deploy/` checked without Docker, a cluster or kustomize: every manifest
//! parses; every container's command is one the `hotline` binary accepts
//! (`--check`); ports, Services, Secrets and scrape targets line up; and the
//! compose topology's processes, run directly with the same flags on
//! loopback, carry an order through.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_yaml::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let mut v =
                Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            v.apply_merge().unwrap();
            v
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

fn seq<'a>(v: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_sequence)
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// `--flag=value` or `--flag value` in a command line.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let eq = format!("{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix(&eq).or_else(|| {
            (a == name)
                .then(|| args.get(i + 1).map(String::as_str))
                .flatten()
        })
    })
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr}"))
}

fn host_of(url: &str) -> &str {
    let rest = url.split("://").nth(1).unwrap_or(url);
    rest.split([':', '/']).next().unwrap()
}

/// Runs `hotline ARGS --check`; panics with its output when refused.
fn accepted(args: &[String], env: &[(String, String)], what: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .arg("--check")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("HOTLINE_DB")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: hotline {args:?} refused: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_manifest_and_config_parses() {
    let mut all = Vec::new();
    files(&repo().join("deploy"), &mut all);
    let mut parsed = 0;
    for p in &all {
        match p.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => {
                assert!(!yaml_docs(p).is_empty(), "{} is empty", p.display());
                parsed += 1;
            }
            Some("json") => {
                let _: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).unwrap())
                        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                parsed += 1;
            }
            Some("toml") => {
                hotline::load_topology(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            _ => {}
        }
    }
    assert!(parsed >= 15, "{parsed} manifests");
}

// ---- Kubernetes: a small kustomize, enough for what deploy/k8s uses ----

fn kind_name(v: &Value) -> (String, String) {
    (
        s(v, &["kind"]).unwrap_or_default().to_string(),
        s(v, &["metadata", "name"]).unwrap_or_default().to_string(),
    )
}

/// Merges `patch` into `target`, maps key by key (strategic merge, minus
/// list semantics, which no patch here needs).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Mapping(t), Value::Mapping(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn kustomize(dir: &Path) -> Vec<Value> {
    let k = yaml_docs(&dir.join("kustomization.yaml")).remove(0);
    let mut objects = Vec::new();
    for r in seq(&k, &["resources"]) {
        let p = dir.join(r.as_str().unwrap());
        if p.is_dir() {
            objects.extend(kustomize(&p));
        } else {
            objects.extend(yaml_docs(&p));
        }
    }
    for patch in seq(&k, &["patches"]) {
        let p = match (s(patch, &["patch"]), s(patch, &["path"])) {
            (Some(inline), _) => serde_yaml::from_str::<Value>(inline).unwrap(),
            (None, Some(path)) => yaml_docs(&dir.join(path)).remove(0),
            _ => panic!("unsupported patch {patch:?}"),
        };
        let key = kind_name(&p);
        let before = objects.len();
        if s(&p, &["$patch"]) == Some("delete") {
            objects.retain(|o| kind_name(o) != key);
            assert_eq!(
                objects.len() + 1,
                before,
                "delete patch {key:?} matched nothing"
            );
        } else {
            let target = objects
                .iter_mut()
                .find(|o| kind_name(o) == key)
                .unwrap_or_else(|| panic!("patch {key:?} matched nothing"));
            merge(target, &p);
        }
    }
    for r in seq(&k, &["replicas"]) {
        let name = s(r, &["name"]).unwrap();
        let target = objects
            .iter_mut()
            .find(|o| kind_name(o) == ("Deployment".into(), name.into()))
            .unwrap_or_else(|| panic!("replicas for unknown {name}"));
        target["spec"]["replicas"] = r["count"].clone();
    }
    for g in seq(&k, &["configMapGenerator"]) {
        let name = s(g, &["name"]).unwrap().to_string();
        let mut data = serde_yaml::Mapping::new();
        for f in seq(g, &["files"]) {
            let f = f.as_str().unwrap();
            data.insert(
                f.into(),
                std::fs::read_to_string(dir.join(f)).unwrap().into(),
            );
        }
        let cm: Value = serde_yaml::from_str(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        ))
        .unwrap();
        let mut cm = cm;
        cm["data"] = Value::Mapping(data);
        let key = ("ConfigMap".to_string(), name);
        match s(g, &["behavior"]) {
            Some("replace") => {
                let at = objects
                    .iter()
                    .position(|o| kind_name(o) == key)
                    .expect("replace of an existing config map");
                objects[at] = cm;
            }
            _ => {
                assert!(
                    !objects.iter().any(|o| kind_name(o) == key),
                    "{key:?} twice"
                );
                objects.push(cm);
            }
        }
    }
    objects
}

fn container_port(c: &Value, name: &str) -> Option<u16> {
    seq(c, &["ports"])
        .into_iter()
        .find(|p| s(p, &["name"]) == Some(name))
        .and_then(|p| p["containerPort"].as_u64())
        .map(|p| p as u16)
}

fn check_kustomization(dir: &Path) -> BTreeSet<String> {
    let objects = kustomize(dir);
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| kind_name(o) == (kind.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("{}: no {kind} {name}", dir.display()))
    };
    let tmp = tempfile::tempdir().unwrap();
    let topology_path = tmp.path().join("topology.toml");
    std::fs::write(
        &topology_path,
        s(
            find("ConfigMap", "hotline-topology"),
            &["data", "topology.toml"],
        )
        .unwrap(),
    )
    .unwrap();
    let topology = hotline::load_topology(&topology_path).unwrap();
    let secret = find("Secret", "hotline-postgres");
    let service_port = |name: &str, port: u16| {
        let svc = find("Service", name);
        assert!(
            seq(svc, &["spec", "ports"])
                .iter()
                .any(|p| p["port"].as_u64() == Some(port as u64)),
            "Service {name} has no port {port}"
        );
    };
    let mut served = BTreeSet::new();
    let mut deployments = 0;
    for d in objects
        .iter()
        .filter(|o| s(o, &["kind"]) == Some("Deployment"))
    {
        let name = s(d, &["metadata", "name"]).unwrap();
        let labels = d["spec"]["template"]["metadata"]["labels"]
            .as_mapping()
            .unwrap();
        for key in [
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
        ] {
            assert!(labels.contains_key(key), "{name}: no label {key}");
        }
        for (k, v) in d["spec"]["selector"]["matchLabels"].as_mapping().unwrap() {
            assert_eq!(
                labels.get(k),
                Some(v),
                "{name}: selector {k:?} not on its pods"
            );
        }
        for c in seq(d, &["spec", "template", "spec", "containers"]) {
            assert!(
                c["resources"]["requests"].is_mapping(),
                "{name}: no resource requests"
            );
            if s(c, &["image"]).is_none_or(|i| !i.starts_with("hotline-mesh")) {
                continue;
            }
            deployments += 1;
            let mut args: Vec<String> = seq(c, &["args"])
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            // The topology ConfigMap is mounted at /etc/hotline.
            let mount = seq(c, &["volumeMounts"])
                .into_iter()
                .find(|m| s(m, &["name"]) == Some("topology"))
                .and_then(|m| s(m, &["mountPath"]))
                .expect("topology mounted");
            for a in &mut args {
                *a = a.replace(
                    &format!("{mount}/topology.toml"),
                    &topology_path.display().to_string(),
                );
            }
            let mut env = Vec::new();
            for e in seq(c, &["env"]) {
                let var = s(e, &["name"]).unwrap().to_string();
                let value = match s(e, &["valueFrom", "secretKeyRef", "key"]) {
                    Some(key) => {
                        assert_eq!(
                            s(e, &["valueFrom", "secretKeyRef", "name"]),
                            Some("hotline-postgres")
                        );
                        s(secret, &["stringData", key])
                            .unwrap_or_else(|| panic!("{name}: secret has no key {key}"))
                            .to_string()
                    }
                    None => s(e, &["value"]).unwrap_or_default().to_string(),
                };
                env.push((var, value));
            }
            accepted(&args, &env, &format!("{}: {name}", dir.display()));

            let grpc = container_port(c, "grpc").expect("a grpc port");
            let metrics = container_port(c, "metrics").expect("a metrics port");
            assert_eq!(port_of(flag(&args, "--listen").unwrap()), grpc, "{name}");
            assert_eq!(port_of(flag(&args, "--metrics-addr").unwrap()), metrics);
            for probe in ["readinessProbe", "livenessProbe"] {
                // The port is mTLS only, which the kubelet's gRPC probe
                // cannot speak.
                assert_eq!(
                    c[probe]["tcpSocket"]["port"].as_u64(),
                    Some(grpc as u64),
                    "{name}: {probe} on the gRPC port"
                );
            }
            // Its certificate from a Secret, where --pki-dir looks.
            let pki = flag(&args, "--pki-dir").expect("a --pki-dir");
            let mounts = seq(c, &["volumeMounts"]);
            let mount = mounts
                .iter()
                .find(|m| s(m, &["mountPath"]) == Some(pki))
                .unwrap_or_else(|| panic!("{name}: nothing mounted at {pki}"));
            let volume = s(mount, &["name"]).unwrap();
            let spec = &d["spec"]["template"]["spec"];
            let secret = seq(spec, &["volumes"])
                .iter()
                .find(|v| s(v, &["name"]) == Some(volume))
                .and_then(|v| s(v, &["secret", "secretName"]))
                .unwrap_or_else(|| panic!("{name}: {pki} is not a Secret"));
            assert!(secret.starts_with("hotline-pki-"), "{name}: {secret}");
            let svc = find("Service", name);
            assert_eq!(
                s(svc, &["spec", "clusterIP"]),
                Some("None"),
                "{name}: headless"
            );
            for (k, v) in svc["spec"]["selector"].as_mapping().unwrap() {
                assert_eq!(labels.get(k), Some(v), "{name}: Service selects other pods");
            }
            service_port(name, grpc);
            service_port(name, metrics);
            let otlp = flag(&args, "--otlp-endpoint").expect("exports spans");
            service_port(host_of(otlp), port_of(otlp));
            if let Some(gw) = flag(&args, "--gateway") {
                service_port(host_of(gw), port_of(gw));
            }
            if let Some(host) = flag(&args, "--advertise-host") {
                assert_eq!(host, name, "announces its own Service");
            }
            assert!(flag(&args, "--max-connection-age-secs").is_some(), "{name}");
            if let Some(service) = flag(&args, "--service") {
                assert!(served.insert(service.to_string()), "{service} twice");
                if let Some(addr) = topology.service(service).and_then(|s| s.address.clone()) {
                    assert_eq!(addr, format!("http://{name}:{grpc}"), "{service}");
                }
            }
        }
    }
    let all: BTreeSet<String> = topology.services().iter().map(|s| s.name.clone()).collect();
    assert_eq!(served, all, "{}: one Deployment per service", dir.display());
    assert!(deployments > all.len(), "and the gateway");
    served
}

#[test]
fn kustomize_base_and_beijing_overlay_line_up_with_the_binary() {
    let k8s = repo().join("deploy/k8s");
    assert_eq!(
        std::fs::read_to_string(k8s.join("base/topology.toml")).unwrap(),
        hotline::DEMO_TOPOLOGY,
        "base/topology.toml is a copy of topology/demo-city.toml (rerun deploy/k8s/generate.py)"
    );
    let base = check_kustomization(&k8s.join("base"));
    assert_eq!(
        base.len(),
        demo_services(),
        "one Deployment per service of the demo city"
    );
    let beijing = check_kustomization(&k8s.join("overlays/beijing"));
    for district in ["dongcheng", "haidian", "yanqing"] {
        assert!(beijing.contains(&format!("township-{district}")));
        assert!(beijing.contains(&format!("community-{district}")));
    }
    // city, district, department and central, and a township and a community service per district.
    assert_eq!(beijing.len(), 4 + 2 * 16);
    let gateway = kustomize(&k8s.join("overlays/beijing"))
        .into_iter()
        .find(|o| kind_name(o) == ("Deployment".into(), "hotline-gateway".into()))
        .unwrap();
    assert_eq!(gateway["spec"]["replicas"].as_u64(), Some(2));
}

// ---- compose ----

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

/// How many services the demo city runs (one per tier it has).
fn demo_services() -> usize {
    hotline_core::Topology::parse("demo-city.toml", hotline::DEMO_TOPOLOGY)
        .unwrap()
        .services()
        .len()
}
