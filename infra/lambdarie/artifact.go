package lambdarie

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/localtool"
)

// Function names a function of template.yaml: its logical id and its
// folder under functions/ (the Makefile's build-<LogicalId> target builds
// ./functions/<Dir>).
type Function struct {
	LogicalID string
	Dir       string
}

// Functions are the five functions of template.yaml.
var Functions = []Function{
	{"LoginFunction", "login"},
	{"SeatsFunction", "seats"},
	{"AuthorizeFunction", "authorize"},
	{"RecoverFunction", "recover"},
	{"AdminFunction", "admin"},
}

// ArtifactDir returns where [BuildArtifact] keeps artifacts:
// <repository root>/.cache/lambda (or $SESAME_CACHE_DIR/lambda).
func ArtifactDir() (string, error) { return localtool.CacheDir("lambda") }

// BuildArtifact returns the path of f's bootstrap as `make
// build-<LogicalId> ARTIFACTS_DIR=…` writes it (what `sam build` does), for
// the current state of its sources: the Go and embedded files of every
// package of the module that it links, the Makefile, go.mod and go.sum. An
// artifact already built from the same sources is reused.
func BuildArtifact(ctx context.Context, f Function) (string, error) {
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return "", err
	}
	cache, err := ArtifactDir()
	if err != nil {
		return "", err
	}
	sum, err := sourceHash(ctx, root, "./functions/"+f.Dir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, f.LogicalID+"-"+sum[:16])
	bootstrap := filepath.Join(dir, "bootstrap")
	if st, err := os.Stat(bootstrap); err == nil && st.Mode().IsRegular() {
		return bootstrap, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", root, "build-"+f.LogicalID, "ARTIFACTS_DIR="+work)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdarie: make build-%s: %w\n%s", f.LogicalID, err, out)
	}
	if err := os.Rename(work, dir); err != nil {
		if _, err2 := os.Stat(bootstrap); err2 == nil { // built meanwhile by another process
			return bootstrap, nil
		}
		return "", err
	}
	return bootstrap, nil
}

// sourceHash hashes what the arm64 Linux build of pkg reads from the
// module: its packages' Go and embedded files, plus the build's own files.
func sourceHash(ctx context.Context, root, pkg string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-tags", BuildTags,
		"-f", `{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("lambdarie: go list %s: %w\n%s", pkg, err, stderr.Bytes())
	}
	files := []string{filepath.Join(root, "Makefile"), filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			files = append(files, line)
		}
	}
	h := sha256.New()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(root, name)
		fmt.Fprintf(h, "%s\x00", rel)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
