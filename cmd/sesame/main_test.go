package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynamolocal.Shutdown()
	os.Exit(code)
}

const (
	uai  = "0751234A"
	year = "2026-2027"
	pw   = "mot-de-passe-solide"
)

// result is what a command did.
type result struct {
	code           int
	stdout, stderr string
}

// sesameCmd runs the command line in process, with stdin as its standard
// input.
func sesameCmd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, env{getenv: os.Getenv, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb})
	return result{code, out.String(), errb.String()}
}

// want fails unless r ended with code and its stdout and stderr contain
// the given texts.
func (r result) want(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

// ok fails unless the command succeeded, and returns its stdout.
func (r result) ok(t *testing.T) string {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// refused fails unless the command failed with code, a message on
// stderr that contains msg, and nothing on stdout.
func (r result) refused(t *testing.T, code int, msg string) {
	t.Helper()
	r.want(t, code, nil, []string{msg})
	if r.stdout != "" {
		t.Errorf("stdout of a refused command: %s", r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "sesame : ") {
		t.Errorf("stderr does not start with « sesame : »: %s", r.stderr)
	}
}

func tempStore(t *testing.T) string {
	return "bolt:" + filepath.Join(t.TempDir(), "sesame.db")
}

// createSchool creates the school 0751234A for 2026-2027 in store, with
// the SPR's password pw, and more flags.
func createSchool(t *testing.T, store string, more ...string) {
	t.Helper()
	args := append([]string{"school", "create", "--store", store, "--uai", uai, "--name", "Collège Jean Moulin", "--year", year, "--spr-password-stdin"}, more...)
	sesameCmd(t, pw+"\n", args...).ok(t)
}

// addUser adds an account with password pw.
func addUser(t *testing.T, store, login, kind string, more ...string) {
	t.Helper()
	args := append([]string{"users", "add", "--store", store, "--uai", uai, "--year", year, "--login", login, "--kind", kind,
		"--name", "Compte " + login, "--password-stdin"}, more...)
	sesameCmd(t, pw+"\n", args...).ok(t)
}

// withService opens store (closed at the end of f) with the product's
// service over it.
func withService(t *testing.T, store string, f func(svc *sesame.Service, st sesame.Backend)) {
	t.Helper()
	st, err := app.OpenStore(context.Background(), store, app.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f(app.NewService(st, sesame.DefaultTiming), st)
}

// syncBuffer is a buffer that a running command writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`écoute sur (https?://[^/ ]+)/`)

// waitFor polls read until re matches, and returns the first group.
func waitFor(t *testing.T, read func() string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(read()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in:\n%s", re, read())
	return ""
}

// server is `sesame serve` running in process.
type server struct {
	url            string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

// serve starts `sesame serve` in process with args and waits until it
// listens.
func serve(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...),
			env{getenv: os.Getenv, stdin: strings.NewReader(""), stdout: s.stdout, stderr: s.stderr})
	}()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			return s
		}
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("serve ended with %d\nstdout: %s\nstderr: %s", code, s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not listen:\n%s", s.stdout)
	return nil
}

// stop cancels the server's context and returns its exit code.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop")
	}
	return -1
}
