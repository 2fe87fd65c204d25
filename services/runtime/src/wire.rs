//! Domain ↔ wire conversions shared by every tier, in one place.

use hotline_core::{
    AssignmentState, Channel, Micros, OrderState, ReplyOutcome, RequestKind, Role, Satisfaction,
    Tier, Urgency,
};
use hotline_proto::v1 as pb;
use hotline_store::assignments::Assignment;

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

wire_enum!(Tier, pb::Tier, { City => City, District => District, Township => Township, Community => Community, Department => Department });
wire_enum!(Channel, pb::Channel, { Phone => Phone, Web => Web, App => App, MessageBoard => MessageBoard, MiniProgram => MiniProgram });
wire_enum!(RequestKind, pb::RequestKind, { Consultation => Consultation, Help => Help, Complaint => Complaint, Report => Report, Suggestion => Suggestion });
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
wire_enum!(Satisfaction, pb::Satisfaction, { Satisfied => Satisfied, BasicallySatisfied => BasicallySatisfied, Dissatisfied => Dissatisfied });

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
    })
}

/// Opaque page tokens (AIP-158): the last key of the previous page.
pub fn page_token(last_key: Option<&str>) -> String {
    last_key.map(|k| format!("k:{k}")).unwrap_or_default()
}

pub fn page_after(token: &str) -> Result<String> {
    if token.is_empty() {
        return Ok(String::new());
    }
    token
        .strip_prefix("k:")
        .map(str::to_string)
        .ok_or_else(|| ServiceError::invalid("page_token", "not a token this service issued"))
}

/// Page size bounded to 1..=500, 50 when unset.
pub fn page_size(v: i32) -> Result<i64> {
    match v {
        0 => Ok(50),
        1..=500 => Ok(v as i64),
        _ => Err(ServiceError::invalid(
            "page_size",
            "must be between 1 and 500",
        )),
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
        assert!(required_enum::<Urgency>("urgency", 0).is_err());
        assert_eq!(optional_enum::<AssignmentState>("state", 0).unwrap(), None);
        for us in [0, 1, -1, 1_700_000_000_123_456] {
            assert_eq!(micros(&ts(us)), us);
        }
        assert_eq!(page_after(&page_token(Some("HL9"))).unwrap(), "HL9");
        assert!(page_after("garbage").is_err());
    }
}
