//! A multinomial naive Bayes over a request's features (its words and
//! character pairs, each counted once per request), with additive
//! smoothing and equal priors: the catalogue's items are not equally
//! frequent, but the training file's counts say nothing of how often each
//! is asked. Scores become confidences through a softmax at a temperature
//! fitted by cross-validation on the training set alone, so a confidence of
//! 0.8 is right about as often as that on requests the model has not seen
//! (naive Bayes alone is far too sure of itself: its features are not
//! independent). Everything is deterministic: the same training set gives
//! the same model and the same suggestions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::data::LabelledSet;
use crate::segment::features;

/// How the model is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Additive (Lidstone) smoothing of the feature counts.
    pub alpha: f64,
    /// Folds of the cross-validation the temperature is fitted on.
    pub folds: usize,
}

impl Default for Settings {
    fn default() -> Self {
        // Chosen by 5-fold cross-validation on the training set's items
        // of the Beijing catalogue (docs/triage.md): top-1 rises from 0.74
        // at 1 to a plateau of about 0.77 from 8 on.
        Settings {
            alpha: 8.0,
            folds: 5,
        }
    }
}

/// A catalogue item the text may be about, with the model's confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub code: String,
    /// The softmax posterior, 0 to 1; the suggestions of one text over
    /// every item sum to 1.
    pub confidence: f64,
}

/// Counts turned into log-likelihoods: a row per feature, a column per
/// item.
#[derive(Debug, Clone, Default)]
struct Bayes {
    classes: usize,
    index: HashMap<String, usize>,
    log_likelihood: Vec<f64>,
}

impl Bayes {
    fn fit<'a>(
        classes: usize,
        docs: impl Iterator<Item = (usize, &'a BTreeSet<String>)>,
        alpha: f64,
    ) -> Self {
        let mut counts: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut totals = vec![0.0; classes];
        for (class, feats) in docs {
            for f in feats {
                counts.entry(f).or_insert_with(|| vec![0.0; classes])[class] += 1.0;
                totals[class] += 1.0;
            }
        }
        let vocabulary = counts.len() as f64;
        let mut index = HashMap::with_capacity(counts.len());
        let mut log_likelihood = Vec::with_capacity(counts.len() * classes);
        for (row, (f, c)) in counts.into_iter().enumerate() {
            index.insert(f.to_string(), row);
            log_likelihood.extend(
                c.iter()
                    .zip(&totals)
                    .map(|(n, total)| ((n + alpha) / (total + alpha * vocabulary)).ln()),
            );
        }
        Bayes {
            classes,
            index,
            log_likelihood,
        }
    }

    /// Log-likelihood of the features under each item; features never
    /// seen in training say nothing and are left out.
    fn scores(&self, feats: &BTreeSet<String>) -> Vec<f64> {
        let mut s = vec![0.0; self.classes];
        for f in feats {
            if let Some(&row) = self.index.get(f) {
                let r = &self.log_likelihood[row * self.classes..(row + 1) * self.classes];
                for (x, l) in s.iter_mut().zip(r) {
                    *x += l;
                }
            }
        }
        s
    }
}

/// Posteriors from scores at `temperature`, summing to 1.
fn softmax(scores: &[f64], temperature: f64) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = scores
        .iter()
        .map(|s| ((s - max) / temperature).exp())
        .collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

/// Item indexes best first; ties in code order (the indexes' order).
fn ranked(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    order
}

/// Cross-validated figures on the training set itself: how the model does
/// on requests written the way it learnt (the held-apart set measures how
/// it does on callers' own words).
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    pub folds: usize,
    pub requests: usize,
    pub top1: f64,
    pub top3: f64,
    /// The softmax temperature that fits the held-out folds best.
    pub temperature: f64,
}

/// The training set cut into features once, items indexed in code order.
struct Prepared {
    codes: Vec<String>,
    docs: Vec<(usize, BTreeSet<String>)>,
}

impl Prepared {
    fn new(set: &LabelledSet) -> Self {
        let codes: Vec<String> = set.codes().into_iter().map(String::from).collect();
        let docs = set
            .examples
            .iter()
            .map(|e| {
                let class = codes
                    .binary_search(&e.code)
                    .expect("every code is among the codes");
                (class, features(&e.text))
            })
            .collect();
        Prepared { codes, docs }
    }

    /// Each example's scores from a model fitted on the other folds
    /// (example i is in fold i mod `folds`: a file grouped by item spreads
    /// each item over every fold).
    fn held_out(&self, settings: Settings) -> Vec<(usize, Vec<f64>)> {
        let k = settings.folds.max(2);
        let mut out = Vec::with_capacity(self.docs.len());
        for fold in 0..k {
            let rest = self
                .docs
                .iter()
                .enumerate()
                .filter(|(i, _)| i % k != fold)
                .map(|(_, (c, f))| (*c, f));
            let bayes = Bayes::fit(self.codes.len(), rest, settings.alpha);
            for (i, (class, feats)) in self.docs.iter().enumerate() {
                if i % k == fold {
                    out.push((*class, bayes.scores(feats)));
                }
            }
        }
        out
    }

    fn cross_validate(&self, settings: Settings) -> CrossValidation {
        let held = self.held_out(settings);
        let n = held.len().max(1) as f64;
        let (mut top1, mut top3) = (0.0, 0.0);
        for (class, scores) in &held {
            let order = ranked(scores);
            top1 += (order.first() == Some(class)) as u8 as f64;
            top3 += order.iter().take(3).any(|c| c == class) as u8 as f64;
        }
        CrossValidation {
            folds: settings.folds.max(2),
            requests: held.len(),
            top1: top1 / n,
            top3: top3 / n,
            temperature: fit_temperature(&held),
        }
    }
}

/// The temperature (on a grid from about 0.04 to 120) that gives the held-out
/// true items the highest mean log-posterior.
fn fit_temperature(held: &[(usize, Vec<f64>)]) -> f64 {
    if held.is_empty() {
        return 1.0;
    }
    let loss = |t: f64| -> f64 {
        held.iter()
            .map(|(class, s)| -softmax(s, t)[*class].max(1e-300).ln())
            .sum::<f64>()
    };
    let grid = (-30..=46).map(|i| 1.11f64.powi(i));
    let mut best = (f64::INFINITY, 1.0);
    for t in grid {
        let l = loss(t);
        if l < best.0 {
            best = (l, t);
        }
    }
    best.1
}

/// The fitted model: suggest catalogue items for a request's text.
#[derive(Debug, Clone, Default)]
pub struct Triage {
    codes: Vec<String>,
    bayes: Bayes,
    temperature: f64,
}

impl Triage {
    /// Fits the model to `set` with the default settings.
    pub fn train(set: &LabelledSet) -> Self {
        Self::train_with(set, Settings::default())
    }

    pub fn train_with(set: &LabelledSet, settings: Settings) -> Self {
        let prepared = Prepared::new(set);
        let temperature = if prepared.codes.len() < 2 {
            1.0
        } else {
            prepared.cross_validate(settings).temperature
        };
        let bayes = Bayes::fit(
            prepared.codes.len(),
            prepared.docs.iter().map(|(c, f)| (*c, f)),
            settings.alpha,
        );
        Triage {
            codes: prepared.codes,
            bayes,
            temperature,
        }
    }

    /// Cross-validates `settings` on `set`: what to tune on, never the
    /// held-apart set.
    pub fn cross_validate(set: &LabelledSet, settings: Settings) -> CrossValidation {
        Prepared::new(set).cross_validate(settings)
    }

    /// The `k` likeliest items for `text`, best first (ties in code order),
    /// with their confidences. None when the model knows no item.
    pub fn suggest(&self, text: &str, k: usize) -> Vec<Suggestion> {
        if self.codes.is_empty() {
            return Vec::new();
        }
        let p = softmax(&self.bayes.scores(&features(text)), self.temperature);
        ranked(&p)
            .into_iter()
            .take(k)
            .map(|i| Suggestion {
                code: self.codes[i].clone(),
                confidence: p[i],
            })
            .collect()
    }

    /// The items the model tells apart, sorted.
    pub fn codes(&self) -> &[String] {
        &self.codes
    }

    pub fn temperature(&self) -> f64 {
        self.temperature
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(src: &str) -> LabelledSet {
        LabelledSet::parse("t", src).unwrap()
    }

    const SMALL: &str = "water.supply.outage\t小区突然停水，没有通知\n\
        water.supply.outage\t整栋楼停水，何时恢复供水\n\
        water.supply.outage\t家里停水一天了\n\
        roads.lights.complaint\t路灯不亮，晚上很黑\n\
        roads.lights.complaint\t路灯坏了一周没人修\n\
        roads.lights.complaint\t这条路的路灯全灭了\n";

    #[test]
    fn suggests_the_item_the_words_belong_to() {
        let t = Triage::train(&set(SMALL));
        let s = t.suggest("我家停水了", 2);
        assert_eq!(s[0].code, "water.supply.outage");
        assert!(s[0].confidence > s[1].confidence);
        let s = t.suggest("路灯不亮了", 1);
        assert_eq!(s[0].code, "roads.lights.complaint");
        assert_eq!(t.codes().len(), 2);
    }

    #[test]
    fn confidences_are_a_distribution_and_deterministic() {
        let t = Triage::train(&LabelledSet::training());
        let all = t.suggest("暖气不热，屋里太冷了", usize::MAX);
        assert_eq!(all.len(), t.codes().len());
        let sum: f64 = all.iter().map(|s| s.confidence).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{sum}");
        assert!(all.windows(2).all(|w| w[0].confidence >= w[1].confidence));
        let again = Triage::train(&LabelledSet::training());
        assert_eq!(
            again.suggest("暖气不热，屋里太冷了", 3),
            t.suggest("暖气不热，屋里太冷了", 3)
        );
        assert_eq!(again.temperature(), t.temperature());
    }

    #[test]
    fn text_the_model_has_no_words_for_is_not_confident() {
        let t = Triage::train(&LabelledSet::training());
        let s = t.suggest("？？？", 1);
        assert!(s[0].confidence < 0.2, "{s:?}");
        assert!(Triage::default().suggest("停水", 3).is_empty());
    }

    #[test]
    fn cross_validation_on_train_is_well_above_chance() {
        let evaluated = LabelledSet::evaluation();
        let codes = evaluated.codes();
        let train = LabelledSet::training().only(|c| codes.contains(c));
        let cv = Triage::cross_validate(&train, Settings::default());
        // 54 items: chance is under 0.02.
        assert!(cv.top1 > 0.6, "{cv:?}");
        assert!(cv.top3 >= cv.top1, "{cv:?}");
    }
}

/// The tool the settings were chosen with: cross-validation on the
/// training set's items of the Beijing catalogue, never the held-apart
/// set. `cargo test -p hotline-triage tuning -- --ignored --nocapture`.
#[cfg(test)]
mod tuning {
    use super::*;

    #[test]
    #[ignore]
    fn print_cross_validation() {
        let evaluated = LabelledSet::evaluation();
        let codes = evaluated.codes();
        let train = LabelledSet::training().only(|c| codes.contains(c));
        for alpha in [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0] {
            let cv = Triage::cross_validate(&train, Settings { alpha, folds: 5 });
            println!("alpha {alpha}: {cv:?}");
        }
    }
}
