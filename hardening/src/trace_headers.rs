//! The W3C trace headers of an incoming request, as HTTP and the specifications let a receiver
//! take them. The stock `opentelemetry_http::HeaderExtractor` hands the propagators the first
//! of each header: given two `traceparent` headers, the propagator continues the first, and of
//! several `tracestate` or `baggage` headers it sees only the first. The checks of each header's
//! grammar live here too, as [`valid_traceparent`] and [`valid_tracestate`]: the extractor
//! applies them, and so does `W3cTraceContextPropagator`, whatever extractor it is given.

use std::{borrow::Cow, ops::Range};

use axum::http::{HeaderMap, HeaderName};
use opentelemetry::propagation::Extractor;

// The names, made once: looked up by a `&str`, each lookup would parse the name again.
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
static BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// An [`Extractor`] over request headers that offers `traceparent` only when there is one and it
/// follows the W3C Trace Context grammar (otherwise the propagator sees none, and a new trace
/// starts, as the specification says), and `tracestate` only when it is a valid list of at most
/// 32 members (otherwise the trace goes on without it). Several `tracestate` or `baggage` headers
/// are combined into one list, as HTTP and both specifications say they are; the baggage
/// propagator enforces the W3C Baggage limits itself (64 members, 8,192 bytes).
pub struct W3cHeaderExtractor<'a> {
    headers: &'a HeaderMap,
    traceparent: Option<&'a str>,
    tracestate: Option<String>,
    baggage: Option<Cow<'a, str>>,
}

impl<'a> W3cHeaderExtractor<'a> {
    pub fn new(headers: &'a HeaderMap) -> Self {
        Self {
            headers,
            traceparent: only(headers, &TRACEPARENT).and_then(valid_traceparent),
            tracestate: combined(headers, &TRACESTATE).and_then(|list| {
                let members = valid_tracestate(&list)?;
                let members: Vec<String> = members
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect();
                (!members.is_empty()).then(|| members.join(","))
            }),
            baggage: combined(headers, &BAGGAGE),
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

/// The one `name` header, as text, if there is exactly one.
fn only<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut all = headers.get_all(name).iter();
    let (Some(only), None) = (all.next(), all.next()) else {
        return None;
    };
    only.to_str().ok()
}

/// The fields of a valid `traceparent` (without the spaces and tabs around it, and without the
/// fields a later version may add): `version-traceid-parentid-flags` in lower-case hex, of 2,
/// 32, 16 and 2 digits; version `ff` is invalid, ids of all zeros are invalid; version `00` ends
/// after the flags, a later version may go on after a `-` (its extra fields are for its own
/// readers).
pub(crate) fn valid_traceparent(value: &str) -> Option<&str> {
    // Every request that continues a trace comes through here (twice: the extractor, then the
    // propagator), so it looks at bytes, at fixed places, and allocates nothing.
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let fields = value.get(..55)?;
    let rest = &value[55..];
    let bytes = fields.as_bytes();
    let lower_hex = |text: &[u8]| text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let not_all_zeros = |text: &[u8]| text.iter().any(|&b| b != b'0');
    let [version, trace_id, parent_id, flags] = TRACEPARENT_FIELDS.map(|field| &bytes[field]);
    let valid = TRACEPARENT_DASHES.iter().all(|&at| bytes[at] == b'-')
        && lower_hex(version)
        && version != b"ff"
        && lower_hex(trace_id)
        && not_all_zeros(trace_id)
        && lower_hex(parent_id)
        && not_all_zeros(parent_id)
        && lower_hex(flags)
        && (rest.is_empty() || (version != b"00" && rest.starts_with('-')));
    // A later version's extra fields are not for a version-00 reader: hand over the first four.
    valid.then_some(fields)
}

/// Where the fields of a `traceparent` are: `version-traceid-parentid-flags`, of 2, 32, 16 and 2
/// hex digits.
pub(crate) const TRACEPARENT_FIELDS: [Range<usize>; 4] = [0..2, 3..35, 36..52, 53..55];
/// Where the dashes between them are.
const TRACEPARENT_DASHES: [usize; 3] = [2, 35, 52];

/// The most members a `tracestate` list may have.
pub(crate) const MAX_TRACESTATE_MEMBERS: usize = 32;

/// The members of a `tracestate` list, if it is valid: members `key=value` separated by commas,
/// with optional spaces and tabs around each, empty members allowed (and dropped: the
/// specification asks receivers to accept them, so they are not counted against the limit); at
/// most [`MAX_TRACESTATE_MEMBERS`]. A key that comes again is dropped, the first kept, as Level
/// 2 lets a receiver do. An invalid list is discarded whole, as the specification says: a
/// vendor's entry cannot be told apart from its neighbours once the list is broken.
pub(crate) fn valid_tracestate(list: &str) -> Option<Vec<(&str, &str)>> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut count = 0;
    for member in list.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        count += 1;
        let (key, value) = member.split_once('=')?;
        if !valid_tracestate_key(key) || !valid_tracestate_value(value) {
            return None;
        }
        if count > MAX_TRACESTATE_MEMBERS {
            return None;
        }
        if !members.iter().any(|(earlier, _)| *earlier == key) {
            members.push((key, value));
        }
    }
    Some(members)
}

/// A `tracestate` key, as Level 2 writes the grammar: a lower-case letter or a digit, then up to
/// 255 of lower-case letters, digits and `_-*/@`. (Level 1 split a key at its one `@` into a
/// tenant of up to 241 characters and a system of up to 14; Level 2 keeps the `tenant@system`
/// use and drops those rules.)
fn valid_tracestate_key(key: &str) -> bool {
    let key_char =
        |b: &u8| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@');
    match key.as_bytes() {
        [first, rest @ ..] => {
            (first.is_ascii_lowercase() || first.is_ascii_digit())
                && rest.len() <= 255
                && rest.iter().all(key_char)
        }
        [] => false,
    }
}

/// A `tracestate` value: 1 to 256 printable ASCII characters but `,` and `=`, not ending in a
/// space.
fn valid_tracestate_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && value
            .bytes()
            .all(|b| matches!(b, b' '..=b'~') && b != b',' && b != b'=')
        && !value.ends_with(' ')
}

/// All the `name` headers joined into one comma-separated list (the one header as it is, when
/// there is one), or `None` if there are none (or one is not text).
fn combined<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<Cow<'a, str>> {
    let mut values = headers.get_all(name).iter();
    let mut list = Cow::Borrowed(values.next()?.to_str().ok()?);
    for value in values {
        let list = list.to_mut();
        list.push(',');
        list.push_str(value.to_str().ok()?);
    }
    Some(list)
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

    fn tracestate_seen(values: &[&str]) -> Option<String> {
        let pairs: Vec<_> = values
            .iter()
            .map(|value| ("tracestate", value.as_bytes()))
            .collect();
        let headers = headers(&pairs);
        W3cHeaderExtractor::new(&headers)
            .get("tracestate")
            .map(str::to_owned)
    }

    /// `count` members `m1=1,m2=2,...`.
    fn members(count: usize) -> String {
        let members: Vec<String> = (1..=count).map(|i| format!("m{i}={i}")).collect();
        members.join(",")
    }

    #[test]
    fn offers_a_valid_tracestate_without_the_optional_spaces() {
        let all_value_chars: String = (b' '..=b'~')
            .filter(|b| *b != b',' && *b != b'=')
            .map(char::from)
            .collect();
        let cases: &[(&[&str], &str)] = &[
            (&["foo=1"], "foo=1"),
            (&["foo=1,bar=2"], "foo=1,bar=2"),
            (&["foo=1 \t , \t bar=2, \t baz=3"], "foo=1,bar=2,baz=3"),
            (&["\t foo=1 \t"], "foo=1"),
            (&["foo=1,,bar=2,"], "foo=1,bar=2"),
            (&["foo=1", ""], "foo=1"),
            (&["", "foo=1"], "foo=1"),
            (
                &["foo=1,bar=2", "rojo=1,congo=2", "baz=3"],
                "foo=1,bar=2,rojo=1,congo=2,baz=3",
            ),
            (&["a-z0-9_-*/=x"], "a-z0-9_-*/=x"),
            (&["a-z0-9_-*/@a-z0-9_-*/=x"], "a-z0-9_-*/@a-z0-9_-*/=x"),
            (&["0tenant@vendor=x"], "0tenant@vendor=x"),
            (&["foo=a b"], "foo=a b"),
            (&["foo= leading"], "foo= leading"),
            // Level 2's grammar: a digit first, and `@` anywhere after the first character.
            (&["1foo=1"], "1foo=1"),
            (&["foo@=1,bar=2"], "foo@=1,bar=2"),
            (&["foo@@bar=1,bar=2"], "foo@@bar=1,bar=2"),
            (&["foo@bar@baz=1,bar=2"], "foo@bar@baz=1,bar=2"),
            (&["foo@1bar=1"], "foo@1bar=1"),
            // A key that comes again: the first is kept, as Level 2 lets a receiver do.
            (&["foo=1,foo=1"], "foo=1"),
            (&["foo=1,foo=2"], "foo=1"),
            (&["foo=1", "foo=2"], "foo=1"),
            (&["foo=1,bar=2,foo=3"], "foo=1,bar=2"),
        ];
        for (values, expected) in cases {
            assert_eq!(
                tracestate_seen(values).as_deref(),
                Some(*expected),
                "{values:?}"
            );
        }
        let every_char = format!("key={all_value_chars}");
        assert_eq!(tracestate_seen(&[&every_char]), Some(every_char.clone()));
        let longest = [
            format!("{}=1", "k".repeat(256)),
            format!("{}@{}=1", "t".repeat(241), "v".repeat(14)),
            // Level 1 held these to 241 and 14 characters either side of the `@`.
            format!("{}@v=1", "t".repeat(242)),
            format!("t@{}=1", "v".repeat(15)),
            format!("foo={}", "v".repeat(256)),
            members(MAX_TRACESTATE_MEMBERS),
        ];
        for value in &longest {
            assert_eq!(tracestate_seen(&[value]).as_ref(), Some(value));
        }
    }

    #[test]
    fn discards_an_invalid_tracestate_whole() {
        let invalid = [
            "foo",
            "foo=",
            "=1",
            "foo =1",
            "FOO=1",
            "foo.bar=1",
            "@foo=1,bar=2",
            "_foo=1",
            "foo=bar=baz",
            "foo=,bar=3",
            "foo=a\tb",
            "foo=\u{e9}",
            &format!("foo=1,{}=1", "k".repeat(257)),
            &format!("foo=1,{}@v=1", "t".repeat(255)),
            &format!("foo={}", "v".repeat(257)),
            &members(MAX_TRACESTATE_MEMBERS + 1),
            // 33 members, even if one repeats another.
            &format!("{},m1=1", members(MAX_TRACESTATE_MEMBERS)),
        ];
        for value in invalid {
            assert_eq!(tracestate_seen(&[value]), None, "{value:?} was offered");
        }
        // Across headers: 33 members in all.
        let (first, second) = (members(16), members(33).replacen(&members(16), "", 1));
        assert_eq!(tracestate_seen(&[&first, &second]), None);
        // Bytes that are not text.
        let headers = headers(&[("tracestate", b"foo=1"), ("tracestate", b"bar=\xff")]);
        assert_eq!(W3cHeaderExtractor::new(&headers).get("tracestate"), None);
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
