//! A job queue and its worker: work the backend hands off, to be done after the request has been
//! answered. A tokio channel stands in for a message broker (Kafka, RabbitMQ, SQS): what this
//! file does with the trace context is what a service does with a broker's message headers.
//!
//! A job carries the trace context of the span that sent it, injected into its headers by the
//! propagator that writes HTTP headers. The worker does not continue that trace: a job may run
//! long after the request ended, or many jobs in one batch, so its span starts a trace of its own
//! and **links** to the span that sent the job. The spans' kinds and attributes are those of the
//! messaging semantic conventions: `producer` sends, `consumer` processes.

use std::{collections::HashMap, time::Duration};

use opentelemetry::{global, trace::TraceContextExt};
use tokio::{sync::mpsc, task::JoinHandle};
use tracing::{Instrument, info, info_span, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The queue's name: the messaging conventions' destination, in its spans' names and attributes.
const QUEUE: &str = "jobs";

/// How many jobs may wait for the worker: a request that finds the queue full waits for room,
/// inside its `send jobs` span.
const CAPACITY: usize = 1024;

/// One piece of work for the worker, as a broker would carry it: the message's headers, which
/// hold the trace context of the span that sent it.
#[derive(Debug)]
pub struct Job {
    pub headers: HashMap<String, String>,
}

/// The sending end of the queue. Each request handler holds a clone; when the last is dropped
/// (the server has stopped), the worker processes what is queued and ends.
#[derive(Clone)]
pub struct JobQueue {
    sender: mpsc::Sender<Job>,
}

/// Starts the worker, which takes `work` per job, and gives the queue that feeds it and the
/// worker's task, to wait for at shutdown.
pub fn start_worker(work: Duration) -> (JobQueue, JoinHandle<()>) {
    let (sender, receiver) = mpsc::channel(CAPACITY);
    let worker = tokio::spawn(process_jobs(receiver, work));
    (JobQueue { sender }, worker)
}

impl JobQueue {
    // ANCHOR: producer
    /// Queues a job, in a `producer` span whose context goes into the job's headers.
    pub async fn send(&self) {
        // ANCHOR: todo_producer
        // TODO: Send the job in a `producer` span, `send jobs`, with the messaging attributes
        // (`messaging.system = "tokio"`, `messaging.operation.type` and `.name` `send`,
        // `messaging.destination.name = QUEUE`), and inject that span's context into the
        // job's headers with the global propagator, as the frontend does into HTTP headers.
        // No span, and no trace context in the job's headers, so that the code compiles.
        let headers = HashMap::new();
        let sent = self.sender.send(Job { headers }).await;
        // ANCHOR_END: todo_producer
        if sent.is_err() {
            // Only when the worker has ended, which it does only once the server has stopped.
            warn!("the job queue is closed: job not queued");
        }
    }
    // ANCHOR_END: producer
}

// ANCHOR: consumer
/// The worker: each job in a `consumer` span that starts a trace of its own, linked to the span
/// that sent the job. It ends once every sender is gone and the queue is empty, so a job queued
/// before shutdown is still processed.
async fn process_jobs(mut receiver: mpsc::Receiver<Job>, work: Duration) {
    while let Some(job) = receiver.recv().await {
        // ANCHOR: todo_consumer
        // TODO: Process each job in a `consumer` span, `process jobs`, with the messaging
        // attributes (`messaging.operation.type` and `.name` are `process`), that starts a
        // trace of its own (no parent) and links to the span context extracted from the job's
        // headers.
        // No span, so that the code compiles: the job is processed untraced.
        let _ = &job.headers;
        process(work).await;
        // ANCHOR_END: todo_consumer
    }
}
// ANCHOR_END: consumer

/// The job's own work: a set duration, when asked for (`JOB_WORK_MS`).
async fn process(work: Duration) {
    if !work.is_zero() {
        tokio::time::sleep(work).await;
    }
    info!("job processed");
}

// ANCHOR: wait_for_worker
/// Of the shutdown's budget, what the worker leaves to the providers' flush.
const FLUSH_RESERVE: Duration = Duration::from_secs(3);

/// Waits for the worker to finish the jobs still queued: call it once the server has stopped
/// (every sender is gone), before the providers are shut down, or the jobs' spans are lost. It
/// waits until only [`FLUSH_RESERVE`] is left of the shutdown's budget, so that the last spans
/// are still sent when a job takes too long.
pub async fn wait_for_worker(worker: JoinHandle<()>) {
    let time_left = step_support::shutdown_time_left().saturating_sub(FLUSH_RESERVE);
    match tokio::time::timeout(time_left, worker).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => warn!(%error, "the job worker failed"),
        Err(_) => warn!("the job worker did not finish in time: jobs still queued are lost"),
    }
}
// ANCHOR_END: wait_for_worker
