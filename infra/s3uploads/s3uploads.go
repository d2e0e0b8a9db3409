// Package s3uploads keeps rentrée files in the import bucket: the cloud's
// sesame.Uploads. Browsers send them with a presigned PUT to
// uploads/<UAI>/<year>/<id> (a prefix that triggers nothing: the SPR
// previews, then applies) that signs the declared file's Content-Length
// and Content-Type and If-None-Match: *, so that the URL stores that one
// file once; IT automation writes to imports/<UAI>/<year>/ instead, which
// triggers the recovery function.
//
//	up := s3uploads.New(client, "sesame-imports", 256<<20) // client: an *s3object.Client
//	t, err := up.Target(ctx, base, id, sesame.UploadFile{Size: n, ContentType: sesame.UploadTypeZip})
package s3uploads

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/s3object"
	"github.com/sesame-ecole/sesame/infra/uploads"
)

// Store is sesame.Uploads on an S3 bucket.
type Store struct {
	api    *s3object.Client
	bucket string
	max    int64
	// TTL is how long a presigned PUT stays valid.
	TTL time.Duration
}

var _ sesame.Uploads = (*Store)(nil)

// New keeps uploads in bucket, each at most max bytes.
func New(client *s3object.Client, bucket string, max int64) *Store {
	return &Store{api: client, bucket: bucket, max: max, TTL: 15 * time.Minute}
}

// Key is the object key of upload id of base k.
func Key(k sesame.BaseKey, id string) string {
	return "uploads/" + string(k.UAI) + "/" + string(k.Year) + "/" + id
}

func check(k sesame.BaseKey, id string) error {
	if !uploads.ValidID(id) {
		return sesame.Invalid("upload", "L'identifiant de dépôt « %s » est incorrect.", id)
	}
	_, err := sesame.ParseBaseKey(string(k.UAI), string(k.Year))
	return err
}

// Target presigns a PUT of f for this school and year only. The
// signature covers the key, Content-Length (the body must be exactly
// f.Size bytes), Content-Type, and If-None-Match: * (the URL creates the
// object once; a second PUT gets 412). Headers holds the signed headers
// a browser must send; Host and Content-Length are left out, as fetch sets
// them itself from the URL and the body.
func (s *Store) Target(ctx context.Context, k sesame.BaseKey, id string, f sesame.UploadFile) (sesame.UploadTarget, error) {
	if err := check(k, id); err != nil {
		return sesame.UploadTarget{}, err
	}
	if err := f.Check(s.max); err != nil {
		return sesame.UploadTarget{}, err
	}
	url, signed, err := s.api.PresignPut(ctx, s3object.PutInput{Bucket: s.bucket, Key: Key(k, id),
		Size: f.Size, ContentType: f.ContentType, IfNoneMatch: "*"}, s.TTL)
	if err != nil {
		return sesame.UploadTarget{}, fmt.Errorf("presign upload %s: %w", id, err)
	}
	h := map[string]string{}
	for name, v := range signed {
		if name != "Host" && name != "Content-Length" && len(v) > 0 {
			h[name] = v[0]
		}
	}
	return sesame.UploadTarget{ID: id, URL: url, Method: http.MethodPut, Headers: h, Expires: time.Now().UTC().Add(s.TTL)}, nil
}

// Put stores a file sent through the API.
func (s *Store) Put(ctx context.Context, k sesame.BaseKey, id string, r io.Reader, size int64) error {
	if err := check(k, id); err != nil {
		return err
	}
	if size > s.max {
		return uploads.ErrTooLarge
	}
	f, n, err := spool(r, s.max)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.api.Put(ctx, s3object.PutInput{Bucket: s.bucket, Key: Key(k, id), Body: io.NewSectionReader(f, 0, n),
		Size: n, ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("put upload %s: %w", id, err)
	}
	return nil
}

// Receive stores a file sent through the API's PUT /uploads/{id} (an API
// body, so small): an accepted type, exactly f.Size bytes, once per id
// (If-None-Match: *; a second file gets sesame.ErrExists). Unlike the
// single server, no target is needed first: the cloud's browsers send
// to the presigned URL, and this route serves API clients.
func (s *Store) Receive(ctx context.Context, k sesame.BaseKey, id string, f sesame.UploadFile, r io.Reader) error {
	if err := check(k, id); err != nil {
		return err
	}
	if err := f.Check(s.max); err != nil {
		return err
	}
	tmp, n, err := spool(r, f.Size)
	if err != nil {
		return err
	}
	defer tmp.Close()
	if n != f.Size {
		return sesame.Invalid("size", "Le fichier reçu n'a pas la taille annoncée (%d octets).", f.Size)
	}
	_, err = s.api.Put(ctx, s3object.PutInput{Bucket: s.bucket, Key: Key(k, id), Body: io.NewSectionReader(tmp, 0, n),
		Size: n, ContentType: f.ContentType, IfNoneMatch: "*"})
	if s3object.IsCode(err, "PreconditionFailed") {
		return sesame.Exists("Le fichier déposé « " + id + " »")
	}
	if err != nil {
		return fmt.Errorf("put upload %s: %w", id, err)
	}
	return nil
}

// Open downloads upload id into a temporary file (the rentrée reader reads
// at many offsets; one download costs less than many ranged reads).
func (s *Store) Open(ctx context.Context, k sesame.BaseKey, id string) (sesame.Upload, error) {
	if err := check(k, id); err != nil {
		return nil, err
	}
	return s.OpenKey(ctx, Key(k, id), "")
}

// OpenKey downloads any object of the bucket (at version, when given),
// refusing one over the size limit.
func (s *Store) OpenKey(ctx context.Context, key, version string) (sesame.Upload, error) {
	out, err := s.api.Get(ctx, s.bucket, key, version)
	if s3object.IsCode(err, "NoSuchKey") {
		return nil, sesame.NotFound("Le fichier déposé « " + key + " »")
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	if out.ContentLength > s.max {
		return nil, uploads.ErrTooLarge
	}
	f, n, err := spool(out.Body, s.max)
	if err != nil {
		return nil, err
	}
	return tempFile{f, n}, nil
}

// spool copies r into a temporary file, at most max bytes.
func spool(r io.Reader, max int64) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "sesame-upload-*")
	if err != nil {
		return nil, 0, err
	}
	_ = os.Remove(f.Name()) // gone when closed
	n, err := io.Copy(f, io.LimitReader(r, max+1))
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("read upload: %w", err)
	}
	if n > max {
		f.Close()
		return nil, 0, uploads.ErrTooLarge
	}
	return f, n, nil
}

type tempFile struct {
	*os.File
	size int64
}

func (t tempFile) Size() int64 { return t.size }
