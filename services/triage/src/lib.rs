//! Text triage (智能派单): from a request's free text, the catalogue items
//! it is likely about, with confidences, and whether its words make it an
//! emergency. Pure: no I/O beyond the training data embedded in the
//! binary; the city centre turns suggestions into intake decisions
//! (services/city, `triage_mode` in the policy). See docs/triage.md.
//!
//! The model is a naive Bayes over jieba-segmented words and character
//! pairs ([`model`]), trained at load from `data/train.tsv` and measured on
//! the held-apart `data/eval.tsv` ([`eval`], `hotline bench triage`).

pub mod cues;
pub mod data;
pub mod eval;
pub mod model;
pub mod segment;

pub use data::{Example, LabelledSet};
pub use eval::{Evaluation, evaluate};
pub use model::{CrossValidation, Settings, Suggestion, Triage};
