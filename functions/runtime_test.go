package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// runtimeAPI is a stand-in for Lambda's runtime API: it hands the queued
// events to the function process and collects its answers.
type runtimeAPI struct {
	events  chan []byte
	answers chan runtimeAnswer
	done    chan struct{}
	mu      sync.Mutex
	seq     int
}

type runtimeAnswer struct {
	kind string // response, error, init/error
	body []byte
}

func (rt *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	p := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodGet && p == "invocation/next":
		select {
		case ev := <-rt.events:
			rt.mu.Lock()
			rt.seq++
			id := fmt.Sprintf("invocation-%d", rt.seq)
			rt.mu.Unlock()
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", id)
			h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-3:123456789012:function:sesame-LoginFunction")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-68c7c6c3-0f3a5b7d9e1c2a4b6d8f0a1c")
			_, _ = w.Write(ev)
		case <-rt.done:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		}
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		kind := "init/error"
		if strings.HasPrefix(p, "invocation/") {
			kind = p[strings.LastIndex(p, "/")+1:]
		}
		w.WriteHeader(http.StatusAccepted)
		rt.answers <- runtimeAnswer{kind, body}
	default:
		http.NotFound(w, r)
	}
}

// TestLoginBinary builds functions/login as it is deployed (its main, the
// environment template.yaml sets, lambda.Start) and runs it against a
// stand-in runtime API and DynamoDB Local. Skipped with -short.
// runningFunction is a function's real binary, built and started against
// a stand-in for Lambda's runtime API, with the environment template.yaml
// gives it and DynamoDB Local.
type runningFunction struct {
	t              *testing.T
	rt             *runtimeAPI
	stdout, stderr syncBuffer
	stop           func()
}

// startFunction builds ./functions/<dir> and starts it as logical id
// LogicalId on table, with more environment variables.
func startFunction(t *testing.T, dir, logicalID, table string, env ...string) *runningFunction {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./functions/"+dir)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f := &runningFunction{t: t, rt: &runtimeAPI{events: make(chan []byte, 4), answers: make(chan runtimeAnswer, 4), done: make(chan struct{})}}
	srv := httptest.NewServer(f.rt)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(srv.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=sesame-" + logicalID,
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_LOG_LEVEL=INFO",
		"AWS_REGION=" + dynamolocal.Region,
		"AWS_ACCESS_KEY_ID=" + dynamolocal.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + dynamolocal.AccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_DYNAMODB=" + dynamolocal.Endpoint(t),
		fn.EnvTable + "=" + table,
		fn.EnvOriginSecret + "=" + secret,
	}, env...)
	cmd.Stdout, cmd.Stderr = &f.stdout, &f.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			close(f.rt.done)
			cancel()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(f.stop)
	return f
}

// invoke hands the function one event and returns its answer.
func (f *runningFunction) invoke(what string, raw []byte) []byte {
	f.t.Helper()
	f.rt.events <- raw
	select {
	case a := <-f.rt.answers:
		if a.kind != "response" {
			f.t.Fatalf("%s: the function answered %s: %s\nstdout: %s\nstderr: %s", what, a.kind, a.body, f.stdout.String(), f.stderr.String())
		}
		return a.body
	case <-time.After(60 * time.Second):
		f.t.Fatalf("%s: no answer in 60 s\nstdout: %s\nstderr: %s", what, f.stdout.String(), f.stderr.String())
	}
	return nil
}

func TestLoginBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the login function; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Require(t, "go", err)
	}
	client, table := dynamolocal.NewTable(t)
	st, err := dynamo.New(client, table)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.NewService(st, sesame.DefaultTiming).CreateSchool(t.Context(),
		sesame.NewSchool{UAI: uai, Name: "Collège Victor-Hugo", Year: "2026-2027", SPRPassword: sprPass}); err != nil {
		t.Fatal(err)
	}

	f := startFunction(t, "login", "LoginFunction", table)
	invoke := func(name string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		raw, _ := json.Marshal(loadEvent(t, name))
		var res events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(f.invoke(name, raw), &res); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res
	}
	stdout, stderr, stop := &f.stdout, &f.stderr, f.stop

	res := invoke("login")
	r := reply{APIGatewayV2HTTPResponse: res}
	if c := r.cookie(httpapi.SessionCookie); res.StatusCode != http.StatusOK || c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("login.json: %d %s, cookies %q", res.StatusCode, res.Body, res.Cookies)
	}
	if res = invoke("permissions"); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, `"not_found"`) {
		t.Fatalf("permissions.json to the login function: %d %s, want 404 not_found", res.StatusCode, res.Body)
	}
	stop()
	logs := stdout.String()
	if !strings.Contains(logs, `"function":"login"`) || !strings.Contains(logs, `"route":"/login"`) || strings.Contains(logs, sprPass) {
		t.Fatalf("the function's JSON log:\n%s\nstderr: %s", logs, stderr.String())
	}
}
