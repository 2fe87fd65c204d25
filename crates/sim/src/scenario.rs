//! A scenario file: which city, when and for how long, how citizens ask,
//! how units behave, and the policy switches that override the topology's
//! `[policy]` table (the services read the merged topology, so a switch is
//! a real behaviour change in the mesh, not in the simulator).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use super::behaviour::Behaviours;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The topology file, relative to the scenario; `builtin:demo` for the
    /// demo city built into the binary; `generate:beijing:SEED` for the
    /// generated Beijing-sized city (`hotline topology generate --scale
    /// beijing --seed SEED`), made afresh in the run's directory.
    pub topology: String,
    /// Start of the simulated span, `YYYY-MM-DDTHH:MM` in Asia/Shanghai.
    pub start: String,
    #[serde(default = "one")]
    pub days: f64,
    /// Days the clock runs on after the arrivals stop, with no new
    /// arrivals, so the orders received reach their replies and callbacks
    /// (a general request's limit is 7 days); the run ends sooner once no
    /// behaviour is left to act.
    #[serde(default)]
    pub settle_days: f64,
    #[serde(default = "one_u64")]
    pub seed: u64,
    /// Virtual minutes per step: arrivals of a step are submitted at its
    /// start; behaviours act at step boundaries.
    #[serde(default = "ten")]
    pub step_minutes: f64,
    /// Requests in flight at once (order of submission does not matter:
    /// every decision is keyed by the arrival, not by completion order).
    #[serde(default = "sixteen")]
    pub concurrency: usize,
    pub arrivals: Arrivals,
    #[serde(default)]
    pub behaviour: Behaviours,
    /// Overrides of the topology's `[policy]` table.
    #[serde(default)]
    pub policy: toml::Table,
    #[serde(default)]
    pub proactive: Proactive,
    #[serde(default)]
    pub knowledge: Knowledge,
    /// Requests come as callers' own words without a catalogue code, and
    /// the centre classifies them by text triage (policy `triage_mode =
    /// "auto"` unless the scenario's `[policy]` sets it); see
    /// `hotline_sim::triage`.
    #[serde(default)]
    pub triage: bool,
    /// Where the scenario file was read from (for relative paths).
    #[serde(skip)]
    pub dir: PathBuf,
}

fn one() -> f64 {
    1.0
}
fn one_u64() -> u64 {
    1
}
fn ten() -> f64 {
    10.0
}
fn sixteen() -> usize {
    16
}

/// How citizens ask.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Arrivals {
    /// Contacts (requests and consultations) a day on an average day.
    pub per_day: f64,
    /// Share of contacts that are consultations (58.5 % in 2019–2021).
    pub consultation_share: f64,
    /// Share of located requests drawn near a community border.
    pub near_border_share: f64,
    /// Share of contacts from a requester who called before.
    pub repeat_share: f64,
    /// Of the repeats, share about the same matter at the same place.
    pub repeat_same_matter: f64,
    /// Relative volume per hour of day 0–23 (peaks 9–11 and 14–16).
    pub hour_weights: Vec<f64>,
    /// Relative volume Monday..Sunday.
    pub weekday_weights: Vec<f64>,
    /// Relative volume January..December.
    pub month_weights: Vec<f64>,
    /// Channel shares: phone, web, app, message_board, mini_program.
    pub channels: BTreeMap<String, f64>,
    /// Relative weight of each catalogue category (level 1 code); a
    /// category not named weighs `other_category_weight`.
    pub categories: BTreeMap<String, f64>,
    pub other_category_weight: f64,
    /// Weight of an item by its urgency within a category, for requests.
    pub urgency_weights: BTreeMap<String, f64>,
    /// Requester moods: calm, anxious, angry.
    pub moods: BTreeMap<String, f64>,
    /// Distinct questions a consultation may ask about one catalogue item,
    /// and how concentrated they are (a Zipf exponent: the question of
    /// rank k is asked in proportion to 1 / k^s).
    pub questions_per_item: u32,
    pub question_zipf: f64,
}

impl Default for Arrivals {
    fn default() -> Self {
        let map = |v: &[(&str, f64)]| v.iter().map(|(k, w)| (k.to_string(), *w)).collect();
        Self {
            per_day: 400.0,
            consultation_share: 0.585,
            near_border_share: 0.05,
            repeat_share: 0.08,
            repeat_same_matter: 0.5,
            hour_weights: vec![
                0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 2.2, 3.2, 3.4, 3.0, 2.0, 2.2, 3.1, 3.3,
                3.0, 2.4, 1.8, 1.5, 1.3, 1.0, 0.7, 0.5,
            ],
            weekday_weights: vec![1.15, 1.05, 1.0, 1.0, 1.05, 0.85, 0.8],
            month_weights: vec![
                1.1, 0.9, 1.0, 0.95, 1.0, 1.1, 1.2, 1.2, 1.0, 0.95, 1.05, 1.15,
            ],
            channels: map(&[("phone", 0.907), ("web", 0.093)]),
            // DESIGN.md §9: the published top categories of 2020 (×10k).
            categories: map(&[
                ("epidemic", 107.7),
                ("market", 98.0),
                ("services", 64.8),
                ("housing", 35.0),
                ("property", 26.2),
                ("health", 59.8),
                ("construction", 18.3),
                ("urban", 18.3),
                ("roads", 18.2),
                ("traffic", 27.2),
                ("parking", 20.0),
                ("order", 46.5),
                ("labour", 17.9),
                ("social", 17.8),
                ("education", 35.1),
            ]),
            other_category_weight: 12.0,
            urgency_weights: map(&[
                ("emergency", 0.04),
                ("utility", 0.25),
                ("general", 1.0),
                ("complex", 0.12),
            ]),
            moods: map(&[("calm", 0.7), ("anxious", 0.22), ("angry", 0.08)]),
            questions_per_item: 40,
            question_zipf: 1.0,
        }
    }
}

/// The knowledge base at the start (Art. 31). Units add to it as they
/// answer dispatched consultations (`publish_answer` in their behaviour).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Knowledge {
    /// Per catalogue item without a catalogue answer, how many of its most
    /// asked questions the knowledge base answers on the first day.
    pub seeded_per_item: u32,
}

impl Default for Knowledge {
    fn default() -> Self {
        Knowledge { seeded_per_item: 8 }
    }
}

/// Proactive governance (未诉先办): tasks sent before the complaints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Proactive {
    pub enabled: bool,
    pub tasks: Vec<ProactiveTask>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProactiveTask {
    /// Catalogue category (level 1) code the task addresses.
    pub category: String,
    /// A township or district; the whole city when unset.
    #[serde(default)]
    pub area: Option<String>,
    /// Days after the start when the task is issued.
    #[serde(default)]
    pub from_day: f64,
    /// Share of matching arrivals the task prevents, 0 to 1.
    pub effect: f64,
}

/// Where a scenario named without a path is looked for, in order: the
/// current directory's `scenarios/`; one beside the binary or up to two
/// directories above it (`target/debug/hotline` in a checkout finds the
/// checkout's); and the one of the source tree the binary was built from.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("scenarios")];
    if let Ok(exe) = std::env::current_exe() {
        dirs.extend(exe.ancestors().skip(1).take(3).map(|d| d.join("scenarios")));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios"));
    dirs
}

/// The scenario file `arg` names: a file as given, or a name (`beijing`,
/// `beijing.toml`) looked up in `dirs`. When nothing matches, the error
/// lists the scenarios there are.
pub fn resolve(arg: &Path, dirs: &[PathBuf]) -> anyhow::Result<PathBuf> {
    if arg.is_file() {
        return Ok(arg.to_path_buf());
    }
    if arg.extension().is_none() && arg.with_extension("toml").is_file() {
        return Ok(arg.with_extension("toml"));
    }
    let bare = arg.components().count() == 1;
    if bare {
        let file = if arg.extension().is_some_and(|e| e == "toml") {
            arg.to_path_buf()
        } else {
            arg.with_extension("toml")
        };
        if let Some(found) = dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) {
            return Ok(found);
        }
    }
    let names = available(dirs);
    let listed = if names.is_empty() {
        "no scenarios/ directory found to name one from".to_string()
    } else {
        format!("available by name: {}", names.join(", "))
    };
    if bare {
        anyhow::bail!(
            "scenario: no scenario named {:?}; {listed} (or give a scenario file's path)",
            arg.display().to_string()
        )
    }
    anyhow::bail!("scenario: no file {}; {listed}", arg.display())
}

/// The names of the scenario files in `dirs`, sorted, each once.
pub fn available(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

impl Scenario {
    /// Loads a scenario by file path or by name (see [`resolve`]).
    pub fn load(arg: &Path) -> anyhow::Result<Scenario> {
        let path = &resolve(arg, &search_dirs())?;
        let src = std::fs::read_to_string(path)
            .with_context(|| format!("scenario: {}", path.display()))?;
        let mut s: Scenario =
            toml::from_str(&src).with_context(|| format!("scenario: {}", path.display()))?;
        s.dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> anyhow::Result<()> {
        let a = &self.arrivals;
        anyhow::ensure!(
            self.days > 0.0 && self.days.is_finite(),
            "days: must be positive"
        );
        anyhow::ensure!(
            self.settle_days >= 0.0 && self.settle_days.is_finite(),
            "settle_days: zero or more"
        );
        anyhow::ensure!(self.step_minutes >= 1.0, "step_minutes: at least 1");
        anyhow::ensure!(self.concurrency >= 1, "concurrency: at least 1");
        anyhow::ensure!(a.per_day >= 0.0, "arrivals.per_day: must not be negative");
        anyhow::ensure!(
            a.hour_weights.len() == 24,
            "arrivals.hour_weights: 24 values"
        );
        anyhow::ensure!(
            a.weekday_weights.len() == 7,
            "arrivals.weekday_weights: 7 values"
        );
        anyhow::ensure!(
            a.month_weights.len() == 12,
            "arrivals.month_weights: 12 values"
        );
        for (name, v) in [
            ("consultation_share", a.consultation_share),
            ("near_border_share", a.near_border_share),
            ("repeat_share", a.repeat_share),
            ("repeat_same_matter", a.repeat_same_matter),
        ] {
            anyhow::ensure!((0.0..=1.0).contains(&v), "arrivals.{name}: between 0 and 1");
        }
        anyhow::ensure!(
            a.questions_per_item >= 1,
            "arrivals.questions_per_item: at least 1"
        );
        anyhow::ensure!(
            a.question_zipf >= 0.0 && a.question_zipf.is_finite(),
            "arrivals.question_zipf: zero or more"
        );
        if let Some(k) = self.behaviour.unknown_scale() {
            anyhow::bail!(
                "behaviour.scale.{k}: not a behaviour field (one of {})",
                super::behaviour::Model::FIELDS.join(", ")
            );
        }
        for t in &self.proactive.tasks {
            anyhow::ensure!(
                (0.0..=1.0).contains(&t.effect),
                "proactive.tasks.effect: between 0 and 1"
            );
        }
        Ok(())
    }

    /// The topology source named by the scenario, generated into `work`
    /// when the scenario asks for a generated city.
    pub fn topology_path(&self, work: &Path) -> anyhow::Result<Option<PathBuf>> {
        if self.topology == "builtin:demo" {
            return Ok(None);
        }
        if let Some(seed) = self.topology.strip_prefix("generate:beijing") {
            let seed = match seed.strip_prefix(':') {
                Some(s) => s.parse().context("topology: generate:beijing:SEED")?,
                None => 1,
            };
            std::fs::create_dir_all(work)?;
            let out = work.join("generated-city.toml");
            hotline_topogen::write_beijing(seed, &out)?;
            return Ok(Some(out));
        }
        Ok(Some(self.dir.join(&self.topology)))
    }

    /// The topology text with the scenario's policy merged in, and its
    /// side files (boundaries, calendar) named by absolute path so the
    /// merged file may live anywhere.
    pub fn merged_topology(&self, work: &Path) -> anyhow::Result<String> {
        let (src, dir) = match self.topology_path(work)? {
            Some(p) => (
                std::fs::read_to_string(&p)
                    .with_context(|| format!("topology: {}", p.display()))?,
                p.parent().unwrap_or(Path::new(".")).to_path_buf(),
            ),
            None => (hotline_node::DEMO_TOPOLOGY.to_string(), PathBuf::from(".")),
        };
        let mut t: toml::Table = toml::from_str(&src).context("topology")?;
        for key in ["boundaries", "calendar"] {
            if let Some(toml::Value::String(f)) = t.get(key)
                && f != hotline_core::calendar::CHINA
            {
                let abs = std::path::absolute(dir.join(f))?;
                t.insert(key.into(), toml::Value::String(abs.display().to_string()));
            }
        }
        let policy = t
            .entry("policy")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(policy) = policy else {
            anyhow::bail!("topology: [policy] is not a table");
        };
        for (k, v) in &self.policy {
            policy.insert(k.clone(), v.clone());
        }
        if self.triage && !self.policy.contains_key("triage_mode") {
            policy.insert("triage_mode".into(), toml::Value::String("auto".into()));
        }
        Ok(toml::to_string(&t)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_policy_overrides_the_topology() {
        let s: Scenario = toml::from_str(
            "name = \"x\"\ntopology = \"builtin:demo\"\nstart = \"2026-11-16T00:00\"\n[arrivals]\nper_day = 10\n[policy]\nbounce_limit = 1\narbitration = \"district_first\"\n",
        )
        .unwrap();
        s.check().unwrap();
        let merged = s.merged_topology(Path::new(".")).unwrap();
        let t = hotline_core::Topology::parse("merged", &merged).unwrap();
        assert_eq!(t.policy.bounce_limit, 1);
        assert_eq!(
            t.policy.arbitration,
            hotline_core::policy::Arbitration::DistrictFirst
        );
        assert_eq!(t.policy.objection_window_hours, 2.0, "the rest is kept");
    }

    #[test]
    fn a_scenario_resolves_by_name_or_path() {
        let dir = tempfile::tempdir().unwrap();
        let scenarios = dir.path().join("scenarios");
        std::fs::create_dir(&scenarios).unwrap();
        for name in ["small", "busy"] {
            std::fs::write(scenarios.join(format!("{name}.toml")), "").unwrap();
        }
        std::fs::write(scenarios.join("notes.txt"), "").unwrap();
        let dirs = [dir.path().join("missing"), scenarios.clone()];
        let want = scenarios.join("small.toml");
        assert_eq!(resolve(Path::new("small"), &dirs).unwrap(), want);
        assert_eq!(resolve(Path::new("small.toml"), &dirs).unwrap(), want);
        assert_eq!(resolve(&want, &dirs).unwrap(), want, "a path as given");

        let err = resolve(Path::new("nosuch"), &dirs).unwrap_err().to_string();
        assert!(err.contains("no scenario named \"nosuch\""), "{err}");
        assert!(err.contains("available by name: busy, small"), "{err}");
        let err = resolve(&scenarios.join("gone.toml"), &dirs)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no file") && err.contains("available by name: busy, small"),
            "{err}"
        );
        assert_eq!(
            resolve(&scenarios.join("busy"), &dirs).unwrap(),
            scenarios.join("busy.toml"),
            "a path without its .toml"
        );
    }

    #[test]
    fn the_repository_scenarios_resolve_by_name() {
        for name in ["beijing", "demo", "disputes", "disputes-district-first"] {
            let p = resolve(Path::new(name), &search_dirs()).unwrap();
            assert_eq!(p.file_name().unwrap(), &*format!("{name}.toml"), "{name}");
            let s = Scenario::load(Path::new(name)).unwrap();
            assert!(!s.name.is_empty(), "{name} parsed");
        }
        assert!(available(&search_dirs()).contains(&"beijing".to_string()));
    }

    #[test]
    fn bad_scenarios_name_the_field() {
        let bad =
            "name = \"x\"\ntopology = \"builtin:demo\"\nstart = \"s\"\ndays = 0\n[arrivals]\n";
        let s: Scenario = toml::from_str(bad).unwrap();
        assert!(s.check().unwrap_err().to_string().contains("days"));
        let bad = "name = \"x\"\ntopology = \"builtin:demo\"\nstart = \"s\"\n[arrivals]\nhour_weights = [1]\n";
        let s: Scenario = toml::from_str(bad).unwrap();
        assert!(s.check().unwrap_err().to_string().contains("hour_weights"));
    }
}
