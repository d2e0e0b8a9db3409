// Package uploads keeps rentrée files sent for recovery in a folder: the
// single server's sesame.Uploads. Files live under
// <root>/<UAI>/<year>/<id>; the browser sends them to the API's own
// address (PUT /api/v1/uploads/{id}).
//
//	up, _ := uploads.NewDir("./data/uploads", 256<<20)
//	t, _ := up.Target(ctx, base, id) // t.URL is "/api/v1/uploads/<id>"
package uploads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Dir is sesame.Uploads in a folder.
type Dir struct {
	root string
	max  int64
}

var _ sesame.Uploads = (*Dir)(nil)

// NewDir keeps uploads under root (created if missing), each at most max
// bytes.
func NewDir(root string, max int64) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("uploads folder: %w", err)
	}
	return &Dir{root: root, max: max}, nil
}

// ValidID reports whether id can name an upload: 1 to 64 letters, digits
// and hyphens.
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (d *Dir) path(k sesame.BaseKey, id string) (string, error) {
	if !ValidID(id) {
		return "", sesame.Invalid("upload", "L'identifiant de dépôt « %s » est incorrect.", id)
	}
	if _, err := sesame.ParseBaseKey(string(k.UAI), string(k.Year)); err != nil {
		return "", err
	}
	return filepath.Join(d.root, string(k.UAI), string(k.Year), id), nil
}

// Target returns the API's own address for the file.
func (d *Dir) Target(ctx context.Context, k sesame.BaseKey, id string) (sesame.UploadTarget, error) {
	if _, err := d.path(k, id); err != nil {
		return sesame.UploadTarget{}, err
	}
	return sesame.UploadTarget{ID: id, URL: "/api/v1/uploads/" + id, Method: "PUT",
		Headers: map[string]string{"Content-Type": "application/octet-stream"}, Expires: time.Now().UTC().Add(time.Hour)}, nil
}

// ErrTooLarge refuses a file over the size limit.
var ErrTooLarge = &sesame.ImportError{Reason: "too_large", TooLarge: true, Message: "Le fichier est trop volumineux."}

// Put stores the file, whole or not at all (written aside, then renamed).
func (d *Dir) Put(ctx context.Context, k sesame.BaseKey, id string, r io.Reader, size int64) error {
	p, err := d.path(k, id)
	if err != nil {
		return err
	}
	if size > d.max {
		return ErrTooLarge
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".part-*")
	if err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, io.LimitReader(r, d.max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	if n > d.max {
		return ErrTooLarge
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	return nil
}

type file struct {
	*os.File
	size int64
}

func (f file) Size() int64 { return f.size }

// Open returns the stored file.
func (d *Dir) Open(ctx context.Context, k sesame.BaseKey, id string) (sesame.Upload, error) {
	p, err := d.path(k, id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, sesame.NotFound("Le fichier déposé « " + id + " »")
	}
	if err != nil {
		return nil, fmt.Errorf("open upload %s: %w", id, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open upload %s: %w", id, err)
	}
	return file{f, st.Size()}, nil
}
