//! How well a model does on a labelled set: top-1 and top-3 accuracy,
//! per category, and the pairs it confuses most.

use std::collections::BTreeMap;

use crate::data::LabelledSet;
use crate::model::Triage;

/// One category's share of right answers.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryScore {
    /// The catalogue category (the code's first part).
    pub category: String,
    pub requests: usize,
    pub top1: f64,
    pub top3: f64,
}

/// A true item taken for another, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    pub truth: String,
    pub predicted: String,
    pub count: usize,
}

/// The model's figures on a set it was not trained on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub requests: usize,
    pub items: usize,
    pub top1: f64,
    pub top3: f64,
    /// By category, in code order.
    pub categories: Vec<CategoryScore>,
    /// Every (true, predicted) pair of a wrong top suggestion, most
    /// frequent first, then in code order.
    pub confusions: Vec<Confusion>,
}

fn category(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

fn share(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// Scores `model` on `set`: each text's top three suggestions against its
/// label.
pub fn evaluate(model: &Triage, set: &LabelledSet) -> Evaluation {
    let mut by_category: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut confused: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let (mut top1, mut top3) = (0, 0);
    for e in &set.examples {
        let s = model.suggest(&e.text, 3);
        let first = s.first().is_some_and(|s| s.code == e.code);
        let three = s.iter().any(|s| s.code == e.code);
        top1 += first as usize;
        top3 += three as usize;
        let c = by_category.entry(category(&e.code)).or_default();
        c.0 += 1;
        c.1 += first as usize;
        c.2 += three as usize;
        if let Some(p) = s.first().filter(|_| !first) {
            *confused
                .entry((e.code.as_str(), p.code.clone()))
                .or_default() += 1;
        }
    }
    let mut confusions: Vec<Confusion> = confused
        .into_iter()
        .map(|((truth, predicted), count)| Confusion {
            truth: truth.to_string(),
            predicted,
            count,
        })
        .collect();
    confusions.sort_by_key(|c| std::cmp::Reverse(c.count));
    let n = set.len();
    Evaluation {
        requests: n,
        items: set.codes().len(),
        top1: share(top1, n),
        top3: share(top3, n),
        categories: by_category
            .into_iter()
            .map(|(c, (n, one, three))| CategoryScore {
                category: c.to_string(),
                requests: n,
                top1: share(one, n),
                top3: share(three, n),
            })
            .collect(),
        confusions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_is_scored_against_the_labels() {
        let train = LabelledSet::parse(
            "t",
            "a.x.complaint\t停水了\na.x.complaint\t没有水\nb.y.complaint\t路灯不亮\nb.y.complaint\t路灯坏了\n",
        )
        .unwrap();
        let model = Triage::train(&train);
        let eval =
            LabelledSet::parse("e", "a.x.complaint\t家里停水\nb.y.complaint\t停水\n").unwrap();
        let r = evaluate(&model, &eval);
        assert_eq!((r.requests, r.items), (2, 2));
        assert_eq!(r.top1, 0.5);
        assert_eq!(
            r.top3, 1.0,
            "two items: the right one is always in the top three"
        );
        assert_eq!(
            r.confusions,
            vec![Confusion {
                truth: "b.y.complaint".into(),
                predicted: "a.x.complaint".into(),
                count: 1
            }]
        );
        assert_eq!(r.categories.len(), 2);
        assert_eq!(r.categories[1].top1, 0.0);
    }
}
