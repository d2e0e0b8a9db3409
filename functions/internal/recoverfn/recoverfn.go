// Package recoverfn wires the recover function on top of package fn: its
// HTTP routes with uploads in the import bucket, and that bucket's S3
// notifications (package s3trigger), told apart by Dispatch. Only the
// recover function links it, and with it the S3 client (infra/s3object).
package recoverfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/functions/internal/s3trigger"
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/s3object"
	"github.com/sesame-ecole/sesame/infra/s3uploads"
)

// EventHandlerFunc is the handler of a function that takes more than one
// kind of event: it gets each event as raw JSON, and answers what the
// event's kind expects.
type EventHandlerFunc = func(context.Context, json.RawMessage) (any, error)

// S3HandlerFunc handles S3 event notifications. Its error asks Lambda to
// retry the event.
type S3HandlerFunc = func(context.Context, events.S3Event) (s3trigger.Result, error)

// eventShape is what tells the kinds of events apart.
type eventShape struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	Version  string `json:"version"`
	RouteKey string `json:"routeKey"`
}

// Dispatch serves two kinds of events with one function: S3 event
// notifications (Records[0].eventSource is "aws:s3") go to s3h, API
// Gateway HTTP API events (payload 2.0) to h. Anything else is refused
// with an error.
func Dispatch(h fn.HandlerFunc, s3h S3HandlerFunc) EventHandlerFunc {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var shape eventShape
		if err := json.Unmarshal(raw, &shape); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
		switch {
		case len(shape.Records) > 0 && shape.Records[0].EventSource == "aws:s3":
			var ev events.S3Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("S3 event: %w", err)
			}
			return s3h(ctx, ev)
		case shape.Version == "2.0" && shape.RouteKey != "":
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("HTTP API event: %w", err)
			}
			return h(ctx, ev)
		}
		return nil, errors.New("event: neither an S3 notification nor an HTTP API (payload 2.0) request")
	}
}

// RecoverHandler serves the recover function's two kinds of events over
// svc: the recovery routes of the API, with uploads kept in the import
// bucket cfg.ImportBucket, and that bucket's S3 notifications (package
// s3trigger), told apart by Dispatch.
func RecoverHandler(cfg fn.Config, svc *sesame.Service, client *s3object.Client, log *slog.Logger) (EventHandlerFunc, error) {
	if cfg.ImportBucket == "" {
		return nil, fmt.Errorf("%s is not set", fn.EnvImportBucket)
	}
	if client == nil {
		return nil, errors.New("recover: no S3 client")
	}
	up := s3uploads.New(client, cfg.ImportBucket, sesame.DefaultRentreeLimits.MaxCompressedIn)
	tr, err := s3trigger.New(s3trigger.Config{Service: svc, API: client, Files: up, Bucket: cfg.ImportBucket, Logger: log})
	if err != nil {
		return nil, err
	}
	return Dispatch(fn.Handler(cfg, svc, up, log), tr.Handle), nil
}

// NewRecover builds the recover function (RecoverHandler) from the
// environment. The table's client is o.DynamoDB and the bucket's s3c when
// set, otherwise made from the environment's AWS configuration.
func NewRecover(ctx context.Context, getenv func(string) string, stdout io.Writer, o core.StoreOptions, s3c *s3object.Client) (EventHandlerFunc, error) {
	if getenv(fn.EnvImportBucket) == "" {
		return nil, fmt.Errorf("%s is not set", fn.EnvImportBucket)
	}
	p, err := fn.Build(ctx, httpapi.Recover, getenv, stdout, o)
	if err != nil {
		return nil, err
	}
	if s3c == nil {
		if s3c, err = s3object.New(fn.AWSConfig(getenv), fn.Endpoint(getenv, "S3")); err != nil {
			return nil, err
		}
	}
	return RecoverHandler(p.Config, p.Service, s3c, p.Log)
}

// RunRecover builds the recover function and serves Lambda invocations
// until the runtime stops the process. It returns only when the
// configuration is wrong; a table that cannot be reached at start is tried
// again at each invocation (fn.Lazy).
func RunRecover(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := fn.LoadConfig(httpapi.Recover, getenv)
	if err == nil && cfg.ImportBucket == "" {
		err = fmt.Errorf("%s is not set", fn.EnvImportBucket)
	}
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	h := fn.Lazy(ctx, cfg.Logger(stdout), func(ctx context.Context) (fn.RawHandler, error) {
		return NewRecover(ctx, getenv, stdout, core.StoreOptions{}, nil)
	})
	fn.Start(ctx, h)
	return nil
}
