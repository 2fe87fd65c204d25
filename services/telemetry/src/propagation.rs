//! W3C trace context and baggage across every hop: extracted from and
//! injected into gRPC metadata (HTTP/2 headers), and stored as text with
//! outbox rows and timers. Baggage passes an allow-list only: a key not on
//! it is dropped at every hop, so request text or identity put into baggage
//! by any caller never travels further.

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::propagation::{Extractor, Injector, TextMapCompositePropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

pub const TRACEPARENT: &str = "traceparent";
pub const BAGGAGE: &str = "baggage";

/// The only baggage keys that cross a hop: identifiers and bounded
/// classifications, never free text or requester identity.
pub const BAGGAGE_ALLOWED: &[&str] = &[
    "hotline.order_id",
    "hotline.tier",
    "hotline.urgency",
    "hotline.channel",
    "hotline.category",
];

static PROPAGATOR: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
});

pub fn allowed(key: &str) -> bool {
    BAGGAGE_ALLOWED.contains(&key)
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Keeps only the allowed baggage entries of `cx`.
fn allow_listed(cx: Context) -> Context {
    if cx.baggage().iter().all(|(k, _)| allowed(k.as_str())) {
        return cx;
    }
    let kept: Vec<KeyValue> = cx
        .baggage()
        .iter()
        .filter(|(k, _)| allowed(k.as_str()))
        .map(|(k, (v, _))| KeyValue::new(k.clone(), v.to_string()))
        .collect();
    cx.with_cleared_baggage().with_baggage(kept)
}

/// The caller's context from request headers (empty when none came).
pub fn extract(headers: &HeaderMap) -> Context {
    allow_listed(PROPAGATOR.extract(&HeaderExtractor(headers)))
}

/// Writes `cx`'s `traceparent` and allowed baggage into `headers`.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    headers.remove(BAGGAGE);
    let cx = allow_listed(cx.clone());
    PROPAGATOR.inject_context(&cx, &mut HeaderInjector(headers));
}

/// `cx` as stored text: (`traceparent`, `baggage`), empty when it has no
/// valid span.
pub fn to_text(cx: &Context) -> (String, String) {
    if !cx.span().span_context().is_valid() {
        return (String::new(), String::new());
    }
    let mut headers = HeaderMap::new();
    inject(cx, &mut headers);
    let get = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    (get(TRACEPARENT), get(BAGGAGE))
}

/// A stored context back; an empty or malformed `traceparent` gives an
/// empty context (the work starts a new trace).
pub fn from_text(traceparent: &str, baggage: &str) -> Context {
    let mut headers = HeaderMap::new();
    for (k, v) in [(TRACEPARENT, traceparent), (BAGGAGE, baggage)] {
        if let (false, Ok(v)) = (v.is_empty(), HeaderValue::from_str(v)) {
            headers.insert(k, v);
        }
    }
    extract(&headers)
}

/// Rewrites a `baggage` header in place to its allowed entries (the
/// gateway's filter, which never parses anything else of a call).
pub fn filter_baggage(headers: &mut HeaderMap) {
    let Some(raw) = headers.get(BAGGAGE).and_then(|v| v.to_str().ok()) else {
        headers.remove(BAGGAGE);
        return;
    };
    let kept: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|entry| {
            let key = entry.split(['=', ';']).next().unwrap_or("").trim();
            allowed(key)
        })
        .collect();
    match HeaderValue::from_str(&kept.join(",")) {
        Ok(v) if !kept.is_empty() => {
            headers.insert(BAGGAGE, v);
        }
        _ => {
            headers.remove(BAGGAGE);
        }
    }
}

/// A baggage value of the allow-list from `cx`.
pub fn baggage_value(cx: &Context, key: &str) -> Option<String> {
    cx.baggage().get(key).map(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn context_survives_storage_and_drops_unlisted_baggage() {
        let cx = from_text(
            PARENT,
            "hotline.order_id=HL00000001,requester.phone=13900000001",
        );
        assert!(cx.span().span_context().is_valid());
        assert_eq!(
            baggage_value(&cx, "hotline.order_id").as_deref(),
            Some("HL00000001")
        );
        assert_eq!(baggage_value(&cx, "requester.phone"), None);
        let (tp, bag) = to_text(&cx);
        assert_eq!(tp, PARENT);
        assert_eq!(bag, "hotline.order_id=HL00000001");
        assert!(!from_text("", "").span().span_context().is_valid());
        assert!(!from_text("garbage", "").span().span_context().is_valid());
    }

    #[test]
    fn the_gateway_filter_keeps_allowed_keys_only() {
        let mut h = HeaderMap::new();
        h.insert(
            BAGGAGE,
            HeaderValue::from_static(
                "text=Bins%20not%20emptied, hotline.urgency=general;p=1,name=Li",
            ),
        );
        filter_baggage(&mut h);
        assert_eq!(h.get(BAGGAGE).unwrap(), "hotline.urgency=general;p=1");
        h.insert(BAGGAGE, HeaderValue::from_static("name=Li"));
        filter_baggage(&mut h);
        assert!(h.get(BAGGAGE).is_none());
    }
}
