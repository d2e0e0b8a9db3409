package fn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

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

// Start serves h until the runtime stops the process.
func Start(ctx context.Context, h RawHandler) {
	lambda.StartWithOptions(Invoker(h), lambda.WithContext(ctx))
}

// Invoker serves a RawHandler with each event as the runtime gives it:
// StartHandlerFunc would first decode it into a json.RawMessage (a scan
// and a copy of every event) before the handler decodes it again. The
// answer is encoded as StartHandlerFunc encodes it (no HTML escaping).
type Invoker RawHandler

// Invoke is lambda.Handler's.
func (h Invoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := h(ctx, payload)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// OpenTimeout bounds each attempt to open the table while it cannot be
// reached, so that an invocation answers well within the function's
// timeout.
const OpenTimeout = 3 * time.Second

// Lazy is a function that may start without its table. build opens the
// table and makes the handler: at once (Lambda's init), then, while it
// fails (DynamoDB unreachable at start, a table not there yet), again at
// each invocation, for OpenTimeout at most. Meanwhile the process stays
// up: an HTTP API request is answered 503 with the stable code unavailable
// and Retry-After, any other event (an S3 notification) gets an error, so
// that Lambda retries it and then sends it to the on-failure destination.
// Once build succeeds, its handler serves every invocation. (A function
// whose init fails is restarted by Lambda at each request, and API Gateway
// answers a bare 500.)
func Lazy(ctx context.Context, log *slog.Logger, build func(context.Context) (RawHandler, error)) RawHandler {
	var (
		mu sync.Mutex
		h  RawHandler
	)
	get := func(ctx context.Context) (RawHandler, error) {
		mu.Lock()
		defer mu.Unlock()
		if h != nil {
			return h, nil
		}
		ctx, cancel := context.WithTimeout(ctx, OpenTimeout)
		defer cancel()
		built, err := build(ctx)
		if err != nil {
			log.Error("the table cannot be reached; answering unavailable", "error", err.Error())
			return nil, err
		}
		h = built
		log.Info("the table is reached; serving")
		return h, nil
	}
	_, _ = get(ctx)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		handler, err := get(ctx)
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
}

// Unavailable is the answer to an HTTP API request while the table cannot
// be reached: 503, the API's error body with the code unavailable, and
// Retry-After.
func Unavailable() events.APIGatewayV2HTTPResponse {
	status, header, body := httpapi.ErrorAnswer(&sesame.UnavailableError{})
	headers := make(map[string]string, len(header))
	for k := range header {
		headers[k] = header.Get(k)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: string(body), Headers: headers}
}
