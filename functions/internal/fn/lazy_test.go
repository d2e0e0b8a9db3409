package fn_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame/functions/internal/fn"
)

// TestLazyUnavailableThenServes: while the table cannot be opened, an HTTP
// API event is answered 503 unavailable with Retry-After and an S3 event
// gets an error; the first invocation after it can be opened is served, and
// the handler is built once.
func TestLazyUnavailableThenServes(t *testing.T) {
	reachable, builds := false, 0
	failed := make(chan struct{}, 10)
	h := fn.Lazy(t.Context(), slog.New(errorSignal(failed)), func(context.Context) (fn.RawHandler, error) {
		builds++
		if !reachable {
			return nil, errors.New("dial tcp: connection refused")
		}
		return func(context.Context, json.RawMessage) (any, error) { return "served", nil }, nil
	})
	<-failed // the attempt made at start is over
	httpEvent := json.RawMessage(`{"version":"2.0","routeKey":"GET /api/v1/session","rawPath":"/api/v1/session"}`)
	s3Event := json.RawMessage(`{"Records":[{"eventSource":"aws:s3"}]}`)
	out, err := h(t.Context(), httpEvent)
	res, ok := out.(events.APIGatewayV2HTTPResponse)
	if err != nil || !ok || res.StatusCode != 503 || res.Headers["Retry-After"] == "" ||
		!strings.Contains(res.Body, `"code":"unavailable"`) || !strings.Contains(res.Body, "indisponible") {
		t.Fatalf("unreachable table, HTTP event: %#v %v", out, err)
	}
	if _, err := h(t.Context(), s3Event); err == nil {
		t.Fatal("unreachable table, S3 event: no error, so Lambda would not retry it")
	}
	reachable = true
	for range 2 {
		if out, err := h(t.Context(), httpEvent); out != "served" || err != nil {
			t.Fatalf("reachable table: %v %v", out, err)
		}
	}
	if builds != 4 { // at start, two failed invocations, the first served
		t.Errorf("%d builds, want 4", builds)
	}
}

// TestLazyOpensWhileTheRuntimePolls: Lazy returns while the table is
// being opened, so that the runtime asks for the first event meanwhile;
// an invocation that comes before the table is open waits for that
// attempt and is served by its handler, built once.
func TestLazyOpensWhileTheRuntimePolls(t *testing.T) {
	release, builds := make(chan struct{}), 0
	returned := make(chan fn.RawHandler)
	go func() {
		returned <- fn.Lazy(t.Context(), slog.New(slog.DiscardHandler), func(context.Context) (fn.RawHandler, error) {
			builds++
			<-release
			return func(context.Context, json.RawMessage) (any, error) { return "served", nil }, nil
		})
	}()
	var h fn.RawHandler
	select {
	case h = <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Lazy waited for the table before returning")
	}
	served := make(chan any)
	go func() {
		out, _ := h(t.Context(), json.RawMessage(`{"version":"2.0","routeKey":"GET /api/v1/session"}`))
		served <- out
	}()
	select {
	case out := <-served:
		t.Fatalf("answered %v before the table was open", out)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if out := <-served; out != "served" {
		t.Fatalf("after the table opened: %v", out)
	}
	if out, err := h(t.Context(), json.RawMessage(`{}`)); out != "served" || err != nil {
		t.Fatalf("next invocation: %v %v", out, err)
	}
	if builds != 1 {
		t.Errorf("%d builds, want 1", builds)
	}
}

// errorSignal is a log handler that signals each error logged.
type errorSignal chan<- struct{}

func (e errorSignal) Enabled(context.Context, slog.Level) bool { return true }
func (e errorSignal) WithAttrs([]slog.Attr) slog.Handler       { return e }
func (e errorSignal) WithGroup(string) slog.Handler            { return e }
func (e errorSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		e <- struct{}{}
	}
	return nil
}
