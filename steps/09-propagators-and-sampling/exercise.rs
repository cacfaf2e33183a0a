// Step 09 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises.rs says how a starter is made from it.
Exercise {
    hints: &[
        r#"
        Both TODOs are in `frontend/src/otel_env.rs`, which the backend includes too. The rest of
        the file is given: it reads `OTEL_PROPAGATORS`'s list of names, and builds the propagators
        it names. Your work is to read the variable, and to turn `OTEL_TRACES_SAMPLER`'s names
        into the SDK's samplers.
        "#,
        r#"
        `read(name)` (step-support's `variable`) gives `Ok(None)` for a variable that is unset or
        empty, and an error for one that is not Unicode. The specification's sampler names are
        `always_on`, `always_off`, `traceidratio`, and the same three with `parentbased_` in
        front; `Sampler::ParentBased(Box::new(root))` follows the caller's decision, and applies
        `root` where there is none.
        "#,
        r#"
        Nearly the answer: `let value = read("OTEL_PROPAGATORS")?;`, and
        `Ok(match name { "always_on" => Sampler::AlwaysOn, "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?), "parentbased_always_on" =>
        parent_based(Sampler::AlwaysOn), ... , _ => return Err(StartupError::invalid(...)) })`,
        the error naming `OTEL_TRACES_SAMPLER` and the names it takes.
        "#,
    ],
    why_no_span: r#"
        A span reaches the OTLP endpoint only when the sampler keeps its trace: with no
        `OTEL_TRACES_SAMPLER`, the default, `parentbased_always_on`, keeps every trace.
        "#,
    tracing_crate: false,
    todos: &[
        Todo {
            file: "frontend/src/otel_env.rs",
            region: "todo_propagators_variable",
            say: r#"
            Read `OTEL_PROPAGATORS` (with `read`): unset or empty, the default list applies.
            "#,
            stand_in: r#"
            // As if the variable were never set, so that the code compiles: replace it.
            let value: Option<String> = None;
            "#,
        },
        Todo {
            file: "frontend/src/otel_env.rs",
            region: "todo_sampler_names",
            say: r#"
            The sampler `OTEL_TRACES_SAMPLER` names: `always_on`, `always_off`, `traceidratio`
            (with the ratio in `OTEL_TRACES_SAMPLER_ARG`: `ratio()`), and each of the three
            `parentbased_` (`parent_based(...)`). Any other name is an error that stops the
            program, naming the variable and the names it takes (`StartupError::invalid`).
            "#,
            stand_in: r#"
            // The default, whatever the variable says, so that the code compiles: replace it.
            Ok(parent_based(Sampler::AlwaysOn))
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "always_off read as a sampler that keeps every trace",
            file: "frontend/src/otel_env.rs",
            replace: r#""always_off" => Sampler::AlwaysOff,"#,
            with: r#""always_off" => Sampler::AlwaysOn,"#,
            diagnosis: "OTEL_TRACES_SAMPLER=always_off",
        },
        Mistake {
            what: "an unknown sampler name taken as the default, not refused",
            file: "frontend/src/otel_env.rs",
            replace: r#""parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),"#,
            with: r#""parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        _ if name != "strict" => parent_based(Sampler::AlwaysOn),"#,
            diagnosis: "OTEL_TRACES_SAMPLER=bogus",
        },
        Mistake {
            what: "OTEL_PROPAGATORS read under another name",
            file: "frontend/src/otel_env.rs",
            replace: r#"read("OTEL_PROPAGATORS")?"#,
            with: r#"read("OTEL_PROPAGATOR")?"#,
            diagnosis: "OTEL_PROPAGATORS=tracecontext",
        },
    ],
    // The variables this step reads, tried once the plain run is right.
    scenarios: &[
        Scenario {
            env: &[("OTEL_TRACES_SAMPLER", "always_off")],
            expect: Expect::NoSpans,
            say: "the step keeps no trace at all: the sampler comes from `OTEL_TRACES_SAMPLER`",
        },
        Scenario {
            env: &[("OTEL_PROPAGATORS", "tracecontext")],
            expect: Expect::WithoutAttribute("demo.origin"),
            say: "only `traceparent` crosses the wire, no baggage, so `backend call received` has \
                  no `demo.origin`: the propagators come from `OTEL_PROPAGATORS`",
        },
        Scenario {
            env: &[("OTEL_TRACES_SAMPLER", "bogus")],
            expect: Expect::RefusedAtStart,
            say: "the step stops at start-up with exit code 2 and a line naming the variable: \
                  a sampler name it does not know is an error (`StartupError::invalid`)",
        },
    ],
}
