package uploads_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/uploads"
)

// Two schools' bases.
var (
	a = sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	b = sesame.BaseKey{UAI: "0931234B", Year: "2026-2027"}
)

// mustDir is a folder of uploads of at most 16 bytes.
func mustDir(t *testing.T) *uploads.Dir {
	t.Helper()
	d, err := uploads.NewDir(t.TempDir(), 16)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDir(t *testing.T) {
	ctx := context.Background()
	d := mustDir(t)
	if err := d.Put(ctx, a, "u-1", strings.NewReader("contenu"), 7); err != nil {
		t.Fatal(err)
	}
	f, err := d.Open(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := f.ReadAt(buf, 3); (err != nil && err != io.EOF) || string(buf) != "tenu" || f.Size() != 7 {
		t.Fatalf("ReadAt = %q, size %d, %v", buf, f.Size(), err)
	}
	f.Close()
	if _, err := d.Open(ctx, b, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("another school's upload: %v", err)
	}
	if err := d.Put(ctx, a, "gros", strings.NewReader(strings.Repeat("x", 17)), -1); !errors.Is(err, sesame.ErrInvalidImport) {
		t.Fatalf("a file over the limit: %v", err)
	}
	if _, err := d.Open(ctx, a, "gros"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a refused file was kept: %v", err)
	}
	for _, id := range []string{"../x", "", "a/b", strings.Repeat("a", 65)} {
		if err := d.Put(ctx, a, id, strings.NewReader("x"), 1); !errors.Is(err, sesame.ErrInvalid) {
			t.Fatalf("id %q accepted: %v", id, err)
		}
	}
}

// TestTargetAndReceive: the local address takes the declared file only,
// once, before the target expires; nothing is kept from a refused one.
func TestTargetAndReceive(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := uploads.NewDir(root, 16)
	if err != nil {
		t.Fatal(err)
	}
	zip := sesame.UploadFile{Size: 7, ContentType: sesame.UploadTypeZip}
	for name, c := range map[string]struct {
		f    sesame.UploadFile
		want error
	}{
		"over the limit": {sesame.UploadFile{Size: 17, ContentType: sesame.UploadTypeZip}, sesame.ErrInvalidImport},
		"another type":   {sesame.UploadFile{Size: 7, ContentType: "image/png"}, sesame.ErrInvalid},
		"no size":        {sesame.UploadFile{Size: 0, ContentType: sesame.UploadTypeZip}, sesame.ErrInvalid},
	} {
		if _, err := d.Target(ctx, a, "u-1", c.f); !errors.Is(err, c.want) {
			t.Errorf("Target(%s) = %v, want %v", name, err, c.want)
		}
	}
	if err := d.Receive(ctx, a, "u-1", zip, strings.NewReader("contenu")); !errors.Is(err, uploads.ErrNoTarget) {
		t.Fatalf("a file with no target: %v", err)
	}
	tg, err := d.Target(ctx, a, "u-1", zip)
	if err != nil || tg.URL != "/api/v1/uploads/u-1" || tg.Method != "PUT" || tg.Headers["Content-Type"] != sesame.UploadTypeZip {
		t.Fatalf("Target = %+v, %v", tg, err)
	}
	if _, err := d.Target(ctx, a, "u-1", zip); !errors.Is(err, sesame.ErrExists) {
		t.Fatalf("a second target for the same id: %v", err)
	}
	for name, c := range map[string]struct {
		k    sesame.BaseKey
		f    sesame.UploadFile
		body string
		want error
	}{
		"another school":         {b, zip, "contenu", sesame.ErrNotFound},
		"another type":           {a, sesame.UploadFile{Size: 7, ContentType: sesame.UploadTypeBinary}, "contenu", sesame.ErrInvalid},
		"another length":         {a, sesame.UploadFile{Size: 8, ContentType: sesame.UploadTypeZip}, "contenu!", sesame.ErrInvalid},
		"a longer body, chunked": {a, sesame.UploadFile{Size: -1, ContentType: sesame.UploadTypeZip}, "contenu!", sesame.ErrInvalid},
		"a shorter body":         {a, zip, "conten", sesame.ErrInvalid},
	} {
		if err := d.Receive(ctx, c.k, "u-1", c.f, strings.NewReader(c.body)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := d.Open(ctx, a, "u-1"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a refused file was kept: %v", err)
	}
	if err := d.Receive(ctx, a, "u-1", zip, strings.NewReader("contenu")); err != nil {
		t.Fatal(err)
	}
	if err := d.Receive(ctx, a, "u-1", zip, strings.NewReader("CONTENU")); !errors.Is(err, sesame.ErrExists) {
		t.Fatalf("a second file to the same target: %v", err)
	}
	f, err := d.Open(ctx, a, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	f.Close()
	if string(got) != "contenu" {
		t.Fatalf("kept %q", got)
	}

	d.TTL = -time.Second // issued already expired
	if _, err := d.Target(ctx, a, "u-2", zip); err != nil {
		t.Fatal(err)
	}
	if err := d.Receive(ctx, a, "u-2", zip, strings.NewReader("contenu")); !errors.Is(err, uploads.ErrNoTarget) {
		t.Fatalf("an expired target: %v", err)
	}
	// The next target issued for the base sweeps the expired one away.
	folder := filepath.Join(root, string(a.UAI), string(a.Year))
	if _, err := os.Stat(filepath.Join(folder, "u-2.target")); err != nil {
		t.Fatalf("the expired target is not kept until the next sweep: %v", err)
	}
	d.TTL = time.Minute
	if _, err := d.Target(ctx, a, "u-3", zip); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(folder, "*.target"))
	if len(left) != 1 || filepath.Base(left[0]) != "u-3.target" {
		t.Fatalf("targets left after a sweep: %v", left)
	}
}
