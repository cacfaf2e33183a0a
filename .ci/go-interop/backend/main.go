// A backend traced with OpenTelemetry Go (Debian's golang-opentelemetry-otel-dev, 1.1): a peer
// nobody here wrote, for .ci/go-interop-check. It keeps the steps' contract where the check
// relies on it: LISTEN_ADDR, `listening on http://HOST:PORT` on stderr, `OK` on GET /, spans
// on stdout (the stdouttrace exporter: one JSON object per span, one per line), SIGTERM exits 0.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.7.0"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
	if err != nil {
		fail(err)
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL,
			semconv.ServiceNameKey.String("go-backend"))),
		// Always sampled, as in the steps: a span printed even when the caller's context was
		// rejected is what shows the rejection (a new trace id, no parent).
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
	// What arrived, as sent: the check compares it with what Go made of it.
	fmt.Fprintf(os.Stderr, "traceparent received: %q\n", r.Header.Values("traceparent"))
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := otel.Tracer("backend").Start(ctx, "backend call received",
		trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	// Baggage on the span, as step 05's backend records it, so that the check can see it
	// crossed too.
	for _, member := range baggage.FromContext(ctx).Members() {
		span.SetAttributes(attribute.String(member.Key(), member.Value()))
	}
	span.AddEvent("handling backend call")
	fmt.Fprint(w, "OK")
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
