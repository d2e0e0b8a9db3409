package functions_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/s3local"
)

// syncBuffer is a bytes.Buffer safe to read while others write to it.
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

// runningFunction is a function as deployed: its arm64 artifact, built by
// `make build-<LogicalId>`, under the Lambda Runtime Interface Emulator
// (through qemu), with the environment template.yaml gives it, DynamoDB
// Local, and what Lambda itself sets.
type runningFunction struct {
	t  testing.TB
	in *lambdarie.Instance
}

// startFunction runs the function logicalID of template.yaml on table,
// with the origin secret; v gives the other parameters and the variables
// whose template value is not a plain !Ref (the import bucket), extra the
// variables Lambda does not know (the local endpoints).
func startFunction(t testing.TB, logicalID, table string, v lambdarie.Values, extra ...string) *runningFunction {
	t.Helper()
	in, err := lambdarie.Start(t.Context(), functionOptions(t, logicalID, table, v, extra...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Stop)
	return &runningFunction{t: t, in: in}
}

// functionOptions are what startFunction starts the function with.
func functionOptions(t testing.TB, logicalID, table string, v lambdarie.Values, extra ...string) lambdarie.Options {
	t.Helper()
	refs := map[string]string{"Table": table, "OriginSecret": secret}
	maps.Copy(refs, v.Refs)
	v.Refs = refs
	// versitygw's credentials: DynamoDB Local (-sharedDb) takes any.
	env := append(lambdarie.LambdaEnv(logicalID, s3local.Region, s3local.AccessKey, s3local.SecretKey),
		"AWS_ENDPOINT_URL_DYNAMODB="+dynamolocal.Endpoint(t))
	return lambdarie.FunctionOptions(t, logicalID, v, append(env, extra...)...)
}

// invoke hands the function one event and returns its answer.
func (f *runningFunction) invoke(what string, raw []byte) []byte {
	f.t.Helper()
	out, err := f.in.Invoke(f.t.Context(), raw)
	if err != nil {
		f.t.Fatalf("%s: %v\nlogs: %s", what, err, f.in.Logs())
	}
	return out
}

// logs returns what the function printed, once stopped.
func (f *runningFunction) logs() string {
	f.in.Stop()
	return f.in.Logs()
}

// TestLoginBinary runs functions/login as it is deployed (see
// runningFunction) against DynamoDB Local. Skipped with -short.
func TestLoginBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the login function; skipped with -short")
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

	f := startFunction(t, "LoginFunction", table, lambdarie.Values{})
	invoke := func(name string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		raw, _ := json.Marshal(loadEvent(t, name))
		var res events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(f.invoke(name, raw), &res); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res
	}

	res := invoke("login")
	r := reply{APIGatewayV2HTTPResponse: res}
	if c := r.cookie(httpapi.SessionCookie); res.StatusCode != http.StatusOK || c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("login.json: %d %s, cookies %q", res.StatusCode, res.Body, res.Cookies)
	}
	if res = invoke("permissions"); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, `"not_found"`) {
		t.Fatalf("permissions.json to the login function: %d %s, want 404 not_found", res.StatusCode, res.Body)
	}
	logs := f.logs()
	if !strings.Contains(logs, `"function":"login"`) || !strings.Contains(logs, `"route":"/login"`) || strings.Contains(logs, sprPass) {
		t.Fatalf("the function's JSON log:\n%s", logs)
	}
}
