//! `hotline bench triage`: the text triage model (hotline-triage) as the
//! centre builds it for the generated Beijing catalogue, measured on the
//! held-apart evaluation set it never learnt from: top-1 and top-3
//! accuracy, by category, the pairs it confuses most and how many
//! suggestions a second one core gives. Beside them, the model's
//! cross-validated figures on its own training set, for the gap between
//! tidy operator summaries and callers' own words.

use std::time::{Duration, Instant};

use clap::Args;
use hotline_client::duration::human;
use hotline_core::Topology;
use hotline_triage::{Evaluation, LabelledSet, Settings, Triage, evaluate};
use serde_json::json;

#[derive(Args, Clone)]
pub struct TriageArgs {
    /// Passes over the evaluation set for the throughput figure.
    #[arg(long, default_value_t = 5)]
    pub repeat: u32,
    /// How many of the most confused pairs to list.
    #[arg(long, default_value_t = 10)]
    pub confused: usize,
    #[arg(long)]
    pub json: bool,
}

/// The evaluation set's codes missing from `topology`'s catalogue.
fn unknown_codes<'a>(topology: &Topology, eval: &'a LabelledSet) -> Vec<&'a str> {
    eval.codes()
        .into_iter()
        .filter(|c| topology.item(c).is_none())
        .collect()
}

pub fn run(a: TriageArgs) -> anyhow::Result<()> {
    let topology = crate::scoring::beijing()?;
    let eval = LabelledSet::evaluation();
    let unknown = unknown_codes(&topology, &eval);
    anyhow::ensure!(
        unknown.is_empty(),
        "eval.tsv names items the Beijing catalogue lacks: {}",
        unknown.join(", ")
    );
    // What the centre trains on: the training requests of its catalogue.
    let train = LabelledSet::training().only(|c| topology.item(c).is_some());
    let started = Instant::now();
    let model = Triage::train(&train);
    let train_secs = started.elapsed().as_secs_f64();
    let cv = Triage::cross_validate(&train, Settings::default());
    let r = evaluate(&model, &eval);
    let started = Instant::now();
    let mut suggested = 0u64;
    for _ in 0..a.repeat.max(1) {
        for e in &eval.examples {
            suggested += model.suggest(&e.text, 3).len().min(1) as u64;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let per_second = suggested as f64 / secs.max(1e-9);
    let confused = &r.confusions[..a.confused.min(r.confusions.len())];
    if a.json {
        println!(
            "{}",
            json!({
                "requests": r.requests,
                "items": r.items,
                "model_items": model.codes().len(),
                "top1": r.top1,
                "top3": r.top3,
                "chance_top1": 1.0 / model.codes().len().max(1) as f64,
                "categories": r.categories.iter().map(|c| json!({
                    "category": c.category, "requests": c.requests, "top1": c.top1, "top3": c.top3,
                })).collect::<Vec<_>>(),
                "confused": confused.iter().map(|c| json!({
                    "truth": c.truth, "predicted": c.predicted, "count": c.count,
                })).collect::<Vec<_>>(),
                "suggestions_per_second": per_second.round(),
                "training": {
                    "requests": train.len(),
                    "items": model.codes().len(),
                    "seconds": train_secs,
                    "temperature": model.temperature(),
                    "cross_validation": {"folds": cv.folds, "top1": cv.top1, "top3": cv.top3},
                },
            })
        );
        return Ok(());
    }
    print_text(&r, confused, &model, &train, &cv, train_secs, per_second);
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn print_text(
    r: &Evaluation,
    confused: &[hotline_triage::eval::Confusion],
    model: &Triage,
    train: &LabelledSet,
    cv: &hotline_triage::CrossValidation,
    train_secs: f64,
    per_second: f64,
) {
    println!(
        "triage on the held-apart set (services/triage/data/eval.tsv): {} requests over {} items",
        r.requests, r.items
    );
    println!(
        "  top-1 {}   top-3 {}   (chance {} among the {} items the model knows)",
        pct(r.top1),
        pct(r.top3),
        pct(1.0 / model.codes().len().max(1) as f64),
        model.codes().len()
    );
    println!(
        "  trained on {} requests in {}; {}-fold cross-validation on them: top-1 {}, top-3 {}",
        train.len(),
        human(Duration::from_secs_f64(train_secs)),
        cv.folds,
        pct(cv.top1),
        pct(cv.top3)
    );
    println!("  {per_second:.0} suggestions/s on one core");
    println!("\nby category:");
    println!(
        "  {:<14} {:>8} {:>8} {:>8}",
        "category", "requests", "top-1", "top-3"
    );
    for c in &r.categories {
        println!(
            "  {:<14} {:>8} {:>8} {:>8}",
            c.category,
            c.requests,
            pct(c.top1),
            pct(c.top3)
        );
    }
    println!("\nmost confused (true → predicted, count):");
    for c in confused {
        println!("  {} → {}  {}", c.truth, c.predicted, c.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item of the held-apart set is in the generated Beijing
    /// catalogue, so the centre of a Beijing topology trains on each.
    #[test]
    fn every_evaluated_item_is_in_the_generated_beijing_catalogue() {
        let topology = crate::scoring::beijing().unwrap();
        let eval = LabelledSet::evaluation();
        assert_eq!(unknown_codes(&topology, &eval), Vec::<&str>::new());
        let trained = LabelledSet::training().only(|c| topology.item(c).is_some());
        assert_eq!(
            trained.codes(),
            eval.codes(),
            "train covers the evaluated items"
        );
    }
}
