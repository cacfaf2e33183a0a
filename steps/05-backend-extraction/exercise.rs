// Step 05 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        The backend's span continues the frontend's trace when it starts with the context the
        frontend sent: the propagator reads it from the request's headers (`extract`), and the span is
        started with it as its parent context.
        "#,
        r#"
        `global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(&headers)))`
        gives the caller's context, read by the propagator `init_propagator` installed: its span
        context and its baggage. `tracer.span_builder(...).with_kind(SpanKind::Server)
        .start_with_context(tracer, &parent_cx)` starts a span in it. `parent_cx.baggage()` lists the
        baggage entries; `span.set_attribute(KeyValue::new(key, value))` records one on the span.
        "#,
        r#"
        Nearly the answer: `let parent_cx = global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(&headers)));`,
        then `let tracer = &app.tracer;` and
        `let mut span = tracer.span_builder("backend call received").with_kind(SpanKind::Server).start_with_context(tracer, &parent_cx);`,
        then `for (key, (value, _metadata)) in parent_cx.baggage() { span.set_attribute(KeyValue::new(key.clone(), value.clone())); }`
        and `span.add_event("handling backend call", vec![]);`.
        "#,
    ],
    why_no_span: r#"
        The backend's spans reach stdout as the frontend's do: from a tracer of the provider
        that has the exporter, once they are started and ended.
        "#,
    tracing_crate: false,
    todos: &[
        Todo {
            file: "backend/src/main.rs",
            region: "todo_extract",
            say: r#"
            Read the caller's context from the request's headers: the span context of the frontend's
            `backend call` and the baggage, with the global propagator and `opentelemetry_http`'s
            `HeaderExtractor`.
            "#,
            stand_in: r#"
            // An empty context, so that the code compiles: a span started in it begins a new trace.
            let parent_cx = opentelemetry::Context::new();
            "#,
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_server_span",
            say: r#"
            Start the span `backend call received`, of kind server, as a child of the caller's span: start
            it with the context you extracted, with the tracer in `app`.
            "#,
            stand_in: r#"
            // A span that records nothing, so that the code below compiles: replace it.
            let mut span = opentelemetry::trace::noop::NoopSpan::DEFAULT;
            "#,
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_baggage",
            say: r#"
            Record the baggage that came with the request on the span, an attribute for each entry, so
            that the trace shows who called (`demo.origin=frontend`).
            "#,
            stand_in: "",
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_event",
            say: r#"
            Add the event `handling backend call` to the span.
            "#,
            stand_in: "",
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the server span started without the extracted context",
            file: "backend/src/main.rs",
            replace: ".start_with_context(tracer, &parent_cx);",
            with: ".start(tracer);",
            diagnosis: "Extract the caller's context",
        },
        Mistake {
            what: "the context extracted from empty headers",
            file: "backend/src/main.rs",
            replace: "HeaderExtractor(&headers)",
            with: "HeaderExtractor(&HeaderMap::new())",
            diagnosis: "Extract the caller's context",
        },
        Mistake {
            what: "the baggage not recorded on the span",
            file: "backend/src/main.rs",
            replace: "span.set_attribute(KeyValue::new(key.clone(), value.clone()));",
            with: "",
            diagnosis: "has no attribute `demo.origin=frontend`",
        },
        Mistake {
            what: "the server span of the wrong kind",
            file: "backend/src/main.rs",
            replace: ".with_kind(SpanKind::Server)",
            with: ".with_kind(SpanKind::Internal)",
            diagnosis: "the step expects server",
        },
        Mistake {
            what: "the event left out",
            file: "backend/src/main.rs",
            replace: r#"span.add_event("handling backend call", vec![]);"#,
            with: "",
            diagnosis: "has no event `handling backend call`",
        },
    ],
    scenarios: &[],
}
