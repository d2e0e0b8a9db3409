package s3object_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesame-ecole/sesame/infra/s3local"
	"github.com/sesame-ecole/sesame/infra/s3object"
)

const bucket = "sesame-test-imports"

// TestAgainstVersitygw: each call as S3 checks it (signatures, versions,
// conditional writes, metadata), beside the SDK's own client.
func TestAgainstVersitygw(t *testing.T) {
	ctx := context.Background()
	srv := s3local.New(t, bucket)
	c, sdk := srv.ObjectClient(""), srv.Client("")
	// A key as IT staff may name it: spaces, accents, reserved characters.
	key := "imports/0751234A/2026-2027/rentrée du 1er (v2)+final!.zip"
	v1, err := c.Put(ctx, s3object.PutInput{Bucket: bucket, Key: key, Body: strings.NewReader("premier"), Size: 7, ContentType: "application/zip"})
	if err != nil || v1 == "" {
		t.Fatalf("Put: %q %v", v1, err)
	}
	v2, err := c.Put(ctx, s3object.PutInput{Bucket: bucket, Key: key, Body: strings.NewReader("second!"), Size: 7, ContentType: "application/zip"})
	if err != nil || v2 == "" || v2 == v1 {
		t.Fatalf("second Put: %q %v (first %q)", v2, err, v1)
	}
	// The SDK reads what s3object wrote, under the same key.
	out, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(v1)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "premier" || aws.ToString(out.ContentType) != "application/zip" {
		t.Fatalf("the SDK reads %q (%s)", b, aws.ToString(out.ContentType))
	}
	for version, want := range map[string]string{v1: "premier", v2: "second!", "": "second!"} {
		o, err := c.Get(ctx, bucket, key, version)
		if err != nil {
			t.Fatalf("Get %q: %v", version, err)
		}
		b, _ := io.ReadAll(o.Body)
		o.Body.Close()
		if string(b) != want || o.ContentLength != 7 || (version != "" && o.VersionID != version) {
			t.Errorf("Get %q: %q, length %d, version %q", version, b, o.ContentLength, o.VersionID)
		}
	}

	// Metadata written by another client (IT staff's), read by Head.
	meta := "imports/0751234A/2026-2027/options.profils"
	if _, err := sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(meta), Body: strings.NewReader("x"),
		Metadata: map[string]string{"add": "true", "Dry-Run": "false"}}); err != nil {
		t.Fatal(err)
	}
	h, err := c.Head(ctx, bucket, meta, "")
	if err != nil || h.Body != nil || h.ContentLength != 1 || h.VersionID == "" || h.Metadata["add"] != "true" || h.Metadata["dry-run"] != "false" {
		t.Fatalf("Head: %+v %v", h, err)
	}

	// An object stored gzip-encoded is read as stored, length included.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("contenu compressé"))
	_ = zw.Close()
	gzKey := "imports/0751234A/2026-2027/compresse.profils"
	if _, err := sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(gzKey), Body: bytes.NewReader(gz.Bytes()),
		ContentEncoding: aws.String("gzip")}); err != nil {
		t.Fatal(err)
	}
	if o, err := c.Get(ctx, bucket, gzKey, ""); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(o.Body)
		o.Body.Close()
		if !bytes.Equal(b, gz.Bytes()) || o.ContentLength != int64(gz.Len()) {
			t.Errorf("a gzip-encoded object: %d bytes (length %d), stored %d", len(b), o.ContentLength, gz.Len())
		}
	}

	// If-None-Match: * on a key that holds an object: 412.
	_, err = c.Put(ctx, s3object.PutInput{Bucket: bucket, Key: meta, Body: bytes.NewReader(nil), IfNoneMatch: "*"})
	if !s3object.IsCode(err, "PreconditionFailed") {
		t.Fatalf("a second create: %v", err)
	}
	// Missing: NoSuchKey for GET, 404 NotFound for HEAD (no body).
	if _, err := c.Get(ctx, bucket, "imports/absent.zip", ""); !s3object.IsCode(err, "NoSuchKey") {
		t.Errorf("Get of a missing key: %v", err)
	}
	var se *s3object.Error
	if _, err := c.Head(ctx, bucket, "imports/absent.zip", ""); !errors.As(err, &se) || se.HTTPStatusCode() != 404 {
		t.Errorf("Head of a missing key: %v", err)
	}
	// Another secret: refused, and not tried again.
	if _, err := srv.ObjectClient("un-autre-secret").Get(ctx, bucket, key, ""); !errors.As(err, &se) || se.Status != 403 {
		t.Errorf("a wrong secret: %v", err)
	}
	// A body shorter than said is refused before anything is sent.
	if _, err := c.Put(ctx, s3object.PutInput{Bucket: bucket, Key: "imports/court", Body: strings.NewReader("abc"), Size: 4}); err == nil {
		t.Error("a short body was sent")
	}
}

// TestRetries: a busy S3 (503) is tried again, with the same body; a
// refusal (403) is not.
func TestRetries(t *testing.T) {
	var calls atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		switch {
		case strings.HasSuffix(r.URL.Path, "/refuse"):
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access &amp; denied</Message></Error>`)
		case n < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>`)
		default:
			w.Header().Set("X-Amz-Version-Id", "v3")
		}
	}))
	defer srv.Close()
	c, err := s3object.New(aws.Config{Region: "eu-west-3", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}, &srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Put(t.Context(), s3object.PutInput{Bucket: "b", Key: "k", Body: strings.NewReader("corps"), Size: 5})
	if err != nil || v != "v3" || calls.Load() != 3 || strings.Join(bodies, ",") != "corps,corps,corps" {
		t.Fatalf("Put: %q %v after %d calls, bodies %q", v, err, calls.Load(), bodies)
	}
	calls.Store(0)
	_, err = c.Get(t.Context(), "b", "refuse", "")
	var se *s3object.Error
	if !errors.As(err, &se) || se.Code != "AccessDenied" || se.Message != "Access & denied" || calls.Load() != 1 {
		t.Fatalf("a refusal: %v after %d calls", err, calls.Load())
	}
}
