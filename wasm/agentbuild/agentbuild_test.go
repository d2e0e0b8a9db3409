package agentbuild_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/sesame-ecole/sesame/wasm/agentbuild"
)

// TestBuild builds a module (the empty one, quick) as the agent is built,
// over an earlier build: the files are named by their content, compressed
// beside, the earlier build's files gone, other files kept.
func TestBuild(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	for _, f := range []string{"agent-0000000000000000.wasm", "agent-0000000000000000.wasm.br", "wasm_exec-0000000000000000.js", ".keep", "README"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := agentbuild.Build(context.Background(), agentbuild.Options{Dir: dir, Package: agentbuild.EmptyPackage})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^agent-[0-9a-f]{16}\.wasm$`).MatchString(m.Wasm) ||
		!regexp.MustCompile(`^wasm_exec-[0-9a-f]{16}\.js$`).MatchString(m.Exec) {
		t.Errorf("names %q %q", m.Wasm, m.Exec)
	}
	if m.Size < 1e6 || m.Gzip <= 0 || m.Gzip >= m.Size || !slices.Contains(m.Encodings, "gzip") {
		t.Errorf("manifest %+v", m)
	}
	want := []string{".keep", "README", "agent.json", m.Exec, m.Exec + ".gz", m.Wasm, m.Wasm + ".gz"}
	if m.Brotli > 0 {
		want = append(want, m.Exec+".br", m.Wasm+".br")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, agentbuild.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var read agentbuild.Manifest
	if err := json.Unmarshal(b, &read); err != nil || read.Wasm != m.Wasm || read.Exec != m.Exec {
		t.Errorf("agent.json %s: %v", b, err)
	}
	// The same source gives the same names: browsers keep their cache.
	again, err := agentbuild.Build(context.Background(), agentbuild.Options{Dir: dir, Package: agentbuild.EmptyPackage})
	if err != nil || again.Wasm != m.Wasm {
		t.Errorf("rebuilt as %q (%v), was %q", again.Wasm, err, m.Wasm)
	}
}
