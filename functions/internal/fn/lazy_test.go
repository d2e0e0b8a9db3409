package fn_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame/functions/internal/fn"
)

// TestLazyUnavailableThenServes: while the table cannot be opened, an HTTP
// API event is answered 503 unavailable with Retry-After and an S3 event
// gets an error; the first invocation after it can be opened is served, and
// the handler is built once.
func TestLazyUnavailableThenServes(t *testing.T) {
	reachable, builds := false, 0
	h := fn.Lazy(t.Context(), slog.New(slog.DiscardHandler), func(context.Context) (fn.RawHandler, error) {
		builds++
		if !reachable {
			return nil, errors.New("dial tcp: connection refused")
		}
		return func(context.Context, json.RawMessage) (any, error) { return "served", nil }, nil
	})
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
	if builds != 4 { // init, two failed invocations, the first served
		t.Errorf("%d builds, want 4", builds)
	}
}

// TestInvokerGivesTheEventAsItCame: the handler gets the runtime's bytes
// untouched, and the answer is JSON as StartHandlerFunc writes it, without
// HTML escaping; an error is the runtime's.
func TestInvokerGivesTheEventAsItCame(t *testing.T) {
	event := []byte(`{"version":"2.0", "routeKey":"GET /api/v1/session"}`)
	var got []byte
	h := fn.Invoker(func(_ context.Context, raw json.RawMessage) (any, error) {
		got = raw
		return map[string]string{"body": "<p>Élève & parent</p>"}, nil
	})
	out, err := h.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(event) {
		t.Errorf("the handler got %s, want %s", got, event)
	}
	if want := `{"body":"<p>Élève & parent</p>"}` + "\n"; string(out) != want {
		t.Errorf("answer %q, want %q", out, want)
	}
	boom := errors.New("boom")
	if _, err := fn.Invoker(func(context.Context, json.RawMessage) (any, error) { return nil, boom }).Invoke(context.Background(), event); !errors.Is(err, boom) {
		t.Errorf("error %v, want the handler's", err)
	}
}
