package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatal and Skip instead of stopping
// the goroutine. Any other method would panic on the nil embedded TB, which
// makes an unexpected call visible.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Name() string                      { return "TestRecorder" }
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skip(args ...any)                  { r.skip = fmt.Sprint(args...) }

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "TRUE": true, " true ": true, "false": false, "0": false, "yes": false} {
		got := inCI(func(k string) string {
			if k == "CI" {
				return v
			}
			return ""
		})
		if got != want {
			t.Errorf("CI=%q: inCI = %v, want %v", v, got, want)
		}
	}
}

func TestRequireNilErrorDoesNothing(t *testing.T) {
	var r recorder
	Require(&r, "Composant", nil)
	if r.fatal != "" || r.skip != "" {
		t.Fatalf("Require(nil) fataled %q / skipped %q", r.fatal, r.skip)
	}
}

func TestRequireSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	logPath := filepath.Join(t.TempDir(), "skips.log")
	t.Setenv(SkipLogEnv, logPath)
	var r recorder
	Require(&r, "Composant", errors.New("java introuvable"))
	if r.fatal != "" {
		t.Fatalf("outside CI, Require must not fail; got Fatal %q", r.fatal)
	}
	if !strings.Contains(r.skip, "Composant indisponible") || !strings.Contains(r.skip, "java introuvable") || !strings.Contains(r.skip, "SAUTÉS") {
		t.Fatalf("skip message lacks the component, the cause or the warning: %q", r.skip)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("skip log not written: %v", err)
	}
	if !strings.HasPrefix(string(b), "TestRecorder: ") || !strings.Contains(string(b), "java introuvable") {
		t.Fatalf("skip log = %q", b)
	}
}

func TestRequireFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	var r recorder
	Require(&r, "Composant", errors.New("java introuvable"))
	if r.skip != "" {
		t.Fatalf("with CI=true, Require must not skip; got Skip %q", r.skip)
	}
	if !strings.Contains(r.fatal, "Composant indisponible en CI") || !strings.Contains(r.fatal, "java introuvable") {
		t.Fatalf("fatal message = %q", r.fatal)
	}
}

// TestRequireEndToEnd runs this test binary again on TestHelperRequire, once
// without CI and once with CI=true, and checks what `go test` itself reports:
// a SKIP with exit status 0, then a FAIL with a non-zero exit status.
func TestRequireEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no subprocess")
	}
	run := func(ci string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRequire$", "-test.v", "-test.count=1")
		cmd.Env = append(envWithout("CI", SkipLogEnv), "SESAME_TESTENV_HELPER=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("")
	if err != nil {
		t.Fatalf("without CI the helper test must be skipped, not fail: %v\n%s", err, out)
	}
	if !strings.Contains(out, "--- SKIP: TestHelperRequire") || !strings.Contains(out, "SAUTÉS") || strings.Contains(out, "after Require") {
		t.Fatalf("without CI: expected a loud SKIP that stops the test, got:\n%s", out)
	}

	out, err = run("true")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("with CI=true the helper test must fail the binary, got err=%v\n%s", err, out)
	}
	if !strings.Contains(out, "--- FAIL: TestHelperRequire") || !strings.Contains(out, "indisponible en CI") || strings.Contains(out, "after Require") {
		t.Fatalf("with CI=true: expected a FAIL that stops the test, got:\n%s", out)
	}
}

// TestHelperRequire is the child of TestRequireEndToEnd; it does nothing in a
// normal run.
func TestHelperRequire(t *testing.T) {
	if os.Getenv("SESAME_TESTENV_HELPER") != "1" {
		return
	}
	Require(t, "Composant", errors.New("java introuvable"))
	t.Log("after Require")
}

func envWithout(names ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}
