// Step 07 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        Three things, in this order: build the exporter in `otlp::exporter()` (in
        `frontend/src/otlp.rs`, which both programs use): `opentelemetry_otlp::SpanExporter` has a
        builder, and `.with_http()` chooses protobuf over HTTP. Then install it in each program's
        provider behind a batch processor, and shut each provider down before its program exits.
        "#,
        r#"
        The exporter reads the `OTEL_EXPORTER_OTLP_*` variables itself: no endpoint in the code.
        The provider builder's `with_batch_exporter(exporter)` installs it behind a batch
        processor: spans are collected and sent every 5 s, off the request's path. A batch still
        waiting when the program exits is lost unless the provider is shut down first:
        `otlp::shut_down` does that, and turns the outcome into the exit code.
        "#,
        r#"
        Nearly the answer: `SpanExporter::builder().with_http().build()` as the body of
        `otlp::exporter()`; in both programs, `.with_batch_exporter(exporter)` between
        `.with_sampler(Sampler::AlwaysOn)` and `.build()` in `init_tracer`, and
        `otlp::shut_down(provider, step_support::shutdown_time_left())` as the last expression of
        `main`, in place of the stand-in.
        "#,
    ],
    why_no_span: r#"
        A span reaches the OTLP endpoint only when the exporter is installed in the provider
        (`with_batch_exporter`), and, batched, only when the provider is shut down before
        the program exits: the batch processor sends every 5 s.
        "#,
    tracing_crate: false,
    todos: &[
        Todo {
            file: "frontend/src/otlp.rs",
            region: "todo_exporter",
            say: r#"
            Build the OTLP exporter, protobuf over HTTP, as opentelemetry-otlp documents it. It
            reads where to send (`OTEL_EXPORTER_OTLP_ENDPOINT`, ...) itself. Both programs use
            this function.
            "#,
            stand_in: r#"
            // Stops the program at start-up, exit code 2, until you replace it.
            Err(ExporterBuildError::InvalidConfiguration(
                "TODO in frontend/src/otlp.rs: build the OTLP exporter".to_owned(),
            ))
            "#,
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_batch",
            say: r#"
            Install the OTLP exporter in the provider, behind a batch processor: spans are then
            collected and sent in batches, off the request's path.
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_shutdown",
            say: r#"
            Shut the provider down before the program exits, so that the last batch is sent: the
            batch processor sends every 5 s, and a request's spans wait for it. `otlp` has the
            shutdown, with its exit code.
            "#,
            stand_in: r#"
            // Exits without shutting the provider down, as when it is kept in a global: the last
            // batch is lost. Replace it.
            std::mem::forget(provider);
            ExitCode::SUCCESS
            "#,
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_batch",
            say: r#"
            As in the frontend: install the OTLP exporter in the provider, behind a batch
            processor.
            "#,
            stand_in: "",
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_shutdown",
            say: r#"
            As in the frontend: shut the provider down before the program exits, so that the last
            batch is sent.
            "#,
            stand_in: r#"
            // Exits without shutting the provider down, as when it is kept in a global: the last
            // batch is lost. Replace it.
            std::mem::forget(provider);
            ExitCode::SUCCESS
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the exporter left to the stand-in: both programs stop at start-up",
            file: "frontend/src/otlp.rs",
            replace: "SpanExporter::builder().with_http().build()",
            with: "Err(ExporterBuildError::InvalidConfiguration(\"TODO in frontend/src/otlp.rs: build the OTLP exporter\".to_owned()))",
            diagnosis: "TODO in frontend/src/otlp.rs: build the OTLP exporter",
        },
        Mistake {
            what: "the frontend's provider not shut down: its last batch is lost at exit",
            file: "frontend/src/main.rs",
            replace: "otlp::shut_down(provider, step_support::shutdown_time_left())",
            with: "std::mem::forget(provider);\n    ExitCode::SUCCESS",
            diagnosis: "Your frontend exported no span",
        },
        Mistake {
            what: "the backend's exporter built but never installed in its provider",
            file: "backend/src/main.rs",
            replace: ".with_batch_exporter(exporter)",
            with: "",
            diagnosis: "Your backend exported no span",
        },
        Mistake {
            what: "the backend's provider not shut down: its last batch is lost at exit",
            file: "backend/src/main.rs",
            replace: "otlp::shut_down(provider, step_support::shutdown_time_left())",
            with: "std::mem::forget(provider);\n    ExitCode::SUCCESS",
            diagnosis: "Your backend exported no span",
        },
    ],
    scenarios: &[],
}
