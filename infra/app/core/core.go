// Package core is the part of the wiring that needs neither the embedded
// store nor the pages: the service with the product's password hashing,
// the journal's retention from the environment, and the store on a
// DynamoDB table. The Lambda functions build on it alone, so that their
// binaries link no bbolt, no web pages and no YAML parser; infra/app
// builds every other entry point on top of it.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/password"
)

// StoreOptions tune opening a store.
type StoreOptions struct {
	// CreateTable creates a missing DynamoDB table from template.yaml's
	// declaration (infra/app only: it needs the template's parser).
	CreateTable bool
	// DynamoDB, when set, is the client to use instead of one made from
	// the environment's AWS configuration.
	DynamoDB *dynamodb.Client
}

// OpenDynamo opens the store on table, which must exist: a missing table
// is sesame.NotFound, in French, with create's hint when hint is set.
func OpenDynamo(ctx context.Context, client *dynamodb.Client, table, hint string) (sesame.Backend, error) {
	st, err := dynamo.New(client, table)
	if err != nil {
		return nil, err
	}
	err = st.CheckTable(ctx)
	if notFound := new(types.ResourceNotFoundException); errors.As(err, &notFound) {
		return nil, sesame.NotFound("La table DynamoDB « " + table + " »" + hint)
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", table, err)
	}
	return st, nil
}

// NewService builds the service over st with the product's password
// hashing (argon2id, OWASP parameters) and the system clock.
func NewService(st sesame.Backend, t sesame.Timing) *sesame.Service {
	return &sesame.Service{Store: st, Hasher: &lazyHasher{}, Clock: sesame.SystemClock{}, Timing: t}
}

// NewServiceFor is NewService with the journal retention and the logger
// of an entry point.
func NewServiceFor(st sesame.Backend, t sesame.Timing, retention time.Duration, log *slog.Logger) *sesame.Service {
	svc := NewService(st, t)
	svc.Retention, svc.Log = retention, log
	return svc
}

// EnvJournalRetention names the environment variable that sets the
// journal's retention in days: the Lambda functions read it (template.yaml's
// JournalRetentionDays parameter), and so do the commands that write the
// journal (`sesame serve --journal-retention` overrides it).
const EnvJournalRetention = "SESAME_JOURNAL_RETENTION_DAYS"

// ParseJournalRetention reads a journal retention given in days: a whole
// number from sesame.MinJournalRetention to sesame.MaxJournalRetention
// (1 to 1098 days). Its error is in French.
func ParseJournalRetention(days string) (time.Duration, error) {
	d, err := parseRetention(days, "")
	if err != nil {
		return 0, err
	}
	return d, nil
}

// parseRetention is ParseJournalRetention, its message starting with
// where the value came from (when not empty).
func parseRetention(days, where string) (time.Duration, *sesame.Error) {
	day := 24 * time.Hour
	lo, hi := int(sesame.MinJournalRetention/day), int(sesame.MaxJournalRetention/day)
	n, err := strconv.Atoi(strings.TrimSpace(days))
	if err != nil || n < lo || n > hi {
		e := sesame.Invalid("journalRetention", "La durée de conservation du journal « %s » est incorrecte : donnez un nombre entier de jours, de %d à %d (%d par défaut, six mois).",
			days, lo, hi, int(sesame.DefaultJournalRetention/day))
		if where != "" {
			e.Message = where + " : " + e.Message
		}
		return 0, e
	}
	return time.Duration(n) * day, nil
}

// JournalRetention reads EnvJournalRetention through getenv:
// sesame.DefaultJournalRetention when it is unset or empty. Its error, in
// French, names the variable.
func JournalRetention(getenv func(string) string) (time.Duration, error) {
	v := getenv(EnvJournalRetention)
	if v == "" {
		return sesame.DefaultJournalRetention, nil
	}
	d, err := parseRetention(v, EnvJournalRetention)
	if err != nil {
		return 0, err
	}
	return d, nil
}

// lazyHasher is password.New(password.OWASP), made at first use:
// password.New hashes a dummy password in argon2id and in bcrypt, which
// costs a function's cold start about a second under qemu, and most
// functions (seats, authorize) never hash a password.
type lazyHasher struct {
	once sync.Once
	h    *password.Hasher
}

func (l *lazyHasher) get() *password.Hasher {
	l.once.Do(func() { l.h = password.New(password.OWASP) })
	return l.h
}

func (l *lazyHasher) Hash(pw string) (string, error) { return l.get().Hash(pw) }

func (l *lazyHasher) Verify(hash, pw string) (ok, rehash bool, err error) {
	return l.get().Verify(hash, pw)
}

func (l *lazyHasher) Burn(pw string, f sesame.HashFormat, cost int) { l.get().Burn(pw, f, cost) }
