//! What the objects point at: the Ingresses at the gateway's and the web
//! front's TLS ports, the Services at pods, the collector at a deployed
//! Service, and the Secrets at the README that says how to make them (none
//! is committed).

use std::collections::BTreeSet;

use super::*;

/// The processes clients outside reach through an Ingress: its name (and
/// its Deployment's and Service's), and the container port it leads to.
const INGRESSES: [(&str, &str); 2] = [("hotline-gateway", "grpc"), ("hotline-web", "https")];

#[test]
fn each_ingress_passes_tls_through_to_its_process() {
    for k in Render::all() {
        let ingresses: Vec<&Value> = k.kind("Ingress").collect();
        let mut names: Vec<&str> = ingresses.iter().map(|i| name_of(i)).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            INGRESSES.map(|(name, _)| name),
            "{}: the gateway's and the web front's Ingresses",
            k.dir
        );
        let mut hosts = BTreeSet::new();
        for (target, port_name) in INGRESSES {
            let ingress = k.find("Ingress", target);
            // The gateway authorises callers by their certificate, the web
            // front operators at the dashboard: TLS must reach them, not
            // end at the ingress controller.
            assert_eq!(
                s(
                    ingress,
                    &[
                        "metadata",
                        "annotations",
                        "nginx.ingress.kubernetes.io/ssl-passthrough"
                    ]
                ),
                Some("true"),
                "{}: {target}",
                k.dir
            );
            assert!(
                ingress["spec"]["tls"].is_null(),
                "{}: {target}: a certificate at the edge, which passthrough would not use",
                k.dir
            );
            let deployment = k.find("Deployment", target);
            let container = &seq(deployment, &["spec", "template", "spec", "containers"])[0];
            let args: Vec<&str> = seq(container, &["args"])
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert!(
                args.iter().any(|a| a.starts_with("--pki-dir=")),
                "{}: {target} speaks TLS",
                k.dir
            );
            assert!(!args.contains(&"--insecure-plaintext"), "{}", k.dir);
            let service = k.find("Service", target);
            let rules = seq(ingress, &["spec", "rules"]);
            assert!(!rules.is_empty());
            for rule in rules {
                // Passthrough routes by the TLS server name: one host, one
                // process.
                let host = s(rule, &["host"])
                    .unwrap_or_else(|| panic!("{}: passthrough routes by host", k.dir));
                assert!(hosts.insert(host), "{}: {host} twice", k.dir);
                for path in seq(rule, &["http", "paths"]) {
                    let backend = &path["backend"]["service"];
                    assert_eq!(s(backend, &["name"]), Some(target));
                    let port = seq(service, &["spec", "ports"])
                        .into_iter()
                        .find(|p| {
                            p["name"] == backend["port"]["name"]
                                || p["port"] == backend["port"]["number"]
                        })
                        .unwrap_or_else(|| {
                            panic!("{}: no Service port {:?}", k.dir, backend["port"])
                        });
                    assert_eq!(
                        container_port(container, s(port, &["targetPort"]).unwrap()),
                        container_port(container, port_name),
                        "{}: to {target}'s {port_name} port",
                        k.dir
                    );
                    assert!(container_port(container, port_name).is_some());
                }
            }
        }
    }
}

/// Every Service selects a Deployment's pods, on ports they have.
fn check_services(k: &Render) {
    for svc in k.kind("Service") {
        let name = name_of(svc);
        let selector = &svc["spec"]["selector"];
        let pods: Vec<&Value> = k
            .kind("Deployment")
            .filter(|d| has_labels(selector, &d["spec"]["template"]["metadata"]["labels"]))
            .collect();
        assert!(
            !pods.is_empty(),
            "{}: Service {name} selects no pods",
            k.dir
        );
        for p in seq(svc, &["spec", "ports"]) {
            for d in &pods {
                let has = seq(d, &["spec", "template", "spec", "containers"])
                    .iter()
                    .any(|c| match &p["targetPort"] {
                        Value::String(port) => container_port(c, port).is_some(),
                        v => seq(c, &["ports"])
                            .iter()
                            .any(|cp| cp["containerPort"] == *v),
                    });
                assert!(
                    has,
                    "{}: Service {name}: {:?} on none of {}'s ports",
                    k.dir,
                    p["targetPort"],
                    name_of(d)
                );
            }
        }
    }
}

#[test]
fn the_collector_and_every_service_point_at_what_is_deployed() {
    for k in Render::all() {
        check_services(&k);
        let config = s(
            k.find("ConfigMap", "otel-collector"),
            &["data", "config.yaml"],
        )
        .unwrap();
        let config: Value = serde_yaml::from_str(config).unwrap();
        let mut exported = 0;
        for (pipeline, p) in config["service"]["pipelines"].as_mapping().unwrap() {
            for name in seq(p, &["exporters"]) {
                let name = name.as_str().unwrap();
                let exporter = &config["exporters"][name];
                assert!(
                    exporter.is_mapping() || name == "debug",
                    "{}: {pipeline:?}: no exporter {name}",
                    k.dir
                );
                if name.split('/').next() == Some("debug") {
                    continue;
                }
                let endpoint = s(exporter, &["endpoint"]).unwrap_or_else(|| {
                    panic!("{}: {name} sends nowhere the manifests name", k.dir)
                });
                let svc = k.find("Service", host_of(endpoint));
                assert!(
                    seq(svc, &["spec", "ports"])
                        .iter()
                        .any(|p| p["port"].as_u64() == Some(port_of(endpoint).into())),
                    "{}: {name}: Service {} has no port {}",
                    k.dir,
                    host_of(endpoint),
                    port_of(endpoint)
                );
                exported += 1;
            }
        }
        assert!(exported > 0, "{}: the collector exports traces", k.dir);
        // Defence in depth, as compose's collector: the traces pipeline
        // drops requester identity and request text, should a span carry them.
        let traces = &config["service"]["pipelines"]["traces"];
        let strips = seq(traces, &["processors"]).iter().any(|name| {
            let deleted: BTreeSet<&str> =
                seq(&config["processors"][name.as_str().unwrap()], &["actions"])
                    .iter()
                    .filter(|a| a["action"].as_str() == Some("delete"))
                    .filter_map(|a| a["key"].as_str())
                    .collect();
            ["requester.name", "requester.phone", "request.text"]
                .iter()
                .all(|key| deleted.contains(key))
        });
        assert!(
            strips,
            "{}: the collector's traces pipeline drops requester.name, requester.phone and request.text",
            k.dir
        );
    }
}

/// The Secrets the pods read, by name.
fn secrets_read(k: &Render) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for d in k.kind("Deployment") {
        let pod = &d["spec"]["template"]["spec"];
        for v in seq(pod, &["volumes"]) {
            names.extend(s(v, &["secret", "secretName"]).map(str::to_string));
        }
        for c in seq(pod, &["containers"]) {
            for e in seq(c, &["env"]) {
                names.extend(s(e, &["valueFrom", "secretKeyRef", "name"]).map(str::to_string));
            }
        }
    }
    names
}

#[test]
fn no_secret_is_committed_and_the_readme_says_how_to_make_each() {
    // Not in any file under deploy/, rendered or not.
    let mut all = Vec::new();
    files(&repo().join("deploy"), &mut all);
    for p in all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
    {
        for doc in yaml_docs(p) {
            assert!(
                s(&doc, &["kind"]) != Some("Secret") && doc["secretGenerator"].is_null(),
                "{} commits a Secret",
                p.display()
            );
        }
    }
    let readme = std::fs::read_to_string(repo().join("deploy/README.md")).unwrap();
    for k in Render::all() {
        assert_eq!(k.kind("Secret").count(), 0, "{}: renders a Secret", k.dir);
        let needed = secrets_read(&k);
        assert!(needed.contains("hotline-postgres"), "{}: {needed:?}", k.dir);
        for name in needed {
            // The pki Secrets are made in a loop over the services.
            let made = match name.strip_prefix("hotline-pki-") {
                Some(_) => "create secret generic hotline-pki-$",
                None => &format!("create secret generic {name}"),
            };
            assert!(
                readme.contains(made),
                "deploy/README.md: how to make {name}"
            );
            // The web front's certificate is a channel's, not a service's:
            // the loop over the services' does not make it.
            if name == "hotline-pki-web" {
                assert!(
                    readme.contains("create secret generic hotline-pki-web")
                        && readme.contains("--from-file=pki/channel-web.crt"),
                    "deploy/README.md: how to make {name}"
                );
            }
        }
    }
}
