package functions_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/functions/internal/s3trigger"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
)

// TestRecoverBinary builds functions/recover as it is deployed and runs it
// against a stand-in runtime API, DynamoDB Local and the in-process S3
// server, both named by the standard AWS_ENDPOINT_URL_* variables: an S3
// notification is taken in, its duplicate is not, and HTTP events reach
// the API. Skipped with -short.
func TestRecoverBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the recover function; skipped with -short")
	}
	client, table := dynamolocal.NewTable(t)
	st, err := dynamo.New(client, table)
	if err != nil {
		t.Fatal(err)
	}
	c, s3URL := newFakeS3(t)
	s := &recoverSite{t: t, s3: c, s3URL: s3URL, logs: &syncBuffer{},
		svc: &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}}
	s.world()
	key := loadS3Event(t, "s3-put").Records[0].S3.Object.URLDecodedKey
	version, etag := s.putImport(key, s.rentreeFile(uai, lastYear, "zip"), map[string]string{"add": "true"})

	// An address, not a name: the SDK addresses the bucket in the path, as
	// gofakes3 expects.
	f := startFunction(t, "RecoverFunction", table, lambdarie.Values{Vars: map[string]string{fn.EnvImportBucket: testBucket}},
		"AWS_ENDPOINT_URL_S3="+s3URL)
	invoke := f.invoke
	outcome := func(what string, body []byte) s3trigger.Outcome {
		t.Helper()
		var res s3trigger.Result
		if err := json.Unmarshal(body, &res); err != nil || len(res.Outcomes) != 1 {
			t.Fatalf("%s: %s (%v)", what, body, err)
		}
		return res.Outcomes[0]
	}

	o := outcome("s3-put.json", invoke("s3-put.json", s3Event(t, "s3-put", key, version, etag)))
	if o.Status != s3trigger.Applied {
		t.Fatalf("s3-put.json: %+v\nlogs: %s", o, f.in.Logs())
	}
	// Written by the SDK as configured from the environment (default
	// checksums): the report reads back whole.
	if rep, _ := s.report(o.Report); rep.Recovery == nil || rep.Recovery.Added != 3 {
		t.Fatalf("report %+v", rep)
	}
	if _, ok := s.users()["prof.martin"]; !ok {
		t.Fatal("the import did not land")
	}
	if o := outcome("s3-put-duplicate.json", invoke("s3-put-duplicate.json", s3Event(t, "s3-put-duplicate", key, version, etag))); o.Status != s3trigger.Duplicate {
		t.Fatalf("s3-put-duplicate.json: %+v", o)
	}
	for _, tc := range []struct {
		name   string
		status int
		code   string
	}{{"next-year", http.StatusUnauthorized, "unauthenticated"}, {"permissions", http.StatusNotFound, "not_found"}} {
		ev := loadEvent(t, tc.name)
		ev.Cookies = nil
		raw, _ := json.Marshal(ev)
		var res events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(invoke(tc.name, raw), &res); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != tc.status || !strings.Contains(res.Body, `"`+tc.code+`"`) {
			t.Errorf("%s.json: %d %s, want %d %s", tc.name, res.StatusCode, res.Body, tc.status, tc.code)
		}
	}
	logs := f.logs()
	if !strings.Contains(logs, `"function":"recover"`) || !strings.Contains(logs, `"message":"object taken in"`) {
		t.Fatalf("the function's JSON log:\n%s", logs)
	}
}
