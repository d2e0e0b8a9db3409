// Package npmpack fetches one pinned npm package as its tarball, with
// `npm pack`, and checks it against the registry's integrity string. The
// project's installers of test components (DynamoDB Local, axe-core) take
// what they need from the tarball into the cache.
package npmpack

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Pack runs `npm pack name@version` in dir (no install scripts), checks
// the tarball against integrity ("sha512-<base64>", as npm pack --json
// gives it) and returns the tarball's path.
func Pack(ctx context.Context, dir, name, version, integrity string) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is needed to install %s: %w", name, err)
	}
	spec := name + "@" + version
	cmd := exec.CommandContext(ctx, npm, "pack", "--ignore-scripts", "--silent", spec)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w\n%s", spec, err, tail(out.Bytes(), 2000))
	}
	tarball := filepath.Join(dir, strings.TrimPrefix(strings.ReplaceAll(name, "/", "-"), "@")+"-"+version+".tgz")
	if err := CheckIntegrity(tarball, integrity); err != nil {
		return "", fmt.Errorf("%s: %w", spec, err)
	}
	return tarball, nil
}

// CheckIntegrity compares a file with an npm integrity string
// ("sha512-<base64>").
func CheckIntegrity(file, integrity string) error {
	want, ok := strings.CutPrefix(integrity, "sha512-")
	if !ok {
		return fmt.Errorf("unsupported integrity %q", integrity)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("integrity mismatch: got sha512-%s, want %s", got, integrity)
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
