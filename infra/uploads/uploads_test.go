package uploads_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/uploads"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	d, err := uploads.NewDir(t.TempDir(), 16)
	if err != nil {
		t.Fatal(err)
	}
	a := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	b := sesame.BaseKey{UAI: "0931234B", Year: "2026-2027"}
	tg, err := d.Target(ctx, a, "u-1")
	if err != nil || tg.URL != "/api/v1/uploads/u-1" || tg.Method != "PUT" {
		t.Fatalf("Target = %+v, %v", tg, err)
	}
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
