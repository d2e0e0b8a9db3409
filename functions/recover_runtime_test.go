package functions_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/functions/internal/s3trigger"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/localtool"
	"github.com/sesame-ecole/sesame/infra/s3local"
	"github.com/sesame-ecole/sesame/infra/tabledef"
)

// TestRecoverBinary is the automation journey on the deployed shape: IT
// staff PUT rentrée files into the import bucket (versitygw); its events,
// made S3's by the bridge and filtered as the template filters them, reach
// the recover function's real artifact under RIE with Lambda's
// asynchronous semantics (the template's retries, then the on-failure
// destination). The recovery runs and its report appears under reports/;
// the same version delivered three times changes nothing; a file of school
// B dropped in school A's folder touches neither base; with the table gone
// the event is retried, then lands in the destination. HTTP events reach
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
	srv := s3local.New(t, testBucket)
	s := &recoverSite{t: t, s3: srv.Client(""), s3URL: srv.Endpoint(), logs: &syncBuffer{},
		svc: &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}}
	s.world()

	f := startFunction(t, "RecoverFunction", table, lambdarie.Values{Vars: map[string]string{fn.EnvImportBucket: testBucket}},
		"AWS_ENDPOINT_URL_S3="+srv.Endpoint())

	// The template's asynchronous invocation: retries, on-failure destination.
	tpl, err := tabledef.DecodeTemplate(sesame.Template)
	if err != nil {
		t.Fatal(err)
	}
	retries, err := strconv.Atoi(str(localtool.Dig(tpl, "Resources", "RecoverFunction", "Properties", "EventInvokeConfig", "MaximumRetryAttempts")))
	if err != nil || retries != 2 {
		t.Fatalf("MaximumRetryAttempts %d %v, want 2", retries, err)
	}
	filters, err := s3local.TemplateFilters(sesame.Template, "RecoverFunction", testBucket)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var delivered, destination []json.RawMessage
	var outcomes []s3trigger.Outcome
	attempts := 0
	async := lambdarie.Async{Retries: retries,
		Invoke: func(ctx context.Context, ev []byte) ([]byte, error) {
			mu.Lock()
			attempts++
			mu.Unlock()
			out, err := f.in.Invoke(ctx, ev)
			if err != nil {
				return nil, err
			}
			var res s3trigger.Result
			if err := json.Unmarshal(out, &res); err != nil {
				t.Errorf("answer %s: %v", out, err)
			}
			mu.Lock()
			delivered, outcomes = append(delivered, ev), append(outcomes, res.Outcomes...)
			mu.Unlock()
			return out, nil
		},
		OnFailure: func(ev []byte, err error) {
			mu.Lock()
			destination = append(destination, ev)
			mu.Unlock()
		}}
	bridge := &s3local.Bridge{S3: srv.Client(""), Filters: filters, Deliver: async.Deliver}
	srv.OnEvent(bridge.Handle)
	sent := 0
	waitFor := func(n int) {
		t.Helper()
		sent += n
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		if err := bridge.WaitDelivered(ctx, sent); err != nil {
			t.Fatalf("%v\nlogs: %s", err, f.in.Logs())
		}
	}
	last := func() s3trigger.Outcome {
		mu.Lock()
		defer mu.Unlock()
		if len(outcomes) == 0 {
			t.Fatalf("no outcome; destination %d\nlogs: %s", len(destination), f.in.Logs())
		}
		return outcomes[len(outcomes)-1]
	}

	otherBefore := s.snapshot(otherUAI, lastYear)
	// IT staff's PUT, with its options as metadata; and an object outside
	// the filters (a report), which sends nothing.
	key := loadS3Event(t, "s3-put").Records[0].S3.Object.URLDecodedKey
	version, _ := s.putImport(key, s.rentreeFile(uai, lastYear, "zip"), map[string]string{"add": "true"})
	s.putImport(reportsDir+"note.zip", []byte("x"), nil)
	waitFor(1)
	o := last()
	if o.Status != s3trigger.Applied || o.VersionID != version {
		t.Fatalf("the import: %+v\nlogs: %s", o, f.in.Logs())
	}
	if rep, _ := s.report(o.Report); rep.Recovery == nil || rep.Recovery.Added != 3 || rep.School != uai {
		t.Fatalf("report %+v", rep)
	}
	if _, ok := s.users()["prof.martin"]; !ok {
		t.Fatal("the import did not land")
	}

	// The same version delivered three times: nothing changes.
	before, reports := s.users(), s.objects("reports/")
	mu.Lock()
	first := delivered[0]
	mu.Unlock()
	for range 3 {
		if _, err := async.Deliver(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		if o := last(); o.Status != s3trigger.Duplicate {
			t.Fatalf("replayed: %+v", o)
		}
	}
	if after := s.users(); !equalUsers(before, after) {
		t.Errorf("a replayed event changed users")
	}
	if got := s.objects("reports/"); !slices.Equal(got, reports) {
		t.Errorf("reports after the replays %v, want %v", got, reports)
	}

	// School B's file in school A's folder: refused, reported, and
	// neither base changes.
	s.putImport(importsDir+"lycee-jaures.zip", s.rentreeFile(otherUAI, lastYear, "zip"), map[string]string{"add": "true"})
	waitFor(1)
	if o := last(); o.Status != s3trigger.Refused || o.Error != sesame.CodeInvalidImport {
		t.Fatalf("school B's file: %+v", o)
	}
	if !equalUsers(before, s.users()) || !equalUsers(otherBefore, s.snapshot(otherUAI, lastYear)) || len(s.snapshot(otherUAI, thisYear)) != 0 {
		t.Fatal("school B's file changed a base")
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
		if err := json.Unmarshal(f.invoke(tc.name, raw), &res); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != tc.status || !strings.Contains(res.Body, `"`+tc.code+`"`) {
			t.Errorf("%s.json: %d %s, want %d %s", tc.name, res.StatusCode, res.Body, tc.status, tc.code)
		}
	}

	// A malformed event is a logged function error, and the function
	// answers the next one: no crash loop.
	for _, bad := range []string{`{}`, `{"Records":[{"eventSource":"aws:sqs"}]}`, `[1,2]`} {
		_, err := f.in.Invoke(t.Context(), []byte(bad))
		var fe *lambdarie.FunctionError
		if !errors.As(err, &fe) {
			t.Fatalf("malformed event %s: %v", bad, err)
		}
	}
	if !strings.Contains(f.in.Logs(), "neither an S3 notification nor an HTTP API") {
		t.Fatalf("the malformed events were not logged:\n%s", f.in.Logs())
	}
	if raw, _ := json.Marshal(loadEvent(t, "permissions")); !strings.Contains(string(f.invoke("after malformed events", raw)), "not_found") {
		t.Fatal("the function did not answer after malformed events")
	}

	// The table gone: each attempt fails, the event is tried 1 + 2 times,
	// then goes to the on-failure destination; no report is written.
	zip := s.rentreeFile(uai, lastYear, "zip")
	if _, err := client.DeleteTable(t.Context(), &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
		t.Fatal(err)
	}
	reports = s.objects("reports/")
	mu.Lock()
	attempts = 0
	mu.Unlock()
	s.putImport(importsDir+"sans-table.zip", zip, map[string]string{"add": "true"})
	waitFor(1)
	mu.Lock()
	if attempts != 1+retries || len(destination) != 1 || !strings.Contains(string(destination[0]), "sans-table.zip") {
		t.Errorf("with the table gone: %d attempts, destination %d", attempts, len(destination))
	}
	mu.Unlock()
	if got := s.objects("reports/"); !slices.Equal(got, reports) {
		t.Errorf("reports written without a table: %v", got)
	}

	logs := f.logs()
	if !strings.Contains(logs, `"function":"recover"`) || !strings.Contains(logs, `"message":"object taken in"`) {
		t.Fatalf("the function's JSON log:\n%s", logs)
	}
}
