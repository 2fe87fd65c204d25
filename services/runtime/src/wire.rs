//! Domain ↔ wire conversions shared by every tier, in one place.

use crate::tables::assignments::Assignment;
use hotline_core::{
    AssignmentState, Channel, Disposition, EmergencyLine, LegalChannel, Micros, Mood,
    ObjectionState, OrderState, ReplyOutcome, RequestKind, RiskLevel, Role, RulingKind,
    Satisfaction, Tier, Urgency, WhistleKind,
};
use hotline_proto::v1 as pb;

use crate::error::{Result, ServiceError};

/// A domain enum with a wire twin.
pub trait WireEnum: Sized + Copy {
    fn to_wire(self) -> i32;
    fn from_wire(v: i32) -> Option<Self>;
}

macro_rules! wire_enum {
    ($core:ty, $wire:ty, { $($c:ident => $w:ident),+ $(,)? }) => {
        impl WireEnum for $core {
            fn to_wire(self) -> i32 {
                match self { $(<$core>::$c => <$wire>::$w as i32),+ }
            }
            fn from_wire(v: i32) -> Option<Self> {
                match <$wire>::try_from(v).ok()? { $(<$wire>::$w => Some(<$core>::$c),)+ _ => None }
            }
        }
    };
}

wire_enum!(hotline_core::scoring::PeerGroup, pb::PeerGroup, { Townships => Townships, Districts => Districts, CityDepartments => CityDepartments, DistrictDepartments => DistrictDepartments, Enterprises => Enterprises, CentralUnits => CentralUnits });
wire_enum!(Tier, pb::Tier, { City => City, District => District, Township => Township, Community => Community, Department => Department, Central => Central });
wire_enum!(Channel, pb::Channel, { Phone => Phone, Web => Web, App => App, MessageBoard => MessageBoard, MiniProgram => MiniProgram });
wire_enum!(RequestKind, pb::RequestKind, { Consultation => Consultation, Help => Help, Complaint => Complaint, Report => Report, Suggestion => Suggestion, ProactiveTask => ProactiveTask });
wire_enum!(Mood, pb::Mood, { Calm => Calm, Anxious => Anxious, Angry => Angry });
wire_enum!(hotline_core::RequestMark, pb::RequestMark, { Unreasonable => Unreasonable, Malicious => Malicious });
wire_enum!(RiskLevel, pb::RiskLevel, { Low => Low, Medium => Medium, High => High, Critical => Critical });
wire_enum!(Urgency, pb::Urgency, { Emergency => Emergency, Utility => Utility, General => General, Complex => Complex });
wire_enum!(OrderState, pb::OrderState, {
    Received => Received, Classified => Classified, Answered => Answered, Disposed => Disposed,
    Dispatched => Dispatched, InProgress => InProgress, Replied => Replied, CalledBack => CalledBack,
    Closed => Closed, Reopened => Reopened, Withdrawn => Withdrawn,
});
wire_enum!(Role, pb::AssignmentRole, { Lead => Lead, CoHandler => CoHandler, Assist => Assist, Copy => Copy });
wire_enum!(AssignmentState, pb::AssignmentState, {
    Dispatched => Dispatched, Accepted => Accepted, Contacted => Contacted, InProgress => InProgress,
    Replied => Replied, Objected => Objected, Revoked => Revoked,
});
wire_enum!(ReplyOutcome, pb::ReplyOutcome, { Resolved => Resolved, PartlyResolved => PartlyResolved, Explained => Explained });
wire_enum!(WhistleKind, pb::WhistleKind, { Daily => Daily, Tough => Tough, Emergency => Emergency });
wire_enum!(Satisfaction, pb::Satisfaction, { Satisfied => Satisfied, BasicallySatisfied => BasicallySatisfied, Dissatisfied => Dissatisfied });
wire_enum!(Disposition, pb::Disposition, {
    EmergencyTransfer => EmergencyTransfer, LegalChannel => LegalChannel, Duplicate => Duplicate,
    SecretsPrivacy => SecretsPrivacy, OutsideDuty => OutsideDuty, Unlawful => Unlawful,
});
wire_enum!(EmergencyLine, pb::EmergencyLine, { Police => Police110, Fire => Fire119, Ambulance => Ambulance120, TrafficPolice => TrafficPolice122 });
wire_enum!(LegalChannel, pb::LegalChannel, {
    Litigation => Litigation, Arbitration => Arbitration, DisciplineInspection => DisciplineInspection,
    AdministrativeReview => AdministrativeReview, InformationDisclosure => InformationDisclosure, Petition => Petition,
});
wire_enum!(RulingKind, pb::RulingKind, { Keep => Keep, Redirect => Redirect, Joint => Joint });
wire_enum!(ObjectionState, pb::ObjectionState, { Pending => Pending, Ruled => Ruled, Superseded => Superseded });
wire_enum!(hotline_core::kinds::NoticeKind, pb::NoticeKind, {
    Warning => Warning, Supervision => Supervision, Escalation => Escalation, Urge => Urge,
    WhistleSummons => WhistleSummons, CheckInMissed => CheckInMissed, CoHandlerReport => CoHandlerReport,
    ExtensionRequest => ExtensionRequest, ExtensionDecision => ExtensionDecision,
    AcceptOverdue => AcceptOverdue, ContactOverdue => ContactOverdue, CallbackResult => CallbackResult,
    Supplemented => Supplemented, Withdrawn => Withdrawn,
});
wire_enum!(hotline_core::kinds::InboxEventKind, pb::InboxEventKind, {
    Dispatched => Dispatched, Revoked => Revoked, Extended => Extended, Urged => Urged,
    Whistled => Whistled, DeadlineWarning => DeadlineWarning, CallbackResult => CallbackResult,
    Supplemented => Supplemented, Withdrawn => Withdrawn, Notice => Notice,
});

/// A required wire enum field: unset or unknown → INVALID_ARGUMENT.
pub fn required_enum<T: WireEnum>(field: &str, v: i32) -> Result<T> {
    T::from_wire(v).ok_or_else(|| {
        ServiceError::invalid(
            field,
            if v == 0 {
                "required".to_string()
            } else {
                format!("unknown value {v}")
            },
        )
    })
}

/// An optional wire enum filter: unset → None.
pub fn optional_enum<T: WireEnum>(field: &str, v: i32) -> Result<Option<T>> {
    if v == 0 {
        Ok(None)
    } else {
        required_enum(field, v).map(Some)
    }
}

pub fn ts(us: Micros) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: us.div_euclid(1_000_000),
        nanos: (us.rem_euclid(1_000_000) * 1000) as i32,
    }
}

pub fn opt_ts(us: Option<Micros>) -> Option<prost_types::Timestamp> {
    us.map(ts)
}

pub fn micros(t: &prost_types::Timestamp) -> Micros {
    t.seconds * 1_000_000 + (t.nanos as i64) / 1000
}

pub fn assignment_to_wire(a: &Assignment) -> pb::Assignment {
    pb::Assignment {
        order_id: a.order_id.clone(),
        unit_id: a.unit_id.clone(),
        role: a.role.to_wire(),
        state: a.state.to_wire(),
        epoch: a.epoch as u64,
        dispatched_time: Some(ts(a.dispatched_us)),
        accepted_time: opt_ts(a.accepted_us),
        contacted_time: opt_ts(a.contacted_us),
        replied_time: opt_ts(a.replied_us),
        due_time: Some(ts(a.due_us)),
        outcome: a.outcome.map(|o| o.to_wire()).unwrap_or(0),
        reply_text: a.reply_text.clone(),
        progress_note: a.progress_note.clone(),
        category_code: a.category_code.clone(),
        urgency: a.urgency.to_wire(),
        address: a.address.clone(),
        text: a.body.clone(),
        requester_ref: a.requester_ref.clone(),
        kind: a.kind.to_wire(),
        trace_parent: a.trace_parent.clone(),
        designated: a.designated,
        lead_unit: a.lead_unit.clone(),
        parts: Vec::new(),
    }
}

/// An assignment as the city delivers it; checks every field it needs.
pub fn assignment_from_wire(a: &pb::Assignment, order_seq: u64) -> Result<Assignment> {
    let field = |f: &str| format!("assignment.{f}");
    crate::error::required(&field("order_id"), &a.order_id)?;
    crate::error::required(&field("unit_id"), &a.unit_id)?;
    if a.epoch == 0 {
        return Err(ServiceError::invalid(field("epoch"), "must be at least 1"));
    }
    let time = |f: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .map(micros)
            .ok_or_else(|| ServiceError::invalid(field(f), "required"))
    };
    Ok(Assignment {
        order_id: a.order_id.clone(),
        unit_id: a.unit_id.clone(),
        role: required_enum(&field("role"), a.role)?,
        state: required_enum(&field("state"), a.state)?,
        epoch: a.epoch as i64,
        order_seq: order_seq as i64,
        dispatched_us: time("dispatched_time", &a.dispatched_time)?,
        accepted_us: a.accepted_time.as_ref().map(micros),
        contacted_us: a.contacted_time.as_ref().map(micros),
        replied_us: a.replied_time.as_ref().map(micros),
        due_us: time("due_time", &a.due_time)?,
        outcome: optional_enum(&field("outcome"), a.outcome)?,
        reply_text: a.reply_text.clone(),
        progress_note: a.progress_note.clone(),
        category_code: a.category_code.clone(),
        urgency: required_enum(&field("urgency"), a.urgency)?,
        address: a.address.clone(),
        body: a.text.clone(),
        requester_ref: a.requester_ref.clone(),
        kind: required_enum(&field("kind"), a.kind)?,
        designated: a.designated,
        lead_unit: a.lead_unit.clone(),
        requested_due_us: None,
        extensions: 0,
        trace_parent: a.trace_parent.clone(),
    })
}

/// One page of a list (AIP-158): the size asked for and the opaque token
/// naming the last key of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub size: i64,
    pub after: String,
}

impl Page {
    /// Size 1..=500, 50 when unset; a token this service issued, or none.
    pub fn parse(page_size: i32, page_token: &str) -> Result<Self> {
        let size = match page_size {
            0 => 50,
            1..=500 => page_size as i64,
            _ => {
                return Err(ServiceError::invalid(
                    "page_size",
                    "must be between 1 and 500",
                ));
            }
        };
        let after = if page_token.is_empty() {
            String::new()
        } else {
            page_token
                .strip_prefix("k:")
                .map(str::to_string)
                .ok_or_else(|| {
                    ServiceError::invalid("page_token", "not a token this service issued")
                })?
        };
        Ok(Self { size, after })
    }

    /// How many rows to read: one more than the page, to know if more follow.
    pub fn limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts the rows read to the page and makes the next token (empty on
    /// the last page).
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> &str) -> (Vec<T>, String) {
        if rows.len() as i64 <= self.size {
            return (rows, String::new());
        }
        rows.truncate(self.size as usize);
        let next = rows
            .last()
            .map(|r| format!("k:{}", key(r)))
            .unwrap_or_default();
        (rows, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_and_times_round_trip() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::from_wire(s.to_wire()), Some(*s));
        }
        assert_eq!(Urgency::from_wire(0), None);
        // Stored notice and inbox event kinds are their wire names without
        // the prefix.
        use hotline_core::kinds::{InboxEventKind, NoticeKind};
        for k in NoticeKind::ALL {
            let w = pb::NoticeKind::try_from(k.to_wire()).unwrap();
            assert_eq!(w.as_str_name(), format!("NOTICE_KIND_{k}"));
            assert_eq!(NoticeKind::from_wire(k.to_wire()), Some(*k));
        }
        for k in InboxEventKind::ALL {
            let w = pb::InboxEventKind::try_from(k.to_wire()).unwrap();
            assert_eq!(w.as_str_name(), format!("INBOX_EVENT_KIND_{k}"));
            assert_eq!(InboxEventKind::from_wire(k.to_wire()), Some(*k));
        }
        assert!(required_enum::<Urgency>("urgency", 0).is_err());
        assert_eq!(optional_enum::<AssignmentState>("state", 0).unwrap(), None);
        for us in [0, 1, -1, 1_700_000_000_123_456] {
            assert_eq!(micros(&ts(us)), us);
        }
        let p = Page::parse(2, "").unwrap();
        let (rows, next) = p.finish(vec!["a", "b", "c"], |s| s);
        assert_eq!((rows, next.as_str()), (vec!["a", "b"], "k:b"));
        assert_eq!(Page::parse(2, &next).unwrap().after, "b");
        assert_eq!(
            p.finish(vec!["a", "b"], |s| s).1,
            "",
            "the last page has no token"
        );
        assert!(Page::parse(0, "garbage").is_err());
        assert!(Page::parse(501, "").is_err());
    }
}
