"""An OTLP/HTTP receiver nobody here wrote: the OpenTelemetry project's own protobuf classes
(PyPI `opentelemetry-proto`) decode what the steps send, so that a misread of the protocol
shared by the steps' exporters and the workshop's trace viewer cannot pass unnoticed.

    python .ci/python-otlp-receiver.py serve PORT_FILE OUT_FILE
        Listens on 127.0.0.1 (a free port, written to PORT_FILE once it accepts connections)
        for POST /v1/traces, /v1/metrics and /v1/logs, in protobuf (application/x-protobuf) or
        OTLP/JSON (application/json). Each export decoded is one JSON line in OUT_FILE: its
        signal, encoding and a summary; each one not decoded is answered 400 and written as a
        failure. SIGTERM or SIGINT stops it: exit 0, or 1 when any export failed.

    python .ci/python-otlp-receiver.py check OUT_FILE --requests N --encoding protobuf|json
            [--logs] [--jobs]
        Checks what OUT_FILE holds against what step 11 (with --logs, step 12; with --jobs,
        step 13) sends for N requests to the frontend's `/`: the metrics, the traces, the log
        records, and each request's job in a trace of its own, linked to the span that sent it.

Run by .ci/python-otlp-check, which starts the steps' programs.
"""

import argparse
import base64
import gzip
import json
import os
import signal
import sys
import threading
import zlib
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SIGNALS = {
    "/v1/traces": ("traces", ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": ("metrics", ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    "/v1/logs": ("logs", ExportLogsServiceRequest, ExportLogsServiceResponse),
}

# --- OTLP/JSON --------------------------------------------------------------------------------

# OTLP/JSON differs from protobuf's canonical JSON mapping in one respect that matters here:
# trace and span ids (bytes) are hex, not base64. Every other bytes field (AnyValue.bytesValue)
# stays base64. https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
ID_FIELDS = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}


def hex_ids_to_base64(value, descriptor, where="request"):
    """Rewrites, in the parsed JSON `value` of message type `descriptor`, every trace or span id
    from hex to the base64 that protobuf's json_format reads. Guided by the descriptor, so only
    the id fields are touched. Raises ValueError on an id that is not hex of the right length."""
    if not isinstance(value, dict):
        return
    fields = {}
    for field in descriptor.fields:
        fields[field.json_name] = field
        fields[field.name] = field
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            continue  # json_format.Parse reports the unknown field
        if field.type == FieldDescriptor.TYPE_BYTES and field.name in ID_FIELDS:
            if not isinstance(item, str):
                raise ValueError(f"{where}.{key}: {item!r} is not a hex string")
            try:
                raw = bytes.fromhex(item)
            except ValueError:
                raise ValueError(f"{where}.{key}: {item!r} is not hex") from None
            if raw and len(raw) != ID_FIELDS[field.name]:
                raise ValueError(
                    f"{where}.{key}: {item!r} is {len(raw)} bytes, "
                    f"not {ID_FIELDS[field.name]}"
                )
            value[key] = base64.b64encode(raw).decode("ascii")
        elif field.message_type is not None:
            items = item if isinstance(item, list) else [item]
            for index, element in enumerate(items):
                hex_ids_to_base64(element, field.message_type, f"{where}.{key}[{index}]")


def parse_otlp_json(body, request_class):
    document = json.loads(body.decode("utf-8"))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    hex_ids_to_base64(document, request_class.DESCRIPTOR)
    message = request_class()
    # Strict: a field the official schema does not have fails the export instead of being
    # dropped without a word (the specification lets receivers ignore such fields).
    json_format.ParseDict(document, message, ignore_unknown_fields=False)
    return message


# --- Summaries ----------------------------------------------------------------------------------


def any_value(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(key_values):
    return {kv.key: any_value(kv.value) for kv in key_values}


def service_of(resource):
    return attributes(resource.attributes).get("service.name")


def exemplars(points_exemplars):
    return [
        {"trace_id": e.trace_id.hex(), "span_id": e.span_id.hex()} for e in points_exemplars
    ]


def number_point(point):
    kind = point.WhichOneof("value")
    return {
        "attributes": attributes(point.attributes),
        "start": point.start_time_unix_nano,
        "time": point.time_unix_nano,
        "value": getattr(point, kind) if kind else None,
        "exemplars": exemplars(point.exemplars),
    }


def histogram_point(point):
    return {
        "attributes": attributes(point.attributes),
        "start": point.start_time_unix_nano,
        "time": point.time_unix_nano,
        "count": point.count,
        "sum": point.sum if point.HasField("sum") else None,
        "bounds": list(point.explicit_bounds),
        "bucket_counts": list(point.bucket_counts),
        "min": point.min if point.HasField("min") else None,
        "max": point.max if point.HasField("max") else None,
        "exemplars": exemplars(point.exemplars),
    }


def temporality(value):
    name = metrics_pb2.AggregationTemporality.Name(value)
    return name.removeprefix("AGGREGATION_TEMPORALITY_").lower()


def summarize_metrics(request):
    metrics = []
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                entry = {
                    "service": resource.get("service.name"),
                    "service_version": resource.get("service.version"),
                    "scope": scope_metrics.scope.name,
                    "name": metric.name,
                    "unit": metric.unit,
                    "type": kind,
                }
                data = getattr(metric, kind) if kind else None
                if kind in ("sum", "histogram", "exponential_histogram"):
                    entry["temporality"] = temporality(data.aggregation_temporality)
                if kind == "sum":
                    entry["monotonic"] = data.is_monotonic
                if kind in ("sum", "gauge"):
                    entry["points"] = [number_point(p) for p in data.data_points]
                elif kind == "histogram":
                    entry["points"] = [histogram_point(p) for p in data.data_points]
                else:
                    entry["points"] = [{"unsummarized": kind}]
                metrics.append(entry)
    return {"metrics": metrics}


def summarize_traces(request):
    spans = []
    for resource_spans in request.resource_spans:
        service = service_of(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "service": service,
                        "scope": scope_spans.scope.name,
                        "name": span.name,
                        "kind": trace_pb2.Span.SpanKind.Name(span.kind)
                        .removeprefix("SPAN_KIND_")
                        .lower(),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "start": span.start_time_unix_nano,
                        "end": span.end_time_unix_nano,
                        "status": trace_pb2.Status.StatusCode.Name(span.status.code)
                        .removeprefix("STATUS_CODE_")
                        .lower(),
                        "events": [event.name for event in span.events],
                        "attributes": attributes(span.attributes),
                        "links": [
                            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                            for link in span.links
                        ],
                    }
                )
    return {"spans": spans}


def summarize_logs(request):
    records = []
    for resource_logs in request.resource_logs:
        service = service_of(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                records.append(
                    {
                        "service": service,
                        "scope": scope_logs.scope.name,
                        "severity_number": record.severity_number,
                        "severity_text": record.severity_text,
                        "body": any_value(record.body),
                        "trace_id": record.trace_id.hex(),
                        "span_id": record.span_id.hex(),
                        "event_name": record.event_name,
                        "attributes": attributes(record.attributes),
                    }
                )
    return {"records": records}


SUMMARIZE = {"traces": summarize_traces, "metrics": summarize_metrics, "logs": summarize_logs}

# --- The server ---------------------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, out_path):
        super().__init__(("127.0.0.1", 0), Handler)
        self.out = open(out_path, "a", encoding="utf-8")
        self.lock = threading.Lock()
        self.decoded = defaultdict(int)
        self.failures = 0

    def record(self, line, failed=False):
        with self.lock:
            if failed:
                self.failures += 1
            else:
                self.decoded[(line["signal"], line["encoding"])] += 1
            self.out.write(json.dumps(line, sort_keys=True) + "\n")
            self.out.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporters' HTTP client expects

    def log_message(self, format, *args):  # noqa: A002 - quiet: the file says what came
        pass

    def answer(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding not in ("", "identity"):
            raise ValueError(f"Content-Encoding {encoding!r} not supported")
        return body

    def do_GET(self):  # noqa: N802
        self.answer(405, "text/plain", b"POST OTLP to /v1/traces, /v1/metrics or /v1/logs\n")

    def do_POST(self):  # noqa: N802
        path = self.path.split("?")[0]
        content_type = self.headers.get("Content-Type", "")
        media_type = content_type.split(";")[0].strip().lower()
        line = {"path": path, "content_type": content_type}
        try:
            body = self.read_body()
            line["bytes"] = len(body)
            if path not in SIGNALS:
                raise ValueError(f"no such OTLP path: {path}")
            signal_name, request_class, response_class = SIGNALS[path]
            line["signal"] = signal_name
            if media_type == "application/x-protobuf":
                line["encoding"] = "protobuf"
                request = request_class.FromString(body)
                answer_type, answer = (
                    "application/x-protobuf",
                    response_class().SerializeToString(),
                )
            elif media_type == "application/json":
                line["encoding"] = "json"
                request = parse_otlp_json(body, request_class)
                answer_type, answer = "application/json", b"{}"
            else:
                raise ValueError(f"Content-Type {content_type!r} is not OTLP/HTTP")
            line.update(SUMMARIZE[signal_name](request))
        except Exception as error:  # anything not decoded is a failure, answered 400
            line["error"] = f"{type(error).__name__}: {error}"
            self.server.record(line, failed=True)
            self.answer(400, "text/plain", (line["error"] + "\n").encode())
            return
        self.server.record(line)
        self.answer(200, answer_type, answer)


def serve(port_file, out_path):
    server = Receiver(out_path)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    # Written whole, then renamed: whoever polls for the file never reads half a port.
    with open(port_file + ".tmp", "w", encoding="utf-8") as file:
        file.write(f"{port}\n")
    os.replace(port_file + ".tmp", port_file)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    received = ", ".join(
        f"{count} {signal_name} ({encoding})"
        for (signal_name, encoding), count in sorted(server.decoded.items())
    )
    print(f"received {received or 'nothing'}; {server.failures} failed", flush=True)
    return 1 if server.failures else 0


# --- The check ----------------------------------------------------------------------------------

DURATION_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
SERVER_ATTRIBUTES = {
    "http.request.method",
    "url.scheme",
    "http.route",
    "network.protocol.version",
    "http.response.status_code",
    "error.type",
}
# Each request's trace: span name -> (service, kind, parent's name, its events), as
# steps/11-metrics/trace.txt draws it. `connect` only when the request opened a connection.
TRACE_SHAPE = {
    "incoming call": ("frontend", "server", None, []),
    "backend call": ("frontend", "client", "incoming call", ["making backend call"]),
    "send request": ("frontend", "internal", "backend call", []),
    "connect": ("frontend", "internal", "send request", []),
    "read body": ("frontend", "internal", "backend call", []),
    "backend call received": ("backend", "server", "backend call", ["handling backend call"]),
}
# Each request's log records (step 12): body -> service.
LOG_RECORDS = {"making backend call": "frontend", "handling backend call": "backend"}
# What step 13 adds to each request's trace: the spawned task's span and the job's producer.
JOB_TRACE_SHAPE = {
    "compute answer": ("backend", "internal", "backend call received", []),
    "send jobs": ("backend", "producer", "backend call received", []),
}
# The job's own trace, one span, linked to `send jobs`; and the messaging conventions'
# attributes of both spans (step 13).
JOB_SPAN = ("process jobs", "backend", "consumer", ["job processed"])
MESSAGING = {
    "send jobs": {
        "messaging.system": "tokio",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": "jobs",
    },
    "process jobs": {
        "messaging.system": "tokio",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": "jobs",
    },
}


class Problems:
    def __init__(self):
        self.found = []
        self.passed = 0

    def expect(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.found.append(what)
        return condition


def series_key(metric, point):
    return (metric["service"], metric["name"], json.dumps(point["attributes"], sort_keys=True))


def check_metrics(metrics, requests, problems):
    """The last point of each series (cumulative: it holds the whole run), and each metric's
    description as every export gave it."""
    latest = {}
    history = defaultdict(list)
    described = defaultdict(set)
    for metric in metrics:
        description = (
            metric["unit"],
            metric["type"],
            metric.get("temporality"),
            metric.get("monotonic"),
        )
        described[(metric["service"], metric["name"])].add(description)
        for point in metric["points"]:
            key = series_key(metric, point)
            history[key].append(point)
            if key not in latest or point["time"] >= latest[key]["time"]:
                latest[key] = point

    def latest_points(service, name):
        return [
            point
            for (s, n, _), point in sorted(latest.items())
            if s == service and n == name
        ]

    def described_as(service, name, unit, kind, temporality_, monotonic=None):
        seen = described.get((service, name))
        if not problems.expect(seen, f"{service}: no metric {name}"):
            return False
        return problems.expect(
            seen == {(unit, kind, temporality_, monotonic)},
            f"{service} {name}: described as {sorted(seen, key=str)} "
            f"(unit, type, temporality, monotonic), not "
            f"{(unit, kind, temporality_, monotonic)}",
        )

    # Cumulative: no series ever goes down, nor restarts.
    for (service, name, labels), points in history.items():
        points = sorted(points, key=lambda p: p["time"])
        starts = {p["start"] for p in points}
        problems.expect(
            len(starts) == 1, f"{service} {name} {labels}: start times {sorted(starts)}"
        )
        values = [p["count"] if "count" in p else p["value"] for p in points]
        if any(d[1] == "histogram" or d[3] for d in described[(service, name)]):
            problems.expect(
                values == sorted(values), f"{service} {name} {labels}: went down: {values}"
            )

    for service in ("frontend", "backend"):
        name = "http.server.request.duration"
        if described_as(service, name, "s", "histogram", "cumulative"):
            points = latest_points(service, name)
            for point in points:
                problems.expect(
                    point["bounds"] == DURATION_BOUNDS,
                    f"{service} {name}: bounds {point['bounds']}, not {DURATION_BOUNDS}",
                )
                problems.expect(
                    len(point["bucket_counts"]) == len(point["bounds"]) + 1
                    and sum(point["bucket_counts"]) == point["count"],
                    f"{service} {name}: buckets {point['bucket_counts']} do not add up to "
                    f"count {point['count']}",
                )
                problems.expect(
                    set(point["attributes"]) <= SERVER_ATTRIBUTES,
                    f"{service} {name}: attributes beyond the conventions' "
                    f"{sorted(set(point['attributes']) - SERVER_ATTRIBUTES)}",
                )
            ok = [
                p
                for p in points
                if p["attributes"].get("http.route") == "/"
                and p["attributes"].get("http.response.status_code") == 200
            ]
            if problems.expect(
                len(ok) == 1,
                f"{service} {name}: {len(ok)} series with http.route=/ and status 200 "
                f"(of {[p['attributes'] for p in points]})",
            ):
                labels = ok[0]["attributes"]
                problems.expect(
                    labels.get("http.request.method") == "GET"
                    and labels.get("url.scheme") == "http"
                    and labels.get("network.protocol.version") == "1.1"
                    and "error.type" not in labels,
                    f"{service} {name}: attributes {labels}",
                )
                problems.expect(
                    ok[0]["count"] == requests,
                    f"{service} {name} {labels}: count {ok[0]['count']}, not {requests}",
                )
        name = "http.server.active_requests"
        if described_as(service, name, "{request}", "sum", "cumulative", False):
            points = latest_points(service, name)
            problems.expect(points, f"{service} {name}: no point")
            for point in points:
                problems.expect(
                    point["value"] == 0,
                    f"{service} {name} {point['attributes']}: {point['value']}, not 0",
                )

    name = "http.client.request.duration"
    if described_as("frontend", name, "s", "histogram", "cumulative"):
        total = sum(p["count"] for p in latest_points("frontend", name))
        problems.expect(total == requests, f"frontend {name}: count {total}, not {requests}")
    name = "demo.backend.calls"
    if described_as("frontend", name, "{call}", "sum", "cumulative", True):
        outcomes = {
            p["attributes"].get("demo.backend.outcome"): p["value"]
            for p in latest_points("frontend", name)
        }
        problems.expect(
            outcomes.get("ok") == requests
            and all(v == 0 for k, v in outcomes.items() if k != "ok"),
            f"frontend {name}: {outcomes}, not {{'ok': {requests}}}",
        )
        problems.expect(
            set(outcomes) <= {"ok", "bad_status", "timeout", "unreachable"},
            f"frontend {name}: outcomes {sorted(outcomes, key=str)}",
        )
    for metric in metrics:
        problems.expect(
            metric["service_version"], f"{metric['service']}: no service.version"
        )


def check_traces(spans, requests, jobs, problems):
    """Returns {(trace id, span id): span} of the spans received, and the requests' traces by
    id. With `jobs` (step 13), each request's job is a trace of its own, checked apart."""
    by_id = {}
    for span in spans:
        problems.expect(
            len(span["trace_id"]) == 32 and span["trace_id"].strip("0"),
            f"span {span['name']}: trace id {span['trace_id']!r}",
        )
        problems.expect(
            len(span["span_id"]) == 16 and span["span_id"].strip("0"),
            f"span {span['name']}: span id {span['span_id']!r}",
        )
        key = (span["trace_id"], span["span_id"])
        problems.expect(key not in by_id, f"span {span['name']}: received twice: {key}")
        by_id[key] = span
    traces = defaultdict(list)
    for span in by_id.values():
        traces[span["trace_id"]].append(span)
    shape = dict(TRACE_SHAPE)
    if jobs:
        shape.update(JOB_TRACE_SHAPE)
        job_traces = {
            trace_id: trace_spans
            for trace_id, trace_spans in traces.items()
            if any(s["name"] == JOB_SPAN[0] for s in trace_spans)
        }
        for trace_id in job_traces:
            del traces[trace_id]
        check_jobs(job_traces, by_id, requests, problems)
    problems.expect(
        len(traces) == requests, f"{len(traces)} traces, not {requests} (one per request)"
    )

    def started(trace_spans):
        return min(s["start"] for s in trace_spans)

    connects = 0
    for number, (trace_id, trace_spans) in enumerate(
        sorted(traces.items(), key=lambda t: started(t[1]))
    ):
        names = sorted(s["name"] for s in trace_spans)
        want = sorted(n for n in shape if n != "connect")
        if "connect" in names:
            want = sorted(want + ["connect"])
            connects += 1
        if not problems.expect(
            names == want, f"trace {trace_id}: spans {names}, not {want} (connect optional)"
        ):
            continue
        if number == 0:
            problems.expect(
                "connect" in names, f"trace {trace_id}: the first request did not connect"
            )
        named = {s["name"]: s for s in trace_spans}
        for name, (service, kind, parent, events) in shape.items():
            if name not in named:
                continue
            span = named[name]
            problems.expect(
                (span["service"], span["kind"]) == (service, kind),
                f"trace {trace_id} {name}: from {span['service']}, {span['kind']}, "
                f"not from {service}, {kind}",
            )
            want_parent = named[parent]["span_id"] if parent else ""
            problems.expect(
                span["parent_span_id"] == want_parent,
                f"trace {trace_id} {name}: parent {span['parent_span_id']!r}, not "
                f"{parent} {want_parent!r}",
            )
            problems.expect(
                span["status"] == "unset", f"trace {trace_id} {name}: status {span['status']}"
            )
            problems.expect(
                span["events"] == events,
                f"trace {trace_id} {name}: events {span['events']}, not {events}",
            )
    problems.expect(
        1 <= connects <= requests, f"{connects} connect spans for {requests} requests"
    )
    return by_id, traces


def check_jobs(job_traces, by_id, requests, problems):
    """Step 13: one job trace per request, each a single consumer span with no parent, linked
    to a distinct `send jobs` span, both with the messaging conventions' attributes."""
    name, service, kind, events = JOB_SPAN
    problems.expect(
        len(job_traces) == requests,
        f"{len(job_traces)} job traces, not {requests} (one per request)",
    )
    linked = set()
    for trace_id, trace_spans in job_traces.items():
        if not problems.expect(
            [s["name"] for s in trace_spans] == [name],
            f"job trace {trace_id}: spans {[s['name'] for s in trace_spans]}, not [{name!r}]",
        ):
            continue
        span = trace_spans[0]
        problems.expect(
            (span["service"], span["kind"], span["parent_span_id"], span["events"])
            == (service, kind, "", events),
            f"job trace {trace_id}: {span['service']}, {span['kind']}, parent "
            f"{span['parent_span_id']!r}, events {span['events']}: not {service}, {kind}, "
            f"no parent, {events}",
        )
        problems.expect(
            MESSAGING[name].items() <= span["attributes"].items(),
            f"{name}: attributes {span['attributes']}, without {MESSAGING[name]}",
        )
        if not problems.expect(
            len(span["links"]) == 1, f"{name}: {len(span['links'])} links, not 1"
        ):
            continue
        link = span["links"][0]
        sender = by_id.get((link["trace_id"], link["span_id"]))
        problems.expect(
            sender is not None
            and (sender["name"], sender["kind"], sender["service"])
            == ("send jobs", "producer", "backend")
            and sender["trace_id"] != trace_id,
            f"{name} in {trace_id}: links to {link}, "
            f"{sender and (sender['service'], sender['name'], sender['kind'])}, "
            "not a backend's `send jobs` (producer) in a request's trace",
        )
        if sender is not None:
            problems.expect(
                MESSAGING["send jobs"].items() <= sender["attributes"].items(),
                f"send jobs: attributes {sender['attributes']}, without {MESSAGING['send jobs']}",
            )
        problems.expect(
            (link["trace_id"], link["span_id"]) not in linked,
            f"two jobs link to the same span {link}",
        )
        linked.add((link["trace_id"], link["span_id"]))


def check_logs(records, by_id, traces, required, jobs, problems):
    """Every log record written in a span names a span received; with `required`, each trace
    has one record of each of LOG_RECORDS, INFO, in a span of that trace from its service."""
    for record in records:
        if record["trace_id"] or record["span_id"]:
            key = (record["trace_id"], record["span_id"])
            problems.expect(
                key in by_id,
                f"log record {record['body']!r} from {record['service']}: "
                f"trace id {key[0]!r}, span id {key[1]!r}: no such span received",
            )
    if not required:
        return
    if jobs:
        # Each job's record is in its own trace: counted here, its span checked above.
        processed = [r for r in records if r["body"] == "job processed"]
        problems.expect(
            len(processed) == len(traces)
            and all(
                by_id.get((r["trace_id"], r["span_id"]), {}).get("name") == "process jobs"
                for r in processed
            ),
            f"{len(processed)} log records 'job processed' in `process jobs` spans, "
            f"not {len(traces)}",
        )
    for trace_id in traces:
        for body, service in LOG_RECORDS.items():
            found = [
                r
                for r in records
                if r["trace_id"] == trace_id and r["body"] == body
            ]
            if not problems.expect(
                len(found) == 1,
                f"trace {trace_id}: {len(found)} log records {body!r}, not 1",
            ):
                continue
            record = found[0]
            span = by_id.get((record["trace_id"], record["span_id"]))
            problems.expect(
                span is not None and span["service"] == service == record["service"],
                f"log record {body!r} from {record['service']}: in span "
                f"{span and (span['service'], span['name'])}, not one of {service}'s",
            )
            problems.expect(
                (record["severity_number"], record["severity_text"]) == (9, "INFO"),
                f"log record {body!r}: severity {record['severity_number']} "
                f"{record['severity_text']!r}, not 9 'INFO'",
            )


def check(out_path, requests, encoding, logs_required, jobs):
    problems = Problems()
    exports = defaultdict(int)
    metrics, spans, records = [], [], []
    with open(out_path, encoding="utf-8") as file:
        for line in file:
            export = json.loads(line)
            if "error" in export:
                problems.expect(False, f"an export failed: {export}")
                continue
            exports[export["signal"]] += 1
            problems.expect(
                export["encoding"] == encoding,
                f"a {export['signal']} export came as {export['encoding']}, not {encoding}",
            )
            metrics += export.get("metrics", [])
            spans += export.get("spans", [])
            records += export.get("records", [])
    print(
        f"  decoded: {exports['traces']} trace exports ({len(spans)} spans), "
        f"{exports['metrics']} metric exports ({len(metrics)} metrics), "
        f"{exports['logs']} log exports ({len(records)} records); expected: {encoding}"
    )
    check_metrics(metrics, requests, problems)
    by_id, traces = check_traces(spans, requests, jobs, problems)
    check_logs(records, by_id, traces, logs_required, jobs, problems)
    if problems.found:
        for problem in problems.found:
            print(f"  FAILED: {problem}")
        print(f"  {problems.passed} checks passed, {len(problems.found)} failed")
        return 1
    print(f"  {problems.passed} checks passed")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve")
    serving.add_argument("port_file")
    serving.add_argument("out_file")
    checking = commands.add_parser("check")
    checking.add_argument("out_file")
    checking.add_argument("--requests", type=int, required=True)
    checking.add_argument("--encoding", choices=["protobuf", "json"], required=True)
    checking.add_argument("--logs", action="store_true", help="require step 12's log records")
    checking.add_argument(
        "--jobs", action="store_true", help="require step 13's spawned task and linked jobs"
    )
    arguments = parser.parse_args()
    if arguments.command == "serve":
        return serve(arguments.port_file, arguments.out_file)
    return check(
        arguments.out_file,
        arguments.requests,
        arguments.encoding,
        arguments.logs,
        arguments.jobs,
    )


if __name__ == "__main__":
    sys.exit(main())
