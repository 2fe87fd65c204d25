//! The image: dependencies built in a layer of their own, from a context
//! that holds what the build reads and leaves out `target/`, history and keys.

use std::collections::BTreeSet;

use super::*;

/// A `.dockerignore` as Docker reads it: patterns from the context root,
/// `**` for any directories, `!` to take a path back.
struct DockerIgnore(Vec<(bool, Vec<String>)>);

impl DockerIgnore {
    fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (negated, pattern) = match l.strip_prefix('!') {
                    Some(p) => (true, p),
                    None => (false, l),
                };
                let parts = pattern
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect();
                (negated, parts)
            })
            .collect();
        Self(rules)
    }

    /// Whether the context leaves `path` out (a directory left out leaves
    /// out all it holds).
    fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (negated, pattern) in &self.0 {
            if (1..=parts.len()).any(|n| glob(pattern, &parts[..n])) {
                excluded = !negated;
            }
        }
        excluded
    }
}

fn glob(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|i| glob(rest, &path[i..])),
        Some((p, rest)) => {
            !path.is_empty() && wildcard(p.as_bytes(), path[0].as_bytes()) && glob(rest, &path[1..])
        }
    }
}

fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.split_first(), s.split_first()) {
        (None, _) => s.is_empty(),
        (Some((b'*', rest)), _) => (0..=s.len()).any(|i| wildcard(rest, &s[i..])),
        (Some((b'[', _)), _) => panic!("character classes: teach this test"),
        (Some((b'?', rest)), Some((_, tail))) => wildcard(rest, tail),
        (Some((c, rest)), Some((d, tail))) => c == d && wildcard(rest, tail),
        (Some(_), None) => false,
    }
}

/// The Dockerfile's instructions, continuation lines joined.
fn dockerfile() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let mut out = Vec::new();
    let mut line = String::new();
    for l in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        match l.strip_suffix('\\') {
            Some(part) => line.push_str(part),
            None => {
                line.push_str(l);
                let joined = std::mem::take(&mut line);
                if let Some((op, rest)) = joined.trim().split_once(' ') {
                    out.push((op.to_uppercase(), rest.trim().to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn the_image_builds_dependencies_first_from_a_context_without_target() {
    let root = repo();
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let members: Vec<&str> = manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let steps = dockerfile();
    let build_stage_end = steps
        .iter()
        .skip(1)
        .position(|(op, _)| op == "FROM")
        .unwrap()
        + 1;
    let build = &steps[..build_stage_end];
    let sources_at = build
        .iter()
        .position(|(op, args)| op == "COPY" && args == ". .")
        .expect("the sources copied whole");
    let (deps, sources) = build.split_at(sources_at);
    // The dependency layer: the manifests and the lock file, then a locked build.
    let copied: BTreeSet<&str> = deps
        .iter()
        .filter(|(op, _)| op == "COPY")
        .flat_map(|(_, args)| {
            let words: Vec<&str> = args.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    for file in ["Cargo.toml", "Cargo.lock"] {
        assert!(copied.contains(file), "the dependency layer lacks {file}");
    }
    for m in &members {
        assert!(
            copied.contains(format!("{m}/Cargo.toml").as_str()),
            "the dependency layer lacks {m}/Cargo.toml"
        );
    }
    let cargo_build = |steps: &[(String, String)]| {
        steps
            .iter()
            .rev()
            .find(|(op, args)| op == "RUN" && args.contains("cargo build"))
            .map(|(_, args)| args.clone())
    };
    let deps_build = cargo_build(deps).expect("dependencies built before the sources are copied");
    assert!(deps_build.contains("--locked"), "{deps_build}");
    let build_cmd = |run: &str| run[run.find("cargo build").unwrap()..].to_string();
    let sources_build = cargo_build(sources).expect("the sources built");
    assert_eq!(
        build_cmd(&deps_build),
        build_cmd(&sources_build),
        "the same build twice"
    );
    assert!(
        sources_build.contains("touch"),
        "the sources outdate the empty build: {sources_build}"
    );
    assert!(
        steps[build_stage_end..]
            .iter()
            .any(|(op, args)| op == "COPY" && args.contains("--from=build")),
        "the runtime image takes only the binary"
    );

    // The context is the repository root: compose builds it with this Dockerfile.
    let compose = yaml_docs(&root.join("deploy/compose/compose.yaml")).remove(0);
    let build_at = &compose["x-hotline"]["build"];
    assert_eq!(s(build_at, &["dockerfile"]), Some("deploy/Dockerfile"));
    let context = root
        .join("deploy/compose")
        .join(s(build_at, &["context"]).unwrap());
    assert_eq!(
        context.canonicalize().unwrap(),
        root.canonicalize().unwrap()
    );
    let ignore = DockerIgnore::read(&root.join(".dockerignore"));
    for out in [
        "target/release/hotline",
        "crates/sim/target/x",
        ".git/HEAD",
        "deploy/compose/pki/ca.key",
        "pki/service-city.key",
        "hotline-data/city.db",
    ] {
        assert!(
            ignore.excludes(out),
            ".dockerignore lets {out} into the image's context"
        );
    }
    // And keeps what the build reads: every file of the workspace's
    // crates, the topology, and what the Dockerfile copies.
    let mut needed: Vec<String> = copied.iter().map(|c| c.to_string()).collect();
    needed.push("topology/demo-city.toml".into());
    for dir in members.iter().copied().chain(["src"]) {
        let mut found = Vec::new();
        files(&root.join(dir), &mut found);
        needed.extend(
            found
                .iter()
                .map(|p| {
                    p.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .filter(|p| !p.split('/').any(|part| part == "target")),
        );
    }
    assert!(needed.len() > 100, "{} files", needed.len());
    for file in needed {
        assert!(
            !ignore.excludes(&file),
            ".dockerignore leaves out {file}, which the build reads"
        );
    }
}
