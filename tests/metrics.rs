//! Step 11's real programs measure what they do: the metrics they send over OTLP, as the
//! receiver decoded them, have the HTTP semantic conventions' names, units, bucket boundaries
//! and attributes, and count every request, failures included; the last interval is sent at
//! shutdown; the standard variables choose the interval, the exporter and the endpoint.

#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use trace_viewer::{
    receiver::Receiver,
    signals::{HistogramPoint, MetricKind, MetricRecord, Point, PointValue},
};
use workshop::{
    harness::fake_backend::{ClosedPort, FakeBackend},
    harness::process::{Exited, Pair, Service, assert_refused_at_start, http_get},
    steps::{self, Step},
};

fn step_11() -> &'static Step {
    steps::find("11").unwrap()
}

/// The HTTP semantic conventions' (v1.42.0) advised boundaries for request durations.
const SEMCONV_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// An hour: no export but the one at shutdown.
const AT_SHUTDOWN_ONLY: (&str, &str) = ("OTEL_METRIC_EXPORT_INTERVAL", "3600000");

fn attributes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// The exports of the metric `name`, in the order they came.
fn exports<'a>(metrics: &'a [MetricRecord], name: &str) -> Vec<&'a MetricRecord> {
    metrics
        .iter()
        .filter(|metric| metric.name == name)
        .collect()
}

/// The only export of the metric `name`.
fn only_export<'a>(metrics: &'a [MetricRecord], name: &str) -> &'a MetricRecord {
    let found = exports(metrics, name);
    assert_eq!(found.len(), 1, "{name} exported {} times", found.len());
    found[0]
}

fn histogram(point: &Point) -> &HistogramPoint {
    match &point.value {
        PointValue::Histogram(histogram) => histogram,
        other => panic!("not a histogram point: {other:?}"),
    }
}

fn number(point: &Point) -> f64 {
    match &point.value {
        PointValue::Number(value) => *value,
        other => panic!("not a number: {other:?}"),
    }
}

/// The metric's only point, with the attributes it has.
fn only_point(metric: &MetricRecord) -> &Point {
    assert_eq!(
        metric.points.len(),
        1,
        "{}: {:#?}",
        metric.name,
        metric.points
    );
    &metric.points[0]
}

/// Checks a duration histogram's name, unit, kind and buckets, and returns its only point.
fn duration_point<'a>(metrics: &'a [MetricRecord], name: &str) -> (&'a Point, &'a HistogramPoint) {
    let metric = only_export(metrics, name);
    assert_eq!(metric.unit, "s", "{name}");
    assert_eq!(
        metric.kind,
        MetricKind::Histogram { cumulative: true },
        "{name}"
    );
    let point = only_point(metric);
    let histogram = histogram(point);
    assert_eq!(histogram.bounds, SEMCONV_BUCKETS, "{name}");
    assert_eq!(histogram.bucket_counts.iter().sum::<u64>(), histogram.count);
    (point, histogram)
}

/// Checks the in-flight counter: an up-down counter, back to 0 once every request is answered.
fn assert_none_in_flight(metrics: &[MetricRecord]) {
    let metric = only_export(metrics, "http.server.active_requests");
    assert_eq!(metric.unit, "{request}");
    assert_eq!(
        metric.kind,
        MetricKind::Sum {
            monotonic: false,
            cumulative: true
        }
    );
    let point = only_point(metric);
    assert_eq!(
        point.attributes,
        attributes(&[("http.request.method", "GET"), ("url.scheme", "http")])
    );
    assert_eq!(number(point), 0.0);
}

async fn requests(url: &str, count: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..count {
        statuses.push(http_get(url).await.unwrap().0);
    }
    statuses
}

#[tokio::test]
async fn each_request_is_measured_with_the_semantic_conventions_names_units_and_buckets() {
    let pair = Pair::start_with(step_11(), &[AT_SHUTDOWN_ONLY], &[])
        .await
        .unwrap();
    let backend_port = pair.backend.address().port().to_string();

    let statuses = requests(&pair.frontend.url(), 5).await;

    let (frontend, backend) = pair.stop().await.unwrap();
    assert_eq!(statuses, [StatusCode::OK; 5]);
    frontend.assert_success();
    backend.assert_success();

    let served = attributes(&[
        ("http.request.method", "GET"),
        ("http.response.status_code", "200"),
        ("http.route", "/"),
        ("network.protocol.version", "1.1"),
        ("url.scheme", "http"),
    ]);
    for (service, exited) in [("frontend", &frontend), ("backend", &backend)] {
        let (point, durations) = duration_point(&exited.metrics, "http.server.request.duration");
        assert_eq!(point.attributes, served, "{service}");
        assert_eq!(durations.count, 5, "{service}");
        assert!(durations.sum.is_some_and(|sum| sum > 0.0), "{service}");
        assert_none_in_flight(&exited.metrics);
        // From the same resource as the spans.
        for metric in &exited.metrics {
            assert_eq!(metric.service, service, "{}", metric.name);
        }
        let spans = exited.spans();
        assert!(spans.iter().all(|span| span.service == service));
    }

    let (point, calls) = duration_point(&frontend.metrics, "http.client.request.duration");
    assert_eq!(
        point.attributes,
        attributes(&[
            ("http.request.method", "GET"),
            ("http.response.status_code", "200"),
            ("server.address", "127.0.0.1"),
            ("server.port", &backend_port),
        ])
    );
    assert_eq!(calls.count, 5);
    // A call is part of the request that made it.
    let (_, served) = duration_point(&frontend.metrics, "http.server.request.duration");
    assert!(calls.sum.unwrap() <= served.sum.unwrap());

    let counted = only_export(&frontend.metrics, "demo.backend.calls");
    assert_eq!(counted.unit, "{call}");
    assert_eq!(
        counted.kind,
        MetricKind::Sum {
            monotonic: true,
            cumulative: true
        }
    );
    let point = only_point(counted);
    assert_eq!(
        point.attributes,
        attributes(&[("demo.backend.outcome", "ok")])
    );
    assert_eq!(number(point), 5.0);
    // The backend calls nobody.
    assert!(exports(&backend.metrics, "demo.backend.calls").is_empty());
    assert!(exports(&backend.metrics, "http.client.request.duration").is_empty());
}

/// Starts step 11's frontend alone, calling `backend_url`, with a 2-second backend timeout,
/// sends it `count` requests, stops it, and returns its answers and what it sent.
async fn frontend_calling(backend_url: &str, count: usize) -> (Vec<StatusCode>, Exited) {
    let env = [
        ("BACKEND_URL", backend_url),
        ("BACKEND_TIMEOUT_MS", "2000"),
        AT_SHUTDOWN_ONLY,
    ];
    let frontend = Service::start(&step_11().frontend(), &env).await.unwrap();
    let statuses = requests(&frontend.url(), count).await;
    let exited = frontend.stop().await.unwrap();
    exited.assert_success();
    (statuses, exited)
}

#[tokio::test]
async fn failed_backend_calls_are_counted_with_their_error_type() {
    let nobody = ClosedPort::new();
    let failing = FakeBackend::answering(StatusCode::SERVICE_UNAVAILABLE).await;
    let ((unreachable, down), (bad_status, erring)) = tokio::join!(
        frontend_calling(nobody.url(), 3),
        frontend_calling(failing.url(), 2)
    );
    assert_eq!(unreachable, [StatusCode::BAD_GATEWAY; 3]);
    assert_eq!(bad_status, [StatusCode::BAD_GATEWAY; 2]);

    for (exited, count, outcome, status, error_type) in [
        (&down, 3, "unreachable", None, "unreachable"),
        (&erring, 2, "bad_status", Some("503"), "503"),
    ] {
        // The user got a 502: the server's failure.
        let (point, served) = duration_point(&exited.metrics, "http.server.request.duration");
        assert_eq!(served.count, count);
        assert_eq!(point.attributes["http.response.status_code"], "502");
        assert_eq!(point.attributes["error.type"], "502");

        let (point, calls) = duration_point(&exited.metrics, "http.client.request.duration");
        assert_eq!(calls.count, count);
        assert_eq!(point.attributes["error.type"], error_type);
        assert_eq!(
            point
                .attributes
                .get("http.response.status_code")
                .map(String::as_str),
            status
        );

        let point = only_point(only_export(&exited.metrics, "demo.backend.calls"));
        assert_eq!(
            point.attributes,
            attributes(&[("demo.backend.outcome", outcome)])
        );
        assert_eq!(number(point), count as f64);
        assert_none_in_flight(&exited.metrics);
    }
}

#[tokio::test]
async fn the_interval_variable_sets_how_often_metrics_are_sent() {
    let pair = Pair::start_with(step_11(), &[("OTEL_METRIC_EXPORT_INTERVAL", "100")], &[])
        .await
        .unwrap();
    requests(&pair.frontend.url(), 1).await;
    // Three exports, without waiting for a shutdown: the reader sends on its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    while exports(&pair.frontend.metrics_received(), "demo.backend.calls").len() < 3 {
        assert!(Instant::now() < deadline, "fewer than 3 exports in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (frontend, _) = pair.stop().await.unwrap();
    frontend.assert_success();
    // Cumulative: each export counts from the start.
    for export in exports(&frontend.metrics, "demo.backend.calls") {
        assert_eq!(number(only_point(export)), 1.0);
    }
}

#[tokio::test]
async fn the_metrics_endpoint_variable_sends_them_elsewhere_and_none_sends_none() {
    let elsewhere = Receiver::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("{}/v1/metrics", elsewhere.endpoint());
    let moved = [
        AT_SHUTDOWN_ONLY,
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metrics_url.as_str()),
    ];
    let (moved, off) = tokio::join!(
        Pair::start_with(step_11(), &moved, &[]),
        Pair::start_with(step_11(), &[("OTEL_METRICS_EXPORTER", "none")], &[])
    );
    let (moved, off) = (moved.unwrap(), off.unwrap());
    requests(&moved.frontend.url(), 1).await;
    requests(&off.frontend.url(), 1).await;
    let ((moved_frontend, moved_backend), (off_frontend, off_backend)) =
        (moved.stop().await.unwrap(), off.stop().await.unwrap());

    for exited in [&moved_frontend, &moved_backend, &off_frontend, &off_backend] {
        exited.assert_success();
        // The spans still go to the usual endpoint, the metrics not.
        assert!(!exited.spans().is_empty());
        assert!(exited.metrics.is_empty(), "{:?}", exited.metrics);
    }
    let received = elsewhere.inbox().metrics();
    let services: Vec<&str> = exports(&received, "http.server.request.duration")
        .iter()
        .map(|metric| metric.service.as_str())
        .collect();
    assert_eq!(services.len(), 2, "{services:?}");
    assert!(services.contains(&"frontend") && services.contains(&"backend"));
}

/// `OTEL_METRICS_EXPORTER`, which no crate reads, is the programs' own: a value they cannot use
/// ends them at start-up. The interval and the temporality are the SDK's and the exporter's, read
/// leniently: a value they cannot use is their default, and the program starts.
#[tokio::test]
async fn an_exporter_these_programs_lack_exits_2_and_the_sdks_variables_are_read_leniently() {
    for program in [step_11().frontend(), step_11().backend()] {
        assert_refused_at_start(&program, "OTEL_METRICS_EXPORTER", "prometheus").await;
    }
    for (variable, value) in [
        ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        ),
    ] {
        let backend = Service::start(&step_11().backend(), &[AT_SHUTDOWN_ONLY, (variable, value)])
            .await
            .unwrap();
        http_get(&backend.url()).await.unwrap();
        let exited = backend.stop().await.unwrap();
        exited.assert_success();
        assert!(
            !exports(&exited.metrics, "http.server.request.duration").is_empty(),
            "{variable}={value}: {}",
            exited.stderr
        );
    }
}

/// The SDK takes `OTEL_METRIC_EXPORT_INTERVAL=0` as it is (its `with_interval` refuses 0, its
/// reading of the variable does not): the reader exports without pause, where the default is
/// once a minute. The hardening chapter's table says so.
#[tokio::test]
async fn an_interval_of_0_is_taken_as_it_is_and_the_reader_exports_without_pause() {
    let backend = Service::start(
        &step_11().backend(),
        &[("OTEL_METRIC_EXPORT_INTERVAL", "0")],
    )
    .await
    .unwrap();
    http_get(&backend.url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut exported = 0;
    while exported < 100 {
        assert!(Instant::now() < deadline, "{exported} exports in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        exported = exports(&backend.metrics_received(), "http.server.request.duration").len();
    }
    backend.stop().await.unwrap().assert_success();
}

/// The meter provider's shutdown reports a last export the endpoint refused: exit 1, saying so,
/// within the budget.
#[tokio::test]
async fn metrics_an_endpoint_refuses_end_the_shutdown_in_its_budget_with_exit_1() {
    let nobody = ClosedPort::new();
    let refusing = format!("{}v1/metrics", nobody.url());
    let env = [
        AT_SHUTDOWN_ONLY,
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", refusing.as_str()),
    ];
    let backend = Service::start(&step_11().backend(), &env).await.unwrap();
    http_get(&backend.url()).await.unwrap();

    let stopping = Instant::now();
    let exited = backend.stop().await.unwrap();

    // The spans went to their own endpoint; the metrics could not.
    assert_eq!(exited.spans().len(), 1);
    assert_eq!(exited.status.code(), Some(1), "{}", exited.stderr);
    assert!(
        exited
            .stderr
            .contains("error: the last metrics may be lost: "),
        "{}",
        exited.stderr
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(9),
        "{:?}",
        stopping.elapsed()
    );
}

/// One request through the check's set-up (a delay proxy between the two programs): what
/// steps 11 and 12 send is what their `metrics.txt` draws, which `cargo run -p workshop check`
/// holds an attendee's programs to.
#[tokio::test]
async fn one_request_makes_the_metrics_each_steps_metrics_txt_draws() {
    let runs = ["11", "12"].map(|number| async move {
        let step = steps::find(number).unwrap();
        let (answer, frontend, backend) =
            workshop::exercises::check::run_once([&step.frontend(), &step.backend()], step)
                .await
                .unwrap();
        (step, answer, frontend.unwrap(), backend.unwrap())
    });
    let [eleven, twelve] = runs;
    let (eleven, twelve) = tokio::join!(eleven, twelve);
    for (step, answer, frontend, backend) in [eleven, twelve] {
        assert_eq!(answer.unwrap().0, StatusCode::OK);
        let mut metrics = frontend.metrics.clone();
        metrics.extend(backend.metrics.iter().cloned());
        let drawn = workshop::exercises::check::metrics::metrics_outline(&metrics);
        assert_eq!(drawn, step.metrics, "step {}:\n{drawn}", step.number);
        // The file reads back as drawn, and the check finds nothing to say about it.
        let expected = workshop::exercises::check::metrics::parse_metrics(step.metrics).unwrap();
        let mut spans = frontend.spans();
        spans.extend(backend.spans());
        let problems =
            workshop::exercises::check::metrics::metric_problems(&expected, &metrics, &spans);
        assert_eq!(problems, Vec::<String>::new());
    }
}
