//! What a step's `exercise.rs` (`steps/NN-*/exercise.rs`) says about it as an exercise: the
//! regions its starter leaves to the attendee, its hints, the mistakes the check is proven to
//! catch and the runs with variables the check tries. [`crate::steps`] compiles each file in;
//! [`crate::exercises`] makes the starters and the check from them.

/// The name of the file, in a step's folder, that makes the step an exercise.
pub const EXERCISE_FILE: &str = "exercise.rs";

/// A step as an exercise, as its `exercise.rs` writes it. Texts are indented as the file
/// indents them: they are read without their common indentation.
#[derive(Debug, PartialEq, Eq)]
pub struct Exercise {
    /// From a first pointer at the right API to nearly the answer.
    pub hints: &'static [&'static str],
    /// What a program of this step that exports no span may lack, in the step's terms: the
    /// check says it when one does not.
    pub why_no_span: &'static str,
    /// Whether the step writes its spans with the `tracing` crate (step 10): the check's
    /// advice then names its ways (`otel.kind`, `info!`), not the OpenTelemetry API's.
    pub tracing_crate: bool,
    pub todos: &'static [Todo],
    /// For a step whose backend is not traced but logs the trace headers it received.
    pub backend_receives: Option<Received>,
    /// The mistakes the check is proven to catch.
    pub mistakes: &'static [Mistake],
    /// Runs with variables the step reads, each with what the step exports then: the check
    /// tries them once the plain run is right.
    pub scenarios: &'static [Scenario],
}

/// A run of a step's programs with variables it reads, and what it exports then.
#[derive(Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The variables, given to both programs.
    pub env: &'static [(&'static str, &'static str)],
    pub expect: Expect,
    /// What the step does with them, and what to read, for an attendee whose programs do not.
    pub say: &'static str,
}

/// What a step's programs export in a [`Scenario`].
#[derive(Debug, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: every trace dropped by the sampler.
    NoSpans,
    /// The step's trace without this attribute on any span.
    WithoutAttribute(&'static str),
    /// The frontend refuses the value at start-up: exit code 2, before it listens.
    RefusedAtStart,
    /// The step's trace, as without the variables.
    TheTrace,
}

/// One region of a step's file that the starter leaves to the attendee.
#[derive(Debug, PartialEq, Eq)]
pub struct Todo {
    /// The file, relative to the step's folder: `frontend/src/main.rs`.
    pub file: &'static str,
    /// The region's anchor name: `todo_child_span`.
    pub region: &'static str,
    /// What to write there, in the post's terms.
    pub say: &'static str,
    /// What stands in the region's place in the starter, so that it compiles: a neutral value,
    /// never a panic. Empty when the rest of the code needs nothing there. Where no neutral
    /// value exists (an exporter), it may stop the program at start-up with an error that
    /// names the TODO: the check counts that as work to do.
    pub stand_in: &'static str,
}

/// A mistake people make in this step, as a change to the step's own code, and the words the
/// check must find for it: the tests make each one and run the check on it.
#[derive(Debug, PartialEq, Eq)]
pub struct Mistake {
    /// The mistake, as an instructor would name it.
    pub what: &'static str,
    /// The file, relative to the step's folder: `frontend/src/main.rs`.
    pub file: &'static str,
    /// Text that occurs once in that file, and what it becomes.
    pub replace: &'static str,
    pub with: &'static str,
    /// Words of the check's diagnosis of it.
    pub diagnosis: &'static str,
}

impl Mistake {
    /// The program the mistake is in: `frontend` or `backend`.
    pub fn program(&self) -> &'static str {
        self.file.split('/').next().unwrap_or_default()
    }
}

/// What a step's untraced backend must have received, as it logs it (`received traceparent:
/// "00-…"`, `received baggage: "…"`): step 04's, which shows what crossed the wire.
#[derive(Debug, PartialEq, Eq)]
pub struct Received {
    /// The frontend's span that the `traceparent` must name.
    pub traceparent_of: &'static str,
    /// A baggage entry, `key=value`, that the `baggage` header must hold.
    pub baggage: &'static str,
}
