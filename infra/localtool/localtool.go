// Package localtool serves the packages that install and run the local
// stand-ins of the hosted deployment (infra/lambdarie, infra/s3local): the
// project's cache folder, a bounded buffer for their processes' output, and
// pinned Go commands (the Lambda Runtime Interface Emulator, versitygw),
// installed into the project's cache once: `go install module/cmd@version`
// into a temporary GOBIN, then a rename into place, so that concurrent or
// interrupted installs never leave half a binary. The installed binary's
// build information is checked against the pin, so a stale binary of
// another version is rebuilt rather than trusted.
package localtool

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
)

// Tool is a pinned Go command.
type Tool struct {
	Name    string // the binary's name, e.g. "versitygw"
	Module  string // its module path, e.g. "github.com/versity/versitygw"
	Package string // its package path, e.g. Module + "/cmd/versitygw"
	Version string // the pinned module version
}

// CacheDir returns the folder name of the project's cache:
// $SESAME_CACHE_DIR/name or <repository root>/.cache/name.
func CacheDir(name string) (string, error) {
	if d := os.Getenv(dynamolocal.CacheDirEnv); d != "" {
		return filepath.Abs(filepath.Join(d, name))
	}
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", name), nil
}

// BinDir returns the folder tools are installed into: CacheDir("bin").
func BinDir() (string, error) { return CacheDir("bin") }

// Installed reports whether bin is t at its pinned version.
func (t Tool) Installed(bin string) bool {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false
	}
	return info.Main.Path == t.Module && info.Main.Version == t.Version
}

// Install returns the path of t in binDir, building it with `go install`
// first when it is missing or of another version.
func (t Tool) Install(ctx context.Context, binDir string) (string, error) {
	dest := filepath.Join(binDir, t.Name)
	if t.Installed(dest) {
		return dest, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("localtool: go is needed to build %s: %w", t.Name, err)
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fmt.Errorf("localtool: %w", err)
	}
	work, err := os.MkdirTemp(binDir, ".install-")
	if err != nil {
		return "", fmt.Errorf("localtool: %w", err)
	}
	defer os.RemoveAll(work)
	cmd := exec.CommandContext(ctx, goCmd, "install", t.Package+"@"+t.Version)
	// Outside the repository, so that its go.mod and GOFLAGS play no part.
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOBIN="+work, "CGO_ENABLED=0", "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("localtool: go install %s@%s: %w\n%s", t.Package, t.Version, err, out.Bytes())
	}
	if err := os.Rename(filepath.Join(work, t.Name), dest); err != nil {
		return "", fmt.Errorf("localtool: %w", err)
	}
	if !t.Installed(dest) {
		return "", fmt.Errorf("localtool: %s is not %s@%s after go install", dest, t.Module, t.Version)
	}
	return dest, nil
}

// TailBuffer keeps the last Max bytes written to it; safe for concurrent
// use (a process's output, read while it runs).
type TailBuffer struct {
	Max int
	mu  sync.Mutex
	b   []byte
}

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.Max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// Dig returns the value at keys in a decoded template (nested
// map[string]any), or nil.
func Dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
