//! `deploy/` checked as an operator would, without Docker or a cluster:
//! every manifest parses; `kubectl kustomize` renders both kustomizations
//! into objects valid against the Kubernetes schemas (kubernetes-validate);
//! every container's command is one the `hotline` binary accepts
//! (`--check`); ports, Services and scrape targets line up; pods run
//! unprivileged on a read-only root; disruption budgets, the gateway's
//! autoscaler, its Ingress and the NetworkPolicies do what they say; no
//! Secret is committed; the image builds its dependencies first from a
//! context without `target/`; and the compose topology's processes, run
//! directly with the same flags on loopback, carry an order through.
//!
//! kubectl and kubernetes-validate (in `HOTLINE_PYTHON`, else `python3`)
//! are needed: CI installs them (.ci/run); missing under CI=true they fail
//! the test, elsewhere it says loudly that it skipped.

mod compose;
mod image;
mod kubernetes;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_yaml::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    docs(&text, &path.display().to_string())
}

/// The documents of a YAML stream; `what` names it in a panic.
fn docs(text: &str, what: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| {
            let mut v = Value::deserialize(doc).unwrap_or_else(|e| panic!("{what}: {e}"));
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

/// A tool the checks need is missing: a failure under CI=true, else a
/// loud skip.
fn missing(what: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{what}");
    eprintln!("SKIPPED: {what}");
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

/// How many services the demo city runs (one per tier it has).
fn demo_services() -> usize {
    hotline_core::Topology::parse("demo-city.toml", hotline::DEMO_TOPOLOGY)
        .unwrap()
        .services()
        .len()
}
