// Step 11 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        Four of the five TODOs are in `frontend/src/metrics.rs`, which the backend includes too;
        the fifth is where the frontend calls the backend. Nothing is measured until the meter
        provider has a reader: a periodic reader sends what the instruments hold through the
        metric exporter every minute (`OTEL_METRIC_EXPORT_INTERVAL`), and once more at shutdown. The instruments come from the
        provider's meter (`ServerMetrics::new`, `BackendCallMetrics::new`); a histogram takes a
        value with `record`, a counter one with `add`, each with its attributes, a `&[KeyValue]`.
        "#,
        r#"
        `SdkMeterProvider::builder().with_resource(resource)`, and, with an exporter,
        `.with_reader(PeriodicReader::builder(exporter).build())`, then
        `.build()`. The histogram's unit and buckets are `.with_unit("s")` and
        `.with_boundaries(DURATION_BUCKETS.to_vec())`, as `BackendCallMetrics::new` gives its own.
        A duration in seconds is `started.elapsed().as_secs_f64()`. The route is the request's
        `MatchedPath` extension, read before `next.run(request)` takes the request; the
        attributes' names are in `attribute::`: `HTTP_ROUTE`, `NETWORK_PROTOCOL_VERSION`,
        `HTTP_RESPONSE_STATUS_CODE`, `ERROR_TYPE`.
        "#,
        r#"
        Nearly the answer: in `measure_request`, read `semconv::protocol_version(request.version())`
        and `request.extensions().get::<MatchedPath>()` (as a `String`), then
        `let response = next.run(request).await;`, push the protocol version, the route, the
        status code (`i64::from(status.as_u16())`) and, if `status.is_server_error()`,
        `error.type` (`status_code(status)`) onto `attributes`, and
        `metrics.duration.record(started.elapsed().as_secs_f64(), &attributes);`. In
        `call_backend`: `let started = Instant::now();`, the call, then
        `app.backend_calls.record(started.elapsed(), &result);`. In `record`:
        `self.calls.add(1, &[KeyValue::new("demo.backend.outcome", call_outcome(outcome))]);`.
        "#,
    ],
    why_no_span: r#"
        The trace is step 10's, and the starter makes it already: a program that exports no span
        lost its tracer provider, or stopped before shutting it down.
        "#,
    tracing_crate: true,
    todos: &[
        Todo {
            file: "frontend/src/metrics.rs",
            region: "todo_meter_provider",
            say: r#"
            Build the meter provider: with `resource`, the one the traces have, so that a back
            end knows both signals come from one service; and, when there is an exporter
            (`OTEL_METRICS_EXPORTER` is not `none`), a periodic reader that sends what was
            measured through it periodically (the SDK reads `OTEL_METRIC_EXPORT_INTERVAL`), and
            once more when the provider is shut down.
            "#,
            stand_in: r#"
            // No reader, so that the code compiles: what the instruments measure goes nowhere.
            let _ = (exporter, resource);
            SdkMeterProvider::builder().build()
            "#,
        },
        Todo {
            file: "frontend/src/metrics.rs",
            region: "todo_duration_unit_and_buckets",
            say: r#"
            Give the histogram the unit the HTTP semantic conventions give a duration, seconds
            (`s`), and the bucket boundaries they advise (`DURATION_BUCKETS`).
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/metrics.rs",
            region: "todo_record_duration",
            say: r#"
            Read what the attributes need from the request first (`next.run(request)` takes it).
            Once the handler has answered, record how long the request took, in seconds, in
            `metrics.duration`, with the attributes the conventions give a server's duration:
            besides the method and the scheme, already in `attributes`, the protocol version,
            the route (the request's `MatchedPath`, never its path, which takes a new value for
            every URL), the status code, and `error.type` on a 5xx (the code as text, `"500"`).
            "#,
            stand_in: r#"
            let response = next.run(request).await;
            "#,
        },
        Todo {
            file: "frontend/src/metrics.rs",
            region: "todo_count_call",
            say: r#"
            Count the call in `self.calls`, the demo's own counter, with its outcome in one word
            (`call_outcome`) as the attribute `demo.backend.outcome`.
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "measure_call",
            say: r#"
            Measure the backend call: note when it starts and, once `send_and_read` has returned,
            record how long it took and how it ended in `app.backend_calls`.
            "#,
            stand_in: r#"
            let result = send_and_read(app, headers).await;
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the server's histogram under the conventions' older name",
            file: "frontend/src/metrics.rs",
            replace: ".f64_histogram(metric::HTTP_SERVER_REQUEST_DURATION)",
            with: ".f64_histogram(\"http.server.duration\")",
            diagnosis: "the semantic conventions' older name for `http.server.request.duration`",
        },
        Mistake {
            what: "the duration recorded in milliseconds",
            file: "frontend/src/metrics.rs",
            replace: ".record(started.elapsed().as_secs_f64(), &attributes);",
            with: ".record(started.elapsed().as_millis() as f64, &attributes);",
            diagnosis: "the duration was recorded in milliseconds",
        },
        Mistake {
            what: "the duration recorded in whole seconds",
            file: "frontend/src/metrics.rs",
            replace: ".record(started.elapsed().as_secs_f64(), &attributes);",
            with: ".record(started.elapsed().as_secs() as f64, &attributes);",
            diagnosis: "whole seconds (`as_secs()`) lose all of it",
        },
        Mistake {
            what: "the histogram left with the SDK's default buckets",
            file: "frontend/src/metrics.rs",
            replace: "                .with_unit(\"s\")\n                .with_boundaries(DURATION_BUCKETS.to_vec())\n                // ANCHOR_END",
            with: "                .with_unit(\"s\")\n                // ANCHOR_END",
            diagnosis: "has the SDK's default buckets",
        },
        Mistake {
            what: "the URL's path as an attribute, as on the span",
            file: "frontend/src/metrics.rs",
            replace: "let mut attributes = vec![\n",
            with: "let mut attributes = vec![\n        KeyValue::new(attribute::URL_PATH, request.uri().path().to_owned()),\n",
            diagnosis: "a URL takes a new value for every user",
        },
        Mistake {
            what: "the meter provider built without the traces' resource",
            file: "frontend/src/metrics.rs",
            replace: "let builder = SdkMeterProvider::builder().with_resource(resource);",
            with: "let builder = SdkMeterProvider::builder();",
            diagnosis: "build the meter provider with the resource the tracer provider has",
        },
        Mistake {
            what: "a request counted in flight and never taken back",
            file: "frontend/src/metrics.rs",
            replace: "self.counter.add(-1, &self.attributes);",
            with: "",
            diagnosis: "must take it back as it ends",
        },
    ],
    scenarios: &[],
}
