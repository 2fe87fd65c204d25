//! Urgency from the text: an item's catalogue urgency, raised to an
//! emergency when the caller says something that endangers life or
//! property now. A short list of unmistakable phrases, not a model: a cue
//! raises, never lowers, and a false alarm costs a faster dispatch.

use hotline_core::Urgency;

/// Phrases that make any request an emergency (DESIGN.md §8: danger to
/// life or property, 2 hours).
pub const EMERGENCY_CUES: &[&str] = &[
    "漏气",
    "燃气泄漏",
    "煤气泄漏",
    "天然气泄漏",
    "煤气味",
    "燃气味",
    "天然气的味",
    "起火",
    "着火",
    "失火",
    "火灾",
    "塌陷",
    "坍塌",
    "被困",
    "困在电梯",
    "困电梯",
    "困在里面",
    "触电",
    "漏电",
    "爆炸",
];

/// The first emergency cue in `text`, if any.
pub fn emergency_cue(text: &str) -> Option<&'static str> {
    EMERGENCY_CUES.iter().copied().find(|c| text.contains(c))
}

/// The urgency of a request about an item of `catalogue` urgency with
/// `text`: an emergency when a cue says so, else the catalogue's.
pub fn urgency(catalogue: Urgency, text: &str) -> Urgency {
    match emergency_cue(text) {
        Some(_) => Urgency::Emergency,
        None => catalogue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_danger_raises_the_urgency() {
        assert_eq!(
            urgency(Urgency::General, "楼道里一股煤气味，是不是漏气了"),
            Urgency::Emergency
        );
        assert_eq!(
            urgency(Urgency::Utility, "电梯停了，有人被困"),
            Urgency::Emergency
        );
        assert_eq!(
            urgency(Urgency::General, "路面塌陷出现大坑"),
            Urgency::Emergency
        );
        assert_eq!(emergency_cue("楼下饭馆着火了"), Some("着火"));
    }

    #[test]
    fn without_a_cue_the_catalogue_urgency_stands() {
        assert_eq!(urgency(Urgency::Utility, "暖气不热"), Urgency::Utility);
        assert_eq!(urgency(Urgency::Complex, "物业纠纷多年"), Urgency::Complex);
        // A cue only raises.
        assert_eq!(urgency(Urgency::Emergency, "井盖丢了"), Urgency::Emergency);
        assert_eq!(emergency_cue("燃气费怎么交"), None);
    }
}
