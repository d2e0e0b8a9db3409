// Package agentbuild builds the browser agent: the WebAssembly module of
// wasm/cmd/agent, stripped, named by its content, compressed ahead of time
// (gzip -9, and brotli when the brotli command is installed), the
// wasm_exec.js of the same Go, and agent.json, the manifest the page's
// loader (web/static/agent.js) reads. The web handler serves that
// directory (web.Options.Agent); `go run ./wasm/cmd/buildagent` writes it
// into web/static/agent, where go:embed picks it up.
//
//	m, err := agentbuild.Build(ctx, agentbuild.Options{Dir: dir})
//	// dir holds agent.json, agent-<hash>.wasm(.gz, .br), wasm_exec-<hash>.js(.gz, .br)
//
// It also measures the module against an empty Go module and one that only
// imports safejs (Sizes), as BENCHMARKS.md records.
package agentbuild

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The packages built.
const (
	AgentPackage     = "github.com/sesame-ecole/sesame/wasm/cmd/agent"
	EmptyPackage     = "github.com/sesame-ecole/sesame/wasm/internal/sizeref/empty"
	SafejsPackage    = "github.com/sesame-ecole/sesame/wasm/internal/sizeref/safejsonly"
	ManifestName     = "agent.json"
	wasmOptFeatures  = "--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals"
	defaultGoCommand = "go"
)

// Options set up a build.
type Options struct {
	// Dir is where the build goes (created if missing). Earlier builds in
	// it are replaced; other files are left alone.
	Dir string
	// Package is the main package to build; AgentPackage when empty.
	Package string
	// Go is the go command; "go" from PATH when empty.
	Go string
	// Optimize runs wasm-opt -Oz (Debian's binaryen) when it is on PATH.
	// Off by default: it takes most of a minute and, measured, saves 4 %
	// of the raw module but nothing once compressed.
	Optimize bool
	// NoBrotli skips the .br files even when brotli is on PATH.
	NoBrotli bool
	// Inline keeps the compiler's inlining. Off by default: built with
	// -gcflags=all=-l the module is 9 % larger raw but, measured, 4 %
	// smaller in gzip and 6 % in brotli, which is what browsers download;
	// the agent does too little for the lost speed to show.
	Inline bool
	// Log receives the commands run; nil: nothing.
	Log io.Writer
}

// Manifest is agent.json: what the loader needs, and the sizes.
type Manifest struct {
	Wasm      string   `json:"wasm"`      // the module, e.g. agent-0123456789abcdef.wasm
	Exec      string   `json:"exec"`      // wasm_exec.js of the Go that built it, hashed too
	Encodings []string `json:"encodings"` // the compressed forms beside each: "br", "gzip"
	Go        string   `json:"go"`        // the Go version
	Size      int64    `json:"size"`      // bytes: raw, gzip -9, brotli (0: none)
	Gzip      int64    `json:"gzip"`
	Brotli    int64    `json:"brotli"`
}

// Build builds the agent into o.Dir and returns its manifest.
func Build(ctx context.Context, o Options) (Manifest, error) {
	if o.Dir == "" {
		return Manifest{}, errors.New("agentbuild: no output directory")
	}
	if o.Package == "" {
		o.Package = AgentPackage
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return Manifest{}, err
	}
	tmp, err := os.MkdirTemp(o.Dir, ".build-")
	if err != nil {
		return Manifest{}, err
	}
	defer os.RemoveAll(tmp)

	raw := filepath.Join(tmp, "agent.wasm")
	if err := Module(ctx, o, o.Package, raw); err != nil {
		return Manifest{}, err
	}
	if o.Optimize {
		if opt, err := exec.LookPath("wasm-opt"); err == nil {
			args := append([]string{"-Oz"}, strings.Fields(wasmOptFeatures)...)
			args = append(args, raw, "-o", raw+".opt")
			if err := run(ctx, o, opt, args...); err != nil {
				return Manifest{}, err
			}
			if err := os.Rename(raw+".opt", raw); err != nil {
				return Manifest{}, err
			}
		}
	}
	goroot, err := output(ctx, o, goCommand(o), "env", "GOROOT")
	if err != nil {
		return Manifest{}, err
	}
	version, err := output(ctx, o, goCommand(o), "env", "GOVERSION")
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{Go: version}
	var files []string // names written into tmp, to move into o.Dir
	add := func(src, prefix, ext string) (string, error) {
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		name := prefix + "-" + hex.EncodeToString(sum[:8]) + ext
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", err
		}
		files = append(files, name)
		gz, br, err := compress(ctx, o, filepath.Join(tmp, name))
		if err != nil {
			return "", err
		}
		files = append(files, name+".gz")
		if br > 0 {
			files = append(files, name+".br")
		}
		if prefix == "agent" {
			m.Size, m.Gzip, m.Brotli = int64(len(b)), gz, br
		}
		return name, nil
	}
	if m.Wasm, err = add(raw, "agent", ".wasm"); err != nil {
		return Manifest{}, err
	}
	if m.Exec, err = add(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"), "wasm_exec", ".js"); err != nil {
		return Manifest{}, err
	}
	m.Encodings = []string{"gzip"}
	if m.Brotli > 0 {
		m.Encodings = []string{"br", "gzip"}
	}

	// Replace the earlier build: its files go, then the new ones come,
	// the manifest last.
	old, err := filepath.Glob(filepath.Join(o.Dir, "*"))
	if err != nil {
		return Manifest{}, err
	}
	for _, f := range old {
		if base := filepath.Base(f); isBuildFile(base) {
			if err := os.Remove(f); err != nil {
				return Manifest{}, err
			}
		}
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(tmp, f), filepath.Join(o.Dir, f)); err != nil {
			return Manifest{}, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := os.WriteFile(filepath.Join(tmp, ManifestName), append(b, '\n'), 0o644); err != nil {
		return Manifest{}, err
	}
	return m, os.Rename(filepath.Join(tmp, ManifestName), filepath.Join(o.Dir, ManifestName))
}

// isBuildFile reports whether a file of the output directory belongs to a
// build (and is replaced by the next one).
func isBuildFile(name string) bool {
	return name == ManifestName ||
		(strings.HasPrefix(name, "agent-") || strings.HasPrefix(name, "wasm_exec-")) &&
			(strings.Contains(name, ".wasm") || strings.Contains(name, ".js"))
}

// Module builds pkg for js/wasm, stripped, into out.
func Module(ctx context.Context, o Options, pkg, out string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w"}
	if !o.Inline {
		args = append(args, "-gcflags=all=-l")
	}
	cmd := exec.CommandContext(ctx, goCommand(o), append(args, "-o", out, pkg)...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	return runCmd(o, cmd)
}

// compress writes path.gz (gzip -9: the gzip command when installed, as
// it compresses 1 % better than compress/gzip) and, when brotli is
// installed and wanted, path.br (brotli -q 11), and returns their sizes
// (0: no .br).
func compress(ctx context.Context, o Options, path string) (gz, br int64, err error) {
	if bin, err := exec.LookPath("gzip"); err == nil {
		if err := run(ctx, o, bin, "-9", "-n", "-k", "-f", path); err != nil {
			return 0, 0, err
		}
		st, err := os.Stat(path + ".gz")
		if err != nil {
			return 0, 0, err
		}
		gz = st.Size()
	} else if gz, err = gzipFile(path); err != nil {
		return 0, 0, err
	}
	if o.NoBrotli {
		return gz, 0, nil
	}
	bin, err := exec.LookPath("brotli")
	if err != nil {
		return gz, 0, nil
	}
	if err := run(ctx, o, bin, "-q", "11", "-f", "-o", path+".br", path); err != nil {
		return 0, 0, err
	}
	st, err := os.Stat(path + ".br")
	if err != nil {
		return 0, 0, err
	}
	return gz, st.Size(), nil
}

// gzipFile writes path.gz with compress/gzip at its best compression.
func gzipFile(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(b); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), os.WriteFile(path+".gz", buf.Bytes(), 0o644)
}

// Size is one module's size, raw and compressed.
type Size struct {
	Name              string
	Inline            bool // built with the compiler's inlining
	Raw, Gzip, Brotli int64
}

// Sizes builds, in one run, an empty Go module, a module that only imports
// safejs, and the agent, in dir, with the build's flags (and, when
// o.Inline is false, with the compiler's inlining too, for comparison),
// and measures them. Brotli is 0 without the brotli command.
func Sizes(ctx context.Context, o Options, dir string) ([]Size, error) {
	var out []Size
	flags := []bool{o.Inline}
	if !o.Inline {
		flags = append(flags, true)
	}
	for _, inline := range flags {
		o := o
		o.Inline = inline
		for _, p := range []struct{ name, pkg string }{
			{"empty Go module", EmptyPackage},
			{"safejs only", SafejsPackage},
			{"agent", AgentPackage},
		} {
			path := filepath.Join(dir, fmt.Sprintf("%s-%v.wasm", filepath.Base(p.pkg), inline))
			if err := Module(ctx, o, p.pkg, path); err != nil {
				return nil, err
			}
			st, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			gz, br, err := compress(ctx, o, path)
			if err != nil {
				return nil, err
			}
			out = append(out, Size{Name: p.name, Inline: inline, Raw: st.Size(), Gzip: gz, Brotli: br})
		}
	}
	return out, nil
}

func goCommand(o Options) string {
	if o.Go != "" {
		return o.Go
	}
	return defaultGoCommand
}

func run(ctx context.Context, o Options, name string, args ...string) error {
	return runCmd(o, exec.CommandContext(ctx, name, args...))
}

func runCmd(o Options, cmd *exec.Cmd) error {
	if o.Log != nil {
		fmt.Fprintln(o.Log, strings.Join(cmd.Args, " "))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	return nil
}

func output(ctx context.Context, o Options, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(b)), nil
}
