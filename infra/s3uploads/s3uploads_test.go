package s3uploads_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sesame-ecole/sesame"
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

func TestPresignedUploadThenOpen(t *testing.T) {
	ctx := context.Background()
	c := newS3(t, "imports")
	st := s3uploads.New(c, "imports", 1<<20)
	a := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	tg, err := st.Target(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	// The browser's PUT, to the presigned URL with the headers given.
	body := []byte("PK\x03\x04 un fichier de rentrée")
	req, _ := http.NewRequest(tg.Method, tg.URL, bytes.NewReader(body))
	for k, v := range tg.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT: %s", res.Status)
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
	if _, err := st.Open(ctx, sesame.BaseKey{UAI: "0931234B", Year: "2026-2027"}, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("another school's upload: %v", err)
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
