//! Trace headers from strangers: a table of what may arrive at a service (the W3C Trace Context
//! test suite's malformed headers, and more from both specifications' limits), and what a
//! service must make of each. Every case must get `200 OK`; a valid `traceparent` is continued,
//! anything else starts a new trace; only a valid `tracestate` of at most 32 members goes on
//! with the trace; the `random` flag goes on with the trace it came with, and a new trace has
//! it (W3C Trace Context Level 2); baggage members past the 64th, or a baggage header over 8,192
//! bytes, are not taken in. That is the table of the specifications, which the W3C test service
//! (`w3c-test-service`, with the strict propagator) is held to.
//!
//! The steps read trace headers as the SDK's own propagator does ([`Level::Stock`]), which is
//! more lenient: [`Case::as_read_by`] turns each case into what a given reader (the SDK's
//! `TraceContextPropagator` with `opentelemetry-http`'s `HeaderExtractor`, [`read_by_sdk`])
//! makes of its headers, and [`stock_differences`] lists the cases where that is not what the
//! specification says.
//!
//! [`send`] sends the table to a service, one request at a time; [`check_frontend`] and
//! [`check_backend`] hold what the service exported and sent on to the table.

use std::time::Duration;

use reqwest::{
    StatusCode,
    header::{HeaderMap, HeaderName, HeaderValue},
};

use crate::spans::SpanRecord;

/// The trace and span the caller in most cases claims to come from.
pub const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
/// A valid `traceparent` from that span.
pub const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// What becomes of the caller's trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trace {
    /// The service's span is a child of the caller's span, in the caller's trace.
    Continued,
    /// The service's span is the root of a new trace.
    New,
}

/// How a service reads and writes W3C Trace Context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The SDK's own propagator, as every step uses it (cases made with [`Case::as_read_by`]):
    /// the `random` flag is never sent.
    Stock,
    /// The strict propagator (the W3C test service): Level 2, the `random` flag sent on with
    /// the trace it came with, and set on a new trace.
    Level2,
}

/// What a service that reads baggage records of it, as attributes of its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baggage {
    Nothing,
    /// These attributes, sorted by key.
    Exactly(Vec<(String, String)>),
}

/// One request's trace headers, and what must come of them.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    /// Sent in this order; a name may come more than once.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub trace: Trace,
    /// The trace and span a service that continues the trace continues: the caller's.
    pub caller_trace_id: String,
    pub caller_span_id: String,
    /// The `tracestate` a service that continues the trace sends on.
    pub tracestate: Option<String>,
    pub baggage: Baggage,
}

/// What a reader of trace headers makes of a request's: the trace id and parent span id it
/// continues (lower-case hex) and the `tracestate` it would send on (`None`: none, or empty),
/// or `None` if it starts a new trace.
pub type Read = Option<(String, String, Option<String>)>;

impl Case {
    fn new(name: &'static str, headers: &[(&'static str, &[u8])], trace: Trace) -> Self {
        Self {
            name,
            headers: headers
                .iter()
                .map(|(header, value)| (*header, value.to_vec()))
                .collect(),
            trace,
            caller_trace_id: CALLER_TRACE_ID.to_owned(),
            caller_span_id: CALLER_SPAN_ID.to_owned(),
            tracestate: None,
            baggage: Baggage::Nothing,
        }
    }

    fn traceparent(name: &'static str, value: &[u8], trace: Trace) -> Self {
        Self::new(name, &[("traceparent", value)], trace)
    }

    /// A valid `traceparent` with this `tracestate`, sent on as `forwarded`.
    fn tracestate(name: &'static str, values: &[&str], forwarded: Option<&str>) -> Self {
        let mut case = Self::traceparent(name, VALID.as_bytes(), Trace::Continued);
        for value in values {
            case.headers.push(("tracestate", value.as_bytes().to_vec()));
        }
        case.tracestate = forwarded.map(str::to_owned);
        case
    }

    /// This case as `read` takes its headers: the trace it continues, if any, and the
    /// `tracestate` it sends on. The baggage the case expects stays: every reader here uses the
    /// SDK's `BaggagePropagator`.
    pub fn as_read_by(&self, read: impl Fn(&HeaderMap) -> Read) -> Self {
        let mut case = self.clone();
        match read(&self.request_headers()) {
            Some((trace_id, span_id, tracestate)) => {
                case.trace = Trace::Continued;
                case.caller_trace_id = trace_id;
                case.caller_span_id = span_id;
                case.tracestate = tracestate;
            }
            None => {
                case.trace = Trace::New;
                case.tracestate = None;
            }
        }
        case
    }

    /// The flags of the case's one valid `traceparent`, if it has one.
    fn flags(&self) -> Option<u8> {
        let mut traceparents = self
            .headers
            .iter()
            .filter(|(name, _)| *name == "traceparent");
        let (Some((_, value)), None) = (traceparents.next(), traceparents.next()) else {
            return None;
        };
        let value = std::str::from_utf8(value).ok()?.trim_matches([' ', '\t']);
        u8::from_str_radix(value.get(53..55)?, 16).ok()
    }

    /// A valid `traceparent` with this `baggage`.
    fn baggage(name: &'static str, value: &[u8], recorded: Baggage) -> Self {
        let mut case = Self::traceparent(name, VALID.as_bytes(), Trace::Continued);
        case.headers.push(("baggage", value.to_vec()));
        case.baggage = recorded;
        case
    }

    /// The case's headers, to send.
    pub fn request_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_static(name);
            let value = HeaderValue::from_bytes(value).expect("no control characters");
            headers.append(name, value);
        }
        headers
    }

    /// Whether `id` (lower-case hex) appears in one of the headers the case sends.
    fn sent(&self, id: &str) -> bool {
        self.headers.iter().any(|(_, value)| {
            String::from_utf8_lossy(value)
                .to_ascii_lowercase()
                .contains(id)
        })
    }
}

/// `count` tracestate members `m1=1,m2=2,...`.
fn members(count: usize) -> String {
    let members: Vec<String> = (1..=count).map(|i| format!("m{i}={i}")).collect();
    members.join(",")
}

/// The table: every case the tests send.
pub fn cases() -> Vec<Case> {
    use Trace::{Continued, New};
    let with_valid = |tail: &str| format!("{VALID}{tail}").into_bytes();
    let replace = |from: &str, to: &str| VALID.replacen(from, to, 1).into_bytes();
    let huge = format!("{VALID}-{}", "x".repeat(16 * 1024));
    let longest_keys = format!(
        "{}=1,{}@{}=2",
        "k".repeat(256),
        "t".repeat(241),
        "v".repeat(13)
    );
    let over_8192: String = (0..1000)
        .map(|i| format!("key{i}=value{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut first_64: Vec<(String, String)> = (1..=64)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    first_64.sort();
    let baggage_65: String = (1..=65)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        Case::new("no trace headers", &[], New),
        Case::traceparent("valid", VALID.as_bytes(), Continued),
        Case::traceparent("valid, not sampled", &replace("-01", "-00"), Continued),
        // Level 2: the trace id is random (0x02), whether sampled or not.
        Case::traceparent("valid, random", &replace("-01", "-03"), Continued),
        Case::traceparent(
            "valid, random, not sampled",
            &replace("-01", "-02"),
            Continued,
        ),
        // Flags not yet defined are the caller's business: not sent on, but no reason to refuse.
        Case::traceparent("valid, every flag", &replace("-01", "-ff"), Continued),
        // The HTTP server takes these off before the program sees the header (the extractor's
        // own trimming is unit-tested): the case proves the header still counts.
        Case::traceparent(
            "spaces and tabs around",
            &format!(" \t{VALID}\t ").into_bytes(),
            Continued,
        ),
        Case::traceparent(
            "later version, more fields",
            &[replace("00-", "cc-"), b"-later".to_vec()].concat(),
            Continued,
        ),
        Case::traceparent("version 00 with more fields", &with_valid("-extra"), New),
        Case::traceparent("trailing dot", &with_valid("."), New),
        Case::traceparent(
            "later version, trailing dot",
            &[replace("00-", "cc-"), b".later".to_vec()].concat(),
            New,
        ),
        Case::traceparent("version ff", &replace("00-", "ff-"), New),
        Case::traceparent("version not hex", &replace("00-", ".0-"), New),
        Case::traceparent("version too long", &replace("00-", "000-"), New),
        Case::traceparent("version too short", &replace("00-", "0-"), New),
        Case::traceparent(
            "trace id all zeros",
            &replace(CALLER_TRACE_ID, &"0".repeat(32)),
            New,
        ),
        Case::traceparent(
            "trace id upper-case",
            &replace(CALLER_TRACE_ID, &CALLER_TRACE_ID.to_uppercase()),
            New,
        ),
        Case::traceparent("trace id not hex", &replace("4bf9", ".bf9"), New),
        Case::traceparent(
            "trace id too long",
            &replace(CALLER_TRACE_ID, &format!("{CALLER_TRACE_ID}1")),
            New,
        ),
        Case::traceparent(
            "trace id too short",
            &replace(CALLER_TRACE_ID, &CALLER_TRACE_ID[1..]),
            New,
        ),
        Case::traceparent(
            "parent id all zeros",
            &replace(CALLER_SPAN_ID, &"0".repeat(16)),
            New,
        ),
        Case::traceparent(
            "parent id upper-case",
            &replace(CALLER_SPAN_ID, &CALLER_SPAN_ID.to_uppercase()),
            New,
        ),
        Case::traceparent(
            "parent id not hex",
            &replace(CALLER_SPAN_ID, "00f067aa0ba902b."),
            New,
        ),
        Case::traceparent(
            "parent id too long",
            &replace(CALLER_SPAN_ID, &format!("{CALLER_SPAN_ID}7")),
            New,
        ),
        Case::traceparent(
            "parent id too short",
            &replace(CALLER_SPAN_ID, &CALLER_SPAN_ID[1..]),
            New,
        ),
        Case::traceparent("flags not hex", &replace("-01", "-.1"), New),
        Case::traceparent("flags too long", &replace("-01", "-001"), New),
        Case::traceparent("flags too short", &replace("-01", "-1"), New),
        Case::traceparent("ids of one digit each", b"00-1-2-01", New),
        Case::traceparent("underscores", VALID.replace('-', "_").as_bytes(), New),
        Case::traceparent("empty", b"", New),
        Case::traceparent("not UTF-8", &[VALID.as_bytes(), b"\xff"].concat(), New),
        Case::traceparent("16 KiB long", huge.as_bytes(), New),
        Case::new(
            "two different traceparent headers",
            &[
                ("traceparent", VALID.as_bytes()),
                ("traceparent", &replace(CALLER_SPAN_ID, "b7ad6b7169203331")),
            ],
            New,
        ),
        Case::new(
            "the same traceparent twice",
            &[
                ("traceparent", VALID.as_bytes()),
                ("traceparent", VALID.as_bytes()),
            ],
            New,
        ),
        Case::new(
            "tracestate without traceparent",
            &[("tracestate", b"foo=1")],
            New,
        ),
        Case::tracestate("tracestate", &["foo=1,bar=2"], Some("foo=1,bar=2")),
        Case::tracestate(
            "tracestate in three headers",
            &["foo=1,bar=2", "rojo=1", "congo=2"],
            Some("foo=1,bar=2,rojo=1,congo=2"),
        ),
        Case::tracestate(
            "tracestate with spaces and empty members",
            &["foo=1 \t , ,\t bar=2,"],
            Some("foo=1,bar=2"),
        ),
        Case::tracestate("empty tracestate", &[""], None),
        Case::tracestate("32 tracestate members", &[&members(32)], Some(&members(32))),
        Case::tracestate("33 tracestate members", &[&members(33)], None),
        Case::tracestate(
            "33 tracestate members in two headers",
            &[&members(20), &members(33).replacen(&members(20), "", 1)],
            None,
        ),
        Case::tracestate("tracestate key upper-case", &["foo=1,BAR=2"], None),
        Case::tracestate("tracestate key with a dot", &["foo.bar=1"], None),
        Case::tracestate(
            "tracestate key of 257 characters",
            &["foo=1", &format!("{}=1", "k".repeat(257))],
            None,
        ),
        Case::tracestate("tracestate key starting with @", &["@foo=1,bar=2"], None),
        Case::tracestate(
            "tracestate key ending with @",
            &["foo@=1,bar=2"],
            Some("foo@=1,bar=2"),
        ),
        Case::tracestate(
            "tracestate key starting with a digit",
            &["1foo=1"],
            Some("1foo=1"),
        ),
        Case::tracestate(
            "tracestate keys of 256 and 241@13 characters",
            &["foo=1", &longest_keys],
            Some(&format!("foo=1,{longest_keys}")),
        ),
        // Valid at Level 2, which allows `@` anywhere after the first character, and up to 256
        // characters whatever their place.
        Case::tracestate(
            "tracestate key with two @",
            &["foo@bar@baz=1,bar=2"],
            Some("foo@bar@baz=1,bar=2"),
        ),
        Case::tracestate(
            "tracestate key with @@",
            &["foo@@bar=1,bar=2"],
            Some("foo@@bar=1,bar=2"),
        ),
        Case::tracestate(
            "tracestate system id of 14 characters",
            &[
                "foo=1",
                &format!("{}@{}=1", "t".repeat(241), "v".repeat(14)),
            ],
            Some(&format!("foo=1,{}@{}=1", "t".repeat(241), "v".repeat(14))),
        ),
        Case::tracestate(
            "tracestate system id of 15 characters",
            &["foo=1", &format!("t@{}=1", "v".repeat(15))],
            Some(&format!("foo=1,t@{}=1", "v".repeat(15))),
        ),
        Case::tracestate(
            "tracestate tenant id of 242 characters",
            &["foo=1", &format!("{}@v=1", "t".repeat(242))],
            Some(&format!("foo=1,{}@v=1", "t".repeat(242))),
        ),
        // Level 2 lets a receiver drop a key that comes again: the first stays.
        Case::tracestate("tracestate key twice", &["foo=1", "foo=2"], Some("foo=1")),
        Case::tracestate(
            "tracestate key twice, the same",
            &["foo=1,bar=2,foo=1"],
            Some("foo=1,bar=2"),
        ),
        Case::tracestate("tracestate value with =", &["foo=bar=baz"], None),
        Case::tracestate("tracestate value empty", &["foo=,bar=3"], None),
        Case::tracestate("tracestate member without =", &["foo=1,bar"], None),
        {
            let mut case = Case::tracestate("tracestate not UTF-8", &["foo=1"], None);
            case.headers.push(("tracestate", b"bar=\xff".to_vec()));
            case
        },
        Case::baggage(
            "baggage",
            b"user.id=alice, tier = gold",
            Baggage::Exactly(vec![
                ("tier".into(), "gold".into()),
                ("user.id".into(), "alice".into()),
            ]),
        ),
        // The specification lets a service drop members past the 64th; the SDK keeps the first
        // 64.
        Case::baggage(
            "baggage of 65 members",
            baggage_65.as_bytes(),
            Baggage::Exactly(first_64),
        ),
        Case::baggage(
            "baggage over 8,192 bytes",
            over_8192.as_bytes(),
            Baggage::Nothing,
        ),
        Case::baggage("baggage not UTF-8", b"user.id=\xff", Baggage::Nothing),
        Case::baggage("baggage malformed", b"=,;;,==,user.id", Baggage::Nothing),
    ]
}

/// What the SDK's own W3C propagator (0.33), reading through `opentelemetry-http`'s
/// `HeaderExtractor`, makes of `headers`: how every step reads its callers.
pub fn read_by_sdk(headers: &HeaderMap) -> Read {
    use opentelemetry::{propagation::TextMapPropagator, trace::TraceContextExt};
    let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .extract(&opentelemetry_http::HeaderExtractor(headers));
    let span = cx.span();
    let read = span.span_context();
    read.is_valid().then(|| {
        let tracestate = read.trace_state().header();
        (
            read.trace_id().to_string(),
            read.span_id().to_string(),
            (!tracestate.is_empty()).then_some(tracestate),
        )
    })
}

/// The cases where `read` does not do what the specifications say: each case as the
/// specifications read it, and as `read` does.
pub fn stock_differences(read: impl Fn(&HeaderMap) -> Read) -> Vec<(Case, Case)> {
    cases()
        .into_iter()
        .filter_map(|case| {
            let stock = case.as_read_by(&read);
            (case.outcome() != stock.outcome()).then_some((case, stock))
        })
        .collect()
}

impl Case {
    /// What comes of the case, in a few words: a new trace, or the trace continued (with the
    /// ids continued, where they are not the caller's as sent, and the `tracestate` sent on).
    pub fn outcome(&self) -> String {
        if self.trace == Trace::New {
            return "a new trace".to_owned();
        }
        let mut said = "continued".to_owned();
        if self.caller_trace_id != CALLER_TRACE_ID || self.caller_span_id != CALLER_SPAN_ID {
            said.push_str(&format!(
                " as `{}-{}`",
                self.caller_trace_id, self.caller_span_id
            ));
        }
        let members = self
            .tracestate
            .as_deref()
            .map_or(0, |list| list.split(',').count());
        match members {
            0 => said.push_str(", no `tracestate`"),
            1 => said.push_str(", `tracestate` of 1 member"),
            _ => said.push_str(&format!(", `tracestate` of {members} members")),
        }
        said
    }
}

/// Sends each case to `url` with `GET`, one after the other, and returns each answer.
pub async fn send(url: &str, cases: &[Case]) -> Vec<Result<(StatusCode, String), String>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let mut answers = Vec::new();
    for case in cases {
        let answer = async {
            let response = client
                .get(url)
                .headers(case.request_headers())
                .send()
                .await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        };
        answers.push(
            answer
                .await
                .map_err(|error| format!("{}: {error}", case.name)),
        );
    }
    answers
}

/// Panics unless every answer was `200 OK`.
pub fn assert_all_ok(cases: &[Case], answers: &[Result<(StatusCode, String), String>]) {
    assert_eq!(answers.len(), cases.len());
    for (case, answer) in cases.iter().zip(answers) {
        assert_eq!(
            answer
                .as_ref()
                .map(|(status, body)| (status.as_u16(), body.as_str())),
            Ok((200, "OK")),
            "{}",
            case.name
        );
    }
}

/// Checks the trace headers a service at `level` that keeps every trace sent on for `case`:
/// exactly one valid `traceparent`, in the caller's trace if it was `continued` and with the
/// caller's valid `tracestate` (and `random` flag, at Level 2), otherwise in a new trace, with
/// no `tracestate` (and the `random` flag, at Level 2). Returns the trace id and the parent id
/// it sent.
pub fn check_sent_on(
    case: &Case,
    headers: &HeaderMap,
    continued: bool,
    level: Level,
) -> (String, String) {
    let all: Vec<&HeaderValue> = headers.get_all("traceparent").iter().collect();
    assert_eq!(all.len(), 1, "{}: one traceparent sent on", case.name);
    let value = all[0].to_str().expect("text");
    let fields: Vec<&str> = value.split('-').collect();
    let hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    assert!(
        fields.len() == 4
            && fields[0] == "00"
            && hex(fields[1], 32)
            && hex(fields[2], 16)
            && hex(fields[3], 2),
        "{}: sent on {value:?}",
        case.name
    );
    let (trace_id, parent_id) = (fields[1].to_owned(), fields[2].to_owned());
    // Sampled, as every trace is kept; random, at Level 2, if the caller said so of its trace,
    // or if the trace is new.
    let random = match (level, continued) {
        (Level::Stock, _) => 0,
        (Level::Level2, true) => case.flags().expect("a valid traceparent") & 0x02,
        (Level::Level2, false) => 0x02,
    };
    assert_eq!(fields[3], format!("{:02x}", 0x01 | random), "{}", case.name);
    // The SDK's propagator sends an empty `tracestate` when it has none, which the
    // specification allows (receivers must accept it); it means no tracestate.
    let tracestate = headers
        .get("tracestate")
        .map(|value| value.to_str().expect("text").to_owned())
        .filter(|value| !value.is_empty());
    if continued {
        assert_eq!(trace_id, case.caller_trace_id, "{}", case.name);
        assert_eq!(tracestate, case.tracestate, "{}", case.name);
    } else {
        assert!(
            !case.sent(&trace_id),
            "{}: a trace id it was sent",
            case.name
        );
        assert_eq!(
            tracestate, None,
            "{}: a new trace has no tracestate",
            case.name
        );
    }
    (trace_id, parent_id)
}

/// Checks a frontend's part: what it sent on to its backend for each case (`forwarded`, in
/// order), and the `incoming call` spans it exported. A frontend that does not read its
/// caller's trace (`continues_caller` false, before step 06) starts a new one every time.
pub fn check_frontend(
    cases: &[Case],
    forwarded: &[HeaderMap],
    spans: &[SpanRecord],
    continues_caller: bool,
    level: Level,
) {
    assert_eq!(forwarded.len(), cases.len(), "one backend call per request");
    for (case, headers) in cases.iter().zip(forwarded) {
        let continued = continues_caller && case.trace == Trace::Continued;
        let (trace_id, parent_id) = check_sent_on(case, headers, continued, level);
        // The span the backend call was sent from, and the request's span, its parent.
        let call = spans
            .iter()
            .find(|span| span.span_id.to_string() == parent_id)
            .unwrap_or_else(|| panic!("{}: no span {parent_id} exported", case.name));
        assert_eq!(call.name, "backend call", "{}", case.name);
        assert_eq!(call.trace_id.to_string(), trace_id, "{}", case.name);
        let request = spans
            .iter()
            .find(|span| Some(span.span_id) == call.parent_span_id)
            .unwrap_or_else(|| panic!("{}: the backend call has no parent", case.name));
        assert_eq!(request.name, "incoming call", "{}", case.name);
        let caller = request.parent_span_id.map(|id| id.to_string());
        let expected_caller = continued.then_some(case.caller_span_id.as_str());
        assert_eq!(caller.as_deref(), expected_caller, "{}", case.name);
        // The frontend sends its own baggage only, whatever its caller sent.
        let baggage: Vec<&HeaderValue> = headers.get_all("baggage").iter().collect();
        assert_eq!(baggage, ["demo.origin=frontend"], "{}", case.name);
    }
}

/// The HTTP semantic conventions' attributes step 10's server span has of itself, with the
/// values every case's request gives them: every other attribute of `backend call received` is
/// baggage.
const SERVER_SPAN_ATTRIBUTES: [(&str, &str); 6] = [
    ("http.request.method", "GET"),
    ("http.response.status_code", "200"),
    ("http.route", "/"),
    ("network.protocol.version", "1.1"),
    ("url.path", "/"),
    ("url.scheme", "http"),
];

/// Checks a backend's part: the `backend call received` span it exported for each case, in
/// the order the cases were sent. (What it made of `tracestate` does not show: it calls no one,
/// and its spans are read without their trace state. The frontends' checks and the extractor's
/// unit tests cover it.) Where the exporter keeps only some of a span's attributes (step 06's:
/// Cloud Trace takes 32 at most), `all_attributes_exported` is false, and the baggage recorded
/// must be some of what is expected, not all.
pub fn check_backend(cases: &[Case], spans: &[SpanRecord], all_attributes_exported: bool) {
    let mut received: Vec<&SpanRecord> = spans
        .iter()
        .filter(|span| span.name == "backend call received")
        .collect();
    received.sort_by_key(|span| span.start);
    assert_eq!(received.len(), cases.len(), "one span per request");
    for (case, span) in cases.iter().zip(received) {
        let trace_id = span.trace_id.to_string();
        let parent = span.parent_span_id.map(|id| id.to_string());
        match case.trace {
            Trace::Continued => {
                assert_eq!(trace_id, case.caller_trace_id, "{}", case.name);
                assert_eq!(
                    parent.as_deref(),
                    Some(case.caller_span_id.as_str()),
                    "{}",
                    case.name
                );
            }
            Trace::New => {
                assert!(
                    !case.sent(&trace_id),
                    "{}: a trace id it was sent",
                    case.name
                );
                assert_eq!(parent, None, "{}: a new trace", case.name);
            }
        }
        let recorded: Vec<(String, String)> = span
            .attributes
            .iter()
            .filter(|(key, value)| {
                !SERVER_SPAN_ATTRIBUTES.contains(&(key.as_str(), value.as_str()))
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        match &case.baggage {
            Baggage::Nothing => assert_eq!(recorded, [], "{}", case.name),
            Baggage::Exactly(expected) if all_attributes_exported => {
                assert_eq!(&recorded, expected, "{}", case.name)
            }
            Baggage::Exactly(expected) => assert!(
                !recorded.is_empty() && recorded.iter().all(|entry| expected.contains(entry)),
                "{}: {recorded:?}",
                case.name
            ),
        }
    }
}
