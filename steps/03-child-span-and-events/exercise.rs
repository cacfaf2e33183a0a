// Step 03 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        The tracer starts spans from a builder: `tracer.span_builder("backend call")`. The builder's
        `with_kind` sets the kind (`SpanKind::Client`: this side makes a call), and its
        `start_with_context(tracer, &cx)` starts the span as a child of the span in `cx`.
        "#,
        r#"
        `start(tracer)`, without a context, starts a span in the current context, which here holds no
        span: the new span would begin a trace of its own. Events go on a span with
        `add_event(name, attributes)`, and `end()` ends it at that moment.
        "#,
        r#"
        Nearly the answer, in place of the stand-in:
        `let mut backend_span = tracer.span_builder("backend call").with_kind(SpanKind::Client).start_with_context(tracer, &cx);`
        then `backend_span.add_event("making backend call", vec![]);`, and at the second TODO
        `backend_span.end();`.
        "#,
    ],
    why_no_span: r#"
        A span reaches stdout only when the tracer comes from the provider that has the
        exporter, and the span is started and ended.
        "#,
    tracing_crate: false,
    todos: &[
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_child_span",
            say: r#"
            Start the span `backend call`, of kind client, as a child of the request's root span: the
            context `cx` holds the root span, so start the new span with it. Then add the event
            `making backend call` to the new span.
            "#,
            stand_in: r#"
            // A span that records nothing, so that the code below compiles: replace it.
            let mut backend_span = opentelemetry::trace::noop::NoopSpan::DEFAULT;
            "#,
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_end_child",
            say: r#"
            End `backend call` here, now that the backend's whole answer has been read. A span lasts from
            its start to its end: ended here, it measures the backend call and nothing else.
            "#,
            stand_in: "",
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the child span started without the request's context",
            file: "frontend/src/main.rs",
            replace: ".start_with_context(tracer, &cx);",
            with: ".start(tracer);",
            diagnosis: "began a trace of its own",
        },
        Mistake {
            what: "the child span left to end when it is dropped",
            file: "frontend/src/main.rs",
            replace: "backend_span.end();",
            with: "",
            diagnosis: "after its parent `incoming call`",
        },
        Mistake {
            what: "the child span ended before the backend is called",
            file: "frontend/src/main.rs",
            replace: "let result = call_backend(&app).await;",
            with: "backend_span.end();\n    let result = call_backend(&app).await;",
            diagnosis: "end it once the whole answer has been read",
        },
        Mistake {
            what: "the child span of the wrong kind",
            file: "frontend/src/main.rs",
            replace: ".with_kind(SpanKind::Client)",
            with: ".with_kind(SpanKind::Internal)",
            diagnosis: "the step expects client",
        },
        Mistake {
            what: "the event left out",
            file: "frontend/src/main.rs",
            replace: r#"backend_span.add_event("making backend call", vec![]);"#,
            with: "",
            diagnosis: "has no event `making backend call`",
        },
    ],
    scenarios: &[],
}
