//! The repository and its steps: where the repository is, which programs each step has, what it
//! adds, the trace (metrics, log records) it exports, and what makes it an exercise.

use std::path::{Path, PathBuf};

pub mod exercise;

use exercise::{Exercise, Expect, Mistake, Received, Scenario, Todo};

/// The repository's root folder.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// One step of the workshop: a folder under `steps/` with a frontend and a backend package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Two digits, as in the package names: `"05"`.
    pub number: &'static str,
    /// The folder under `steps/`.
    pub folder: &'static str,
    /// What the step adds, in a few words.
    pub title: &'static str,
    /// Whether the frontend and the backend export spans: to stdout, or with OTLP (`otlp`).
    pub frontend_traced: bool,
    pub backend_traced: bool,
    /// Whether the frontend continues a trace its caller started (from `traceparent`).
    pub frontend_continues_caller: bool,
    /// Whether the programs send their spans with OTLP (to `OTEL_EXPORTER_OTLP_ENDPOINT`)
    /// rather than print them.
    pub otlp: bool,
    /// Whether the step runs with nothing but this repository (step 06 needs Google Cloud).
    pub local: bool,
    /// The trace one successful request produces, as [`crate::spans::outline`] draws it: the
    /// structure the tests hold each step's programs to. It is the step's own `trace.txt`
    /// (`steps/NN-*/trace.txt`; step 01, untraced, has none), which the book draws too.
    pub trace: &'static str,
    /// The metrics that request makes, as `exercises::check::metrics::metrics_outline` draws
    /// them: the step's `metrics.txt`, empty for a step without metrics.
    pub metrics: &'static str,
    /// The log records it makes, as `exercises::check::logs::logs_outline` draws them: the
    /// step's `logs.txt`, empty for a step whose log lines are not sent as records.
    pub logs: &'static str,
    /// The step as an exercise, from its `exercise.rs` (`steps/NN-*/exercise.rs`), if it is
    /// one: what its starter leaves to the attendee (see [`exercise`]).
    pub exercise: Option<&'static Exercise>,
}

impl Step {
    /// The trace of a request that reuses a connection an earlier one opened: [`Self::trace`]
    /// without the spans of connecting (from step 08 on, where the HTTP client has spans).
    pub fn trace_on_reused_connection(&self) -> String {
        self.trace
            .lines()
            .filter(|line| {
                let span = line.trim_start();
                !(span.starts_with("frontend: connect (")
                    || span.starts_with("frontend: dns lookup ("))
            })
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// Whether `outline` is this step's trace, on a new connection or a reused one.
    pub fn is_its_trace(&self, outline: &str) -> bool {
        outline == self.trace || outline == self.trace_on_reused_connection()
    }

    pub fn frontend(&self) -> String {
        format!("step-{}-frontend", self.number)
    }

    pub fn backend(&self) -> String {
        format!("step-{}-backend", self.number)
    }
}

/// The exercise of a step, from the `exercise.rs` beside its two programs.
macro_rules! exercise_of {
    ($folder:literal) => {
        Some(&include!(concat!("../../steps/", $folder, "/exercise.rs")))
    };
}

/// A drawing of what one request through a step makes, from the file `$file` beside its two
/// programs: `trace.txt`, `metrics.txt`, `logs.txt`.
macro_rules! drawn {
    ($folder:literal, $file:literal) => {
        include_str!(concat!("../../steps/", $folder, "/", $file))
    };
}

pub const STEPS: &[Step] = &[
    Step {
        number: "01",
        folder: "01-untraced-pair",
        title: "the untraced pair",
        frontend_traced: false,
        backend_traced: false,
        frontend_continues_caller: false,
        local: true,
        otlp: false,
        exercise: None,
        trace: "",
        metrics: "",
        logs: "",
    },
    Step {
        number: "02",
        folder: "02-root-span",
        title: "the root span",
        frontend_traced: true,
        backend_traced: false,
        frontend_continues_caller: false,
        local: true,
        otlp: false,
        exercise: exercise_of!("02-root-span"),
        trace: drawn!("02-root-span", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "03",
        folder: "03-child-span-and-events",
        title: "a child span and events",
        frontend_traced: true,
        backend_traced: false,
        frontend_continues_caller: false,
        local: true,
        otlp: false,
        exercise: exercise_of!("03-child-span-and-events"),
        trace: drawn!("03-child-span-and-events", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "04",
        folder: "04-w3c-propagation",
        title: "W3C propagation",
        frontend_traced: true,
        backend_traced: false,
        frontend_continues_caller: false,
        local: true,
        otlp: false,
        exercise: exercise_of!("04-w3c-propagation"),
        trace: drawn!("04-w3c-propagation", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "05",
        folder: "05-backend-extraction",
        title: "backend extraction",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: false,
        local: true,
        otlp: false,
        exercise: exercise_of!("05-backend-extraction"),
        trace: drawn!("05-backend-extraction", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "06",
        folder: "06-cloud-trace",
        title: "export to Google Cloud Trace",
        // Spans go to Google, not stdout.
        frontend_traced: false,
        backend_traced: false,
        frontend_continues_caller: true,
        local: false,
        otlp: false,
        exercise: None,
        trace: drawn!("06-cloud-trace", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "07",
        folder: "07-otlp",
        title: "OTLP export",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: true,
        local: true,
        otlp: true,
        exercise: exercise_of!("07-otlp"),
        trace: drawn!("07-otlp", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "08",
        folder: "08-http-client-spans",
        title: "the HTTP client's own spans",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: true,
        local: true,
        otlp: true,
        exercise: exercise_of!("08-http-client-spans"),
        trace: drawn!("08-http-client-spans", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "09",
        folder: "09-propagators-and-sampling",
        title: "propagators and sampling from OTEL_PROPAGATORS and OTEL_TRACES_SAMPLER",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: true,
        local: true,
        otlp: true,
        exercise: exercise_of!("09-propagators-and-sampling"),
        trace: drawn!("09-propagators-and-sampling", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "10",
        folder: "10-tracing-crate",
        title: "the same trace with the tracing crate",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: true,
        local: true,
        otlp: true,
        exercise: exercise_of!("10-tracing-crate"),
        trace: drawn!("10-tracing-crate", "trace.txt"),
        metrics: "",
        logs: "",
    },
    Step {
        number: "11",
        folder: "11-metrics",
        title: "metrics: durations, requests in flight, calls by outcome",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: true,
        local: true,
        otlp: true,
        exercise: exercise_of!("11-metrics"),
        trace: drawn!("11-metrics", "trace.txt"),
        metrics: drawn!("11-metrics", "metrics.txt"),
        logs: "",
    },
    Step {
        number: "12",
        folder: "12-logs",
        title: "logs in OpenTelemetry: log records under their spans",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: true,
        local: true,
        otlp: true,
        exercise: exercise_of!("12-logs"),
        trace: drawn!("12-logs", "trace.txt"),
        metrics: drawn!("12-logs", "metrics.txt"),
        logs: drawn!("12-logs", "logs.txt"),
    },
    Step {
        number: "13",
        folder: "13-background-work",
        title: "work off the request's path: a spawned task, a job queue, span links",
        frontend_traced: true,
        backend_traced: true,
        frontend_continues_caller: true,
        local: true,
        otlp: true,
        exercise: exercise_of!("13-background-work"),
        trace: drawn!("13-background-work", "trace.txt"),
        metrics: drawn!("13-background-work", "metrics.txt"),
        logs: drawn!("13-background-work", "logs.txt"),
    },
];

/// The newest step that runs with nothing but this repository: the quick start shows it.
pub fn latest_local() -> &'static Step {
    STEPS
        .iter()
        .rev()
        .find(|step| step.local)
        .expect("step 01 is local")
}

/// The step whose program `package` is: `step-05-frontend`, its exercise's starter,
/// `exercise-05-frontend`, or one of the tests' mistakes in it, `mistake-05-2-frontend`.
pub fn of_package(package: &str) -> Option<&'static Step> {
    let is_program = package.ends_with("-frontend") || package.ends_with("-backend");
    STEPS.iter().find(|step| {
        is_program
            && ["step", "exercise", "mistake"]
                .iter()
                .any(|kind| package.starts_with(&format!("{kind}-{}-", step.number)))
    })
}

/// The step numbered `number` (`"5"`, `"05"` and `"step-05"` all name step 05).
pub fn find(number: &str) -> Option<&'static Step> {
    let digits = number.trim_start_matches("step-");
    let wanted: u32 = digits.parse().ok()?;
    STEPS
        .iter()
        .find(|step| step.number.parse::<u32>().ok() == Some(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_folder_is_listed_in_order() {
        let steps_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../steps");
        let mut folders: Vec<String> = std::fs::read_dir(steps_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.as_bytes().first().is_some_and(u8::is_ascii_digit))
            .collect();
        folders.sort();
        let listed: Vec<&str> = STEPS.iter().map(|step| step.folder).collect();
        assert_eq!(folders, listed);
        for step in STEPS {
            assert!(step.folder.starts_with(&format!("{}-", step.number)));
        }
    }

    #[test]
    fn every_steps_drawings_are_the_files_in_its_folder() {
        let steps_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../steps");
        for step in STEPS {
            for (name, drawn) in [
                ("trace.txt", step.trace),
                ("metrics.txt", step.metrics),
                ("logs.txt", step.logs),
            ] {
                let file = format!("{steps_dir}/{}/{name}", step.folder);
                let in_folder = std::fs::read_to_string(&file).unwrap_or_default();
                assert_eq!(drawn, in_folder, "{file}");
            }
        }
    }

    #[test]
    fn finds_steps_by_number() {
        assert_eq!(find("5").map(|s| s.number), Some("05"));
        assert_eq!(find("step-03").map(|s| s.number), Some("03"));
        assert_eq!(find("99"), None);
        assert_eq!(find("x"), None);
    }

    #[test]
    fn finds_the_step_of_a_program_or_of_its_exercise() {
        assert_eq!(of_package("step-07-backend").map(|s| s.number), Some("07"));
        assert_eq!(
            of_package("exercise-07-frontend").map(|s| s.number),
            Some("07")
        );
        assert_eq!(of_package("trace-viewer"), None);
        assert_eq!(of_package("exercise-99-frontend"), None);
        assert_eq!(
            of_package("mistake-05-2-backend").map(|s| s.number),
            Some("05")
        );
    }
}
