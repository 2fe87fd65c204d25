//! Intake dispositions (Art. 11): emergency transfer, legal channel,
//! duplicate, secrets or privacy, outside any unit's duty, unlawful. Each
//! is recorded with its reason and none is dispatched. Duplicates are also
//! found by the centre itself: the same requester, location and category as
//! an open order within the duplicate window, and no new facts.

use crate::tables::orders::{self, Order};
use hotline_core::disposition::{self, Earlier, Incoming, Particulars};
use hotline_core::{Disposition, EmergencyLine, LegalChannel, Micros, Policy};
use hotline_proto::v1::SubmitRequestRequest;
use hotline_runtime::error::{Result, ServiceError};
use hotline_runtime::wire;
use hotline_store::Conn;

use crate::record::{locked, note};

/// A disposition intake declared, checked before anything is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub kind: Disposition,
    pub line: Option<EmergencyLine>,
    pub channel: Option<LegalChannel>,
    pub reason: String,
}

/// Reads the disposition fields of a submission; particulars given
/// without their disposition, or missing with it, name their field.
pub fn declared(r: &SubmitRequestRequest) -> Result<Option<Declared>> {
    let kind = wire::optional_enum::<Disposition>("disposition", r.disposition)?;
    let line = wire::optional_enum::<EmergencyLine>("emergency_line", r.emergency_line)?;
    let channel = wire::optional_enum::<LegalChannel>("legal_channel", r.legal_channel)?;
    let Some(kind) = kind else {
        if !r.disposition_reason.trim().is_empty() {
            return Err(ServiceError::invalid(
                "disposition",
                "required with a disposition_reason",
            ));
        }
        if line.is_some() || channel.is_some() {
            return Err(ServiceError::invalid(
                "disposition",
                "required with an emergency_line or legal_channel",
            ));
        }
        return Ok(None);
    };
    match kind {
        Disposition::EmergencyTransfer if line.is_none() => {
            return Err(ServiceError::invalid(
                "emergency_line",
                "required for an emergency transfer",
            ));
        }
        Disposition::LegalChannel if channel.is_none() => {
            return Err(ServiceError::invalid(
                "legal_channel",
                "required for a legal-channel referral",
            ));
        }
        _ => {}
    }
    if line.is_some() && kind != Disposition::EmergencyTransfer {
        return Err(ServiceError::invalid(
            "emergency_line",
            format!("does not go with {kind}"),
        ));
    }
    if channel.is_some() && kind != Disposition::LegalChannel {
        return Err(ServiceError::invalid(
            "legal_channel",
            format!("does not go with {kind}"),
        ));
    }
    // A duplicate's reason is the order it repeats; the rest are explained.
    if kind != Disposition::Duplicate && r.disposition_reason.trim().is_empty() {
        return Err(ServiceError::invalid(
            "disposition_reason",
            format!("required: what the requester is told ({kind})"),
        ));
    }
    Ok(Some(Declared {
        kind,
        line,
        channel,
        reason: r.disposition_reason.trim().to_string(),
    }))
}

/// Only a duplicate (matched by category) needs a catalogue item; an
/// emergency or an unlawful request may fit none.
pub fn needs_category(d: Option<&Declared>) -> bool {
    d.is_none_or(|d| d.kind == Disposition::Duplicate)
}

/// The order a request repeats, if any (open, or finished: Art. 11(3)),
/// at its address or location (latitude, longitude).
pub async fn find_repeat(
    conn: &mut Conn,
    requester_ref: &str,
    (address, location): (&str, Option<(f64, f64)>),
    category_code: &str,
    now: Micros,
    policy: &Policy,
) -> Result<Option<Order>> {
    let rows = orders::recent_for_requester(
        conn,
        requester_ref,
        policy.duplicate_since(now),
        policy.finished_repeat_since(now),
    )
    .await?;
    let incoming = Incoming {
        requester_ref,
        address,
        location,
        category_code,
        now,
    };
    let hit = disposition::repeated(rows.iter().map(earlier), incoming, policy)
        .map(|e| e.order_id.to_string());
    Ok(hit.and_then(|id| rows.into_iter().find(|o| o.order_id == id)))
}

fn earlier(o: &Order) -> Earlier<'_> {
    Earlier {
        order_id: &o.order_id,
        requester_ref: &o.requester_ref,
        address: &o.address,
        location: o.location.map(|l| (l.latitude, l.longitude)),
        category_code: &o.category_code,
        received_us: o.received_us,
        state: o.state,
        closed_us: o.closed_us,
    }
}

/// What the new order records: the answer told to the requester and the
/// history detail (no free text in history: the reason may quote the
/// request).
pub fn record(d: &Declared, repeats: Option<&Order>) -> (String, String) {
    let particulars = match (d.line, d.channel, repeats) {
        (Some(line), _, _) => Particulars::Transfer(line),
        (_, Some(c), _) => Particulars::Channel(c),
        (_, _, Some(o)) => Particulars::Repeats(&o.order_id, o.state),
        _ => Particulars::None,
    };
    let told = disposition::told(d.kind, particulars, &d.reason);
    let mut detail = d.kind.to_string();
    match particulars {
        Particulars::Transfer(line) => detail += &format!(" line={line}"),
        Particulars::Channel(c) => detail += &format!(" channel={c}"),
        Particulars::Repeats(id, _) => detail += &format!(" repeats=orders/{id}"),
        Particulars::None => {}
    }
    (told, detail)
}

/// Notes on the repeated order that a request repeated it: the link both
/// ways, for assessment.
pub async fn link(
    conn: &mut Conn,
    original: &str,
    repeat: &str,
    now: Micros,
    city: &str,
) -> Result<()> {
    let mut o = locked(conn, original).await?;
    let detail = format!("orders/{repeat} repeats it without new facts");
    note(conn, &mut o, now, city, "repeated", detail).await?;
    orders::update(conn, &o).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_proto::v1 as pb;

    fn req(d: pb::Disposition) -> SubmitRequestRequest {
        SubmitRequestRequest {
            disposition: d as i32,
            disposition_reason: "told why".into(),
            ..Default::default()
        }
    }

    fn field(e: ServiceError) -> String {
        match e {
            ServiceError::InvalidArgument { field, .. } => field,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn particulars_go_with_their_disposition() {
        assert_eq!(declared(&SubmitRequestRequest::default()).unwrap(), None);
        let e = declared(&req(pb::Disposition::EmergencyTransfer)).unwrap_err();
        assert_eq!(field(e), "emergency_line");
        let mut r = req(pb::Disposition::EmergencyTransfer);
        r.emergency_line = pb::EmergencyLine::Fire119 as i32;
        assert_eq!(
            declared(&r).unwrap().unwrap().line,
            Some(EmergencyLine::Fire)
        );
        r.legal_channel = pb::LegalChannel::Petition as i32;
        assert_eq!(field(declared(&r).unwrap_err()), "legal_channel");
        let e = declared(&req(pb::Disposition::LegalChannel)).unwrap_err();
        assert_eq!(field(e), "legal_channel");
        let mut r = req(pb::Disposition::Unlawful);
        r.disposition_reason.clear();
        assert_eq!(field(declared(&r).unwrap_err()), "disposition_reason");
        r.disposition = pb::Disposition::Duplicate as i32;
        assert!(
            declared(&r).unwrap().is_some(),
            "a duplicate needs no reason"
        );
        let r = SubmitRequestRequest {
            emergency_line: pb::EmergencyLine::Police110 as i32,
            ..Default::default()
        };
        assert_eq!(field(declared(&r).unwrap_err()), "disposition");
    }
}
