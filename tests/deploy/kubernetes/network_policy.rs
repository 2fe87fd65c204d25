//! Who may talk to whom: the NetworkPolicies evaluated as a cluster would,
//! for the mesh's pods and for the pods and addresses around them.

use std::collections::BTreeMap;

use super::*;

/// One end of a connection: a pod (namespace, labels, named ports), or an
/// address outside the cluster (a managed database, the internet).
enum End<'a> {
    Pod {
        namespace: &'a str,
        labels: &'a Value,
        ports: BTreeMap<String, u16>,
    },
    Outside,
}

impl<'a> End<'a> {
    fn pod(namespace: &'a str, labels: &'a Value) -> Self {
        let ports = BTreeMap::new();
        End::Pod {
            namespace,
            labels,
            ports,
        }
    }

    /// The pod of a Deployment, with its containers' named ports.
    fn of(d: &'a Value) -> Self {
        let ports = seq(d, &["spec", "template", "spec", "containers"])
            .iter()
            .flat_map(|c| seq(c, &["ports"]))
            .map(|p| {
                (
                    s(p, &["name"]).unwrap().to_string(),
                    p["containerPort"].as_u64().unwrap() as u16,
                )
            })
            .collect();
        End::Pod {
            namespace: s(d, &["metadata", "namespace"]).unwrap(),
            labels: &d["spec"]["template"]["metadata"]["labels"],
            ports,
        }
    }
}

/// A peer entry of a rule (podSelector, namespaceSelector, both) matches `other`.
fn peer_matches(peer: &Value, policy_namespace: &str, other: &End) -> bool {
    assert!(peer["ipBlock"].is_null(), "ipBlock: teach this test");
    let End::Pod {
        namespace, labels, ..
    } = other
    else {
        return false;
    };
    let namespace_labels: Value =
        serde_yaml::from_str(&format!("kubernetes.io/metadata.name: {namespace}")).unwrap();
    let in_namespace = match &peer["namespaceSelector"] {
        Value::Null => *namespace == policy_namespace,
        selector => selects(selector, &namespace_labels),
    };
    in_namespace && (peer["podSelector"].is_null() || selects(&peer["podSelector"], labels))
}

fn port_matches(rule: &Value, to: &End, port: u16, protocol: &str) -> bool {
    let ports = seq(rule, &["ports"]);
    ports.is_empty()
        || ports.iter().any(|p| {
            let number = match (&p["port"], to) {
                (Value::Null, _) => Some(port),
                (Value::String(name), End::Pod { ports, .. }) => ports.get(name).copied(),
                (v, _) => v.as_u64().map(|n| n as u16),
            };
            number == Some(port) && s(p, &["protocol"]).unwrap_or("TCP") == protocol
        })
}

/// The namespace the policies govern.
const NAMESPACE: &str = "hotline";

/// What the policies say about `from` connecting to `to` on a port: on the
/// sending side (Egress) and on the accepting side (Ingress); `None` for a
/// side outside the namespace, which they cannot say anything about.
fn sides(
    policies: &[&Value],
    from: &End,
    to: &End,
    port: u16,
    protocol: &str,
) -> [Option<bool>; 2] {
    [
        side(policies, "Egress", from, to, to, port, protocol),
        side(policies, "Ingress", to, from, to, port, protocol),
    ]
}

fn side(
    policies: &[&Value],
    direction: &str,
    subject: &End,
    other: &End,
    to: &End,
    port: u16,
    protocol: &str,
) -> Option<bool> {
    let End::Pod {
        namespace: at,
        labels,
        ..
    } = subject
    else {
        return None;
    };
    if *at != NAMESPACE {
        return None;
    }
    let (rules, peers) = match direction {
        "Egress" => ("egress", "to"),
        _ => ("ingress", "from"),
    };
    let selecting: Vec<&&Value> = policies
        .iter()
        .filter(|p| selects(&p["spec"]["podSelector"], labels))
        .filter(|p| {
            let types = seq(p, &["spec", "policyTypes"]);
            match types.is_empty() {
                true => direction == "Ingress" || !p["spec"]["egress"].is_null(),
                false => types.iter().any(|t| t.as_str() == Some(direction)),
            }
        })
        .collect();
    Some(
        selecting.is_empty()
            || selecting.iter().any(|p| {
                seq(p, &["spec", rules]).iter().any(|rule| {
                    let peers = seq(rule, &[peers]);
                    (peers.is_empty() || peers.iter().any(|peer| peer_matches(peer, at, other)))
                        && port_matches(rule, to, port, protocol)
                })
            }),
    )
}

/// What a connection's end is to the policies.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Gateway,
    Service,
    Web,
    Collector,
    Jaeger,
    IngressController,
    Prometheus,
    Dns,
    Stranger,
    Outside,
}

use Role::*;

/// The paths deploy/README.md lists, by the destination's port name; and
/// every pod of the namespace to the cluster's DNS. Nothing else is open.
const OPEN: [(Role, Role, &str); 13] = [
    (Service, Gateway, "grpc"),
    (IngressController, Gateway, "grpc"),
    (Web, Gateway, "grpc"),
    (Gateway, Service, "grpc"),
    (IngressController, Web, "https"),
    (Service, Outside, "postgresql"),
    (Gateway, Collector, "otlp-grpc"),
    (Service, Collector, "otlp-grpc"),
    (Web, Collector, "otlp-grpc"),
    (Collector, Jaeger, "otlp-grpc"),
    (Prometheus, Gateway, "metrics"),
    (Prometheus, Service, "metrics"),
    (Prometheus, Web, "metrics"),
];

/// A named end, its role, and the ports it listens on (name, number, protocol).
type Named<'a> = (String, Role, End<'a>, Vec<(String, u16, &'static str)>);

fn role_of(labels: &Value) -> Role {
    let label = |k: &str| s(labels, &[k]);
    match (
        label("app.kubernetes.io/name"),
        label("app.kubernetes.io/component"),
    ) {
        (Some("hotline"), Some("gateway")) => Gateway,
        (Some("hotline"), Some("web")) => Web,
        (Some("hotline"), _) => Service,
        (Some("otel-collector"), _) => Collector,
        (Some("jaeger"), _) => Jaeger,
        other => panic!("a pod of no known role: {other:?}"),
    }
}

#[test]
fn network_policies_let_through_only_the_mesh_s_own_paths() {
    let labels = |yaml: &str| serde_yaml::from_str::<Value>(yaml).unwrap();
    let around = [
        ("kube-system", "k8s-app: kube-dns", Dns),
        (
            "ingress-nginx",
            "app.kubernetes.io/name: ingress-nginx",
            IngressController,
        ),
        (
            "monitoring",
            "app.kubernetes.io/name: prometheus",
            Prometheus,
        ),
        ("default", "app: stranger", Stranger),
        ("hotline", "app: stranger", Stranger),
    ]
    .map(|(namespace, yaml, role)| (namespace, labels(yaml), role));
    for k in Render::all() {
        let policies: Vec<&Value> = k.kind("NetworkPolicy").collect();
        for p in &policies {
            assert_eq!(s(p, &["metadata", "namespace"]), Some(NAMESPACE));
            let selected = k.kind("Deployment").filter(|d| {
                selects(
                    &p["spec"]["podSelector"],
                    &d["spec"]["template"]["metadata"]["labels"],
                )
            });
            assert!(
                selected.count() > 0,
                "{}: {} selects no pod",
                k.dir,
                name_of(p)
            );
        }
        let mut ends: Vec<Named> = Vec::new();
        for d in k.kind("Deployment") {
            let end = End::of(d);
            let End::Pod { ports, labels, .. } = &end else {
                unreachable!()
            };
            let ports = ports.iter().map(|(n, p)| (n.clone(), *p, "TCP")).collect();
            ends.push((name_of(d).to_string(), role_of(labels), end, ports));
        }
        for (namespace, labels, role) in &around {
            let ports = match role {
                Dns => vec![("dns".into(), 53, "UDP"), ("dns".into(), 53, "TCP")],
                _ => vec![("http".into(), 8080, "TCP")],
            };
            ends.push((
                format!("{role:?} in {namespace}"),
                *role,
                End::pod(namespace, labels),
                ports,
            ));
        }
        let outside = vec![
            ("postgresql".into(), 5432, "TCP"),
            ("https".into(), 443, "TCP"),
        ];
        ends.push(("an address outside".into(), Outside, End::Outside, outside));
        let mut met = vec![false; OPEN.len()];
        // From each end to each, itself included: to another replica.
        for (from, from_role, from_end, _) in &ends {
            for (to, to_role, to_end, ports) in &ends {
                for (port_name, port, protocol) in ports {
                    let sides = sides(&policies, from_end, to_end, *port, protocol);
                    if sides == [None, None] {
                        continue; // neither end is the namespace's
                    }
                    let in_namespace = matches!(
                        from_end,
                        End::Pod {
                            namespace: NAMESPACE,
                            ..
                        }
                    );
                    let listed = OPEN
                        .iter()
                        .position(|p| *p == (*from_role, *to_role, port_name.as_str()));
                    let expected = listed.is_some() || (*to_role == Dns && in_namespace);
                    // Open on both sides, or closed on each side these
                    // policies govern, each on its own.
                    let ok = match expected {
                        true => sides.iter().all(|s| *s != Some(false)),
                        false => sides.iter().all(|s| *s != Some(true)),
                    };
                    let should = if expected { "open" } else { "closed" };
                    assert!(
                        ok,
                        "{}: {from} → {to} {port_name} ({port}/{protocol}) should be {should} \
                         (egress, ingress: {sides:?})",
                        k.dir
                    );
                    if let Some(i) = listed {
                        met[i] = true;
                    }
                }
            }
        }
        // Every listed path was there to check.
        for (path, met) in OPEN.iter().zip(met) {
            assert!(met, "{}: no {path:?} to check", k.dir);
        }
        let services = ends.iter().filter(|e| e.1 == Service).count();
        assert!(services >= 6, "{}: {services} tier services", k.dir);
        let webs = ends.iter().filter(|e| e.1 == Web).count();
        assert_eq!(webs, 1, "{}: the web front", k.dir);
    }
}
