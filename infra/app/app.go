// Package app assembles Sésame from its parts, once for every entry point:
// the store named by a URL, the service over it, and the HTTP handler that
// serves the API and the pages. `sesame serve`, the Lambda functions and
// the tests all build the product through it.
//
//	st, err := app.OpenStore(ctx, "bolt:./data/sesame.db", app.StoreOptions{})
//	svc := app.NewService(st, sesame.DefaultTiming)
//	http.ListenAndServe(addr, app.Handler(svc, httpapi.Config{}))
//
// # Journal retention and the single server's collector
//
// A journal entry carries ExpiresAt = At + Service.Retention. In the cloud,
// DynamoDB's TTL removes it from then on. On the single server, Collect
// sweeps the store every CollectPeriod with Store.Collect(now,
// CollectKeep): it keeps ended sessions (whose reason a returning browser
// is told) and throttling counters a day, and removes journal entries as
// soon as they expire.
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
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/tabledef"
	"github.com/sesame-ecole/sesame/infra/uploads"
	"github.com/sesame-ecole/sesame/web"
)

// DefaultStore is where the single server keeps its data.
const DefaultStore = "bolt:./data/sesame.db"

// StoreOptions tune OpenStore.
type StoreOptions = core.StoreOptions

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
		if o.CreateTable {
			exists, err := tabledef.Exists(ctx, client, rest)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", rest, err)
			}
			if !exists {
				spec, err := tabledef.Parse(sesame.Template)
				if err != nil {
					return nil, fmt.Errorf("template.yaml: %w", err)
				}
				if err := tabledef.Create(ctx, client, spec, rest); err != nil {
					return nil, fmt.Errorf("create table %s: %w", rest, err)
				}
			}
		}
		return core.OpenDynamo(ctx, client, rest, " (ajoutez --create-table pour la créer)")
	}
	return nil, storeURLError(url)
}

func storeURLError(url string) error {
	return sesame.Invalid("store", "Le stockage « %s » est incorrect : écrivez bolt:CHEMIN (par exemple bolt:./data/sesame.db) ou dynamodb:TABLE.", url)
}

// NewService builds the service over st with the product's password
// hashing (argon2id, OWASP parameters) and the system clock
// (core.NewService).
func NewService(st sesame.Backend, t sesame.Timing) *sesame.Service { return core.NewService(st, t) }

// NewServiceFor is NewService with the journal retention and the logger
// of an entry point (core.NewServiceFor).
func NewServiceFor(st sesame.Backend, t sesame.Timing, retention time.Duration, log *slog.Logger) *sesame.Service {
	return core.NewServiceFor(st, t, retention, log)
}

// EnvJournalRetention names the environment variable of the journal's
// retention in days (core.EnvJournalRetention).
const EnvJournalRetention = core.EnvJournalRetention

// ParseJournalRetention reads a journal retention given in days
// (core.ParseJournalRetention).
func ParseJournalRetention(days string) (time.Duration, error) {
	return core.ParseJournalRetention(days)
}

// JournalRetention reads EnvJournalRetention through getenv
// (core.JournalRetention).
func JournalRetention(getenv func(string) string) (time.Duration, error) {
	return core.JournalRetention(getenv)
}

// Handler serves the API under /api/v1/ and the pages everywhere else.
// With cfg.PublicOrigins, it first refuses any other host with 421
// (httpapi.CheckHost).
func Handler(svc *sesame.Service, cfg httpapi.Config) http.Handler {
	cfg.Service = svc
	mux := http.NewServeMux()
	mux.Handle(httpapi.Prefix+"/", httpapi.New(cfg))
	mux.Handle("/", web.Handler())
	return httpapi.CheckHost(cfg, mux)
}

// The single server's collector (see the package comment).
const (
	// CollectPeriod is how often Collect sweeps the store.
	CollectPeriod = time.Hour
	// CollectKeep is how long the sweep keeps ended sessions and
	// throttling counters past their end.
	CollectKeep = 24 * time.Hour
)

// CollectOnce sweeps st as of now: Store.Collect(now, CollectKeep), which
// removes the sessions and throttling counters that ended a day ago and
// the journal entries that expired by now.
func CollectOnce(ctx context.Context, st sesame.Store, now time.Time) (int, error) {
	return st.Collect(ctx, now.UTC(), CollectKeep)
}

// Collect runs CollectOnce at once, then every period until ctx ends. The
// single server runs it (with CollectPeriod); in the cloud, DynamoDB's TTL
// does the same.
func Collect(ctx context.Context, st sesame.Store, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		n, err := CollectOnce(ctx, st, time.Now())
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
