// Step 13 as an exercise: the regions of the step's code that its starter leaves to the
// attendee, what each TODO says, the stand-in that keeps the starter compiling, and the hints.
// Not part of the step's programs: the workshop runner compiles it in (workshop/src/steps.rs),
// and workshop/src/exercises/starters.rs makes its starter from it.
Exercise {
    hints: &[
        r#"
        A span started inside a spawned task takes the span current there as its parent, and a
        new task has none: `.in_current_span()` (tracing's `Instrument`) carries the request's
        span into the task. A job crosses a queue as a request crosses the network: the producer
        injects its span's context into the job's headers with the global propagator, and the
        worker extracts it. The worker's span starts with no parent and links to that context
        (`OpenTelemetrySpanExt::add_link`). The program waits for the worker before it shuts the
        providers down.
        "#,
        r#"
        Producer: `info_span!("send jobs", otel.kind = "producer", messaging.system = "tokio",
        messaging.operation.type = "send", messaging.operation.name = "send",
        messaging.destination.name = QUEUE)`; inject with
        `global::get_text_map_propagator(|propagator| propagator.inject_context(&span.context(),
        &mut headers))`, and send inside the span (`.instrument(span)`). Consumer: the same
        fields with `parent: None`, "process jobs", `consumer` and `process`; extract with
        `propagator.extract(&job.headers)`, and link to `sender_cx.span().span_context()`.
        "#,
        r#"
        Nearly the answer: `tokio::spawn(compute_answer().in_current_span()).await`; in
        `send`, `let mut headers = HashMap::new();`, the inject above, then
        `self.sender.send(Job { headers }).instrument(span).await`; in the worker,
        `span.add_link(sender_cx.span().span_context().clone());` then
        `process(work).instrument(span).await`; in `main`,
        `jobs::wait_for_worker(worker).await;` after `serve`.
        "#,
    ],
    why_no_span: r#"
        The request's trace is step 12's, and the starter makes it already: a program that
        exports no span lost its tracer provider, or stopped before shutting it down.
        "#,
    tracing_crate: true,
    todos: &[
        Todo {
            file: "backend/src/main.rs",
            region: "todo_spawn",
            say: r#"
            Run `compute_answer()` in a task of its own (`tokio::spawn`), and await it, so that
            its span, `compute answer`, stays in the request's trace: the task must carry the
            request's span with it.
            "#,
            stand_in: r#"
            // Spawned without the request's span: `compute answer` starts a trace of its own.
            let answer = tokio::spawn(compute_answer()).await;
            "#,
        },
        Todo {
            file: "backend/src/jobs.rs",
            region: "todo_producer",
            say: r#"
            Send the job in a `producer` span, `send jobs`, with the messaging attributes
            (`messaging.system = "tokio"`, `messaging.operation.type` and `.name` `send`,
            `messaging.destination.name = QUEUE`), and inject that span's context into the
            job's headers with the global propagator, as the frontend does into HTTP headers.
            "#,
            stand_in: r#"
            // No span, and no trace context in the job's headers, so that the code compiles.
            let headers = HashMap::new();
            let sent = self.sender.send(Job { headers }).await;
            "#,
        },
        Todo {
            file: "backend/src/jobs.rs",
            region: "todo_consumer",
            say: r#"
            Process each job in a `consumer` span, `process jobs`, with the messaging attributes
            (`messaging.operation.type` and `.name` are `process`), that starts a trace of its
            own (no parent) and links to the span context extracted from the job's headers.
            "#,
            stand_in: r#"
            // No span, so that the code compiles: the job is processed untraced.
            let _ = &job.headers;
            process(work).await;
            "#,
        },
        Todo {
            file: "backend/src/main.rs",
            region: "todo_wait_for_worker",
            say: r#"
            The server has stopped: wait for the worker to finish the jobs still queued
            (`jobs::wait_for_worker`), before the providers are shut down.
            "#,
            stand_in: r#"
            // Nothing waits for the worker: a job still running at shutdown loses its spans.
            drop(worker);
            "#,
        },
    ],
    backend_receives: None,
    // The mistakes people make here, each a change to the step's own code, and words of the
    // check's diagnosis of it: the tests make each one and require the check to say so.
    mistakes: &[
        Mistake {
            what: "the context dropped at spawn: the task's span starts a trace of its own",
            file: "backend/src/main.rs",
            replace: "tokio::spawn(compute_answer().in_current_span())",
            with: "tokio::spawn(compute_answer())",
            diagnosis: "`.in_current_span()`",
        },
        Mistake {
            what: "the worker's span a child of the producer's, not linked to it",
            file: "backend/src/jobs.rs",
            replace: "span.add_link(sender_cx.span().span_context().clone());",
            with: "let _ = span.set_parent(sender_cx);",
            diagnosis: "instead of making it the parent (`set_parent`)",
        },
        Mistake {
            what: "the link to the wrong span: the request's, not the producer's",
            file: "backend/src/jobs.rs",
            replace: "propagator.inject_context(&span.context(), &mut headers);",
            with: "propagator.inject_context(&tracing::Span::current().context(), &mut headers);",
            diagnosis: "the job's headers carry the wrong span's context",
        },
        Mistake {
            what: "the wrong kind: the producer's span as a client's",
            file: "backend/src/jobs.rs",
            replace: "otel.kind = \"producer\",",
            with: "otel.kind = \"client\",",
            diagnosis: "`send jobs` is a span of kind client; the step expects producer",
        },
        Mistake {
            what: "the context not injected into the job's headers",
            file: "backend/src/jobs.rs",
            replace: "propagator.inject_context(&span.context(), &mut headers);",
            with: "let _ = (propagator, &span);",
            diagnosis: "(it has no link): link to the span context that came with the job",
        },
        Mistake {
            what: "a job lost at shutdown: nothing waits for the worker",
            file: "backend/src/main.rs",
            replace: "jobs::wait_for_worker(worker).await;",
            with: "drop(worker);",
            diagnosis: "waits for the worker",
        },
    ],
    // The variables this step reads, tried once the plain run is right.
    scenarios: &[Scenario {
        env: &[("JOB_WORK_MS", "1500")],
        expect: Expect::TheTrace,
        say: "each job takes 1.5 s, so the backend is stopped while its job still runs, and \
              the step's trace is exported all the same: the step waits for the worker \
              (`jobs::wait_for_worker`) before it shuts the tracer provider down",
    }],
}
