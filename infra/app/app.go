// Package app assembles Sésame from its parts, once for every entry point:
// the store named by a URL, the service over it, and the HTTP handler that
// serves the API and the pages. `sesame serve`, the Lambda functions and
// the tests all build the product through it.
//
//	st, err := app.OpenStore(ctx, "bolt:./data/sesame.db", app.StoreOptions{})
//	svc := app.NewService(st, sesame.DefaultTiming)
//	http.ListenAndServe(addr, app.Handler(svc, httpapi.Config{}))
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/password"
	"github.com/sesame-ecole/sesame/infra/tabledef"
	"github.com/sesame-ecole/sesame/infra/uploads"
	"github.com/sesame-ecole/sesame/web"
)

// DefaultStore is where the single server keeps its data.
const DefaultStore = "bolt:./data/sesame.db"

// StoreOptions tune OpenStore.
type StoreOptions struct {
	// CreateTable creates a missing DynamoDB table from template.yaml's
	// declaration.
	CreateTable bool
	// DynamoDB, when set, is the client to use instead of one made from
	// the environment's AWS configuration.
	DynamoDB *dynamodb.Client
}

// OpenStore opens the store named by url: "bolt:PATH" (an embedded bbolt
// file) or "dynamodb:TABLE" (the AWS configuration comes from the
// environment; AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local).
func OpenStore(ctx context.Context, url string, o StoreOptions) (sesame.Backend, error) {
	kind, rest, ok := strings.Cut(url, ":")
	if !ok || rest == "" {
		return nil, storeURLError(url)
	}
	switch kind {
	case "bolt":
		st, err := bolt.Open(rest)
		if err != nil {
			return nil, err
		}
		return st, nil
	case "dynamodb":
		client := o.DynamoDB
		if client == nil {
			cfg, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				return nil, fmt.Errorf("configuration AWS : %w", err)
			}
			client = dynamodb.NewFromConfig(cfg)
		}
		exists, err := tabledef.Exists(ctx, client, rest)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", rest, err)
		}
		if !exists {
			if !o.CreateTable {
				return nil, sesame.NotFound("La table DynamoDB « " + rest + " » (ajoutez --create-table pour la créer)")
			}
			spec, err := tabledef.Parse(sesame.Template)
			if err != nil {
				return nil, fmt.Errorf("template.yaml: %w", err)
			}
			if err := tabledef.Create(ctx, client, spec, rest); err != nil {
				return nil, fmt.Errorf("create table %s: %w", rest, err)
			}
		}
		st, err := dynamo.New(client, rest)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, storeURLError(url)
}

func storeURLError(url string) error {
	return sesame.Invalid("store", "Le stockage « %s » est incorrect : écrivez bolt:CHEMIN (par exemple bolt:./data/sesame.db) ou dynamodb:TABLE.", url)
}

// NewService builds the service over st with the product's password
// hashing (argon2id, OWASP parameters) and the system clock.
func NewService(st sesame.Backend, t sesame.Timing) *sesame.Service {
	return &sesame.Service{Store: st, Hasher: password.New(password.OWASP), Clock: sesame.SystemClock{}, Timing: t}
}

// Handler serves the API under /api/v1/ and the pages everywhere else.
func Handler(svc *sesame.Service, cfg httpapi.Config) http.Handler {
	cfg.Service = svc
	mux := http.NewServeMux()
	mux.Handle(httpapi.Prefix+"/", httpapi.New(cfg))
	mux.Handle("/", web.Handler())
	return mux
}

// Collect removes, every period until ctx ends, the sessions and
// throttling counters older than keep (see sesame.Store.Collect). The
// single server runs it; in the cloud, DynamoDB's TTL does the same.
func Collect(ctx context.Context, st sesame.Store, period, keep time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		n, err := st.Collect(ctx, time.Now().UTC().Add(-keep))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("collect", "error", err.Error())
		case n > 0:
			log.Info("collect", "removed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// UploadsFor keeps the single server's uploads beside its store: in an
// "uploads" folder next to a bbolt file, or in ./data/uploads for a
// DynamoDB table.
func UploadsFor(storeURL string) (*uploads.Dir, error) {
	dir := filepath.Join("data", "uploads")
	if kind, path, ok := strings.Cut(storeURL, ":"); ok && kind == "bolt" {
		dir = filepath.Join(filepath.Dir(path), "uploads")
	}
	return uploads.NewDir(dir, sesame.DefaultRentreeLimits.MaxCompressedIn)
}
