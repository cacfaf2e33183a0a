//! The capstone: an exercise without hints, on the attendee's finished exercise 12. Support asks
//! which requests were a given customer's; each request names its customer in a header, and the
//! trace must answer in both services. The attendee chooses where and under which names: the
//! check sends one request with a customer made up for it and looks for that customer among the
//! attributes of the frontend's and the backend's server spans, once the trace, metrics and log
//! records are still exercise 12's.

use std::hash::{BuildHasher, Hasher};

use trace_viewer::spans::SpanRecord;

use crate::{
    exercises::check::{self, Report, Verdict},
    exercises::{self, StepExercise},
};

/// The name `check` knows the capstone by.
pub const NAME: &str = "capstone";

/// The request header that names the customer.
pub const HEADER: &str = "x-customer";

/// The exercise the capstone builds on: the attendee's programs are its starter's.
pub const BUILDS_ON: &str = "12";

/// The server span of each service, where support looks first.
const SERVER_SPANS: [(&str, &str); 2] = [
    ("frontend", "incoming call"),
    ("backend", "backend call received"),
];

/// A customer no program could know in advance: `acme-4821`.
pub fn made_up_customer() -> String {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("acme-{}", 1000 + random % 9000)
}

/// The exercise the capstone builds on; its starter's programs are the attendee's.
pub fn base() -> Result<StepExercise, String> {
    exercises::find(BUILDS_ON)
}

/// One way to answer, as changes to step 12's frontend (`src/main.rs`), each (text, what it
/// becomes): the customer recorded on `incoming call`; put in the baggage of the context that
/// span starts in; and kept when the backend call adds its own entry (`with_baggage` replaces
/// a context's baggage). The tests hold the check to it; the instructor notes say it in words.
pub const ONE_ANSWER: [(&str, &str); 3] = [
    (
        "        url.scheme = \"http\",\n",
        "        url.scheme = \"http\",\n        demo.customer = request.headers().get(\"x-customer\")\
         .and_then(|value| value.to_str().ok()),\n",
    ),
    (
        "    .with_cleared_baggage();\n",
        "    .with_cleared_baggage()\n    .with_baggage(request.headers().get(\"x-customer\")\
         .and_then(|value| value.to_str().ok())\
         .map(|customer| KeyValue::new(\"demo.customer\", customer.to_owned())));\n",
    ),
    (
        "    let backend_cx = Span::current()\n        .context()\n        \
         .with_baggage([KeyValue::new(\"demo.origin\", \"frontend\")]);\n",
        "    let request_cx = Span::current().context();\n    \
         let mut baggage: Vec<KeyValue> = request_cx.baggage().iter()\
         .map(|(key, (value, _))| KeyValue::new(key.clone(), value.clone())).collect();\n    \
         baggage.push(KeyValue::new(\"demo.origin\", \"frontend\"));\n    \
         let backend_cx = request_cx.with_baggage(baggage);\n",
    ),
];

/// Checks `programs` (frontend, backend): exercise 12's check on a request that names
/// `customer`, then the capstone's own question.
pub async fn check(programs: &[String; 2], customer: &str) -> Report {
    let base = match base() {
        Ok(base) => base,
        Err(error) => {
            return Report {
                verdict: Verdict::CannotRun,
                text: format!("{error}\n"),
                problems: Vec::new(),
            };
        }
    };
    let mut exported = Vec::new();
    let base = check::check_request(&base, programs, &[(HEADER, customer)], &mut exported).await;
    match base.verdict {
        Verdict::Done => {}
        Verdict::NotYet => {
            return Report {
                verdict: Verdict::NotYet,
                text: format!(
                    "The capstone builds on your exercise 12, which is not done yet: \
                     `cargo run -p workshop check {BUILDS_ON}` says what it still lacks.\n\n{}",
                    base.text
                ),
                problems: base.problems,
            };
        }
        Verdict::CannotRun => return base,
    }
    let problems = missing(&exported, customer);
    let mut text = String::new();
    match problems.is_empty() {
        true => {
            let names = SERVER_SPANS
                .iter()
                .flat_map(|(service, span)| keys_holding(&exported, service, span, customer))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|key| format!("`{key}`"))
                .collect::<Vec<_>>();
            text.push_str(&format!(
                "Done: support finds {customer}'s requests by {} in both services. Exercise 12's \
                 trace, metrics and log records are whole around it.\n",
                names.join(" and ")
            ));
            Report {
                verdict: Verdict::Done,
                text,
                problems,
            }
        }
        false => {
            text.push_str(&format!(
                "The check sent one request with `{HEADER}: {customer}`.\n\nNot yet:\n"
            ));
            for problem in &problems {
                text.push_str(&check::compare::bullet(problem));
            }
            Report {
                verdict: Verdict::NotYet,
                text,
                problems,
            }
        }
    }
}

/// What the trace still lacks to answer support's question, in plain words.
fn missing(exported: &[SpanRecord], customer: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let [(frontend, frontend_span), (backend, backend_span)] = SERVER_SPANS;
    let in_frontend = keys_holding(exported, frontend, frontend_span, customer);
    let elsewhere_in_frontend = exported
        .iter()
        .filter(|span| span.service == frontend && span.name != frontend_span)
        .any(|span| span.attributes.values().any(|value| value == customer));
    if in_frontend.is_empty() {
        problems.push(match elsewhere_in_frontend {
            true => format!(
                "Your frontend records the customer, `{customer}`, but not on `{frontend_span}`, \
                 the request's own span: support searches the server spans first. Record it \
                 there too."
            ),
            false => format!(
                "No span of your frontend records the customer the request named, \
                 `{customer}` (the `{HEADER}` header). Record it on `{frontend_span}` as an \
                 attribute, under a name of your own: the semantic conventions have none for a \
                 customer, and a name of your own goes under a namespace of your own (`demo.`)."
            ),
        });
    }
    if keys_holding(exported, backend, backend_span, customer).is_empty() {
        problems.push(format!(
            "Your backend's `{backend_span}` does not record the customer. The backend never \
             sees the user's request, only the frontend's call: the customer reaches it only if \
             it crosses the wire with the trace context. The backend already records each \
             baggage entry it receives."
        ));
    }
    problems
}

/// The attribute keys of `service`'s span `name` whose value is `customer`.
fn keys_holding(exported: &[SpanRecord], service: &str, name: &str, customer: &str) -> Vec<String> {
    exported
        .iter()
        .filter(|span| span.service == service && span.name == name)
        .flat_map(|span| {
            span.attributes
                .iter()
                .filter(|(_, value)| *value == customer)
                .map(|(key, _)| key.clone())
        })
        .collect()
}
