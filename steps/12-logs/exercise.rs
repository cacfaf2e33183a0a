// Step 12 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        An event becomes an OpenTelemetry log record through the logs bridge,
        `opentelemetry_appender_tracing`'s `OpenTelemetryTracingBridge`: one more layer of the
        subscriber, beside the trace's and the log's, with a filter of its own. It hands each
        record to a logger provider which, as the tracer provider does, has the resource and a
        batch processor with the exporter, and is shut down before the program exits (the step's
        `otlp::shut_down` does that already).
        "#,
        r#"
        `SdkLoggerProvider::builder().with_resource(resource)` and, with an exporter,
        `.with_log_processor(BatchLogProcessor::builder(exporter).build())`, then `.build()`.
        The bridge is `OpenTelemetryTracingBridge::new(logger_provider)`, and its filter
        `logs::log_record_filter(log_filter)`: the events RUST_LOG chooses, never those of the
        crates the exporter runs on, whose records would be sent by the work they report.
        "#,
        r#"
        Nearly the answer: in `init_logger_provider`,
        `let builder = SdkLoggerProvider::builder().with_resource(resource);` then
        `match exporter { Some(exporter) => builder.with_log_processor(...).build(), None =>
        builder.build() }`; in both programs' `init_subscriber`,
        `let to_log_records = OpenTelemetryTracingBridge::new(logger_provider)
        .with_filter(logs::log_record_filter(log_filter));`.
        "#,
    ],
    why_no_span: r#"
        The trace is step 10's, and the starter makes it already: a program that exports no span
        lost its tracer provider, or stopped before shutting it down.
        "#,
    tracing_crate: true,
    todos: &[
        Todo {
            file: "frontend/src/logs.rs",
            region: "todo_logger_provider",
            say: r#"
            Build the logger provider: with `resource`, the one the traces and the metrics have,
            and, when there is an exporter (`OTEL_LOGS_EXPORTER` is not `none`), a batch
            processor that sends the records through it from a thread of its own.
            "#,
            stand_in: r#"
            // No processor, so that the code compiles: records go nowhere.
            let _ = (exporter, resource);
            SdkLoggerProvider::builder().build()
            "#,
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "to_log_records",
            say: r#"
            Make `to_log_records`, the layer that turns each event into a log record for
            `logger_provider` (the logs bridge), with a filter of its own: the events RUST_LOG
            chooses (`log_filter`), and never one of the crates the exporter runs on.
            "#,
            stand_in: r#"
            // A layer that does nothing, so that the code compiles: no event becomes a record.
            let to_log_records = tracing_subscriber::layer::Identity::new();
            "#,
        },
        Todo {
            file: "backend/src/main.rs",
            region: "to_log_records",
            say: r#"
            As in the frontend: make `to_log_records`, the logs bridge, with its own filter.
            "#,
            stand_in: r#"
            // A layer that does nothing, so that the code compiles: no event becomes a record.
            let to_log_records = tracing_subscriber::layer::Identity::new();
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the bridge without its filter: the exporter's own crates' events become records",
            file: "frontend/src/main.rs",
            replace: ".with_filter(logs::log_record_filter(log_filter));",
            with: ";",
            diagnosis: "crates its exporter runs on report their own work",
        },
        Mistake {
            what: "the logger provider never shut down: the last records are lost at exit",
            file: "frontend/src/otlp.rs",
            replace: "        (\n            \"log records\",\n            logger_provider.shutdown_with_timeout(time_left()),\n        ),\n",
            with: "",
            diagnosis: "the provider must be shut down before the program exits",
        },
        Mistake {
            what: "the logger provider built without the traces' resource",
            file: "frontend/src/logs.rs",
            replace: "let builder = SdkLoggerProvider::builder().with_resource(resource);",
            with: "let builder = SdkLoggerProvider::builder();",
            diagnosis: "build the logger provider with the resource the tracer provider has",
        },
    ],
    scenarios: &[],
}
