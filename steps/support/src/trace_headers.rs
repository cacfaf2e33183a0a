//! The W3C trace headers of an incoming request, as the specifications let a receiver take
//! them. The stock `opentelemetry_http::HeaderExtractor` hands the propagators whatever
//! arrived, and the 0.32 `TraceContextPropagator` is lenient: it continues `00-1-2-1` (padding
//! the ids with zeros), accepts one-digit versions and flags, and, given two `traceparent`
//! headers, uses the first. A trace continued from such a header is not the caller's trace.

use axum::http::HeaderMap;
use opentelemetry::propagation::Extractor;

/// An [`Extractor`] over request headers that offers `traceparent` only when it follows the
/// W3C Trace Context grammar (otherwise the propagator sees none, and a new trace starts, as
/// the specification says), and that combines several `tracestate` or `baggage` headers into
/// one list, as HTTP and both specifications say they are.
pub struct W3cHeaderExtractor<'a> {
    headers: &'a HeaderMap,
    traceparent: Option<&'a str>,
    tracestate: Option<String>,
    baggage: Option<String>,
}

impl<'a> W3cHeaderExtractor<'a> {
    pub fn new(headers: &'a HeaderMap) -> Self {
        Self {
            headers,
            traceparent: valid_traceparent(headers),
            tracestate: combined(headers, "tracestate"),
            baggage: combined(headers, "baggage"),
        }
    }
}

impl Extractor for W3cHeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate.as_deref(),
            "baggage" => self.baggage.as_deref(),
            _ => self.headers.get(key).and_then(|value| value.to_str().ok()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(|name| name.as_str()).collect()
    }
}

/// The one `traceparent` header, if there is exactly one and it is valid: `version-traceid-
/// parentid-flags` in lower-case hex, of 2, 32, 16 and 2 digits; version `ff` is invalid, ids
/// of all zeros are invalid; version `00` ends after the flags, a later version may go on after
/// a `-` (its extra fields are for its own readers).
fn valid_traceparent(headers: &HeaderMap) -> Option<&str> {
    let mut all = headers.get_all("traceparent").iter();
    let (Some(only), None) = (all.next(), all.next()) else {
        return None;
    };
    let value = only.to_str().ok()?.trim_matches([' ', '\t']);
    let fields = value.get(..55)?;
    let rest = &value[55..];
    let lower_hex = |text: &str| text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let not_all_zeros = |text: &str| text.bytes().any(|b| b != b'0');
    let mut parts = fields.split('-');
    let (Some(version), Some(trace_id), Some(parent_id), Some(flags), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let valid = version.len() == 2
        && lower_hex(version)
        && version != "ff"
        && trace_id.len() == 32
        && lower_hex(trace_id)
        && not_all_zeros(trace_id)
        && parent_id.len() == 16
        && lower_hex(parent_id)
        && not_all_zeros(parent_id)
        && flags.len() == 2
        && lower_hex(flags)
        && (rest.is_empty() || (version != "00" && rest.starts_with('-')));
    // A later version's extra fields are not for a version-00 reader: hand over the first four.
    valid.then_some(fields)
}

/// All the `name` headers joined into one comma-separated list, or `None` if there are none
/// (or one is not text).
fn combined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Option<Vec<&str>> = headers
        .get_all(name)
        .iter()
        .map(|value| value.to_str().ok())
        .collect();
    let values = values?;
    (!values.is_empty()).then(|| values.join(","))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    fn traceparent_seen(values: &[&[u8]]) -> Option<String> {
        let pairs: Vec<_> = values.iter().map(|value| ("traceparent", *value)).collect();
        let headers = headers(&pairs);
        W3cHeaderExtractor::new(&headers)
            .get("traceparent")
            .map(str::to_owned)
    }

    #[test]
    fn offers_a_valid_traceparent() {
        assert_eq!(
            traceparent_seen(&[VALID.as_bytes()]).as_deref(),
            Some(VALID)
        );
        let unsampled = VALID.replace("-01", "-00");
        assert_eq!(traceparent_seen(&[unsampled.as_bytes()]), Some(unsampled));
        let spaced = format!(" {VALID}\t");
        assert_eq!(
            traceparent_seen(&[spaced.as_bytes()]).as_deref(),
            Some(VALID)
        );
    }

    #[test]
    fn offers_the_known_fields_of_a_later_version() {
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
        let expected = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            traceparent_seen(&[later.as_bytes()]).as_deref(),
            Some(expected)
        );
    }

    #[test]
    fn hides_every_invalid_traceparent() {
        let invalid: &[&[u8]] = &[
            b"00-1-2-1",
            b"0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0X",
            b"00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.extra",
            b"00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-\xff1",
            b"",
        ];
        for value in invalid {
            let shown = String::from_utf8_lossy(value);
            assert_eq!(traceparent_seen(&[value]), None, "{shown:?} was offered");
        }
    }

    #[test]
    fn hides_a_traceparent_sent_twice() {
        let other = VALID.replace("00f067aa0ba902b7", "b7ad6b7169203331");
        assert_eq!(
            traceparent_seen(&[VALID.as_bytes(), other.as_bytes()]),
            None
        );
        assert_eq!(
            traceparent_seen(&[VALID.as_bytes(), VALID.as_bytes()]),
            None
        );
    }

    #[test]
    fn combines_repeated_tracestate_and_baggage_headers() {
        let headers = headers(&[
            ("tracestate", b"vendor1=a"),
            ("tracestate", b"vendor2=b"),
            ("baggage", b"user.id=alice"),
            ("baggage", b"tier=gold"),
            ("x-other", b"first"),
            ("x-other", b"second"),
        ]);
        let extractor = W3cHeaderExtractor::new(&headers);
        assert_eq!(extractor.get("tracestate"), Some("vendor1=a,vendor2=b"));
        assert_eq!(extractor.get("baggage"), Some("user.id=alice,tier=gold"));
        assert_eq!(extractor.get("x-other"), Some("first"));
        assert_eq!(extractor.get("traceparent"), None);
    }
}
