//! What the demo's parts share: the report they fill, the request they
//! submit, and how an order reads as JSON or text (also for `hotline order
//! show` and `hotline export`).

use std::cell::Cell;
use std::time::Duration;

use hotline_proto::v1::*;
use serde_json::Value;

use hotline_client::request_id;
pub use hotline_client::views::{order_json, order_text, state_name};

pub(crate) const WAIT: Duration = Duration::from_secs(30);
pub(crate) const MINUTE: i64 = 60_000_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;

/// What the demo did, as `--json` prints it.
#[derive(Debug, Default, serde::Serialize)]
pub struct DemoReport {
    pub orders: usize,
    pub closed: usize,
    pub answered_at_intake: usize,
    pub reopened: usize,
    /// Cross-unit calls through the gateway.
    pub handoffs: u64,
    /// Every call the gateway forwarded.
    pub calls: u64,
    /// Distinct OS processes that served (the gateway and each service).
    pub processes: usize,
    pub order_ids: Vec<String>,
    /// A message for a superseded epoch was refused.
    pub stale_epoch_refused: bool,
    /// A retried request with the same request_id got the first answer.
    pub retry_same_answer: bool,
    /// Whistles blown, departments that checked in, and that missed.
    pub whistles: usize,
    pub check_ins: usize,
    pub missed_check_ins: usize,
    /// Orders whose handler clock passed its limit.
    pub overdue: usize,
    /// Supervision notices (督办) after a breach, and escalations upward.
    pub supervisions: usize,
    pub escalations: usize,
    pub extensions: usize,
    /// Jurisdiction objections recorded, and those ruled.
    pub objections: usize,
    pub rulings: usize,
    /// Objections the rules refused (after the window, by a designated handler).
    pub objections_refused: usize,
    /// Orders that reached the bounce limit, the centre designating the handler.
    pub bounce_limit_hits: usize,
    /// Orders dispatched to two leads (territory and department).
    pub dual_dispatches: usize,
    /// Orders intake disposed of without dispatch, per kind.
    pub dispositions: std::collections::BTreeMap<String, usize>,
    /// Hand-downs to a community the duty list refused.
    pub hand_downs_refused: usize,
    /// An order located near a township border: who owns it, and the
    /// neighbours recorded.
    pub border_case: Value,
    pub unit_reports: Vec<Value>,
    pub calls_by_tier_pair: Vec<Value>,
    /// `hotline trace --json` of the whistled order.
    pub trace_sample: Value,
    /// The month's scorecard (own orders) of every unit that had orders.
    pub scorecards: Vec<Value>,
    /// The month's rankings, per peer group, best first.
    pub rankings: Value,
    #[serde(skip)]
    pub ranking_table: String,
    /// The whistled order (two departments summoned).
    pub whistled_order: String,
    /// Problem-of-the-month candidates of the city, with their four
    /// degrees and risk level.
    pub problems: Vec<Value>,
    /// Proactive tasks, with matching requests before and after.
    pub proactive_tasks: Vec<Value>,
    /// The proactive-analytics summary, as printed.
    #[serde(skip)]
    pub proactive_summary: String,
    /// The knowledge base: entries, consultations and the share answered
    /// at intake.
    pub knowledge_base: Value,
    /// Reads of requester identity audited, and orders exported (Art. 28).
    pub audit_entries: usize,
    pub exported_orders: usize,
    pub wall_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

/// The demo's narration: each step numbered once, in the order the steps
/// run, whichever part of the demo runs them.
pub(crate) struct Story {
    talk: bool,
    told: Cell<usize>,
}

impl Story {
    pub(crate) fn new(talk: bool) -> Story {
        Story {
            talk,
            told: Cell::new(0),
        }
    }

    /// The next step, numbered.
    pub(crate) fn step(&self, text: impl AsRef<str>) {
        let n = self.told.get() + 1;
        self.told.set(n);
        if self.talk {
            println!("{n}. {}", text.as_ref());
        }
    }

    /// More about the step just told, indented under it.
    pub(crate) fn more(&self, text: impl AsRef<str>) {
        if self.talk {
            println!("   {}", text.as_ref());
        }
    }
}

/// `n` with its noun: "1 entry", "2 entries".
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// An order's state as a word: `closed`, `in progress`.
pub(crate) fn state_word(s: i32) -> String {
    word(state_name(s))
}

/// A wire name as a word: `CHECKED_IN` → `checked in`.
pub(crate) fn word(name: &str) -> String {
    name.to_lowercase().replace('_', " ")
}

pub(crate) fn submit_req(
    category: &str,
    address: &str,
    kind: RequestKind,
    text: &str,
    name: &str,
    phone: &str,
) -> SubmitRequestRequest {
    SubmitRequestRequest {
        request_id: request_id(),
        channel: Channel::Phone as i32,
        kind: kind as i32,
        requester: Some(Requester {
            name: name.into(),
            phone: phone.into(),
            ..Default::default()
        }),
        text: text.into(),
        category_code: category.into(),
        address: address.into(),
        ..Default::default()
    }
}
