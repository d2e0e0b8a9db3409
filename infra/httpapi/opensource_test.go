package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/s3object"
	"github.com/sesame-ecole/sesame/infra/s3uploads"
	"github.com/sesame-ecole/sesame/infra/sources"
	"github.com/sesame-ecole/sesame/infra/uploads"
	"github.com/sesame-ecole/sesame/rentree"
)

// TestOpenSourceFromTheImportBucket: a dry run made by the S3 trigger is
// applied from the same object, and only within its own base's prefix.
func TestOpenSourceFromTheImportBucket(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
	w.user("prof", "teacher", "", "")
	src, err := w.svc.BaseSource(ctx, sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"})
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := rentree.WriteZip(&file, src, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	client := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), Region: "eu-west-3", UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("local", "local", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("imports")}); err != nil {
		t.Fatal(err)
	}
	key := "imports/0751234A/2027-2028/rentree.zip"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("imports"), Key: aws.String(key), Body: bytes.NewReader(file.Bytes())}); err != nil {
		t.Fatal(err)
	}
	oc, err := s3object.New(aws.Config{Region: "eu-west-3", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}, &srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	up := s3uploads.New(oc, "imports", 1<<20)
	next := sesame.BaseKey{UAI: "0751234A", Year: "2027-2028"}
	got, done, err := sources.Open(ctx, w.svc, up, next, mustRef(t, "s3:imports/"+key+"@"))
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if h := got.Header(); h.UAI != "0751234A" || h.Year != "2026-2027" || h.Users != 2 {
		t.Fatalf("header %+v", h)
	}
	// Another base's prefix, or a store that cannot read the bucket: not found.
	other := sesame.BaseKey{UAI: "0931234B", Year: "2027-2028"}
	if _, _, err := sources.Open(ctx, w.svc, up, other, mustRef(t, "s3:imports/"+key+"@")); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("another school's object: %v", err)
	}
	dir, _ := uploads.NewDir(t.TempDir(), 1<<20)
	if _, _, err := sources.Open(ctx, w.svc, dir, next, mustRef(t, "s3:imports/"+key+"@")); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("the single server and an s3 reference: %v", err)
	}
}

func mustRef(t *testing.T, s string) sesame.SourceRef {
	t.Helper()
	ref, err := sesame.ParseSourceRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
