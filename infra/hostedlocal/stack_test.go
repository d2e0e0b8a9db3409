package hostedlocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/faults"
	"github.com/sesame-ecole/sesame/infra/hostedlocal"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

const (
	uai  = "0751234A"
	year = "2026-2027"
	pass = "superviseur-2026"
)

// dynamoDown cuts every connection to DynamoDB, open or new, at once.
var dynamoDown = faults.Toxic{Name: "down", Type: "reset_peer", Stream: "downstream", Toxicity: 1,
	Attributes: map[string]any{"timeout": 0}}

// startStack starts the hosted stack for t, stopped when t ends; a
// missing component skips loudly, or fails under CI=true.
func startStack(t *testing.T, o hostedlocal.Options) *hostedlocal.Stack {
	t.Helper()
	st, err := hostedlocal.Start(t.Context(), o)
	var missing *hostedlocal.MissingError
	if errors.As(err, &missing) {
		testenv.Require(t, "the hosted stack's components", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	return st
}

// TestStack runs the hosted deployment and reaches it as a browser does:
// the pages from the web bucket through the page function, the API through
// the gateway to the functions under RIE. The functions start with
// DynamoDB unreachable: they answer a clean 503 unavailable, and serve once
// it is back. An S3 event whose object is gone ends in the on-failure
// destination after the template's retries. Skipped with -short.
func TestStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole hosted stack; skipped with -short")
	}
	dyn := dynamolocal.Endpoint(t)
	proxy, err := faults.StartProxy(strings.TrimPrefix(dyn, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	if err := proxy.Add(dynamoDown); err != nil {
		t.Fatal(err)
	}
	st := startStack(t, hostedlocal.Options{DynamoDB: dyn, FunctionsDynamoDB: proxy.URL(),
		Table: dynamolocal.TableName(t), RetryDelay: 10 * time.Millisecond,
		Instances: map[string]int{"LoginFunction": 1, "SeatsFunction": 1, "AuthorizeFunction": 1}})
	site := strings.TrimSuffix(st.URL, "/")

	get := func(path string, cookie string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, site+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
	}{{"/", 200, "text/html"}, {"/accueil", 200, "text/html"}, {"/sesame.css", 200, "text/css"}, {"/absent", 403, "application/xml"}} {
		res, _ := get(tc.path, "")
		if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "connect-src 'self' "+st.S3) {
			t.Errorf("GET %s: %d %s, CSP %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Security-Policy"))
		}
	}
	if res, body := get("/api/v1/nothing", ""); res.StatusCode != 404 || body != `{"message":"Not Found"}` {
		t.Errorf("an unknown route: %d %s", res.StatusCode, body)
	}

	// DynamoDB unreachable since the functions started.
	res, body := get("/api/v1/session", "")
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if res.StatusCode != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != sesame.CodeUnavailable ||
		res.Header.Get("Retry-After") == "" {
		t.Fatalf("DynamoDB unreachable: %d %s\n%s", res.StatusCode, body, st.Logs()["SeatsFunction"])
	}

	// Back: the same instances serve.
	if err := proxy.Remove(dynamoDown.Name); err != nil {
		t.Fatal(err)
	}
	store, err := core.OpenDynamo(t.Context(), st.DynamoDBClient(), st.Table, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(store, sesame.DefaultTiming)
	if _, err := svc.CreateSchool(t.Context(), sesame.NewSchool{UAI: uai, Name: "Collège Jean Moulin", Year: year, SPRPassword: pass}); err != nil {
		t.Fatal(err)
	}
	if res, body := get("/api/v1/session", ""); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"unauthenticated"`) {
		t.Fatalf("DynamoDB back: %d %s", res.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodPost, site+"/api/v1/login",
		strings.NewReader(`{"school":"`+uai+`","login":"spr","password":"`+pass+`","mode":"admin","access":"modify"}`))
	req.Header.Set("Origin", site)
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == "sesame_session" && c.Secure && c.HttpOnly {
			cookie = c.Name + "=" + c.Value
		}
	}
	if res.StatusCode != http.StatusOK || cookie == "" {
		t.Fatalf("login: %d, cookies %v\n%s", res.StatusCode, res.Cookies(), st.Logs()["LoginFunction"])
	}
	if res, body := get("/api/v1/session", cookie); res.StatusCode != http.StatusOK || !strings.Contains(body, `"uai":"`+uai+`"`) {
		t.Fatalf("session: %d %s", res.StatusCode, body)
	}
	// An execution environment that died is replaced: the next call is
	// served, on a cold start.
	seats := st.Instances("SeatsFunction")
	if len(seats) != 1 {
		t.Fatalf("%d seats instances", len(seats))
	}
	seats[0].Kill()
	if res, body := get("/api/v1/session", cookie); res.StatusCode != http.StatusOK || seats[0].Restarts() != 1 {
		t.Fatalf("after the seats function's RIE was killed: %d %s, %d restarts", res.StatusCode, body, seats[0].Restarts())
	}
	// A viewer that stops waiting for a sign-in: the invocation runs on,
	// and the next sign-in waits for the instance instead of crashing RIE.
	login := func(timeout time.Duration) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, site+"/api/v1/login",
			strings.NewReader(`{"school":"`+uai+`","login":"spr","password":"`+pass+`","mode":"admin","access":"modify"}`))
		req.Header.Set("Origin", site)
		req.Header.Set("Content-Type", "application/json")
		return (&http.Client{Timeout: timeout}).Do(req)
	}
	if res, err := login(50 * time.Millisecond); err == nil {
		res.Body.Close()
		t.Logf("the sign-in answered within 50 ms (%d): the caller did not go away", res.StatusCode)
	}
	if res, err := login(time.Minute); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the sign-in after one whose caller went away: %v %v\n%s", res, err, st.Logs()["LoginFunction"])
	} else {
		res.Body.Close()
	}
	if n := st.Instances("LoginFunction")[0].Restarts(); n != 0 {
		t.Errorf("the login function's RIE exited %d times", n)
	}
	// The journal names the viewer's address, from CloudFront-Viewer-Address.
	if res, body := get("/api/v1/journal?event=login", cookie); res.StatusCode != http.StatusOK || !strings.Contains(body, `"address":"127.0.0.1"`) {
		t.Errorf("journal: %d %s", res.StatusCode, body)
	}

	// DynamoDB lost while the functions serve: a request that needs it is
	// answered 503 unavailable with Retry-After, not an internal error,
	// and served again once DynamoDB is back.
	if err := proxy.Add(dynamoDown); err != nil {
		t.Fatal(err)
	}
	res, body = get("/api/v1/session", cookie)
	if err := json.Unmarshal([]byte(body), &e); err != nil || res.StatusCode != http.StatusServiceUnavailable ||
		e.Error.Code != sesame.CodeUnavailable || res.Header.Get("Retry-After") != "5" {
		t.Fatalf("DynamoDB lost while serving: %d %s, Retry-After %q\n%s", res.StatusCode, body, res.Header.Get("Retry-After"), st.Logs()["SeatsFunction"])
	}
	// The function's log says why, for the operator: the request's line
	// carries the cause, at warning level.
	if logs := st.Logs()["SeatsFunction"]; !regexp.MustCompile(`"level":"WARN","message":"request".*"outcome":"unavailable".*"error":"[^"]*unavailable: .*connection reset`).MatchString(logs) {
		t.Errorf("no request line with the cause of unavailable in the seats function's log:\n%s", logs)
	}
	if err := proxy.Remove(dynamoDown.Name); err != nil {
		t.Fatal(err)
	}
	if res, body := get("/api/v1/session", cookie); res.StatusCode != http.StatusOK {
		t.Fatalf("DynamoDB back again: %d %s", res.StatusCode, body)
	}

	// An import whose object is gone: retried, then the destination.
	key := "imports/" + uai + "/" + year + "/disparu.zip"
	st.Notify([]byte(`{"Records":[{"eventName":"s3:ObjectCreated:Put","eventTime":"` + time.Now().UTC().Format(time.RFC3339) +
		`","awsRegion":"eu-west-3","s3":{"bucket":{"name":"` + st.ImportBucket + `"},"object":{"key":"` + key + `","size":10,"eTag":"x"}}}]}`))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := st.WaitEvents(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The recover function finds no object at the event's version: it
	// writes a report saying so (never silently), or the event goes to the
	// destination.
	list, err := st.S3Client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(st.ImportBucket),
		Prefix: aws.String("reports/" + uai + "/" + year + "/disparu")})
	if err != nil {
		t.Fatal(err)
	}
	if f := st.Failures(); len(list.Contents) == 0 && (len(f) != 1 || !strings.Contains(string(f[0].Event), "disparu.zip")) {
		t.Fatalf("neither a report nor the destination: %+v\n%s", f, st.Logs()["RecoverFunction (S3)"])
	}
	if len(list.Contents) == 1 {
		obj, err := st.S3Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(st.ImportBucket), Key: list.Contents[0].Key})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if !strings.Contains(string(b), `"not_found"`) {
			t.Errorf("the report of a missing object: %s", b)
		}
	}
}
