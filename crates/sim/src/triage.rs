//! Text triage in the simulator (`triage = true` in a scenario, or
//! `--triage`): a request whose catalogue item callers have words for is
//! submitted with a caller's own text and no catalogue code, and the
//! centre classifies it (policy `triage_mode = "auto"` unless the scenario
//! sets it). The words come from the triage evaluation set
//! (services/triage/data/eval.tsv), never from what the model learnt, so
//! its mistakes here are the ones it makes on requests it has not seen.
//! Below the confidence threshold the operator confirms the true item (a
//! second SubmitRequest with the code). A request triage misclassified is
//! flagged by its lead, which never starts on it, and the centre corrects
//! it with the real `ReclassifyOrder`: the redirect the report counts.

use std::collections::BTreeMap;

use hotline_geo::tiling::Rng;
use hotline_triage::LabelledSet;
use serde_json::{Value, json};

/// Where the simulated callers' words come from.
pub const TEXT_SOURCE: &str = "services/triage/data/eval.tsv";

/// What callers say about each catalogue item, from the evaluation set.
#[derive(Debug, Clone, Default)]
pub struct TextPool {
    by_item: BTreeMap<String, Vec<String>>,
}

impl TextPool {
    pub fn evaluation() -> Self {
        let mut by_item: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in LabelledSet::evaluation().examples {
            by_item.entry(e.code).or_default().push(e.text);
        }
        TextPool { by_item }
    }

    /// A caller's words about `item`, drawn by `rng`; none when callers
    /// have no words for it here.
    pub fn text(&self, item: &str, rng: &mut Rng) -> Option<&str> {
        let texts = self.by_item.get(item)?;
        Some(texts[rng.below(texts.len())].as_str())
    }
}

/// How a request fared at intake under triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Submitted with its code: no triage (a consultation, or triage off).
    Coded,
    /// Submitted with its code: callers have no words for its item here.
    WithoutText,
    /// Triage chose the item.
    Chosen,
    /// Triage asked, and the operator confirmed the true item.
    Confirmed,
}

/// What triage did over a run (the driver's count; the centre's own
/// records say the same from their history, in the report).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TriageActivity {
    /// Requests submitted as text without a catalogue code.
    pub submitted_as_text: u64,
    /// Of them, those whose item triage chose at intake.
    pub chosen: u64,
    /// Those triage asked the operator to confirm (below the threshold).
    pub confirmed_by_operator: u64,
    /// Chosen items that were not the caller's.
    pub misclassified: u64,
    /// Misclassified orders the centre reclassified to the caller's item.
    pub reclassified: u64,
    /// Requests about items callers have no words for in the pool:
    /// submitted with their code, as without triage.
    pub without_text: u64,
    /// Misclassifications by (true item, chosen item).
    pub confused: BTreeMap<String, u64>,
}

impl TriageActivity {
    pub fn record(&mut self, outcome: Outcome, truth: &str, chosen: &str) {
        match outcome {
            Outcome::Coded => {}
            Outcome::WithoutText => self.without_text += 1,
            Outcome::Chosen => {
                self.submitted_as_text += 1;
                self.chosen += 1;
                if chosen != truth {
                    self.misclassified += 1;
                    *self
                        .confused
                        .entry(format!("{truth} → {chosen}"))
                        .or_default() += 1;
                }
            }
            Outcome::Confirmed => {
                self.submitted_as_text += 1;
                self.confirmed_by_operator += 1;
            }
        }
    }

    /// The report's `triage` part: the driver's counts beside the centre's
    /// (`chosen_in_history`, `reclassified_in_history`, read from the
    /// orders' histories).
    pub fn json(
        &self,
        enabled: bool,
        chosen_in_history: u64,
        reclassified_in_history: u64,
    ) -> Value {
        if !enabled {
            return json!({"enabled": false});
        }
        let mut confused: Vec<(&String, &u64)> = self.confused.iter().collect();
        confused.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let accuracy = if self.chosen == 0 {
            Value::Null
        } else {
            json!(
                ((self.chosen - self.misclassified) as f64 / self.chosen as f64 * 1000.0).round()
                    / 1000.0
            )
        };
        json!({
            "enabled": true,
            "text_source": TEXT_SOURCE,
            "submitted_as_text": self.submitted_as_text,
            "chosen_by_triage": self.chosen,
            "confirmed_by_operator": self.confirmed_by_operator,
            "misclassified": self.misclassified,
            "accuracy_of_chosen": accuracy,
            "reclassified": self.reclassified,
            "without_text": self.without_text,
            "chosen_in_history": chosen_in_history,
            "reclassified_in_history": reclassified_in_history,
            "most_confused": confused.iter().take(10).map(|(k, n)| json!({"pair": k, "count": n})).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_the_evaluation_set_and_draws_are_keyed() {
        let pool = TextPool::evaluation();
        assert!(pool.by_item.len() >= 40);
        let a = pool
            .text("heating.temperature.complaint", &mut Rng::new(7))
            .unwrap()
            .to_string();
        let b = pool
            .text("heating.temperature.complaint", &mut Rng::new(7))
            .unwrap();
        assert_eq!(a, b, "the same draw for the same key");
        assert!(
            LabelledSet::evaluation()
                .examples
                .iter()
                .any(|e| e.text == a)
        );
        assert!(pool.text("no.such.item", &mut Rng::new(7)).is_none());
    }

    #[test]
    fn outcomes_are_counted() {
        let mut t = TriageActivity::default();
        t.record(Outcome::Chosen, "a.b.c", "a.b.c");
        t.record(Outcome::Chosen, "a.b.c", "x.y.z");
        t.record(Outcome::Confirmed, "a.b.c", "a.b.c");
        t.record(Outcome::Coded, "a.b.c", "a.b.c");
        t.record(Outcome::WithoutText, "a.b.c", "a.b.c");
        assert_eq!((t.submitted_as_text, t.chosen, t.misclassified), (3, 2, 1));
        assert_eq!((t.confirmed_by_operator, t.without_text), (1, 1));
        let j = t.json(true, 2, 1);
        assert_eq!(j["accuracy_of_chosen"], 0.5);
        assert_eq!(j["most_confused"][0]["pair"], "a.b.c → x.y.z");
        assert_eq!(t.json(false, 0, 0)["enabled"], false);
    }
}
