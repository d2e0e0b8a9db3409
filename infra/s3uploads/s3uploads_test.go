package s3uploads_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/s3local"
	"github.com/sesame-ecole/sesame/infra/s3object"
	"github.com/sesame-ecole/sesame/infra/s3uploads"
)

// newS3 starts an in-process S3 server with a bucket and returns a real
// SDK client for it (plain HTTP: see TOOLCHAIN.md on aws-chunked bodies),
// and the store's own client (infra/s3object).
func newS3(t *testing.T, bucket string) (*s3.Client, *s3object.Client) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), Region: "eu-west-3", UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("local", "local", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	oc, err := s3object.New(aws.Config{Region: "eu-west-3", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}, &srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c, oc
}

func objects(_ *s3.Client, c *s3object.Client) *s3object.Client { return c }

// put sends body to a presigned target as a browser does, with the
// headers given, changed by edit when not nil, and returns the status, or
// 0 when the server cut the connection before the body was sent.
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
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		t.Logf("%s %s: %v", tg.Method, req.URL.Path, err)
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// zipFile is the file the tests send, and its declaration.
var (
	zipBody = []byte("PK\x03\x04 un fichier de rentrée")
	zipFile = sesame.UploadFile{Size: int64(len(zipBody)), ContentType: sesame.UploadTypeZip}
)

// TestPresignedUploadThenOpen runs against versitygw, which checks
// presigned signatures: the browser's PUT of the declared file lands, once,
// and the URL is good for its school's key only, that file's length and
// type only, with the bucket's secret, until it expires.
func TestPresignedUploadThenOpen(t *testing.T) {
	ctx := context.Background()
	srv := s3local.New(t, "imports")
	st := s3uploads.New(srv.ObjectClient(""), "imports", 1<<20)
	a := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	b := sesame.BaseKey{UAI: "0931234B", Year: "2026-2027"}
	tg, err := st.Target(ctx, a, "u-1", zipFile)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(tg.URL)
	signed := strings.Split(u.Query().Get("X-Amz-SignedHeaders"), ";")
	for _, h := range []string{"content-length", "content-type", "host", "if-none-match"} {
		if !slices.Contains(signed, h) {
			t.Errorf("X-Amz-SignedHeaders %v lacks %s", signed, h)
		}
	}
	if tg.Headers["Content-Type"] != sesame.UploadTypeZip || tg.Headers["If-None-Match"] != "*" || len(tg.Headers) != 2 {
		t.Errorf("headers for the browser: %v", tg.Headers)
	}

	// Refused: another key under the same signature (school B's folder,
	// or another id), a changed signature, a body longer or shorter than
	// signed, another type, and a URL signed with another secret.
	for name, c := range map[string]struct {
		body []byte
		edit func(*http.Request)
	}{
		"school B's key": {zipBody, func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, string(a.UAI), string(b.UAI), 1)
		}},
		"another id": {zipBody, func(r *http.Request) { r.URL.Path = strings.Replace(r.URL.Path, "u-1", "u-2", 1) }},
		"a signature changed": {zipBody, func(r *http.Request) {
			q := r.URL.Query()
			sig := []byte(q.Get("X-Amz-Signature"))
			sig[0] ^= 1
			q.Set("X-Amz-Signature", string(sig))
			r.URL.RawQuery = q.Encode()
		}},
		"a body one byte longer":  {append(slices.Clone(zipBody), 'x'), nil},
		"a body one byte shorter": {zipBody[:len(zipBody)-1], nil},
		"a much larger body":      {make([]byte, 512<<10), nil},
		"another Content-Type":    {zipBody, func(r *http.Request) { r.Header.Set("Content-Type", "text/html") }},
		"no Content-Type":         {zipBody, func(r *http.Request) { r.Header.Del("Content-Type") }},
		"no If-None-Match":        {zipBody, func(r *http.Request) { r.Header.Del("If-None-Match") }},
	} {
		// versitygw may refuse a large body before reading it, and
		// reset the connection while it is sent.
		if code := put(t, tg, c.body, c.edit); code != http.StatusForbidden && (code != 0 || len(c.body) < 64<<10) {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	if _, err := st.Open(ctx, a, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a refused upload landed: %v", err)
	}
	forged, err := s3uploads.New(srv.ObjectClient("un-autre-secret"), "imports", 1<<20).Target(ctx, a, "u-1", zipFile)
	if err != nil {
		t.Fatal(err)
	}
	if code := put(t, forged, zipBody, nil); code != http.StatusForbidden {
		t.Errorf("signed with another secret: %d, want 403", code)
	}
	if _, err := st.Open(ctx, b, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("school B's upload after the refusals: %v", err)
	}

	if code := put(t, tg, zipBody, nil); code != http.StatusOK {
		t.Fatalf("presigned PUT: %d", code)
	}
	// The URL creates the object once: a second PUT is refused and the
	// first file stays.
	if code := put(t, tg, zipBody, nil); code != http.StatusPreconditionFailed {
		t.Errorf("a second PUT of the same URL: %d, want 412", code)
	}
	f, err := st.Open(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if !bytes.Equal(got, zipBody) {
		t.Fatalf("read back %q", got)
	}
	if _, err := st.Open(ctx, b, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("another school's upload: %v", err)
	}

	// Expired: a URL valid one second, used after two.
	short := s3uploads.New(srv.ObjectClient(""), "imports", 1<<20)
	short.TTL = time.Second
	tg, err = short.Target(ctx, a, "u-3", zipFile)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if code := put(t, tg, zipBody, nil); code != http.StatusForbidden {
		t.Fatalf("an expired URL: %d, want 403", code)
	}
	if _, err := st.Open(ctx, a, "u-3"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("the expired upload landed: %v", err)
	}
}

// TestTargetRefusals: a file over the limit, of another type, or of no
// size is refused before anything is signed, and Target binds nothing.
func TestTargetRefusals(t *testing.T) {
	ctx := context.Background()
	st := s3uploads.New(objects(newS3(t, "imports")), "imports", 1<<20)
	a := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	for name, c := range map[string]struct {
		f    sesame.UploadFile
		want error
	}{
		"over the limit": {sesame.UploadFile{Size: 1<<20 + 1, ContentType: sesame.UploadTypeZip}, sesame.ErrInvalidImport},
		"another type":   {sesame.UploadFile{Size: 10, ContentType: "text/html"}, sesame.ErrInvalid},
		"no size":        {sesame.UploadFile{ContentType: sesame.UploadTypeBinary}, sesame.ErrInvalid},
	} {
		if tg, err := st.Target(ctx, a, "u-1", c.f); !errors.Is(err, c.want) || tg.URL != "" {
			t.Errorf("%s: %+v, %v; want %v", name, tg, err, c.want)
		}
	}
}

func TestPutAndLimits(t *testing.T) {
	ctx := context.Background()
	c, oc := newS3(t, "imports")
	st := s3uploads.New(oc, "imports", 8)
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
	if _, err := st.Target(ctx, a, "../x", zipFile); !errors.Is(err, sesame.ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
}

// TestReceive: a file sent through the API lands once, with its declared
// type and exact length (versitygw checks If-None-Match).
func TestReceive(t *testing.T) {
	ctx := context.Background()
	srv := s3local.New(t, "imports")
	st := s3uploads.New(srv.ObjectClient(""), "imports", 1<<20)
	a := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	for name, c := range map[string]struct {
		f    sesame.UploadFile
		body []byte
		want error
	}{
		"another type":    {sesame.UploadFile{Size: zipFile.Size, ContentType: "text/plain"}, zipBody, sesame.ErrInvalid},
		"no length":       {sesame.UploadFile{Size: -1, ContentType: sesame.UploadTypeZip}, zipBody, sesame.ErrInvalid},
		"a shorter body":  {zipFile, zipBody[:3], sesame.ErrInvalid},
		"over the limit":  {sesame.UploadFile{Size: 1<<20 + 1, ContentType: sesame.UploadTypeZip}, zipBody, sesame.ErrInvalidImport},
		"a longer body":   {zipFile, append(slices.Clone(zipBody), 'x'), sesame.ErrInvalidImport},
		"a bad upload id": {zipFile, zipBody, sesame.ErrInvalid},
	} {
		id := "u-1"
		if name == "a bad upload id" {
			id = "../u-1"
		}
		if err := st.Receive(ctx, a, id, c.f, bytes.NewReader(c.body)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := st.Open(ctx, a, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a refused file landed: %v", err)
	}
	if err := st.Receive(ctx, a, "u-1", zipFile, bytes.NewReader(zipBody)); err != nil {
		t.Fatal(err)
	}
	if err := st.Receive(ctx, a, "u-1", zipFile, bytes.NewReader(bytes.ToUpper(zipBody))); !errors.Is(err, sesame.ErrExists) {
		t.Fatalf("a second file to the same id: %v", err)
	}
	f, err := st.Open(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := io.ReadAll(io.NewSectionReader(f, 0, f.Size())); !bytes.Equal(got, zipBody) {
		t.Fatalf("kept %q", got)
	}
}
