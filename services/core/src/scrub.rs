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
//! no phone word (电话, 手机, tel, call…) just before it, and a name given in
//! another script than recorded (张伟 recorded, "Zhang Wei" written). Names
//! shorter than two characters are not matched: one character would wipe
//! ordinary words.

use std::borrow::Cow;
use std::ops::Range;

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

/// What may stand between the digit groups of one number.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '-' | '.' | '(' | ')')
}

/// What may stand between the words of a name.
fn is_name_joiner(c: char) -> bool {
    matches!(c, '\u{00B7}' | '-' | '.' | '_')
}

/// Separators allowed between two digit groups.
const MAX_GAP: usize = 3;

/// Longest digit string a number is looked for in (0086 + a landline with
/// its area code is 16).
const MAX_DIGITS: usize = 20;

impl Scrubber {
    /// Phone and id numbers: every chain of digit groups joined by short
    /// separator runs, read from each group's start.
    fn numbers_in(&self, t: &[char], hits: &mut Vec<Hit>) {
        let groups = digit_groups(t);
        let mut k = 0;
        while k < groups.len() {
            let mut end = k + 1;
            while end < groups.len() && joined(t, groups[end - 1].end, groups[end].start) {
                end += 1;
            }
            let chain = &groups[k..end];
            let mut i = 0;
            while i < chain.len() {
                let Some((kind, last)) = self.longest(t, &chain[i..]) else {
                    i += 1;
                    continue;
                };
                let mut range = chain[i].start..last;
                if kind == Kind::Phone {
                    range = widen(t, range);
                }
                while i < chain.len() && chain[i].start < range.end {
                    i += 1;
                }
                hits.push(Hit { range, kind });
            }
            k = end;
        }
    }

    /// The longest number starting at `groups[0]`: its kind and its end.
    fn longest(&self, t: &[char], groups: &[Range<usize>]) -> Option<(Kind, usize)> {
        let mut digits = String::new();
        let mut best = None;
        for (n, g) in groups.iter().enumerate() {
            digits.extend(&t[g.clone()]);
            if digits.len() > MAX_DIGITS {
                break;
            }
            let x_next = matches!(t.get(g.end), Some('X' | 'x'))
                && !t.get(g.end + 1).is_some_and(char::is_ascii_alphanumeric);
            if x_next && digits.len() == 17 && is_id_number(&format!("{digits}X")) {
                best = Some((Kind::IdNumber, g.end + 1));
            } else if is_id_number(&digits) {
                best = Some((Kind::IdNumber, g.end));
            } else if is_mobile(&digits) || self.is_recorded(&digits) {
                best = Some((Kind::Phone, g.end));
            } else if is_landline(&digits) {
                best = Some((Kind::Phone, extension(t, g.end)));
            } else if is_local(&digits)
                && looks_local(&groups[..=n])
                && after_phone_word(t, groups[0].start)
            {
                best = Some((Kind::Phone, g.end));
            }
        }
        best
    }

    fn is_recorded(&self, digits: &str) -> bool {
        digits.len() >= 7
            && self.numbers.iter().any(|n| {
                n == digits
                    || n.ends_with(digits)
                    || (digits.ends_with(n.as_str()) && digits.len() - n.len() <= 4)
            })
    }
}

/// The runs of ASCII digits in `t`.
fn digit_groups(t: &[char]) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i].is_ascii_digit() {
            let start = i;
            while i < t.len() && t[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(start..i);
        } else {
            i += 1;
        }
    }
    groups
}

/// Whether the gap between two digit groups is a short run of separators.
fn joined(t: &[char], from: usize, to: usize) -> bool {
    let gap = &t[from..to];
    !gap.is_empty() && gap.len() <= MAX_GAP && gap.iter().all(|c| is_separator(*c))
}

/// A phone's span with a leading `+` and the parentheses it opened or
/// closed: `(+86) 139…`, `(010)6512…`.
fn widen(t: &[char], mut r: Range<usize>) -> Range<usize> {
    if r.start > 0 && t[r.start - 1] == '+' {
        r.start -= 1;
    }
    let count = |c: char| t[r.clone()].iter().filter(|x| **x == c).count();
    let (open, close) = (count('('), count(')'));
    if close > open && r.start > 0 && t[r.start - 1] == '(' {
        r.start -= 1;
    } else if open > close && t.get(r.end) == Some(&')') {
        r.end += 1;
    }
    r
}

/// A mainland mobile number: 1[3-9] and nine digits, after an optional
/// 86, 0086 or trunk 0.
fn is_mobile(d: &str) -> bool {
    ["", "0", "86", "0086"].iter().any(|p| {
        d.strip_prefix(p).is_some_and(|m| {
            let b = m.as_bytes();
            b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
        })
    })
}

/// A mainland landline: area code (010, 02x, or 0 and three digits) and a
/// 7–8 digit number not starting with 0 or 1; with 86 or 0086 before it,
/// the area code drops its 0.
fn is_landline(d: &str) -> bool {
    let subscriber = |s: &str| {
        (7..=8).contains(&s.len())
            && s.as_bytes()
                .first()
                .is_some_and(|c| (b'2'..=b'9').contains(c))
    };
    let after_area = |s: &str| {
        let b = s.as_bytes();
        let area = match (b.first(), b.get(1)) {
            (Some(b'1'), Some(b'0')) | (Some(b'2'), Some(_)) => 2,
            (Some(b'3'..=b'9'), _) => 3,
            _ => return false,
        };
        s.len() > area && subscriber(&s[area..])
    };
    if let Some(rest) = d.strip_prefix('0')
        && after_area(rest)
    {
        return true;
    }
    ["86", "0086"]
        .iter()
        .any(|p| d.strip_prefix(p).is_some_and(after_area))
}

/// A local number without its area code, which is taken only after a
/// phone word.
fn is_local(d: &str) -> bool {
    (7..=8).contains(&d.len())
        && d.as_bytes()
            .first()
            .is_some_and(|c| (b'2'..=b'9').contains(c))
}

/// A local number is one group or two of three digits or more (`6512 3456`,
/// not the date `2026-12-03`).
fn looks_local(groups: &[Range<usize>]) -> bool {
    groups.len() <= 2 && groups.iter().all(|g| g.len() >= 3)
}

/// Words that announce a phone number, lowercase.
const PHONE_WORDS: &[&str] = &[
    "电话", "手机", "座机", "号码", "联系", "致电", "拨打", "来电", "传真", "tel", "phone", "call",
    "mobile", "fax", "contact",
];

/// Whether a phone word ends shortly before `start`.
fn after_phone_word(t: &[char], start: usize) -> bool {
    let before: String = t[start.saturating_sub(12)..start]
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    PHONE_WORDS.iter().any(|w| before.contains(w))
}

/// A landline's extension: `-801`, `转801`, `ext 801`, `x801`, `分机801`.
fn extension(t: &[char], end: usize) -> usize {
    let mut p = end;
    let skip_space = |p: &mut usize| {
        if t.get(*p) == Some(&' ') {
            *p += 1;
        }
    };
    skip_space(&mut p);
    let rest: String = t[p..(p + 4).min(t.len())]
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let marker = ["ext.", "ext", "分机", "转", "-", "x", "#"]
        .iter()
        .find(|m| rest.starts_with(**m));
    let Some(marker) = marker else {
        return end;
    };
    p += marker.chars().count();
    skip_space(&mut p);
    let digits = t[p..].iter().take_while(|c| c.is_ascii_digit()).count();
    if (1..=5).contains(&digits) {
        p + digits
    } else {
        end
    }
}

/// An 18-character resident id number (GB 11643): 17 digits, a birth date
/// at 7–14, and an ISO 7064 MOD 11-2 check character (0-9 or X).
pub fn is_id_number(s: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let number = |r: Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(6..10), number(10..12), number(12..14));
    (1900..=2099).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && b[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

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

impl Scrubber {
    /// The recorded names, case-insensitively for Latin letters, with any
    /// spacing between words (none included) and either word order.
    fn names_in(&self, t: &[char], hits: &mut Vec<Hit>) {
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

#[cfg(test)]
mod tests;
