//! Limits on every input, enforced where a request is decoded.
//!
//! Every method's request is decoded by [`CheckedCodec`]: a body that is
//! not a valid message of the method's type is INVALID_ARGUMENT (not
//! INTERNAL), and a decoded request whose fields pass their limits goes
//! on; one that does not is INVALID_ARGUMENT naming the field and its
//! limit, never echoing the value. The limits are the contract's own
//! (`hotline/v1/*.proto`, written out by `build.rs`):
//!
//! - a string is at most 128 characters when it is an id, a code, a unit,
//!   a token or a resource name, at most 1,000 otherwise, unless its
//!   comment says "At most N characters";
//! - a repeated field holds at most 1,000 entries unless its comment says
//!   "At most N entries";
//! - a timestamp lies in [2000-01-01, 2100-01-01) with nanos in
//!   [0, 10⁹); a duration is not negative, at most ten years, with nanos
//!   in [0, 10⁹).
//!
//! Responses are not checked (their decoders pass them as they are).

use std::marker::PhantomData;

use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z, in Unix seconds.
pub const EARLIEST_SECONDS: i64 = 946_684_800;
pub const LATEST_SECONDS: i64 = 4_102_444_800;
/// Ten years of seconds: the longest duration the contract carries.
pub const LONGEST_SECONDS: i64 = 10 * 366 * 86_400;

/// A field over its limit: which field, and what the limit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field's path in the request, `requester.name`, `parts[2].note`.
    pub field: String,
    pub description: String,
}

impl Violation {
    fn new(description: String) -> Self {
        Self {
            field: String::new(),
            description,
        }
    }

    /// The same violation, one field further out.
    pub fn under(mut self, field: &str) -> Self {
        self.field = if self.field.is_empty() {
            field.to_string()
        } else if self.field.starts_with('[') {
            format!("{field}{}", self.field)
        } else {
            format!("{field}.{}", self.field)
        };
        self
    }

    /// The same violation, in entry `i` of the repeated `field`.
    pub fn at_index(self, field: &str, i: usize) -> Self {
        self.under(&format!("[{i}]")).under(field)
    }

    /// INVALID_ARGUMENT with `google.rpc.BadRequest` naming the field.
    pub fn status(&self) -> Status {
        Status::with_error_details(
            Code::InvalidArgument,
            format!("{}: {}", self.field, self.description),
            ErrorDetails::with_bad_request_violation(&self.field, &self.description),
        )
    }
}

/// The limits of a message's fields (generated for every hotline.v1 message).
pub trait Checked {
    /// Whether some method takes this message as its request.
    const RPC_INPUT: bool;
    fn check_fields(&self) -> Result<(), Violation>;
}

pub fn text(value: &str, max: usize) -> Result<(), Violation> {
    // Bytes bound characters from above: only a long string is counted.
    if value.len() > max && value.chars().count() > max {
        return Err(Violation::new(format!(
            "at most {max} characters (this one has {})",
            value.chars().count()
        )));
    }
    Ok(())
}

pub fn entries(field: &str, len: usize, max: usize) -> Result<(), Violation> {
    if len > max {
        return Err(
            Violation::new(format!("at most {max} entries (this one has {len})")).under(field),
        );
    }
    Ok(())
}

fn nanos(n: i32) -> Result<(), Violation> {
    if !(0..1_000_000_000).contains(&n) {
        return Err(Violation::new(format!(
            "nanos must lie in [0, 999999999] (got {n})"
        )));
    }
    Ok(())
}

pub fn timestamp(t: &prost_types::Timestamp) -> Result<(), Violation> {
    nanos(t.nanos)?;
    if !(EARLIEST_SECONDS..LATEST_SECONDS).contains(&t.seconds) {
        return Err(Violation::new(
            "must lie between 2000-01-01 and 2100-01-01".to_string(),
        ));
    }
    Ok(())
}

pub fn duration(d: &prost_types::Duration) -> Result<(), Violation> {
    nanos(d.nanos)?;
    if !(0..=LONGEST_SECONDS).contains(&d.seconds) {
        return Err(Violation::new(
            "must lie between zero and ten years".to_string(),
        ));
    }
    Ok(())
}

/// Decodes and checks a request of type `U` as [`CheckedDecoder`] does.
pub fn decode<U: Message + Default + Checked>(body: &[u8]) -> Result<(), Status> {
    let item = U::decode(body).map_err(undecodable)?;
    if U::RPC_INPUT {
        item.check_fields().map_err(|v| v.status())?;
    }
    Ok(())
}

fn undecodable(e: prost::DecodeError) -> Status {
    Status::invalid_argument(format!(
        "the body is not a valid message of this method's type: {e}"
    ))
}

/// The prost codec, with requests checked against the contract's limits
/// and undecodable bodies answered INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct CheckedCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for CheckedCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for CheckedCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Checked + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = CheckedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder(PhantomData)
    }
}

#[derive(Debug, Clone)]
pub struct CheckedDecoder<U>(PhantomData<U>);

impl<U: Message + Default + Checked> Decoder for CheckedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let item = U::decode(buf).map_err(undecodable)?;
        if U::RPC_INPUT {
            item.check_fields().map_err(|v| v.status())?;
        }
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::decode_request;
    use crate::v1::*;

    #[test]
    fn a_field_over_its_limit_is_named_with_the_limit_and_not_echoed() {
        let long = "电".repeat(4_001);
        let r = SubmitRequestRequest {
            text: long.clone(),
            ..Default::default()
        };
        let v = r.check_fields().unwrap_err();
        assert_eq!(v.field, "text");
        assert!(
            v.description.starts_with("at most 4000 characters"),
            "{v:?}"
        );
        assert!(
            !v.status().message().contains("电电"),
            "the value is not echoed"
        );
        let ok = SubmitRequestRequest {
            text: "电".repeat(4_000),
            ..Default::default()
        };
        assert_eq!(ok.check_fields(), Ok(()), "characters, not bytes");
    }

    #[test]
    fn nested_and_repeated_fields_name_their_path() {
        let r = SubmitRequestRequest {
            requester: Some(Requester {
                name: "x".repeat(129),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(r.check_fields().unwrap_err().field, "requester.name");
        let t = prost_types::Timestamp {
            seconds: 1_800_000_000,
            nanos: 2_000_000_000,
        };
        let v = timestamp(&t).unwrap_err();
        assert!(v.description.contains("nanos"), "{v:?}");
        let far = prost_types::Timestamp {
            seconds: LATEST_SECONDS,
            nanos: 0,
        };
        assert!(timestamp(&far).is_err());
    }

    proptest::proptest! {
        /// Any bytes as the request of any method: decoded and checked, or
        /// INVALID_ARGUMENT; never a panic, never another code.
        #[test]
        fn any_bytes_to_any_method_are_a_request_or_invalid(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        ) {
            let methods = methods();
            proptest::prop_assert!(methods.len() > 50);
            for method in &methods {
                match decode_request(method, &body) {
                    Some(Ok(())) => {}
                    Some(Err(s)) => proptest::prop_assert_eq!(s.code(), Code::InvalidArgument, "{}", method),
                    None => proptest::prop_assert!(false, "{} has no decoder", method),
                }
            }
        }
    }

    /// Every method path of the contract, from its descriptors.
    fn methods() -> Vec<String> {
        let fds = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
        fds.file
            .iter()
            .flat_map(|f| f.service.iter().map(move |s| (f.package(), s)))
            .flat_map(|(p, s)| {
                s.method
                    .iter()
                    .map(move |m| format!("/{p}.{}/{}", s.name(), m.name()))
            })
            .collect()
    }
}
