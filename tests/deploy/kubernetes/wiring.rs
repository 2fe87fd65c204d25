//! What the objects point at: the Ingress at the gateway's TLS port, the
//! Services at pods, the collector at a deployed Service, and the Secrets
//! at the README that says how to make them (none is committed).

use std::collections::BTreeSet;

use super::*;

#[test]
fn the_gateway_ingress_passes_tls_through_to_the_gateway() {
    for k in Render::all() {
        let ingresses: Vec<&Value> = k.kind("Ingress").collect();
        assert_eq!(ingresses.len(), 1, "{}: the gateway's Ingress", k.dir);
        let ingress = ingresses[0];
        // The gateway authorises callers by their certificate: TLS must
        // reach it, not end at the ingress controller.
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
            "{}",
            k.dir
        );
        assert!(
            ingress["spec"]["tls"].is_null(),
            "{}: a certificate at the edge, which passthrough would not use",
            k.dir
        );
        let gateway = k.find("Deployment", "hotline-gateway");
        let container = &seq(gateway, &["spec", "template", "spec", "containers"])[0];
        let args: Vec<&str> = seq(container, &["args"])
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            args.iter().any(|a| a.starts_with("--pki-dir=")),
            "{}: the gateway speaks TLS",
            k.dir
        );
        assert!(!args.contains(&"--insecure-plaintext"), "{}", k.dir);
        let service = k.find("Service", "hotline-gateway");
        let rules = seq(ingress, &["spec", "rules"]);
        assert!(!rules.is_empty());
        for rule in rules {
            assert!(
                s(rule, &["host"]).is_some(),
                "{}: passthrough routes by host",
                k.dir
            );
            for path in seq(rule, &["http", "paths"]) {
                let backend = &path["backend"]["service"];
                assert_eq!(s(backend, &["name"]), Some("hotline-gateway"));
                let port = seq(service, &["spec", "ports"])
                    .into_iter()
                    .find(|p| {
                        p["name"] == backend["port"]["name"]
                            || p["port"] == backend["port"]["number"]
                    })
                    .unwrap_or_else(|| panic!("{}: no Service port {:?}", k.dir, backend["port"]));
                assert_eq!(
                    container_port(container, s(port, &["targetPort"]).unwrap()),
                    container_port(container, "grpc"),
                    "{}: to the gateway's gRPC port",
                    k.dir
                );
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
        }
    }
}
