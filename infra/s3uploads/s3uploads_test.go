package s3uploads_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/s3local"
	"github.com/sesame-ecole/sesame/infra/s3uploads"
)

// newS3 starts an in-process S3 server with a bucket and returns a real
// SDK client for it (plain HTTP: see TOOLCHAIN.md on aws-chunked bodies).
func newS3(t *testing.T, bucket string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), Region: "eu-west-3", UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("local", "local", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	return c
}

// put sends body to a presigned target as a browser does, with the
// headers given, changed by edit when not nil, and returns the status.
func put(t *testing.T, tg sesame.UploadTarget, body []byte, edit func(*http.Request)) int {
	t.Helper()
	req, _ := http.NewRequest(tg.Method, tg.URL, bytes.NewReader(body))
	for k, v := range tg.Headers {
		req.Header.Set(k, v)
	}
	if edit != nil {
		edit(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestPresignedUploadThenOpen runs against versitygw, which checks
// presigned signatures: the browser's PUT lands, and the URL is good for
// its school's key only, with the bucket's secret, until it expires.
func TestPresignedUploadThenOpen(t *testing.T) {
	ctx := context.Background()
	srv := s3local.New(t, "imports")
	st := s3uploads.New(srv.Client(""), "imports", 1<<20)
	a := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	b := sesame.BaseKey{UAI: "0931234B", Year: "2026-2027"}
	tg, err := st.Target(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("PK\x03\x04 un fichier de rentrée")

	// Refused: another key under the same signature (school B's folder,
	// or another id), and a URL signed with another secret.
	for name, edit := range map[string]func(*http.Request){
		"school B's key": func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, string(a.UAI), string(b.UAI), 1)
		},
		"another id": func(r *http.Request) { r.URL.Path = strings.Replace(r.URL.Path, "u-1", "u-2", 1) },
		"a signature changed": func(r *http.Request) {
			q := r.URL.Query()
			sig := []byte(q.Get("X-Amz-Signature"))
			sig[0] ^= 1
			q.Set("X-Amz-Signature", string(sig))
			r.URL.RawQuery = q.Encode()
		},
	} {
		if code := put(t, tg, body, edit); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	forged, err := s3uploads.New(srv.Client("un-autre-secret"), "imports", 1<<20).Target(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	if code := put(t, forged, body, nil); code != http.StatusForbidden {
		t.Errorf("signed with another secret: %d, want 403", code)
	}
	if _, err := st.Open(ctx, b, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("school B's upload after the refusals: %v", err)
	}

	if code := put(t, tg, body, nil); code != http.StatusOK {
		t.Fatalf("presigned PUT: %d", code)
	}
	f, err := st.Open(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if !bytes.Equal(got, body) {
		t.Fatalf("read back %q", got)
	}
	if _, err := st.Open(ctx, b, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("another school's upload: %v", err)
	}

	// Expired: a URL valid one second, used after two.
	short := s3uploads.New(srv.Client(""), "imports", 1<<20)
	short.TTL = time.Second
	tg, err = short.Target(ctx, a, "u-3")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if code := put(t, tg, body, nil); code != http.StatusForbidden {
		t.Fatalf("an expired URL: %d, want 403", code)
	}
	if _, err := st.Open(ctx, a, "u-3"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("the expired upload landed: %v", err)
	}
}

func TestPutAndLimits(t *testing.T) {
	ctx := context.Background()
	c := newS3(t, "imports")
	st := s3uploads.New(c, "imports", 8)
	a := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	if err := st.Put(ctx, a, "petit", bytes.NewReader([]byte("1234")), 4); err != nil {
		t.Fatal(err)
	}
	if f, err := st.Open(ctx, a, "petit"); err != nil || f.Size() != 4 {
		t.Fatalf("Open = %v", err)
	}
	if err := st.Put(ctx, a, "gros", bytes.NewReader(make([]byte, 9)), -1); !errors.Is(err, sesame.ErrInvalidImport) {
		t.Fatalf("over the limit: %v", err)
	}
	// An object written by IT automation, larger than the limit, is refused on reading.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("imports"), Key: aws.String("imports/0751234A/2026-2027/x.zip"),
		Body: bytes.NewReader(make([]byte, 20))}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.OpenKey(ctx, "imports/0751234A/2026-2027/x.zip", ""); !errors.Is(err, sesame.ErrInvalidImport) {
		t.Fatalf("a large object: %v", err)
	}
	if _, err := st.Target(ctx, a, "../x"); !errors.Is(err, sesame.ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
}
