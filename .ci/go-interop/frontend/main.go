// A frontend traced with OpenTelemetry Go (Debian's golang-opentelemetry-otel-dev, 1.1): a peer
// nobody here wrote, for .ci/go-interop-check. Like the steps' frontends: LISTEN_ADDR,
// BACKEND_URL, `listening on http://HOST:PORT` on stderr, GET / calls the backend and answers
// `OK` (502 when the backend fails), spans on stdout (the stdouttrace exporter: one JSON object
// per span, one per line), SIGTERM exits 0.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.7.0"
	"go.opentelemetry.io/otel/trace"
)

var backendURL = os.Getenv("BACKEND_URL")

func main() {
	if backendURL == "" {
		backendURL = "http://127.0.0.1:8081/"
	}
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
	if err != nil {
		fail(err)
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL,
			semconv.ServiceNameKey.String("go-frontend"))),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		// Exported as each span ends, so that nothing waits in a batch at shutdown.
		sdktrace.WithSyncer(exporter),
	)
	otel.SetTracerProvider(provider)
	// The propagators under test: exactly what OpenTelemetry Go's own users would configure.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))

	http.HandleFunc("/", handle)
	serve(os.Getenv("LISTEN_ADDR"))
	if err := provider.Shutdown(context.Background()); err != nil {
		fail(err)
	}
}

func handle(w http.ResponseWriter, r *http.Request) {
	tracer := otel.Tracer("OT-tracing-demo")
	// A root span whatever the caller sent: the check's curl is the user, as in the steps.
	ctx, span := tracer.Start(context.Background(), "incoming call",
		trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	// Baggage that the backend should record: it shows the baggage header crossed too.
	member, err := baggage.NewMember("demo.origin", "go-frontend")
	if err != nil {
		fail(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		fail(err)
	}
	ctx = baggage.ContextWithBaggage(ctx, bag)

	if err := callBackend(ctx, tracer); err != nil {
		span.SetStatus(codes.Error, err.Error())
		http.Error(w, "backend call failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	fmt.Fprint(w, "OK")
}

// callBackend sends the request under its own client span, whose context the backend's span
// must name as its parent.
func callBackend(ctx context.Context, tracer trace.Tracer) error {
	ctx, span := tracer.Start(ctx, "backend call", trace.WithSpanKind(trace.SpanKindClient))
	// Ended once the whole answer is read: the call's duration as the frontend saw it.
	defer span.End()
	span.AddEvent("making backend call")
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, backendURL, nil)
	if err != nil {
		return err
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(request.Header))
	fmt.Fprintf(os.Stderr, "traceparent sent: %q, baggage sent: %q\n",
		request.Header.Get("traceparent"), request.Header.Get("baggage"))
	response, err := http.DefaultClient.Do(request)
	if err == nil {
		_, err = io.Copy(io.Discard, response.Body)
		response.Body.Close()
		if err == nil && response.StatusCode/100 != 2 {
			err = fmt.Errorf("the backend answered %s", response.Status)
		}
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// serve answers on addr (127.0.0.1:0 when empty) until SIGTERM or SIGINT, then returns once
// the requests in flight have finished, so that their spans end before the provider shuts down.
func serve(addr string) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", listener.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	server := &http.Server{}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	select {
	case err := <-served:
		fail(err)
	case <-ctx.Done():
	}
	if err := server.Shutdown(context.Background()); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}
