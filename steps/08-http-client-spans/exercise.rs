// Step 08 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        `client_spans.rs` (read it) has the hooks ready: `instrument` gives the HTTP client a name
        resolver and a connector layer that start `dns lookup` and `connect` in the *current*
        context, and `SpanInProgress` starts a span and ends it with the outcome. Yours are the
        client's tracer in `main`, the two spans around the request's halves, and the request's
        attributes.
        "#,
        r#"
        In `send`, start `send request` as a child of the span in `parent`
        (`SpanInProgress::start`), and send the request with that span's context made current
        for exactly as long as it is in flight: `FutureExt::with_context` on the future, which
        `.await` cannot leak. In `read_body`, the same without a current context, with
        `http.response.body.size`. The attributes' names are in `attribute::`
        (`HTTP_REQUEST_METHOD`, `URL_FULL`, `SERVER_ADDRESS`, `SERVER_PORT`).
        "#,
        r#"
        Nearly the answer: in `main`,
        `let client_builder = client_spans::instrument(config.backend_client_builder(), client_tracer.clone());`.
        In `send`: `let sending = SpanInProgress::start(tracer, "send request", parent);`,
        `let result = request.send().with_context(sending.cx.clone()).await;`,
        `sending.finish(&result);`, `result`. In `read_body`, the same with `"read body"` and
        `response.bytes().await`, then `result.map(drop)`. In `request_attributes`, a `vec!` of
        the method and `shown.to_string()`, then the host (`url.host_str()`) and the port
        (`url.port_or_known_default()`, as an `i64`) when there are.
        "#,
    ],
    why_no_span: r#"
        A span reaches the OTLP endpoint only from a tracer of the provider that has the
        exporter, once it is ended, and once the provider is shut down.
        "#,
    tracing_crate: false,
    todos: &[
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_client",
            say: r#"
            Let the HTTP client report its own work, under a tracer of its own, `http-client`:
            instrument the client builder (`client_spans::instrument`), so that resolving the
            backend's name and connecting to it are spans.
            "#,
            stand_in: r#"
            let client_tracer = provider.tracer("http-client");
            // A client that reports nothing, so that the code compiles: replace it.
            let client_builder = config.backend_client_builder();
            "#,
        },
        Todo {
            file: "frontend/src/client_spans.rs",
            region: "todo_send_span",
            say: r#"
            Send the request in a span of its own, `send request`, a child of the span in
            `parent`, and make that span's context current while the request is in flight, so
            that the connector's `connect` and the resolver's `dns lookup` become its children.
            "#,
            stand_in: r#"
            // Sent without a span, so that the code compiles: replace it.
            request.send().await
            "#,
        },
        Todo {
            file: "frontend/src/client_spans.rs",
            region: "todo_read_body_span",
            say: r#"
            Read the whole body in a span of its own, `read body`, a child of the span in
            `parent`, with the body's size as `http.response.body.size`.
            "#,
            stand_in: r#"
            // Read without a span, so that the code compiles: replace it.
            response.bytes().await.map(drop)
            "#,
        },
        Todo {
            file: "frontend/src/client_spans.rs",
            region: "todo_request_attributes",
            say: r#"
            The HTTP semantic conventions' attributes of the request, known before it is sent:
            its method (`http.request.method`), the URL (`url.full`, the `shown` one, without
            credentials), and the server it names (`server.address`, `server.port`).
            "#,
            stand_in: r#"
            // No attribute, so that the code compiles: replace it.
            Vec::new()
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the client built without the instrumented builder",
            file: "frontend/src/main.rs",
            replace: "client_spans::instrument(config.backend_client_builder(), client_tracer.clone());",
            with: "config.backend_client_builder();",
            diagnosis: "the step expects `connect` (internal)",
        },
        Mistake {
            what: "the request sent outside the context that holds `backend call`",
            file: "frontend/src/main.rs",
            replace: "client_spans::send(&app.client_tracer, backend_cx, request)",
            with: "client_spans::send(&app.client_tracer, &Context::new(), request)",
            diagnosis: "`send request` is not in the same trace as `backend call`",
        },
        Mistake {
            what: "`send request` not made current while the request is in flight",
            file: "frontend/src/client_spans.rs",
            replace: "request.send().with_context(sending.cx.clone()).await",
            with: "request.send().await",
            diagnosis: "`connect` is not in the same trace as `send request`",
        },
        Mistake {
            what: "the body read without its span",
            file: "frontend/src/main.rs",
            replace: "client_spans::read_body(&app.client_tracer, backend_cx, response).await?;",
            with: "response.bytes().await?;",
            diagnosis: "the step expects `read body` (internal)",
        },
        Mistake {
            what: "the request's attributes left off `backend call`",
            file: "frontend/src/main.rs",
            replace: r#".with_attributes(client_spans::request_attributes("GET", &app.backend_url))"#,
            with: "",
            diagnosis: "`backend call` lacks",
        },
    ],
    scenarios: &[],
}
