package npmpack

import (
	"crypto/sha512"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckIntegrity(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.tgz")
	if err := os.WriteFile(file, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("content"))
	good := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	if err := CheckIntegrity(file, good); err != nil {
		t.Errorf("good integrity refused: %v", err)
	}
	other := sha512.Sum512([]byte("other"))
	if err := CheckIntegrity(file, "sha512-"+base64.StdEncoding.EncodeToString(other[:])); err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("bad integrity: err = %v", err)
	}
	if err := CheckIntegrity(file, "sha1-abc"); err == nil {
		t.Error("sha1 integrity accepted")
	}
}
