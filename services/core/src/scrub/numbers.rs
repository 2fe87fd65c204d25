//! Phone and id numbers: chains of digit groups joined by short separator
//! runs, each read from a group's start and taken only whole.

use std::ops::Range;

use super::{Hit, Kind, MAX_GAP, Scrubber};

/// What may stand between the digit groups of one number.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '-' | '.' | '(' | ')')
}

/// Longest digit string a number is looked for in (0086 + a landline with
/// its area code is 16).
const MAX_DIGITS: usize = 20;

impl Scrubber {
    /// Phone and id numbers: every chain of digit groups joined by short
    /// separator runs, read from each group's start.
    pub(super) fn numbers_in(&self, t: &[char], hits: &mut Vec<Hit>) {
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
