package s3local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/s3local"
)

// TestPresignedPutChecks: what versitygw refuses and gofakes3 accepted —
// a presigned PUT whose body length or Content-Type differs from the
// signed ones.
func TestPresignedPutChecks(t *testing.T) {
	srv := s3local.New(t, "imports")
	c := srv.Client("")
	body := []byte("un fichier de rentrée")
	tg, err := s3.NewPresignClient(c).PresignPutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("imports"),
		Key: aws.String("uploads/a"), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("application/zip")})
	if err != nil {
		t.Fatal(err)
	}
	send := func(b []byte, ct string) int {
		req, _ := http.NewRequest(http.MethodPut, tg.URL, bytes.NewReader(b))
		for k, v := range tg.SignedHeader {
			if k != "Host" {
				req.Header.Set(k, v[0])
			}
		}
		req.Header.Set("Content-Type", ct)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := send(append(body, 'x'), "application/zip"); code != http.StatusForbidden {
		t.Errorf("a longer body: %d, want 403", code)
	}
	if code := send(body, "text/html"); code != http.StatusForbidden {
		t.Errorf("another Content-Type: %d, want 403", code)
	}
	if code := send(body, "application/zip"); code != http.StatusOK {
		t.Errorf("as signed: %d, want 200", code)
	}
}

// TestVersionsAndConditionalWrites: each PUT is a version, and
// If-None-Match: * refuses to replace an object (412).
func TestVersionsAndConditionalWrites(t *testing.T) {
	srv := s3local.New(t, "imports")
	c := srv.Client("")
	ctx := t.Context()
	var versions []string
	for _, b := range []string{"un", "deux"} {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("imports"), Key: aws.String("k"), Body: strings.NewReader(b)})
		if err != nil || aws.ToString(out.VersionId) == "" {
			t.Fatalf("put: %v %v", out, err)
		}
		versions = append(versions, aws.ToString(out.VersionId))
	}
	first, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("imports"), Key: aws.String("k"), VersionId: aws.String(versions[0])})
	if err != nil || aws.ToInt64(first.ContentLength) != 2 || versions[0] == versions[1] {
		t.Fatalf("first version: %v %v", versions, err)
	}
	first.Body.Close()
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("imports"), Key: aws.String("k"), Body: strings.NewReader("trois"), IfNoneMatch: aws.String("*")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "PreconditionFailed" {
		t.Fatalf("If-None-Match on an existing key: %v", err)
	}
}

func TestTemplateFilters(t *testing.T) {
	fs, err := s3local.TemplateFilters(sesame.Template, "RecoverFunction", "b")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		if f.Bucket != "b" || f.Events != "s3:ObjectCreated:*" || f.Prefix != "imports/" {
			t.Errorf("%+v", f)
		}
		got = append(got, f.Suffix)
	}
	if len(got) != 2 || !strings.Contains(strings.Join(got, " "), ".zip") || !strings.Contains(strings.Join(got, " "), ".profils") {
		t.Fatalf("suffixes %q, want .zip and .profils", got)
	}
	if _, err := s3local.TemplateFilters(sesame.Template, "LoginFunction", "b"); err == nil {
		t.Fatal("LoginFunction has no S3 event")
	}
}

// TestBridge: versitygw's webhook records become S3's notifications
// (URL-encoded key, the object's version id, S3's event name), outside
// the template's filters nothing is sent, and a failing function gets
// Lambda's retries then the on-failure destination.
func TestBridge(t *testing.T) {
	srv := s3local.New(t, "imports")
	c := srv.Client("")
	fs, err := s3local.TemplateFilters(sesame.Template, "RecoverFunction", "imports")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []events.S3Event
	var raws []string
	calls, dest := 0, 0
	b := &s3local.Bridge{S3: c, Filters: fs, Deliver: lambdarie.Async{Retries: 2,
		Invoke: func(_ context.Context, ev []byte) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			var e events.S3Event
			if err := json.Unmarshal(ev, &e); err != nil {
				t.Error(err)
			}
			if strings.Contains(e.Records[0].S3.Object.URLDecodedKey, "échoue") {
				return nil, &lambdarie.FunctionError{Type: "Err", Message: "refus"}
			}
			got, raws = append(got, e), append(raws, string(ev))
			return []byte("{}"), nil
		},
		OnFailure: func([]byte, error) { mu.Lock(); dest++; mu.Unlock() }}.Deliver}
	srv.OnEvent(b.Handle)

	key := "imports/0751234A/2026-2027/rentrée 2025+1.zip"
	out, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("imports"), Key: aws.String(key), Body: strings.NewReader("zip")})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"reports/0751234A/2026-2027/r.zip", "imports/0751234A/2026-2027/notes.txt", "uploads/0751234A/2026-2027/u.zip"} {
		if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("imports"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("imports"), Key: aws.String("imports/0751234A/2026-2027/échoue.profils"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.WaitDelivered(ctx, 2); err != nil {
		t.Fatal(err)
	}
	sent, errs := b.Wait()
	mu.Lock()
	defer mu.Unlock()
	if sent != 2 || len(got) != 1 || calls != 4 || dest != 1 || len(errs) != 1 {
		t.Fatalf("sent %d, delivered %d, calls %d (want 1 + 3 attempts), destination %d, errors %v", sent, len(got), calls, dest, errs)
	}
	o := got[0].Records[0]
	if o.EventName != "ObjectCreated:Put" || o.S3.Object.Key != "imports/0751234A/2026-2027/rentr%C3%A9e+2025%2B1.zip" ||
		o.S3.Object.URLDecodedKey != key || o.S3.Object.VersionID != aws.ToString(out.VersionId) || o.S3.Object.VersionID == "" ||
		o.S3.Bucket.Name != "imports" || strings.Contains(o.S3.Object.ETag, `"`) || o.S3.Object.Size != 3 {
		t.Fatalf("record %+v", o)
	}
	if strings.Contains(raws[0], "urlDecodedKey") {
		t.Fatalf("the notification carries a field S3 does not send: %s", raws[0])
	}
}
