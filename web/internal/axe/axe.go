// Package axe gives the browser tests axe-core, Deque's accessibility
// rules engine (RGAA and WCAG 2.1 AA checks), pinned, installed from npm
// into the project's cache by `npm pack`, as DynamoDB Local is.
//
// The script lives in <cache>/axe-core-<version>/axe.min.js, where <cache>
// is $SESAME_CACHE_DIR/axe-core when that variable is set, and
// <repository root>/.cache/axe-core otherwise. The tests call [Script];
// `go run ./web/internal/axe/cmd/fetch` fills the cache ahead of time.
package axe

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/npmpack"
)

const (
	// Package is the npm package of axe-core.
	Package = "axe-core"
	// Version is the pinned version of Package.
	Version = "4.14.1"
	// integrity is the registry's integrity string of the pinned tarball
	// (npm pack --json), checked before anything is extracted.
	integrity = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
	// file is the part of the tarball that is kept.
	file = "package/axe.min.js"
)

// DefaultCacheDir returns the folder that [Install] uses by default.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(dynamolocal.CacheDirEnv); d != "" {
		return filepath.Abs(filepath.Join(d, Package))
	}
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", Package), nil
}

// Script returns the pinned axe.min.js, installed into DefaultCacheDir
// when missing.
func Script(ctx context.Context) ([]byte, error) {
	dir, err := DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	path, err := Install(ctx, dir)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// Install makes sure the pinned axe.min.js is in cacheDir and returns its
// path. When it is missing, Install runs `npm pack` for the pinned
// package, checks the tarball's integrity, and writes the script beside
// its destination before renaming it into place, so that a concurrent or
// interrupted install never leaves half a file.
func Install(ctx context.Context, cacheDir string) (string, error) {
	dest := filepath.Join(cacheDir, Package+"-"+Version, "axe.min.js")
	if st, err := os.Stat(dest); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		return dest, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", fmt.Errorf("axe: %w", err)
	}
	work, err := os.MkdirTemp(cacheDir, ".install-")
	if err != nil {
		return "", fmt.Errorf("axe: %w", err)
	}
	defer os.RemoveAll(work)
	tarball, err := npmpack.Pack(ctx, work, Package, Version, integrity)
	if err != nil {
		return "", fmt.Errorf("axe: %w", err)
	}
	tgz, err := os.ReadFile(tarball)
	if err != nil {
		return "", fmt.Errorf("axe: %w", err)
	}
	script, err := extract(tgz)
	if err != nil {
		return "", fmt.Errorf("axe: %s: %w", tarball, err)
	}
	tmp := filepath.Join(work, "axe.min.js")
	if err := os.WriteFile(tmp, script, 0o644); err != nil {
		return "", fmt.Errorf("axe: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return "", fmt.Errorf("axe: %w", err)
	}
	return dest, nil
}

// extract returns the axe.min.js of the tarball.
func extract(tgz []byte) ([]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("no " + file + " in the tarball")
		}
		if err != nil {
			return nil, err
		}
		if hdr.Name == file && hdr.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, 16<<20))
		}
	}
}
