// Package uploads keeps rentrée files sent for recovery in a folder: the
// single server's sesame.Uploads. Files live under
// <root>/<UAI>/<year>/<id>; the browser sends them to the API's own
// address (PUT /api/v1/uploads/{id}), which takes the one file declared
// when the target was issued (its exact size and type), once, before the
// target expires.
//
//	up, _ := uploads.NewDir("./data/uploads", 256<<20)
//	t, _ := up.Target(ctx, base, id, sesame.UploadFile{Size: n, ContentType: sesame.UploadTypeZip})
//	// t.URL is "/api/v1/uploads/<id>"; then, for that request:
//	err := up.Receive(ctx, base, id, sesame.UploadFile{Size: r.ContentLength, ContentType: ct}, r.Body)
package uploads

import (
	"context"
	"encoding/json"
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
	// TTL is how long a target takes its file.
	TTL time.Duration
}

var _ sesame.Uploads = (*Dir)(nil)

// NewDir keeps uploads under root (created if missing), each at most max
// bytes.
func NewDir(root string, max int64) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("uploads folder: %w", err)
	}
	return &Dir{root: root, max: max, TTL: time.Hour}, nil
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
	tmp, err := d.spool(p, io.LimitReader(r, d.max+1))
	if tmp != "" {
		defer os.Remove(tmp)
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	if st.Size() > d.max {
		return ErrTooLarge
	}
	if err := os.Rename(tmp, p); err != nil {
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

// declared is a target issued and not yet used, kept beside the uploads as
// <id>.target (an id has no dot, so no upload has this name).
type declared struct {
	sesame.UploadFile
	Expires time.Time `json:"expires"`
}

// Target returns the API's own address for f, and remembers f until
// it is received or the target expires.
func (d *Dir) Target(ctx context.Context, k sesame.BaseKey, id string, f sesame.UploadFile) (sesame.UploadTarget, error) {
	p, err := d.path(k, id)
	if err != nil {
		return sesame.UploadTarget{}, err
	}
	if err := f.Check(d.max); err != nil {
		return sesame.UploadTarget{}, err
	}
	exp := time.Now().UTC().Add(d.TTL)
	b, _ := json.Marshal(declared{f, exp})
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return sesame.UploadTarget{}, fmt.Errorf("upload target %s: %w", id, err)
	}
	sweep(filepath.Dir(p))
	tf, err := os.OpenFile(p+".target", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return sesame.UploadTarget{}, sesame.Exists("Le dépôt « " + id + " »")
	}
	if err == nil {
		_, err = tf.Write(b)
		if cerr := tf.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return sesame.UploadTarget{}, fmt.Errorf("upload target %s: %w", id, err)
	}
	return sesame.UploadTarget{ID: id, URL: "/api/v1/uploads/" + id, Method: "PUT",
		Headers: map[string]string{"Content-Type": f.ContentType}, Expires: exp}, nil
}

// ErrNoTarget (not found, HTTP 404) refuses a file sent to a target never
// issued, or expired.
var ErrNoTarget = &sesame.Error{Code: sesame.CodeNotFound,
	Message: "Cette adresse de dépôt n'existe pas ou a expiré : recommencez l'envoi du fichier."}

// Receive stores r as upload id if a live target declared f: the same
// type, and exactly f.Size bytes. The target is used up by the first file
// that lands; a second is refused with sesame.ErrExists.
func (d *Dir) Receive(ctx context.Context, k sesame.BaseKey, id string, f sesame.UploadFile, r io.Reader) error {
	p, err := d.path(k, id)
	if err != nil {
		return err
	}
	want, err := readDeclared(p + ".target")
	if err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	if _, err := os.Stat(p); err == nil {
		return sesame.Exists("Le fichier déposé « " + id + " »")
	}
	if want == nil || time.Now().After(want.Expires) {
		return ErrNoTarget
	}
	if f.ContentType != want.ContentType {
		return sesame.Invalid("contentType", "Le fichier est envoyé en « %s » alors que « %s » était annoncé.", f.ContentType, want.ContentType)
	}
	if f.Size >= 0 && f.Size != want.Size {
		return sesame.Invalid("size", "Le fichier envoyé fait %d octets alors que %d étaient annoncés.", f.Size, want.Size)
	}
	tmp, err := d.spool(p, io.LimitReader(r, want.Size+1))
	if tmp != "" {
		defer os.Remove(tmp)
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	if st, err := os.Stat(tmp); err != nil || st.Size() != want.Size {
		return sesame.Invalid("size", "Le fichier reçu n'a pas la taille annoncée (%d octets).", want.Size)
	}
	// A link never replaces: of two files sent at once, one lands.
	if err := os.Link(tmp, p); errors.Is(err, fs.ErrExist) {
		return sesame.Exists("Le fichier déposé « " + id + " »")
	} else if err != nil {
		return fmt.Errorf("upload %s: %w", id, err)
	}
	_ = os.Remove(p + ".target")
	return nil
}

// sweep removes the expired targets of a base's folder, so that targets
// issued and never used do not pile up (best effort: a failure leaves them
// for the next sweep).
func sweep(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, "*.target"))
	now := time.Now()
	for _, name := range names {
		if dc, err := readDeclared(name); err == nil && dc != nil && now.After(dc.Expires) {
			_ = os.Remove(name)
		}
	}
}

// readDeclared reads a target's declaration; nil when there is none.
func readDeclared(path string) (*declared, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dc declared
	if err := json.Unmarshal(b, &dc); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return &dc, nil
}

// spool writes r to a temporary file beside p and returns its name.
func (d *Dir) spool(p string, r io.Reader) (string, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".part-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}
