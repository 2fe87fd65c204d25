//! Chinese text cut into words with jieba, made for Chinese: 供暖 matches
//! 供暖时间 without spaces between words. The knowledge base searches
//! with [`words`]; the triage model reads [`features`].

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jieba_rs::Jieba;

/// The one segmenter of the process: its dictionary loads once.
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Words too common to tell knowledge entries apart.
const STOP: &[&str] = &[
    "the", "and", "how", "what", "when", "where", "can", "does", "for", "you", "your", "are",
    "是否", "什么", "怎么", "如何", "可以", "请问", "我们", "你们", "一下",
];

/// The words of a text, as knowledge search matches them: lowercase, two
/// characters or more, no punctuation, no stop words; sorted, once each.
pub fn words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let set: BTreeSet<String> = jieba()
        .cut_for_search(&lower, true)
        .into_iter()
        .map(|t| t.word.trim().to_string())
        .filter(|w| w.chars().count() >= 2 && w.chars().all(char::is_alphanumeric))
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect();
    set.into_iter().collect()
}

/// Function words that say nothing of what a request is about. Cue words
/// of a request's kind (咨询, 反映, 投诉) are kept: they tell a question
/// from a complaint about the same thing.
const FUNCTION_WORDS: &[&str] = &[
    "的", "了", "着", "过", "地", "得", "是", "在", "有", "和", "与", "及", "或", "也", "都", "就",
    "还", "又", "很", "太", "吗", "呢", "啊", "吧", "呀", "哦", "嗯", "哈", "啦", "嘛", "这", "那",
    "这个", "那个", "我", "你", "他", "她", "它", "我们", "你们", "他们", "咱们", "一个", "个",
    "把", "被", "给", "让", "跟", "对", "从", "到", "为", "于", "以", "之", "而", "等", "其", "该",
    "此", "喂", "您",
];

/// Full-width letters, digits and signs as their ASCII forms; lowercase.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A CJK ideograph (the unified block and extension A).
fn is_ideograph(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF)
}

/// What the triage model reads of a text, once each: its words (`w:`;
/// no punctuation, numbers or function words), its ideographs (`u:`) and
/// the character pairs inside each run of ideographs (`b:`). Characters
/// and pairs still match where a misspelt character breaks a word (暖汽
/// for 暖气) or where a caller's word is not the dictionary's.
pub fn features(text: &str) -> BTreeSet<String> {
    let text = normalise(text);
    let mut out = BTreeSet::new();
    for t in jieba().cut(&text, true) {
        let w = t.word.trim();
        if w.is_empty()
            || !w.chars().all(char::is_alphanumeric)
            || w.chars().all(|c| c.is_ascii_digit())
            || FUNCTION_WORDS.contains(&w)
        {
            continue;
        }
        out.insert(format!("w:{w}"));
    }
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if is_ideograph(c) {
            out.insert(format!("u:{c}"));
            if let Some(p) = prev {
                out.insert(format!("b:{p}{c}"));
            }
        }
        prev = is_ideograph(c).then_some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_is_segmented_into_words() {
        let w = words("请问今年的供暖时间是什么时候开始？");
        assert!(w.contains(&"供暖".to_string()), "{w:?}");
        assert!(!w.iter().any(|x| x.contains('？')), "{w:?}");
        // The same word matches inside a longer sentence without spaces.
        let entry = words("供暖季从11月15日开始");
        assert!(entry.contains(&"供暖".to_string()), "{entry:?}");
    }

    #[test]
    fn english_words_are_lowercased_without_stop_words() {
        let w = words("How do I renew the Residence Permit?");
        assert!(w.contains(&"residence".to_string()), "{w:?}");
        assert!(!w.contains(&"the".to_string()), "{w:?}");
    }

    #[test]
    fn features_are_words_and_character_pairs_without_noise() {
        let f = features("我家暖气不热！！ＮＵＡＮＱＩ 13800000000");
        assert!(f.contains("w:暖气"), "{f:?}");
        assert!(f.contains("b:暖气") && f.contains("b:不热"), "{f:?}");
        assert!(f.contains("w:nuanqi"), "full width folded: {f:?}");
        assert!(!f.iter().any(|x| x.contains('！')), "{f:?}");
        assert!(
            !f.iter().any(|x| x.contains("138")),
            "numbers say nothing: {f:?}"
        );
        assert!(!f.contains("w:我"), "{f:?}");
        // A misspelt character still leaves the pairs around it.
        let typo = features("暖汽不热");
        assert!(typo.contains("b:不热") && typo.contains("u:暖"), "{typo:?}");
    }
}
