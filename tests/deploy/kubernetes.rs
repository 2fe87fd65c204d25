//! The kustomizations as `kubectl kustomize` renders them: valid for
//! Kubernetes, and their commands, ports and Services in line with the
//! `hotline` binary and its topology.

mod network_policy;
mod wiring;
mod workloads;

use std::collections::BTreeSet;

use super::*;

/// The Kubernetes version the manifests are validated against.
const KUBERNETES_VERSION: &str = "1.32";
const KUSTOMIZATIONS: [&str; 2] = ["base", "overlays/beijing"];

/// What `kubectl apply -k deploy/k8s/DIR` would send: the text and its objects.
struct Render {
    dir: &'static str,
    text: String,
    objects: Vec<Value>,
}

impl Render {
    fn of(dir: &'static str) -> Option<Self> {
        let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
        let out = match Command::new(&kubectl)
            .arg("kustomize")
            .arg(repo().join("deploy/k8s").join(dir))
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                missing(&format!(
                    "no {kubectl} to render deploy/k8s ({e}): CI runs where kubectl is installed"
                ));
                return None;
            }
        };
        assert!(
            out.status.success(),
            "kubectl kustomize deploy/k8s/{dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let objects = docs(&text, dir);
        Some(Self { dir, text, objects })
    }

    /// Both kustomizations, or none when kubectl is missing.
    fn all() -> Vec<Self> {
        KUSTOMIZATIONS.into_iter().map_while(Self::of).collect()
    }

    fn kind(&self, kind: &str) -> impl Iterator<Item = &Value> {
        self.objects
            .iter()
            .filter(move |o| s(o, &["kind"]) == Some(kind))
    }

    fn find(&self, kind: &str, name: &str) -> &Value {
        self.kind(kind)
            .find(|o| s(o, &["metadata", "name"]) == Some(name))
            .unwrap_or_else(|| panic!("{}: no {kind} {name}", self.dir))
    }
}

fn name_of(v: &Value) -> &str {
    s(v, &["metadata", "name"]).unwrap_or_default()
}

fn container_port(c: &Value, name: &str) -> Option<u16> {
    seq(c, &["ports"])
        .into_iter()
        .find(|p| s(p, &["name"]) == Some(name))
        .and_then(|p| p["containerPort"].as_u64())
        .map(|p| p as u16)
}

fn check_kustomization(k: &Render) -> BTreeSet<String> {
    let find = |kind: &str, name: &str| k.find(kind, name);
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
    let mut webs = 0;
    for d in k.kind("Deployment") {
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
                        // The operator's Secret (deploy/README.md): one
                        // PostgreSQL URL per service, keyed by its name.
                        assert_eq!(
                            s(e, &["valueFrom", "secretKeyRef", "name"]),
                            Some("hotline-postgres")
                        );
                        assert_eq!(Some(key), flag(&args, "--service"), "{name}: {var}");
                        format!(
                            "postgres://hotline@postgres:5432/hotline_{}",
                            key.replace('-', "_")
                        )
                    }
                    None => s(e, &["value"]).unwrap_or_default().to_string(),
                };
                env.push((var, value));
            }
            accepted(&args, &env, &format!("{}: {name}", k.dir));

            // The web front serves HTTPS; the gateway and the services gRPC.
            let web = args[0] == "web";
            let metrics = container_port(c, "metrics").expect("a metrics port");
            assert_eq!(port_of(flag(&args, "--metrics-addr").unwrap()), metrics);
            let grpc = if web {
                webs += 1;
                let https = container_port(c, "https").expect("an https port");
                assert_eq!(
                    port_of(flag(&args, "--http-listen").unwrap()),
                    https,
                    "{name}"
                );
                for probe in ["readinessProbe", "livenessProbe"] {
                    // HTTPS asking for no client certificate, which the
                    // kubelet's probe can speak.
                    let get = &c[probe]["httpGet"];
                    assert_eq!(s(get, &["scheme"]), Some("HTTPS"), "{name}: {probe}");
                    assert_eq!(s(get, &["port"]), Some("https"), "{name}: {probe}");
                }
                https
            } else {
                let grpc = container_port(c, "grpc").expect("a grpc port");
                assert_eq!(port_of(flag(&args, "--listen").unwrap()), grpc, "{name}");
                for probe in ["readinessProbe", "livenessProbe"] {
                    // The port is mTLS only, which the kubelet's gRPC probe
                    // cannot speak.
                    assert_eq!(
                        c[probe]["tcpSocket"]["port"].as_u64(),
                        Some(grpc as u64),
                        "{name}: {probe} on the gRPC port"
                    );
                }
                grpc
            };
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
            // gRPC clients balance over every pod themselves; the web
            // front's clients come through its Ingress.
            if !web {
                assert_eq!(
                    s(svc, &["spec", "clusterIP"]),
                    Some("None"),
                    "{name}: headless"
                );
            }
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
            if !web {
                assert!(flag(&args, "--max-connection-age-secs").is_some(), "{name}");
            }
            if let Some(service) = flag(&args, "--service") {
                assert!(served.insert(service.to_string()), "{service} twice");
                if let Some(addr) = topology.service(service).and_then(|s| s.address.clone()) {
                    assert_eq!(addr, format!("http://{name}:{grpc}"), "{service}");
                }
            }
        }
    }
    let all: BTreeSet<String> = topology.services().iter().map(|s| s.name.clone()).collect();
    assert_eq!(served, all, "{}: one Deployment per service", k.dir);
    assert_eq!(webs, 1, "{}: one web front", k.dir);
    assert_eq!(
        deployments,
        all.len() + 2,
        "{}: and the gateway and the web front",
        k.dir
    );
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
    let Some(base) = Render::of("base") else {
        return;
    };
    let base = check_kustomization(&base);
    assert_eq!(
        base.len(),
        demo_services(),
        "one Deployment per service of the demo city"
    );
    let Some(beijing) = Render::of("overlays/beijing") else {
        return;
    };
    let beijing = check_kustomization(&beijing);
    for district in ["dongcheng", "haidian", "yanqing"] {
        assert!(beijing.contains(&format!("township-{district}")));
        assert!(beijing.contains(&format!("community-{district}")));
    }
    // city, district, department and central, and a township and a community service per district.
    assert_eq!(beijing.len(), 4 + 2 * 16);
}

/// What kubernetes-validate says against the rendered `yaml` of `count`
/// objects, strictly (an unknown field is an error), when any is not
/// reported as passing: it only warns about a kind it has no schema for.
fn schema_errors(python: &str, yaml: &str, count: usize) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new(python)
        .args(["-m", "kubernetes_validate", "--strict", "-k"])
        .arg(KUBERNETES_VERSION)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let passed = report
        .lines()
        .filter(|l| l.starts_with("INFO") && l.contains(" passed "))
        .count();
    let failed = report.lines().any(|l| !l.starts_with("INFO"));
    (!out.status.success() || failed || passed != count).then(|| {
        let problems: Vec<&str> = report.lines().filter(|l| !l.starts_with("INFO")).collect();
        let stderr = String::from_utf8_lossy(&out.stderr);
        format!(
            "{passed} of {count} passed\n{}\n{stderr}",
            problems.join("\n")
        )
    })
}

/// The interpreter with kubernetes-validate: `HOTLINE_PYTHON` (CI sets it
/// up), else `python3`.
fn validator() -> Option<String> {
    let python = std::env::var("HOTLINE_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import kubernetes_validate"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    missing(&format!(
        "{python} lacks kubernetes-validate, which .ci/run installs (set HOTLINE_PYTHON)"
    ));
    None
}

#[test]
fn both_kustomizations_render_to_objects_valid_for_kubernetes() {
    let Some(python) = validator() else {
        return;
    };
    // The check can fail: a wrong type and an unknown field are refused.
    let broken = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n\
                  spec:\n  replicas: two\n  selectr: {}\n";
    assert!(
        schema_errors(&python, broken, 1).is_some(),
        "kubernetes-validate accepts a broken Deployment"
    );
    for k in Render::all() {
        assert!(
            k.objects.len() > 20,
            "{}: {} objects",
            k.dir,
            k.objects.len()
        );
        if let Some(errors) = schema_errors(&python, &k.text, k.objects.len()) {
            panic!(
                "kubectl kustomize deploy/k8s/{} is not valid for Kubernetes {KUBERNETES_VERSION}: {errors}",
                k.dir
            );
        }
    }
}

/// The pods of each Deployment: (Deployment name, pod labels).
fn pod_labels(k: &Render) -> Vec<(&str, &Value)> {
    k.kind("Deployment")
        .map(|d| (name_of(d), &d["spec"]["template"]["metadata"]["labels"]))
        .collect()
}

/// Whether every label of `wanted` (a Service's selector, a matchLabels) is on `labels`.
fn has_labels(wanted: &Value, labels: &Value) -> bool {
    let label = |k: &Value| labels.get(k).and_then(Value::as_str);
    let wanted = wanted.as_mapping().into_iter().flatten();
    wanted.into_iter().all(|(k, v)| label(k) == v.as_str())
}

/// Whether a label selector (matchLabels, matchExpressions) selects `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let by_expression = seq(selector, &["matchExpressions"]).iter().all(|e| {
        let value = labels.get(&e["key"]).and_then(Value::as_str);
        let among = seq(e, &["values"])
            .iter()
            .any(|v| value.is_some() && v.as_str() == value);
        match s(e, &["operator"]).unwrap() {
            "In" => among,
            "NotIn" => !among,
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => panic!("operator {other}"),
        }
    });
    has_labels(&selector["matchLabels"], labels) && by_expression
}
