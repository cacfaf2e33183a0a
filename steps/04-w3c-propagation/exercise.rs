// Step 04 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        Three pieces: a propagator that knows the header formats, a context that holds what is to be
        sent (the `backend call` span and the baggage), and the call that writes that context into the
        request's headers.
        "#,
        r#"
        `TextMapCompositePropagator::new(vec![...])` combines propagators: the SDK's
        `TraceContextPropagator` writes `traceparent`, its `BaggagePropagator` writes `baggage`;
        `global::set_text_map_propagator(...)` installs one for the whole program. A context gets
        baggage with `with_baggage([KeyValue::new(key, value)])` (from `BaggageExt`), and
        `global::get_text_map_propagator(|propagator| ...)` lends you the installed propagator, whose
        `inject_context(&backend_cx, &mut HeaderInjector(&mut headers))` writes a context into a
        header map.
        "#,
        r#"
        Nearly the answer: in `init_propagator`,
        `global::set_text_map_propagator(TextMapCompositePropagator::new(vec![Box::new(TraceContextPropagator::new()), Box::new(BaggagePropagator::new())]))`,
        then a semicolon; the context is
        `Context::current_with_span(span).with_baggage([KeyValue::new("demo.origin", "frontend")])`;
        and between `let mut headers = HeaderMap::new();` and `let backend_span = backend_cx.span();`,
        `global::get_text_map_propagator(|propagator| { propagator.inject_context(&backend_cx, &mut HeaderInjector(&mut headers)); });`.
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
            region: "todo_propagator",
            say: r#"
            Install, globally, the two W3C propagators combined: Trace Context (`traceparent`,
            `tracestate`), with the SDK's `TraceContextPropagator`, and Baggage (`baggage`), with its
            `BaggagePropagator`. Until a program installs one, the global propagator writes nothing.
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_baggage",
            say: r#"
            The request's context holds its root span. Give it baggage too: the entry
            `demo.origin=frontend`, which travels with the trace to every service called.
            "#,
            stand_in: r#"
            let cx = Context::current_with_span(span);
            "#,
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_inject",
            say: r#"
            Put the trace context and the baggage into the request's headers: `backend_cx` holds the
            `backend call` span and the baggage; the global propagator writes what a context holds into
            `headers`, which `call_backend` sends.
            "#,
            stand_in: r#"
            let backend_cx = cx.with_span(backend_span);
            let mut headers = HeaderMap::new();
            let backend_span = backend_cx.span();
            "#,
        },
    ],
    // The backend is not traced: it logs the trace headers it received (`received traceparent:
    // "00-…"`). The check holds them to what the frontend exported: a `traceparent` that names
    // this span, and this baggage entry.
    backend_receives: Some(Received {
        traceparent_of: "backend call",
        baggage: "demo.origin=frontend",
    }),
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the propagator never installed",
            file: "frontend/src/main.rs",
            replace: "init_propagator();",
            with: "",
            diagnosis: "received no `traceparent` header",
        },
        Mistake {
            what: "the context injected into headers that are never sent",
            file: "frontend/src/main.rs",
            replace: ".inject_context(&backend_cx, &mut HeaderInjector(&mut headers));",
            with: ".inject_context(&backend_cx, &mut HeaderInjector(&mut HeaderMap::new()));",
            diagnosis: "received no `traceparent` header",
        },
        Mistake {
            what: "the root span's context injected, not the backend call's",
            file: "frontend/src/main.rs",
            replace: ".inject_context(&backend_cx,",
            with: ".inject_context(&cx,",
            diagnosis: "names `incoming call` as the caller",
        },
        Mistake {
            what: "the baggage left out of the context",
            file: "frontend/src/main.rs",
            replace: r#".with_baggage([KeyValue::new("demo.origin", "frontend")])"#,
            with: "",
            diagnosis: "sends the baggage entry `demo.origin=frontend`",
        },
        Mistake {
            what: "the baggage propagator left out",
            file: "frontend/src/main.rs",
            replace: "Box::new(BaggagePropagator::new()),",
            with: "",
            diagnosis: "received no `baggage` header",
        },
    ],
    scenarios: &[],
}
