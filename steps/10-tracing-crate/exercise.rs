// Step 10 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        `tracing`'s spans and events go nowhere until a subscriber is installed. Here it is a
        registry with two layers: tracing-opentelemetry's, which turns spans and the events in
        them into the trace, and `tracing_subscriber::fmt`'s, which writes log lines. Each layer
        has a filter of its own: `logs::trace_filter()` for the trace, `log_filter` for the log.
        "#,
        r#"
        `tracing_opentelemetry::layer().with_tracer(tracer)` is the trace's layer (the step also
        turns four of its defaults off, `.with_location(false)` and the like, to keep the post's
        trace; the check accepts them on or off);
        `tracing_subscriber::fmt::layer().event_format(logs::WithTraceIds).with_writer(std::io::stderr)`
        the log's. `tracing_subscriber::registry().with(a).with(b).init()` installs both. An
        `#[instrument(name = "...", skip_all, fields(otel.kind = "client"))]` on an async function
        makes a span of each call, and `info!("...")` in a span is an event of that span.
        "#,
        r#"
        Nearly the answer: `let to_the_trace = tracing_opentelemetry::layer().with_tracer(tracer)
        .with_filter(logs::trace_filter());`,
        `let to_the_log = tracing_subscriber::fmt::layer().event_format(logs::WithTraceIds)
        .with_writer(std::io::stderr).with_filter(log_filter);`,
        then `tracing_subscriber::registry().with(to_the_trace).with(to_the_log).init();`;
        `call_backend` gets `#[instrument(name = "backend call", skip_all, fields(otel.kind =
        "client", http.request.method = "GET", url.full = %client_spans::url_without_credentials(&app.backend_url),
        server.address = app.backend_url.host_str(), server.port = app.backend_url.port_or_known_default(),
        http.response.status_code = field::Empty, network.protocol.version = field::Empty,
        network.peer.address = field::Empty, network.peer.port = field::Empty))]`; the events are
        `info!("making backend call");` and, in the backend, `info!("handling backend call");`.
        "#,
    ],
    why_no_span: r#"
        `tracing`'s spans reach OpenTelemetry only through a subscriber that has
        tracing-opentelemetry's layer, filtered so that INFO spans pass
        (`logs::trace_filter()`), and the provider must be shut down before the program
        exits.
        "#,
    tracing_crate: true,
    todos: &[
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_subscriber",
            say: r#"
            Install the subscriber: a registry with two layers, each with its own filter. One
            sends spans and the events in them to OpenTelemetry through `tracer`, filtered by
            `logs::trace_filter()` so that RUST_LOG never takes spans from the trace; the other
            writes log lines to stderr with their trace ids (`logs::WithTraceIds` as its event
            format), filtered by `log_filter`.
            "#,
            stand_in: r#"
            // Installs nothing, so that the code compiles: `tracing`'s spans go nowhere.
            let _ = (tracer, log_filter);
            "#,
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_backend_call",
            say: r#"
            Make each call of `call_backend` a span, `backend call`, of kind client (the field
            `otel.kind`), with the HTTP semantic conventions' attributes of the request, and empty
            fields for those of the answer, which `client_spans::record_response` fills in:
            `http.response.status_code`, `network.protocol.version`, `network.peer.address`,
            `network.peer.port`.
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_event",
            say: r#"
            Write the event `making backend call`: in the span, it is a span event in the trace
            and a log line with the span's ids.
            "#,
            stand_in: "",
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_subscriber",
            say: r#"
            As in the frontend: install the subscriber, a registry with a layer for the trace and
            one for the log, each with its own filter.
            "#,
            stand_in: r#"
            // Installs nothing, so that the code compiles: `tracing`'s spans go nowhere.
            let _ = (tracer, log_filter);
            "#,
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_event",
            say: r#"
            Write the event `handling backend call`, in the request's span.
            "#,
            stand_in: "",
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the trace's layer filtered by a log level, which drops the INFO spans",
            file: "frontend/src/main.rs",
            replace: ".with_filter(logs::trace_filter());",
            with: ".with_filter(tracing_subscriber::filter::LevelFilter::WARN);",
            diagnosis: "Your frontend exported no span",
        },
        Mistake {
            what: "the event written as a plain log line, outside `tracing`",
            file: "frontend/src/main.rs",
            replace: r#"info!("making backend call");"#,
            with: r#"eprintln!("making backend call");"#,
            diagnosis: "has no event `making backend call`",
        },
        Mistake {
            what: "the backend call's span without its kind",
            file: "frontend/src/main.rs",
            replace: r#"otel.kind = "client","#,
            with: "",
            diagnosis: "the step expects client",
        },
        Mistake {
            what: "the backend's span not given the caller's context as its parent",
            file: "backend/src/main.rs",
            replace: "span.set_parent(parent_cx)",
            with: "span.set_parent(opentelemetry::Context::new())",
            diagnosis: "Extract the caller's context",
        },
    ],
    scenarios: &[],
}
