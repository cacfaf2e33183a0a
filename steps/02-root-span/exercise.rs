// Step 02 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        Two things make a span visible: a tracer provider that sends ended spans to an exporter, and
        a span that is started and ended. `init_tracer` builds the provider; the handler starts the
        span with the tracer `main` took from it.
        "#,
        r#"
        The provider comes from `SdkTracerProvider::builder()`: `with_resource` says who the service
        is (a `Resource` built with `with_service_name`, here `step_support::service_name("frontend")`),
        `with_sampler(Sampler::AlwaysOn)` keeps every trace, `with_simple_exporter(exporter)` sends each
        span to the exporter as it ends, and `build()` finishes it.
        "#,
        r#"
        The root span: `app.tracer.span_builder("incoming call").with_kind(SpanKind::Server).start(&app.tracer)`,
        in place of the stand-in. It is ended already, by `span.end()` near the end of the handler.
        "#,
    ],
    why_no_span: r#"
        A span reaches stdout only when the tracer comes from the provider that has the
        exporter (`with_simple_exporter`), and the span is started and ended.
        "#,
    tracing_crate: false,
    todos: &[
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_provider",
            say: r#"
            Build the tracer provider: a resource that names the service `frontend`, the sampler that
            keeps every trace, and the simple processor, which hands each span to `exporter` the moment it
            ends.
            "#,
            stand_in: r#"
            // A provider with no exporter, so that the code compiles: its spans go nowhere. Replace it.
            SdkTracerProvider::builder().build()
            "#,
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_root_span",
            say: r#"
            Start the root span, `incoming call`, of kind server: it covers the whole request, the latency
            the user saw. Start it with the tracer in `app`.
            "#,
            stand_in: r#"
            // A span that records nothing, so that the code below compiles: replace it.
            let mut span = opentelemetry::trace::noop::NoopSpan::DEFAULT;
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the provider built without the exporter",
            file: "frontend/src/main.rs",
            replace: ".with_simple_exporter(exporter)",
            with: "",
            diagnosis: "exported no span at all",
        },
        Mistake {
            what: "the tracer taken from a provider other than the one with the exporter",
            file: "frontend/src/main.rs",
            replace: r#"tracer: provider.tracer("OT-tracing-demo"),"#,
            with: r#"tracer: SdkTracerProvider::builder().build().tracer("OT-tracing-demo"),"#,
            diagnosis: "exported no span at all",
        },
        Mistake {
            what: "the provider built without the resource that names the service",
            file: "frontend/src/main.rs",
            replace: ".with_resource(resource)",
            with: "",
            diagnosis: "say they come from the service",
        },
        Mistake {
            what: "the root span of the wrong kind",
            file: "frontend/src/main.rs",
            replace: ".with_kind(SpanKind::Server)",
            with: ".with_kind(SpanKind::Internal)",
            diagnosis: "the step expects server",
        },
        Mistake {
            what: "the root span's name written another way",
            file: "frontend/src/main.rs",
            replace: r#".span_builder("incoming call")"#,
            with: r#".span_builder("Incoming Call")"#,
            diagnosis: "the step expects it named `incoming call`, exactly",
        },
        Mistake {
            what: "a log line printed to stdout, where the spans go",
            file: "frontend/src/main.rs",
            replace: r#"eprintln!("Sending request...");"#,
            with: r#"println!("Sending request...");"#,
            diagnosis: "not a span",
        },
    ],
    scenarios: &[],
}
