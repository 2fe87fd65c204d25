//! The caller's deadline, as carried in `grpc-timeout`.

use std::time::Duration;

use http::HeaderMap;

const GRPC_TIMEOUT: &str = "grpc-timeout";

/// Most of a caller's deadline the gateway gives up to waiting; see
/// [`wait_bound`].
const MAX_HEADROOM: Duration = Duration::from_secs(1);

/// How long the gateway waits for the upstream to answer.
///
/// With a caller deadline the gateway gives up a little before it (a tenth,
/// at most a second), so that its DEADLINE_EXCEEDED naming the service
/// reaches the caller before the caller's own timer fires (tonic clients
/// report their own timer as CANCELLED). A missing or malformed
/// `grpc-timeout` means no caller deadline, as in tonic's own server.
pub(crate) fn wait_bound(headers: &HeaderMap, default_timeout: Duration) -> Duration {
    match caller_timeout(headers) {
        Some(timeout) => timeout - (timeout / 10).min(MAX_HEADROOM),
        None => default_timeout,
    }
}

/// Parses `grpc-timeout`: 1 to 8 ASCII digits, then a unit (H M S m u n).
fn caller_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    let digits = value.get(..value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    let timeout = match &value[digits.len()..] {
        "H" => Duration::from_secs(amount * 60 * 60),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    Some(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(timeout: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(GRPC_TIMEOUT, timeout.parse().unwrap());
        headers
    }

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("2H", Duration::from_secs(7200)),
            ("3M", Duration::from_secs(180)),
            ("4S", Duration::from_secs(4)),
            ("250m", Duration::from_millis(250)),
            ("7u", Duration::from_micros(7)),
            ("99999999n", Duration::from_nanos(99_999_999)),
        ];
        for (value, expected) in cases {
            assert_eq!(caller_timeout(&headers(value)), Some(expected), "{value}");
        }
    }

    #[test]
    fn rejects_malformed_values() {
        for value in ["", "S", "123456789S", "10x", "1.5S", "-1S", "10"] {
            assert_eq!(caller_timeout(&headers(value)), None, "{value:?}");
        }
    }

    #[test]
    fn waits_a_little_less_than_the_caller() {
        let default = Duration::from_secs(30);
        assert_eq!(wait_bound(&HeaderMap::new(), default), default);
        assert_eq!(
            wait_bound(&headers("1000m"), default),
            Duration::from_millis(900)
        );
        assert_eq!(
            wait_bound(&headers("60S"), default),
            Duration::from_secs(59)
        );
    }
}
