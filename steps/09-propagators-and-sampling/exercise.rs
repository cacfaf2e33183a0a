// Step 09 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        Two TODOs in `frontend/src/otel_env.rs`, which the backend includes too, two in the
        frontend's `main.rs` and one in the backend's. Read `OTEL_PROPAGATORS`, make a propagator for each standard name it
        may hold, and install what the list builds as the global propagator. The sampler needs no
        code, but a sampler set in the code wins over the variable.
        "#,
        r#"
        `read(name)` (step-support's `variable`) gives `Ok(None)` for a variable that is unset or
        empty, and an error for one that is not Unicode. The SDK has a propagator for each W3C
        format: `TraceContextPropagator` (`traceparent`, `tracestate`) and `BaggagePropagator`
        (`baggage`); `propagator(name)` returns one boxed, `Some(Box::new(...))`.
        `global::set_text_map_propagator(...)` installs one for the whole program, as in step 04.
        "#,
        r#"
        Nearly the answer: `let value = read("OTEL_PROPAGATORS")?;`; in `propagator`,
        `"tracecontext" => Some(Box::new(TraceContextPropagator::new())),` and
        `"baggage" => Some(Box::new(BaggagePropagator::new())),`; in `main`, after `init_tracer`,
        `global::set_text_map_propagator(propagators.build());`; in both `init_tracer`s, no
        `.with_sampler(..)` at all.
        "#,
    ],
    why_no_span: r#"
        A span reaches the OTLP endpoint only when the sampler keeps its trace: with no
        `OTEL_TRACES_SAMPLER`, the SDK's default, `parentbased_always_on`, keeps every trace.
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
            region: "todo_propagator_names",
            say: r#"
            The propagator each of the specification's W3C names stands for: `tracecontext`, the
            SDK's W3C Trace Context propagator; `baggage`, its W3C Baggage propagator. (Jaeger's,
            below, is given.)
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_install",
            say: r#"
            Install the propagators `OTEL_PROPAGATORS` names (`propagators.build()`) as the global
            propagator, which the handlers read. (The backend's is written already.)
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_sampler",
            say: r#"
            Let the operator choose the sampler: the SDK reads `OTEL_TRACES_SAMPLER` (and
            `OTEL_TRACES_SAMPLER_ARG`) itself, but only when the program sets no sampler of its
            own.
            "#,
            stand_in: r#"
            // Always on, as steps 02 to 08 set it, whatever the variable says: replace it.
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
            "#,
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_sampler",
            say: r#"
            As in the frontend: let the operator choose the sampler.
            "#,
            stand_in: r#"
            // Always on, whatever the variable says: replace it.
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the frontend's sampler still set in the code, so the variable is ignored",
            file: "frontend/src/main.rs",
            replace: "        .with_batch_exporter(exporter)",
            with: "        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)\n        .with_batch_exporter(exporter)",
            diagnosis: "which the SDK reads when the program sets no sampler of its own",
        },
        Mistake {
            what: "the frontend's propagators never installed",
            file: "frontend/src/main.rs",
            replace: "global::set_text_map_propagator(propagators.build());",
            with: "",
            diagnosis: "with the propagator installed globally",
        },
        Mistake {
            what: "no propagator made for `baggage`",
            file: "frontend/src/otel_env.rs",
            replace: r#""baggage" => Some(Box::new(BaggagePropagator::new())),"#,
            with: "",
            diagnosis: "has no attribute `demo.origin=frontend`",
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
            say: "the step keeps no trace at all: the sampler comes from `OTEL_TRACES_SAMPLER`, \
                  which the SDK reads when the program sets no sampler of its own",
        },
        Scenario {
            env: &[("OTEL_PROPAGATORS", "tracecontext")],
            expect: Expect::WithoutAttribute("demo.origin"),
            say: "only `traceparent` crosses the wire, no baggage, so `backend call received` has \
                  no `demo.origin`: the propagators come from `OTEL_PROPAGATORS`",
        },
    ],
}
