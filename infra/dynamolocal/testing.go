package dynamolocal

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesame-ecole/sesame/infra/testenv"
)

// EndpointEnv names the variable that points the tests at a running DynamoDB
// (Local) instead of starting one; AWS_ENDPOINT_URL_DYNAMODB, the SDK's own
// variable, is honoured too.
const EndpointEnv = "SESAME_DYNAMODB_ENDPOINT"

// installStartTimeout bounds the first Endpoint call: npm pack (about 57 MB)
// plus the JVM start.
const installStartTimeout = 3 * time.Minute

var shared struct {
	once     sync.Once
	mu       sync.Mutex
	srv      *Server
	endpoint string
	note     string // how the endpoint was obtained, logged once
	err      error
}

// Endpoint returns the DynamoDB endpoint that this test process uses: the one
// named by SESAME_DYNAMODB_ENDPOINT or AWS_ENDPOINT_URL_DYNAMODB if set,
// otherwise that of a DynamoDB Local installed and started on first use and
// shared by the whole process (stop it with [Shutdown] from TestMain).
//
// When none can be had, the test is skipped loudly, or fails when CI=true
// (testenv.Require).
func Endpoint(tb testing.TB) string {
	tb.Helper()
	endpoint, note, err := sharedEndpoint()
	testenv.Require(tb, "DynamoDB Local", err)
	if note != "" {
		tb.Log(note)
	}
	return endpoint
}

// sharedEndpoint returns the process's endpoint; note is non-empty for the
// first caller only.
func sharedEndpoint() (endpoint, note string, err error) {
	shared.once.Do(func() {
		if ep := envEndpoint(); ep != "" {
			shared.endpoint, shared.note = ep, "DynamoDB: endpoint from the environment, "+ep
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), installStartTimeout)
		defer cancel()
		cache, err := DefaultCacheDir()
		if err != nil {
			shared.err = err
			return
		}
		t0 := time.Now()
		dir, err := Install(ctx, cache)
		if err != nil {
			shared.err = err
			return
		}
		installed := time.Since(t0)
		srv, err := Start(ctx, dir)
		if err != nil {
			shared.err = err
			return
		}
		shared.mu.Lock()
		shared.srv = srv
		shared.mu.Unlock()
		shared.endpoint = srv.Endpoint()
		shared.note = fmt.Sprintf("DynamoDB Local %s started in %v (install check %v), from %s",
			srv.Endpoint(), srv.StartupTime().Round(time.Millisecond), installed.Round(time.Millisecond), dir)
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	note, shared.note = shared.note, ""
	return shared.endpoint, note, shared.err
}

func envEndpoint() string {
	for _, name := range []string{EndpointEnv, "AWS_ENDPOINT_URL_DYNAMODB"} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			return v
		}
	}
	return ""
}

// Shutdown stops the DynamoDB Local that [Endpoint] started in this process,
// if any. Call it from TestMain after m.Run.
func Shutdown() {
	shared.mu.Lock()
	srv := shared.srv
	shared.srv = nil
	shared.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

var tableSeq atomic.Int64

// NewTable creates, from template.yaml, a table with a fresh name on the
// process's endpoint (see [Endpoint]) and returns a client and the table's
// name. The table is deleted when the test ends.
func NewTable(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	client := Client(Endpoint(tb))
	template, err := TemplatePath()
	if err != nil {
		tb.Fatal(err)
	}
	name := TableName(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := CreateTableFromTemplate(ctx, client, template, name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			tb.Logf("deleting table %s: %v", name, err)
		}
	})
	return client, name
}

// TableName returns a table name unique to this test run, readable in logs:
// "t-<test name>-<random>-<sequence>", within DynamoDB's limits.
func TableName(tb testing.TB) string {
	var b strings.Builder
	for _, r := range tb.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('.')
		}
	}
	base := b.String()
	if len(base) > 150 {
		base = base[:150]
	}
	return fmt.Sprintf("t-%s-%s-%d", base, strings.ToLower(rand.Text()[:8]), tableSeq.Add(1))
}
