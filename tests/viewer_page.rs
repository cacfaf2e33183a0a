//! The trace viewer's web page, in a real browser (headless Chromium): it lists the traces
//! received, newest first, filtered by service and duration, and shows new ones without a
//! reload; a trace's waterfall shows a span's attributes, events and log records when clicked;
//! and telemetry written to attack the page (markup and script in every name, value and body)
//! is shown as text, with no script run. `up.rs` opens the page `up 07` prints.

#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;

use serde_json::{Value, json};
use workshop::harness::process::{Service, TRACE_VIEWER};

use browser::Browser;

/// A browser, and a trace viewer with its page's address; `None` where there is no Chromium
/// (outside CI).
async fn browser_and_viewer(test_name: &str) -> Option<(Browser, Service, String)> {
    let browser = Browser::start(test_name, 1280, 900)?;
    let viewer = Service::start(TRACE_VIEWER, &[]).await.unwrap();
    let page = page_url(&viewer);
    Some((browser, viewer, page))
}

/// The web page's address, as the viewer printed it.
fn page_url(viewer: &Service) -> String {
    let stderr = viewer.stderr();
    let line = stderr
        .lines()
        .find_map(|line| line.strip_prefix("The traces are on a web page too: "))
        .unwrap_or_else(|| panic!("no page address in:\n{stderr}"));
    line.trim().to_owned()
}

/// Sends an OTLP/JSON export of `signal` (`traces`, `logs`) to the viewer.
async fn send(viewer: &Service, signal: &str, body: &Value) {
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}v1/{signal}", viewer.url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}

/// A span of service `service`'s export, as OTLP/JSON.
fn span(trace: &str, id: &str, parent: &str, name: &str, start_ms: u64, end_ms: u64) -> Value {
    let nanos = |ms: u64| (1_700_000_000_000 + ms) * 1_000_000;
    json!({
        "traceId": trace, "spanId": id, "parentSpanId": parent, "name": name, "kind": 2,
        "startTimeUnixNano": nanos(start_ms).to_string(),
        "endTimeUnixNano": nanos(end_ms).to_string(),
    })
}

fn traces_export(service: &str, spans: Vec<Value>) -> Value {
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    }]})
}

/// Markup and script, as an attacker would put them in telemetry: each would set
/// `window.pwned` if the page ever ran it.
const HOSTILE: [&str; 4] = [
    "<script>window.pwned = 1</script>",
    "\"><img src=x onerror=\"window.pwned = 2\">",
    "'><svg onload='window.pwned = 3'>",
    "</pre></table><iframe src=\"javascript:window.parent.pwned = 4\"></iframe>",
];

/// Counts the Content-Security-Policy violations of every document the browser opens from now
/// on: the page's own script never makes one, so any would be markup the viewer let through.
fn count_policy_violations(browser: &mut Browser) {
    browser.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "window.violations = []; document.addEventListener('securitypolicyviolation', (event) => window.violations.push(event.violatedDirective));"}),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_telemetry_is_shown_as_text_and_runs_no_script() {
    let Some((mut browser, viewer, page)) =
        browser_and_viewer("hostile_telemetry_is_shown_as_text").await
    else {
        return;
    };
    count_policy_violations(&mut browser);
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let root = "b7ad6b7169203331";
    let mut hostile_span = span(trace, root, "", HOSTILE[0], 0, 100);
    hostile_span["attributes"] = json!([
        {"key": HOSTILE[1], "value": {"stringValue": HOSTILE[2]}},
        {"key": "safe.key", "value": {"stringValue": HOSTILE[3]}},
    ]);
    hostile_span["events"] = json!([{"name": HOSTILE[2], "timeUnixNano": "1700000000050000000"}]);
    hostile_span["status"] = json!({"code": 2, "message": HOSTILE[3]});
    let child = span(trace, "00f067aa0ba902b7", root, HOSTILE[1], 10, 90);
    // A log record written in the hostile span, itself hostile.
    let logs = json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": HOSTILE[1]}}]},
        "scopeLogs": [{"scope": {"name": "test"}, "logRecords": [{
            "timeUnixNano": "1700000000020000000", "severityNumber": 9, "severityText": "INFO",
            "body": {"stringValue": HOSTILE[0]}, "traceId": trace, "spanId": root,
        }]}],
    }]});
    send(&viewer, "logs", &logs).await;
    send(
        &viewer,
        "traces",
        &traces_export(HOSTILE[1], vec![hostile_span, child]),
    )
    .await;
    // A metric whose name, unit and point attributes are markup too.
    let metrics = json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": HOSTILE[2]}}]},
        "scopeMetrics": [{"scope": {"name": "test"}, "metrics": [{
            "name": HOSTILE[0], "unit": HOSTILE[3],
            "gauge": {"dataPoints": [{
                "attributes": [{"key": HOSTILE[1], "value": {"stringValue": HOSTILE[2]}}],
                "timeUnixNano": "1700000000000000000", "asDouble": 1.5,
            }]},
        }]}],
    }]});
    send(&viewer, "metrics", &metrics).await;

    // Served with a policy that runs the page's own script and nothing else.
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(&page)
        .send()
        .await
        .unwrap();
    let policy = answer.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(page.starts_with("http://127.0.0.1:"), "{page}");
    // What an address holds is shown as text too, and every answer carries the policy.
    for path in [
        "trace/%3Cscript%3Ewindow.pwned=5%3C%2Fscript%3E",
        "nowhere",
        "?service=%3Cb%3E",
    ] {
        let answer = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("{page}{path}"))
            .send()
            .await
            .unwrap();
        assert!(
            answer.headers().contains_key("content-security-policy"),
            "{path}"
        );
        let body = answer.text().await.unwrap();
        assert!(
            !body.contains("<script>window") && !body.contains("<b>"),
            "{path}: {body}"
        );
    }

    browser.open(&page);
    browser.wait_for(
        "the trace listed",
        "document.querySelectorAll('table.traces tbody tr').length === 1",
    );
    // The names are shown as they were sent, as text.
    let listed = browser.evaluate("document.querySelector('table.traces tbody tr').innerText");
    assert!(listed.as_str().unwrap().contains(HOSTILE[0]), "{listed}");
    assert!(listed.as_str().unwrap().contains(HOSTILE[1]), "{listed}");
    browser.click("table.traces tbody tr a");
    browser.wait_for(
        "the trace's page",
        "location.pathname.startsWith('/trace/') && document.querySelector('svg') !== null",
    );
    browser.click(&format!("a.span-row[data-span='{root}']"));
    browser.wait_for(
        "the span's details",
        &format!("document.getElementById('span-{root}').offsetHeight > 0"),
    );
    let details = browser.evaluate(&format!("document.getElementById('span-{root}').innerText"));
    let details = details.as_str().unwrap();
    for text in HOSTILE {
        assert!(
            details.contains(text),
            "{text} not shown as text in:\n{details}"
        );
    }
    let heading = browser.evaluate("document.querySelector('h1').textContent");
    assert_eq!(heading, HOSTILE[0]);
    let facts_here = browser.evaluate("[window.pwned === undefined, window.violations.length]");
    assert_eq!(facts_here, json!([true, 0]), "on the trace's page");

    browser.click("header a[href='/metrics']");
    browser.wait_for(
        "the metric tables",
        "document.querySelector('pre.metrics') !== null",
    );
    let table = browser.evaluate("document.querySelector('pre.metrics').innerText");
    // The tables fit 80 columns, as in the terminal: long values are cut, but shown as text.
    for text in HOSTILE {
        let start = &text[..20];
        assert!(
            table.as_str().unwrap().contains(start),
            "{start} not shown as text in:\n{table}"
        );
    }

    // Nothing ran, nothing was even attempted, and no element came from the telemetry.
    let facts = browser.evaluate(
        "({pwned: window.pwned === undefined ? null : window.pwned, \
          violations: window.violations, \
          scripts: [...document.scripts].map((script) => script.getAttribute('src')), \
          injected: document.querySelectorAll('img, iframe, main script, [onerror], [onload]').length})",
    );
    assert_eq!(
        facts,
        json!({"pwned": null, "violations": [], "scripts": ["/viewer.js"], "injected": 0})
    );
    viewer.stop().await.unwrap().assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_shows_new_traces_without_a_reload_newest_first_and_filters_them() {
    let Some((mut browser, viewer, page)) = browser_and_viewer("the_list_shows_new_traces").await
    else {
        return;
    };
    browser.open(&page);
    browser.wait_for(
        "the empty list",
        "document.querySelector('main').innerText.includes('No trace yet')",
    );
    // Marks this document: a reload would make a new one, without the mark.
    browser.evaluate("window.sameDocument = true");

    let fast = span(
        "11111111111111111111111111111111",
        "1111111111111111",
        "",
        "fast request",
        0,
        5,
    );
    send(&viewer, "traces", &traces_export("alpha", vec![fast])).await;
    browser.wait_for(
        "the first trace",
        "document.querySelectorAll('table.traces tbody tr').length === 1",
    );
    let slow = span(
        "22222222222222222222222222222222",
        "2222222222222222",
        "",
        "slow request",
        1000,
        1300,
    );
    send(&viewer, "traces", &traces_export("beta", vec![slow])).await;
    browser.wait_for(
        "the second trace",
        "document.querySelectorAll('table.traces tbody tr').length === 2",
    );
    let rows = browser.evaluate(
        "[...document.querySelectorAll('table.traces tbody tr')].map((row) => row.cells[1].innerText)",
    );
    assert_eq!(
        rows,
        json!(["slow request", "fast request"]),
        "newest first"
    );
    assert_eq!(
        browser.evaluate("window.sameDocument"),
        json!(true),
        "updated without a reload"
    );

    for (query, shown) in [
        ("?service=alpha", json!(["fast request"])),
        ("?min_ms=100", json!(["slow request"])),
        ("?service=alpha&min_ms=100", json!([])),
    ] {
        browser.open(&format!("{page}{query}"));
        let rows = browser.evaluate(
            "[...document.querySelectorAll('table.traces tbody tr')].map((row) => row.cells[1].innerText)",
        );
        assert_eq!(rows, shown, "{query}");
    }
    viewer.stop().await.unwrap().assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metric_tables_link_each_slow_request_to_its_trace() {
    let Some((mut browser, viewer, page)) = browser_and_viewer("the_metric_tables_link").await
    else {
        return;
    };
    let trace = "33333333333333333333333333333333";
    let mut request = span(trace, "3333333333333333", "", "GET /", 10, 250);
    request["attributes"] = json!([
        {"key": "http.route", "value": {"stringValue": "/"}},
        {"key": "http.request.method", "value": {"stringValue": "GET"}},
    ]);
    send(&viewer, "traces", &traces_export("backend", vec![request])).await;
    // Step 11's histogram of request durations, over the request's time.
    let nanos = |ms: u64| ((1_700_000_000_000 + ms) * 1_000_000).to_string();
    let metrics = json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "backend"}}]},
        "scopeMetrics": [{"scope": {"name": "test"}, "metrics": [{
            "name": "http.server.request.duration", "unit": "s",
            "histogram": {"aggregationTemporality": 2, "dataPoints": [{
                "attributes": [
                    {"key": "http.route", "value": {"stringValue": "/"}},
                    {"key": "http.request.method", "value": {"stringValue": "GET"}},
                ],
                "startTimeUnixNano": nanos(0), "timeUnixNano": nanos(1000),
                "count": "1", "sum": 0.24, "bucketCounts": ["0", "1", "0"],
                "explicitBounds": [0.1, 0.5],
            }]},
        }]}],
    }]});
    send(&viewer, "metrics", &metrics).await;

    browser.open(&page);
    browser.wait_for(
        "the trace listed",
        "document.querySelectorAll('table.traces tbody tr').length === 1",
    );
    browser.click("header a[href='/metrics']");
    browser.wait_for(
        "the metric tables",
        "location.pathname === '/metrics' && document.querySelector('pre.metrics') !== null",
    );
    let table = browser.evaluate("document.querySelector('pre.metrics').innerText");
    let table = table.as_str().unwrap();
    assert!(table.contains("http.server.request.duration"), "{table}");
    assert!(table.contains("slowest, with their traces"), "{table}");
    browser.click(&format!("pre.metrics a[href='/trace/{trace}']"));
    browser.wait_for(
        "the slow request's trace",
        &format!("location.pathname === '/trace/{trace}'"),
    );
    assert_eq!(
        browser.evaluate("document.querySelector('h1').textContent"),
        "GET /"
    );
    viewer.stop().await.unwrap().assert_success();
}
