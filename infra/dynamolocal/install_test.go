package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name string
	typ  byte
	mode int64
	body string
}

func tarball(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body))}
		if e.typ == tar.TypeSymlink {
			hdr.Linkname, hdr.Size = e.body, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractEmulatorKeepsOnlyTheEmulator(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "emulator")
	tgz := tarball(t,
		entry{"package/package.json", tar.TypeReg, 0o644, "{}"},
		entry{"package/emulator/DynamoDBLocal.jar", tar.TypeReg, 0o644, "jar"},
		entry{"package/emulator/DynamoDBLocal_lib/libx.so", tar.TypeReg, 0o755, "so"},
		entry{"package/emulatorX/other", tar.TypeReg, 0o644, "no"},
		entry{"package/emulator/../../escape", tar.TypeReg, 0o644, "no"},
		entry{"package/emulator/link", tar.TypeSymlink, 0o777, "/etc/passwd"},
	)
	if err := extractEmulator(bytes.NewReader(tgz), dest); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	want := ". emulator emulator/DynamoDBLocal.jar emulator/DynamoDBLocal_lib emulator/DynamoDBLocal_lib/libx.so"
	if strings.Join(got, " ") != want {
		t.Fatalf("extracted %v, want %s", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, JarName)); string(b) != "jar" {
		t.Errorf("jar content = %q", b)
	}
	if fi, _ := os.Stat(filepath.Join(dest, LibDir, "libx.so")); fi.Mode().Perm() != 0o755 {
		t.Errorf("libx.so mode = %v, want 0755", fi.Mode().Perm())
	}
	if !installed(dest) {
		t.Error("installed(dest) = false after extraction")
	}
}

func TestExtractEmulatorRefusesExistingDest(t *testing.T) {
	dest := t.TempDir() // exists already: a rename target is never extracted into
	if err := extractEmulator(bytes.NewReader(tarball(t)), dest); err == nil {
		t.Fatal("extracting into an existing folder succeeded")
	}
}

func TestInstallUsesExistingCache(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, SimulatorPackage+"-"+SimulatorVersion)
	if err := os.MkdirAll(filepath.Join(dir, LibDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, JarName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "") // no npm: a cache hit must not need it
	got, err := Install(t.Context(), cache)
	if err != nil || got != dir {
		t.Fatalf("Install = %q, %v; want %q", got, err, dir)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "template.yaml")); err != nil {
		t.Fatalf("RepoRoot() = %s, which has no template.yaml", root)
	}
	t.Setenv(CacheDirEnv, "")
	if got, _ := DefaultCacheDir(); got != filepath.Join(root, ".cache", "dynamodb-local") {
		t.Errorf("DefaultCacheDir() = %s", got)
	}
	other := t.TempDir()
	t.Setenv(CacheDirEnv, other)
	if got, _ := DefaultCacheDir(); got != filepath.Join(other, "dynamodb-local") {
		t.Errorf("with %s=%s, DefaultCacheDir() = %s", CacheDirEnv, other, got)
	}
}

func TestTableName(t *testing.T) {
	t.Run("sub test/with spaces é", func(t *testing.T) {
		a, b := TableName(t), TableName(t)
		if a == b {
			t.Errorf("TableName twice gave %q", a)
		}
		if !strings.HasPrefix(a, "t-TestTableName.sub_test.with_spaces_.-") {
			t.Errorf("TableName = %q", a)
		}
		for _, r := range a {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._", r)) {
				t.Errorf("TableName %q has %q", a, r)
			}
		}
	})
}
