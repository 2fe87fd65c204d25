//! The requester's recorded names.

use super::{Hit, Kind, MAX_GAP, Scrubber, is_name_joiner};

impl Scrubber {
    /// The recorded names, case-insensitively for Latin letters, with any
    /// spacing between words (none included) and either word order.
    pub(super) fn names_in(&self, t: &[char], hits: &mut Vec<Hit>) {
        for words in &self.names {
            let reversed: Vec<Vec<char>> = words.iter().rev().cloned().collect();
            for order in [words, &reversed] {
                let mut i = 0;
                while i < t.len() {
                    match name_at(t, i, order) {
                        Some(end) => {
                            hits.push(Hit {
                                range: i..end,
                                kind: Kind::Name,
                            });
                            i = end;
                        }
                        None => i += 1,
                    }
                }
                if words.len() < 2 {
                    break;
                }
            }
        }
    }
}

/// Where the name `words` ends if it starts at `i`.
fn name_at(t: &[char], i: usize, words: &[Vec<char>]) -> Option<usize> {
    let latin = |c: char| c.is_ascii_alphanumeric();
    let first = words.first()?.first()?;
    if latin(*first) && i > 0 && latin(t[i - 1]) {
        return None;
    }
    let mut p = i;
    for (n, word) in words.iter().enumerate() {
        if n > 0 {
            let gap = t[p..]
                .iter()
                .take_while(|c| c.is_whitespace() || is_name_joiner(**c))
                .count();
            if gap > MAX_GAP {
                return None;
            }
            p += gap;
        }
        for (k, want) in word.iter().enumerate() {
            // Chinese characters may stand a space apart: 张 伟.
            if k > 0 && !latin(*want) && t.get(p) == Some(&' ') {
                p += 1;
            }
            if t.get(p).map(|c| c.to_ascii_lowercase()) != Some(*want) {
                return None;
            }
            p += 1;
        }
    }
    let last = words.last()?.last()?;
    if latin(*last) && t.get(p).is_some_and(|c| latin(*c)) {
        return None;
    }
    Some(p)
}
