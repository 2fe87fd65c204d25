//! What leaves the centre about a requester's order: its text scrubbed of
//! the requester's name, phone, numbers and addresses (Art. 28). Read to
//! remove identity, never to hand it out: not an audited read.

use crate::tables::audit;
use hotline_core::scrub::Scrubber;
use hotline_proto::v1::*;
use hotline_runtime::error::Result;
use hotline_runtime::tables::assignments;
use hotline_store::Conn;

/// The scrubber for text about one requester's order: numbers, id
/// numbers and e-mail addresses, and their recorded name and phone. Read
/// to remove them, never to hand them out: not an audited read.
pub async fn scrubber(conn: &mut Conn, requester_ref: &str) -> Result<Scrubber> {
    let identity = match requester_ref {
        "" => None,
        r => audit::identity(conn, r).await?,
    };
    Ok(identity.map_or_else(Scrubber::default, |(name, phone)| {
        scrubber_of(&name, &phone)
    }))
}

/// The scrubber of a recorded identity already at hand.
pub fn scrubber_of(name: &str, phone: &str) -> Scrubber {
    Scrubber::default().name(name).number(phone)
}

/// An assignment as a handler is given it: its text and address
/// scrubbed, a proactive task's left as written.
pub async fn for_handler(conn: &mut Conn, a: &assignments::Assignment) -> Result<Assignment> {
    let s = scrubber(conn, &a.requester_ref).await?;
    Ok(to_handler(a, &s))
}

/// [`for_handler`] with the requester's scrubber at hand.
pub fn to_handler(a: &assignments::Assignment, s: &Scrubber) -> Assignment {
    let mut w = hotline_runtime::wire::assignment_to_wire(a);
    if a.kind.is_citizen_request() {
        s.scrub_in_place(&mut w.text);
        s.scrub_in_place(&mut w.address);
    }
    w
}

/// An order as a handler reads it: the requester only as its pseudonym,
/// every text scrubbed. A proactive task's text is the issuer's
/// instructions to units, with no requester in it: it is left as written.
pub fn scrubbed(mut o: Order, s: &Scrubber) -> Order {
    if o.kind == RequestKind::ProactiveTask as i32 {
        return o;
    }
    let scrub = |t: &mut String| s.scrub_in_place(t);
    scrub(&mut o.text);
    scrub(&mut o.answer);
    scrub(&mut o.address);
    for h in &mut o.history {
        scrub(&mut h.detail);
    }
    for a in &mut o.assignments {
        scrub(&mut a.text);
        scrub(&mut a.reply_text);
        scrub(&mut a.progress_note);
        scrub(&mut a.address);
    }
    o
}
