package fn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// RawHandler is a handler of raw Lambda events.
type RawHandler = func(context.Context, json.RawMessage) (any, error)

// Raw serves h's payload 2.0 events as raw events.
func Raw(h HandlerFunc) RawHandler {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("HTTP API event: %w", err)
		}
		return h(ctx, ev)
	}
}

// OpenTimeout bounds each attempt to open the table while it cannot be
// reached, so that an invocation answers well within the function's
// timeout.
const OpenTimeout = 3 * time.Second

// RetryAfter is what a function that cannot reach its table tells callers
// to wait.
const RetryAfter = 5 * time.Second

// Lazy is a function that may start without its table. build opens the
// table and makes the handler: at once, in the background, while the
// runtime asks Lambda for the first event (so that the table check and the
// runtime's first poll overlap instead of adding up), then, while it fails
// (DynamoDB unreachable at start, a table not there yet), again at each
// invocation, for OpenTimeout at most. An invocation that comes while an
// attempt is under way waits for it and takes its outcome. Meanwhile the
// process stays up: an HTTP API request is answered 503 with the stable
// code unavailable and Retry-After, any other event (an S3 notification)
// gets an error, so that Lambda retries it and then sends it to the
// on-failure destination. Once build succeeds, its handler serves every
// invocation. (A function whose init fails is restarted by Lambda at each
// request, and API Gateway answers a bare 500.)
func Lazy(ctx context.Context, log *slog.Logger, build func(context.Context) (RawHandler, error)) RawHandler {
	l := &lazy{log: log, build: build}
	go l.attempt(ctx, l.begin())
	return l.serve
}

// lazy is Lazy's state.
type lazy struct {
	log   *slog.Logger
	build func(context.Context) (RawHandler, error)

	mu      sync.Mutex // guards what follows
	h       RawHandler // the built handler, once build succeeded
	pending *attempt   // the attempt under way, if any
}

// attempt is one call of build; done is closed once h or err is set.
type attempt struct {
	done chan struct{}
	h    RawHandler
	err  error
}

// begin registers a new attempt (l.mu held, or l not shared yet).
func (l *lazy) begin() *attempt {
	l.pending = &attempt{done: make(chan struct{})}
	return l.pending
}

// attempt runs a, for OpenTimeout at most.
func (l *lazy) attempt(ctx context.Context, a *attempt) {
	ctx, cancel := context.WithTimeout(ctx, OpenTimeout)
	defer cancel()
	a.h, a.err = l.build(ctx)
	l.mu.Lock()
	l.h, l.pending = a.h, nil
	l.mu.Unlock()
	close(a.done)
	if a.err != nil {
		l.log.Error("the table cannot be reached; answering unavailable", "error", a.err.Error())
	} else {
		l.log.Info("the table is reached; serving")
	}
}

// get returns the handler: the built one, else the outcome of the attempt
// under way, else of a new one.
func (l *lazy) get(ctx context.Context) (RawHandler, error) {
	l.mu.Lock()
	h, a := l.h, l.pending
	if h == nil && a == nil {
		a = l.begin()
		l.mu.Unlock()
		l.attempt(ctx, a)
	} else {
		l.mu.Unlock()
	}
	if h != nil {
		return h, nil
	}
	select {
	case <-a.done:
		return a.h, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *lazy) serve(ctx context.Context, raw json.RawMessage) (any, error) {
	handler, err := l.get(ctx)
	if err == nil {
		return handler(ctx, raw)
	}
	var shape struct {
		Version  string `json:"version"`
		RouteKey string `json:"routeKey"`
	}
	if json.Unmarshal(raw, &shape) == nil && shape.Version == "2.0" && shape.RouteKey != "" {
		return Unavailable(), nil
	}
	return nil, fmt.Errorf("the table cannot be reached: %w", err)
}

// Unavailable is the answer to an HTTP API request while the table cannot
// be reached: 503, the API's error body with the code unavailable, and
// Retry-After.
func Unavailable() events.APIGatewayV2HTTPResponse {
	p := sesame.Describe(sesame.Errorf(sesame.CodeUnavailable,
		"Le service est momentanément indisponible : réessayez dans quelques secondes."))
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": p.Code, "message": p.Message}})
	return events.APIGatewayV2HTTPResponse{StatusCode: httpapi.StatusOf(p.Code), Body: string(body),
		Headers: map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store",
			"Retry-After": strconv.Itoa(int(RetryAfter / time.Second))}}
}
