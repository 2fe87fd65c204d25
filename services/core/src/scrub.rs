//! Scrubbing free text before it leaves the centre. Request text often
//! holds the requester's number, id number, e-mail or name; a handler
//! reads it with each finding replaced by a placeholder, and the city keeps
//! the original.
//!
//! | found | placeholder |
//! |---|---|
//! | a mainland mobile or landline number, or the requester's recorded one | `[phone]` |
//! | an 18-digit resident id number whose checksum and birth date hold | `[id-number]` |
//! | an e-mail address | `[email]` |
//! | the requester's recorded name | `[name]` |
//!
//! Text is read after folding full-width forms (０-９, ＋, ＠, Ａ-ｚ, the
//! ideographic space) to ASCII, so `１３９` is `139`. Digits may be split by
//! spaces, hyphens, dots and parentheses (`139-5550-1234`,
//! `(010)6512 3456`). A number is taken only whole: it starts and ends
//! where a group of digits does, so `1391234567890` or the date
//! `2026-12-03` is not cut into a phone.
//!
//! Left alone, on purpose: an 18-digit number whose checksum fails (order,
//! invoice and tracking numbers are 18 digits too, and a real id number
//! always passes), 15-digit first-generation id numbers, numbers written
//! in Chinese numerals or spelled out, a bare 7–8 digit local number with
//! no phone word (电话, 手机, tel, call…) just before it, a name given in
//! another script than recorded (张伟 recorded, "Zhang Wei" written), and an
//! e-mail address spelled out ("zhang at example dot com"). Names shorter
//! than two characters are not matched: one character would wipe ordinary
//! words.

mod names;
mod numbers;

use std::borrow::Cow;
use std::ops::Range;

pub use numbers::is_id_number;

/// What was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Phone,
    IdNumber,
    Email,
    Name,
}

impl Kind {
    /// What a handler reads in its place.
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Phone => "[phone]",
            Kind::IdNumber => "[id-number]",
            Kind::Email => "[email]",
            Kind::Name => "[name]",
        }
    }
}

/// One finding: its byte range in the original text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub range: Range<usize>,
    pub kind: Kind,
}

/// Scrubs text of numbers and e-mail addresses, and of one requester's
/// recorded names and phone numbers.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    /// Each name as its words, folded and lowercased.
    names: Vec<Vec<Vec<char>>>,
    /// Recorded phone numbers, digits only.
    numbers: Vec<String>,
}

/// Scrubs `text` of numbers, id numbers, e-mail addresses and `names`.
pub fn scrub<'t>(text: &'t str, names: &[&str]) -> Cow<'t, str> {
    names
        .iter()
        .fold(Scrubber::default(), |s, n| s.name(n))
        .scrub(text)
}

impl Scrubber {
    /// Also scrubs `name` (skipped when shorter than two characters).
    pub fn name(mut self, name: &str) -> Self {
        let words: Vec<Vec<char>> = name
            .chars()
            .map(|c| fold(c).to_ascii_lowercase())
            .collect::<String>()
            .split(|c: char| c.is_whitespace() || is_name_joiner(c))
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().collect())
            .collect();
        if words.iter().map(Vec::len).sum::<usize>() >= 2 && !self.names.contains(&words) {
            self.names.push(words);
        }
        self
    }

    /// Also scrubs the recorded number `phone`, whatever its shape.
    pub fn number(mut self, phone: &str) -> Self {
        let digits: String = phone
            .chars()
            .map(fold)
            .filter(char::is_ascii_digit)
            .collect();
        if digits.len() >= 7 {
            self.numbers.push(digits);
        }
        self
    }

    /// `text` with every finding replaced by its placeholder; borrowed when
    /// nothing was found.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let found = self.findings(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            out.push_str(&text[at..f.range.start]);
            out.push_str(f.kind.placeholder());
            at = f.range.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Scrubs `text` in place.
    pub fn scrub_in_place(&self, text: &mut String) {
        if let Cow::Owned(s) = self.scrub(text) {
            *text = s;
        }
    }

    /// What `text` holds, in order, overlaps merged.
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        let t: Vec<char> = text.chars().map(fold).collect();
        let mut hits = Vec::new();
        self.numbers_in(&t, &mut hits);
        emails_in(&t, &mut hits);
        self.names_in(&t, &mut hits);
        hits.sort_by_key(|h: &Hit| (h.range.start, std::cmp::Reverse(h.range.end)));
        let mut merged: Vec<Hit> = Vec::new();
        for h in hits {
            match merged.last_mut() {
                Some(last) if h.range.start < last.range.end => {
                    last.range.end = last.range.end.max(h.range.end);
                }
                _ => merged.push(h),
            }
        }
        let bytes: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        merged
            .into_iter()
            .map(|h| Finding {
                range: bytes[h.range.start]..bytes[h.range.end],
                kind: h.kind,
            })
            .collect()
    }
}

/// A finding in char positions of the folded text.
struct Hit {
    range: Range<usize>,
    kind: Kind,
}

/// Full-width forms to ASCII, odd spaces to a space, dashes to a hyphen.
fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200B}' | '\u{202F}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => '-',
        '\u{30FB}' | '\u{2022}' => '\u{00B7}',
        _ => c,
    }
}

/// What may stand between the words of a name.
fn is_name_joiner(c: char) -> bool {
    matches!(c, '\u{00B7}' | '-' | '.' | '_')
}

/// Separators allowed between two digit groups.
const MAX_GAP: usize = 3;

/// E-mail addresses: ASCII local part, `@` (or ＠), a dotted domain with a
/// letters-only top-level label.
fn emails_in(t: &[char], hits: &mut Vec<Hit>) {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    for at in (0..t.len()).filter(|i| t[*i] == '@') {
        let mut start = at;
        while start > 0 && local(t[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < t.len() && domain(t[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(t[end - 1], '.' | '-') {
            end -= 1;
        }
        let host: String = t[at + 1..end].iter().collect();
        let labels: Vec<&str> = host.split('.').collect();
        let tld_ok = labels
            .last()
            .is_some_and(|l| l.len() >= 2 && l.chars().all(|c| c.is_ascii_alphabetic()));
        if start < at && labels.len() >= 2 && labels.iter().all(|l| !l.is_empty()) && tld_ok {
            hits.push(Hit {
                range: start..end,
                kind: Kind::Email,
            });
        }
    }
}

#[cfg(test)]
mod tests;
