//! The labelled requests, `code<TAB>text` a line (`#` starts a comment):
//! what the model learns from (`data/train.tsv`) and the held-apart set it
//! is measured on (`data/eval.tsv`), both embedded in the binary.

use std::collections::BTreeSet;
use std::fmt;

/// One labelled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The catalogue item, `category.subcategory.item`.
    pub code: String,
    pub text: String,
}

/// Labelled requests, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelledSet {
    pub examples: Vec<Example>,
}

/// A line the parser refuses, by file and line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub file: String,
    pub line: usize,
    pub reason: &'static str,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

impl std::error::Error for DataError {}

const TRAIN: &str = include_str!("../data/train.tsv");
const EVAL: &str = include_str!("../data/eval.tsv");

impl LabelledSet {
    /// Parses `code<TAB>text` lines; blank lines and `#` comments are
    /// skipped.
    pub fn parse(file: &str, src: &str) -> Result<Self, DataError> {
        let mut examples = Vec::new();
        for (i, line) in src.lines().enumerate() {
            let err = |reason| DataError {
                file: file.to_string(),
                line: i + 1,
                reason,
            };
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (code, text) = line.split_once('\t').ok_or(err("no tab after the code"))?;
            let (code, text) = (code.trim(), text.trim());
            if code.is_empty() || code.contains(char::is_whitespace) {
                return Err(err("the code is empty or holds a space"));
            }
            if text.is_empty() {
                return Err(err("no text"));
            }
            examples.push(Example {
                code: code.to_string(),
                text: text.to_string(),
            });
        }
        Ok(Self { examples })
    }

    /// What the model learns from: `data/train.tsv`.
    pub fn training() -> Self {
        Self::parse("train.tsv", TRAIN).expect("data/train.tsv parses (tested)")
    }

    /// The held-apart evaluation set: `data/eval.tsv`. Never trained on.
    pub fn evaluation() -> Self {
        Self::parse("eval.tsv", EVAL).expect("data/eval.tsv parses (tested)")
    }

    /// The examples whose code `keep` accepts: a topology's catalogue.
    pub fn only(&self, keep: impl Fn(&str) -> bool) -> Self {
        Self {
            examples: self
                .examples
                .iter()
                .filter(|e| keep(&e.code))
                .cloned()
                .collect(),
        }
    }

    /// The distinct codes, sorted.
    pub fn codes(&self) -> BTreeSet<&str> {
        self.examples.iter().map(|e| e.code.as_str()).collect()
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The texts labelled `code`, in file order: the simulator's pool of
    /// what callers say about an item.
    pub fn texts_of<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a str> {
        self.examples
            .iter()
            .filter(move |e| e.code == code)
            .map(|e| e.text.as_str())
    }
}

/// The sorted character pairs of a text's letters and ideographs, for
/// near-copy checks: punctuation, spaces and case do not count.
pub fn char_bigrams(text: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = crate::segment::normalise(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let mut pairs: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Jaccard similarity of two sorted, deduplicated pair lists.
pub fn jaccard(a: &[(char, char)], b: &[(char, char)]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_bad_lines_are_named() {
        let s = LabelledSet::parse("t", "# note\n\na.b.c\t路灯不亮\n").unwrap();
        assert_eq!(s.examples.len(), 1);
        assert_eq!(s.examples[0].code, "a.b.c");
        let e = LabelledSet::parse("t", "a.b.c 路灯不亮\n").unwrap_err();
        assert_eq!((e.line, e.reason), (1, "no tab after the code"));
        let e = LabelledSet::parse("t", "# x\na.b.c\t  \n").unwrap_err();
        assert_eq!(e.to_string(), "t:2: no text");
    }

    #[test]
    fn near_copies_are_told_from_other_words() {
        let a = char_bigrams("来电人反映小区路灯不亮。");
        let b = char_bigrams("来电人反映：小区路灯不亮");
        assert_eq!(jaccard(&a, &b), 1.0, "punctuation does not count");
        let c = char_bigrams("我们那条路的路灯好几个都不亮了");
        assert!(jaccard(&a, &c) < 0.3);
    }

    /// The held-apart set is what the brief asks: at least 600 requests
    /// over at least 40 items, each item also trained on, and none a copy
    /// or near-copy of a training line (Jaccard of character pairs above
    /// 0.8). That every code is in the generated Beijing catalogue is
    /// checked where the catalogue is (hotline-bench's triage module).
    #[test]
    fn the_evaluation_set_is_large_varied_and_held_apart() {
        let train = LabelledSet::training();
        let eval = LabelledSet::evaluation();
        assert!(eval.len() >= 600, "{} evaluation requests", eval.len());
        let codes = eval.codes();
        assert!(codes.len() >= 40, "{} items", codes.len());
        let trained = train.codes();
        for code in &codes {
            assert!(
                trained.contains(code),
                "{code} is evaluated but never trained"
            );
            let n = eval.texts_of(code).count();
            assert!(n >= 10, "{code}: only {n} evaluation requests");
        }
        let train_pairs: Vec<(&str, Vec<(char, char)>)> = train
            .examples
            .iter()
            .map(|e| (e.text.as_str(), char_bigrams(&e.text)))
            .collect();
        let mut seen = BTreeSet::new();
        for e in &eval.examples {
            assert!(seen.insert(e.text.as_str()), "twice in eval: {}", e.text);
            let pairs = char_bigrams(&e.text);
            for (t, tp) in &train_pairs {
                let j = jaccard(&pairs, tp);
                assert!(
                    j <= 0.8,
                    "eval {:?} near-copies train {t:?} ({j:.2})",
                    e.text
                );
            }
        }
    }
}
