// Step 08 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises.rs says how a starter is made from it.
Exercise {
    hints: &[
        r#"
        `client_spans.rs` (read it) has what this step adds, ready to use: `instrument` gives the
        HTTP client a name resolver and a connector that start spans, `send` and `read_body` wrap
        the request's two halves in spans, and `request_attributes` and `response_attributes` are
        the HTTP semantic conventions' attributes. Your work is to put them where they belong.
        "#,
        r#"
        The client's spans need a tracer of their own, `provider.tracer("http-client")`, kept in
        `app.client_tracer`. `send` and `read_body` take that tracer and the context that holds
        `backend call` (`backend_cx`), so that their spans are its children.
        "#,
        r#"
        Nearly the answer:
        `let client_builder = client_spans::instrument(config.backend_client_builder(), client_tracer.clone());`;
        `.with_attributes(client_spans::request_attributes("GET", &app.backend_url))` on the
        `backend call` builder; in `call_backend`,
        `let response = client_spans::send(&app.client_tracer, backend_cx, request).await?;` then
        `backend_cx.span().set_attributes(client_spans::response_attributes(&response));`, and
        `client_spans::read_body(&app.client_tracer, backend_cx, response).await?;`.
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
            file: "frontend/src/main.rs",
            region: "todo_request_attributes",
            say: r#"
            Give `backend call` the HTTP semantic-convention attributes of the request: its
            method and the server it goes to (`client_spans::request_attributes`).
            "#,
            stand_in: "",
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_send",
            say: r#"
            Send the request in a span of its own, `send request`, a child of `backend call`
            (`client_spans::send`, with the client's tracer and `backend_cx`), then put the
            answer's attributes on `backend call` (`client_spans::response_attributes`).
            "#,
            stand_in: r#"
            // Sent without a span, so that the code compiles: replace it.
            let response = request.send().await?;
            "#,
        },
        Todo {
            file: "frontend/src/main.rs",
            region: "todo_read_body",
            say: r#"
            Read the body in a span of its own, `read body`, a child of `backend call`
            (`client_spans::read_body`).
            "#,
            stand_in: r#"
            // Read without a span, so that the code compiles: replace it.
            response.bytes().await?;
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
