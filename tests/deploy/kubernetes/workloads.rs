//! The pods: unprivileged on a read-only root, covered by disruption
//! budgets that never block a drain, and the gateway autoscaled where the
//! topology lets every replica route.

use super::*;

/// A pod spec's setting, the container's overriding the pod's.
fn effective<'a>(pod: &'a Value, c: &'a Value, key: &str) -> &'a Value {
    match &c["securityContext"][key] {
        Value::Null => &pod["securityContext"][key],
        v => v,
    }
}

/// The uid of the image's last `USER` (numeric, as the kubelet needs to
/// know it is not root).
fn image_uid() -> u64 {
    let dockerfile = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the image names its user");
    user.split(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("USER {user} is not numeric"))
}

#[test]
fn every_pod_runs_unprivileged_on_a_read_only_root() {
    let uid = image_uid();
    assert_ne!(uid, 0, "the image runs as root");
    for k in Render::all() {
        let ns = k.find("Namespace", "hotline");
        assert_eq!(
            s(
                ns,
                &["metadata", "labels", "pod-security.kubernetes.io/enforce"]
            ),
            Some("restricted"),
            "{}: the namespace enforces the restricted pod security standard",
            k.dir
        );
        for d in k.kind("Deployment") {
            let name = format!("{}: {}", k.dir, name_of(d));
            let pod = &d["spec"]["template"]["spec"];
            assert_eq!(
                pod["automountServiceAccountToken"].as_bool(),
                Some(false),
                "{name}"
            );
            for host in ["hostNetwork", "hostPID", "hostIPC"] {
                assert_ne!(pod[host].as_bool(), Some(true), "{name}: {host}");
            }
            let containers = seq(pod, &["containers"]);
            assert!(!containers.is_empty());
            for c in containers.into_iter().chain(seq(pod, &["initContainers"])) {
                let sc = &c["securityContext"];
                assert_eq!(
                    effective(pod, c, "runAsNonRoot").as_bool(),
                    Some(true),
                    "{name}"
                );
                let user = effective(pod, c, "runAsUser").as_u64();
                assert!(user.is_some_and(|u| u > 0), "{name}: runAsUser {user:?}");
                assert_eq!(
                    s(effective(pod, c, "seccompProfile"), &["type"]),
                    Some("RuntimeDefault"),
                    "{name}"
                );
                assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true), "{name}");
                assert_eq!(
                    sc["allowPrivilegeEscalation"].as_bool(),
                    Some(false),
                    "{name}"
                );
                assert_ne!(sc["privileged"].as_bool(), Some(true), "{name}");
                let drop: Vec<_> = seq(sc, &["capabilities", "drop"]);
                assert!(
                    drop.iter().any(|c| c.as_str() == Some("ALL")),
                    "{name}: drops ALL"
                );
                assert!(
                    seq(sc, &["capabilities", "add"]).is_empty(),
                    "{name}: adds none"
                );
                // What it may write is scratch space: every writable mount
                // is an emptyDir.
                let volume = |m: &Value| {
                    seq(pod, &["volumes"])
                        .into_iter()
                        .find(|v| v["name"] == m["name"])
                        .unwrap_or_else(|| panic!("{name}: no volume {:?}", m["name"]))
                };
                for m in seq(c, &["volumeMounts"]) {
                    if m["readOnly"].as_bool() != Some(true) {
                        assert!(
                            volume(m)["emptyDir"].is_mapping(),
                            "{name}: {:?} is writable",
                            m["mountPath"]
                        );
                    }
                }
                if s(c, &["image"]).is_some_and(|i| i.starts_with("hotline-mesh")) {
                    assert_eq!(user, Some(uid), "{name}: the image's user");
                    // hotline writes under --data-dir only for what it is
                    // not given: a topology, certificates, a database URL.
                    // /tmp is where the gateway would write a topology.
                    let args: Vec<String> = seq(c, &["args"])
                        .iter()
                        .map(|a| a.as_str().unwrap().to_string())
                        .collect();
                    for given in ["--topology", "--pki-dir"] {
                        assert!(flag(&args, given).is_some(), "{name}: {given}");
                    }
                    if args[0] == "serve" {
                        assert!(
                            seq(c, &["env"])
                                .iter()
                                .any(|e| s(e, &["name"]) == Some("HOTLINE_DB")),
                            "{name}: a database URL"
                        );
                    }
                    if args[0] == "web" {
                        // Its Open311 keys and token key: given, from a
                        // Secret where --data-dir looks, so it writes
                        // none, and every start and replica signs alike.
                        let data = flag(&args, "--data-dir").expect("web: a --data-dir");
                        let open311 = format!("{}/open311", data.trim_end_matches('/'));
                        let m = seq(c, &["volumeMounts"])
                            .into_iter()
                            .find(|m| s(m, &["mountPath"]) == Some(open311.as_str()))
                            .unwrap_or_else(|| panic!("{name}: nothing at {open311}"));
                        assert_eq!(m["readOnly"].as_bool(), Some(true), "{name}: {open311}");
                        assert_eq!(
                            s(volume(m), &["secret", "secretName"]),
                            Some("hotline-open311"),
                            "{name}: {open311}"
                        );
                    }
                    let tmp = seq(c, &["volumeMounts"])
                        .into_iter()
                        .find(|m| s(m, &["mountPath"]) == Some("/tmp"))
                        .unwrap_or_else(|| panic!("{name}: no /tmp"));
                    assert!(volume(tmp)["emptyDir"].is_mapping(), "{name}: /tmp");
                }
            }
        }
    }
}

/// The replicas a Deployment runs at least: its autoscaler's minimum, else
/// its count.
fn min_replicas(k: &Render, deployment: &str) -> u64 {
    k.kind("HorizontalPodAutoscaler")
        .find(|h| s(h, &["spec", "scaleTargetRef", "name"]) == Some(deployment))
        .map(|h| h["spec"]["minReplicas"].as_u64().unwrap_or(1))
        .unwrap_or_else(|| {
            k.find("Deployment", deployment)["spec"]["replicas"]
                .as_u64()
                .unwrap_or(1)
        })
}

#[test]
fn a_disruption_budget_covers_every_deployment_and_never_blocks_a_drain() {
    for k in Render::all() {
        let pods = pod_labels(&k);
        let budgets: Vec<&Value> = k.kind("PodDisruptionBudget").collect();
        for (deployment, labels) in &pods {
            let covering: Vec<&&Value> = budgets
                .iter()
                .filter(|b| selects(&b["spec"]["selector"], labels))
                .collect();
            assert_eq!(covering.len(), 1, "{}: {deployment}: one budget", k.dir);
            let b = covering[0];
            let replicas = min_replicas(&k, deployment);
            // Pods a drain may evict at once with all healthy.
            let evictable = match (
                b["spec"]["maxUnavailable"].as_u64(),
                b["spec"]["minAvailable"].as_u64(),
            ) {
                (Some(max), None) => max.min(replicas),
                (None, Some(min)) => replicas.saturating_sub(min),
                _ => panic!(
                    "{}: {}: an integer maxUnavailable or minAvailable",
                    k.dir,
                    name_of(b)
                ),
            };
            assert!(
                evictable >= 1,
                "{}: {deployment}: a drain would hang",
                k.dir
            );
            if replicas > 1 {
                assert!(
                    evictable < replicas,
                    "{}: {deployment}: all may go at once",
                    k.dir
                );
            }
        }
        for b in &budgets {
            let selected = pods
                .iter()
                .filter(|(_, labels)| selects(&b["spec"]["selector"], labels))
                .count();
            assert_eq!(
                selected,
                1,
                "{}: {} covers one Deployment",
                k.dir,
                name_of(b)
            );
        }
    }
}

#[test]
fn the_gateway_autoscales_only_where_every_replica_can_route() {
    for k in Render::all() {
        let config = s(
            k.find("ConfigMap", "hotline-topology"),
            &["data", "topology.toml"],
        )
        .unwrap();
        let topology = hotline_core::Topology::parse("topology.toml", config).unwrap();
        // Without fixed addresses a service announces itself to one gateway
        // replica, and the others could not route to it.
        let fixed = topology.services().iter().all(|s| s.address.is_some());
        let gateway = k.find("Deployment", "hotline-gateway");
        let hpas: Vec<&Value> = k.kind("HorizontalPodAutoscaler").collect();
        if !fixed {
            assert!(hpas.is_empty(), "{}: an autoscaler", k.dir);
            assert_eq!(gateway["spec"]["replicas"].as_u64(), Some(1), "{}", k.dir);
            continue;
        }
        assert_eq!(hpas.len(), 1, "{}: the gateway's autoscaler", k.dir);
        let hpa = hpas[0];
        assert_eq!(s(hpa, &["apiVersion"]), Some("autoscaling/v2"));
        let target = &hpa["spec"]["scaleTargetRef"];
        assert_eq!(
            (
                s(target, &["apiVersion"]),
                s(target, &["kind"]),
                s(target, &["name"])
            ),
            (Some("apps/v1"), Some("Deployment"), Some("hotline-gateway"))
        );
        let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
        let max = hpa["spec"]["maxReplicas"].as_u64().unwrap();
        assert!(min >= 2 && max > min, "{}: {min}..{max} replicas", k.dir);
        // A count on the Deployment would be put back at every apply.
        assert!(
            gateway["spec"]["replicas"].is_null(),
            "{}: the autoscaler owns the count",
            k.dir
        );
        // Utilisation is of the CPU the containers request.
        let metrics = seq(hpa, &["spec", "metrics"]);
        assert!(
            metrics
                .iter()
                .any(|m| s(m, &["resource", "name"]) == Some("cpu")
                    && s(m, &["resource", "target", "type"]) == Some("Utilization")),
            "{}: scales on CPU utilisation",
            k.dir
        );
        for c in seq(gateway, &["spec", "template", "spec", "containers"]) {
            assert!(
                !c["resources"]["requests"]["cpu"].is_null(),
                "{}: a CPU request",
                k.dir
            );
        }
    }
}
