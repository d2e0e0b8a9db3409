package hostedlocal

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/samlocal"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// invokerFunc is an Invoker from a function.
type invokerFunc func(ctx context.Context, event []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, event []byte) ([]byte, error) { return f(ctx, event) }

// TestGatewayAnswersFailuresAsAPIGateway: a function that outlasts the
// HTTP API's integration timeout gets API Gateway's 503 {"message":
// "Service Unavailable"}; one that outlasted its own timeout (Lambda's
// Sandbox.Timedout function error) or whose environment died gets 500
// {"message":"Internal Server Error"}, as API Gateway answers a function
// error.
func TestGatewayAnswersFailuresAsAPIGateway(t *testing.T) {
	tr, err := samlocal.Transform(t.Context(), sesame.Template)
	testenv.Require(t, "aws-sam-translator (python3)", err)
	njs, err := lookNJS()
	testenv.Require(t, "njs", err)
	parsed, err := samlocal.Parse(t.Context(), sesame.Template)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := Routes(tr)
	if err != nil {
		t.Fatal(err)
	}
	edge, err := EdgeOf(parsed, OriginSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		fn     invokerFunc
		status int
		body   string
	}{
		{"integration timeout", func(ctx context.Context, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`},
		{"function timeout", func(context.Context, []byte) ([]byte, error) {
			return nil, &lambdarie.FunctionError{Type: lambdarie.TimedOut, Message: "Task timed out after 10.00 seconds"}
		}, http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
		{"environment died", func(context.Context, []byte) ([]byte, error) {
			return nil, io.ErrUnexpectedEOF
		}, http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
		{"served", func(context.Context, []byte) ([]byte, error) {
			return []byte(`{"statusCode":401,"headers":{"Content-Type":"application/json"},"body":"{}"}`), nil
		}, http.StatusUnauthorized, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Gateway{Edge: edge, Routes: routes, Functions: map[string]Invoker{"SeatsFunction": tc.fn}, NJS: njs,
				Log: slog.New(slog.DiscardHandler), APIHost: "local.execute-api.eu-west-3.amazonaws.com",
				IntegrationTimeout: 200 * time.Millisecond}
			srv := httptest.NewServer(g)
			defer srv.Close()
			res, err := http.Get(srv.URL + "/api/v1/session")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || string(b) != tc.body || res.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%d %s %q, want %d %s", res.StatusCode, res.Header.Get("Content-Type"), b, tc.status, tc.body)
			}
		})
	}
}

// TestTextualBodies: the HTTP API passes only text, JSON, XML and
// JavaScript bodies as text; a form (the SAML HTTP-POST binding's) or a
// body without a type reaches the function base64-encoded.
func TestTextualBodies(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "text/plain; charset=utf-8": true, "application/xml": true, "text/csv": true,
		"application/javascript": true, "application/x-www-form-urlencoded": false, "": false,
		"multipart/form-data; boundary=x": false, "application/zip": false,
	} {
		if got := textual(ct); got != want {
			t.Errorf("textual(%q) = %v, want %v", ct, got, want)
		}
	}
}
