package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/localtool"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// root is the repository's root (this package is infra/hostedlocal/cmd/run).
var root = filepath.Join("..", "..", "..", "..")

// The labels `make run-hosted` prints, one per line: a contract for
// scripts.
var labels = []string{"Sésame (hébergé, local) : ", "table: ", "dynamodb: ", "s3: ", "import-bucket: "}

// TestRunHostedWithTheCommandLine runs `make run-hosted`'s command as a
// cloud admin does (--demo), reads the addresses it prints, then
// administers its schools with `sesame … --store dynamodb:NAME` and
// AWS_ENDPOINT_URL_DYNAMODB set to the printed endpoint: the demo school
// is the one `sesame serve --demo` (`make run`) creates, account for
// account; an account added by the command line signs in through the
// hosted site, and disabling it there ends its session. Ctrl-C (SIGINT)
// then stops everything: nothing answers on the printed addresses.
// Skipped with -short.
func TestRunHostedWithTheCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole hosted stack; skipped with -short")
	}
	bin := t.TempDir()
	for name, pkg := range map[string]string{"run-hosted": "./infra/hostedlocal/cmd/run", "sesame": "./cmd/sesame"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	// The stack takes its credentials and region from the environment,
	// and so does the command line.
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID=cle", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=eu-west-3")
	run := exec.Command(filepath.Join(bin, "run-hosted"), "--demo", "--addr", "127.0.0.1:0", "--web", filepath.Join(root, "web", "static"))
	run.Env = env
	stderr := &localtool.TailBuffer{Max: 1 << 20}
	run.Stderr = stderr
	stdout, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = run.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = run.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(time.Minute):
				_ = run.Process.Kill()
			}
		}
	})
	printed, demo := readAddresses(t, stdout, exited, stderr)
	site, table, dynamo, s3 := printed[labels[0]], printed[labels[1]], printed[labels[2]], printed[labels[3]]
	if !strings.Contains(demo, "Comptes de démonstration") {
		t.Errorf("--demo printed no demo accounts:\n%s", demo)
	}
	year := string(sesame.SchoolYearOf(time.Now()))
	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "sesame"), args...)
		cmd.Env = append(env, "AWS_ENDPOINT_URL_DYNAMODB="+dynamo)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("sesame %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	store := "dynamodb:" + table
	base := []string{"--uai", app.DemoUAI, "--year", year}

	// The demo school is make run's: the same accounts, groups and
	// profiles as sesame serve --demo writes on its embedded store.
	hosted := cli("", append([]string{"users", "list", "--store", store}, base...)...)
	boltStore := "bolt:" + filepath.Join(t.TempDir(), "demo.db")
	serveDemo(t, filepath.Join(bin, "sesame"), boltStore)
	local := cli("", append([]string{"users", "list", "--store", boltStore}, base...)...)
	if hosted != local || !strings.Contains(hosted, "prof.martin") {
		t.Errorf("the hosted demo school differs from make run's:\n%s\nmake run's:\n%s", hosted, local)
	}

	// An account added by the command line signs in through the site.
	cli("mot-de-passe-cli-2026\n", append([]string{"users", "add", "--store", store, "--login", "prof.cli", "--kind", "teacher",
		"--name", "M. Ligne (commande)", "--password-stdin"}, base...)...)
	cookie := login(t, site, "prof.cli", "mot-de-passe-cli-2026", "teacher")
	if status, body := get(t, site, "/api/v1/session", cookie); status != http.StatusOK || !strings.Contains(body, `"login":"prof.cli"`) {
		t.Fatalf("the new account's session: %d %s", status, body)
	}
	// Disabled by the command line: its session is over at once.
	cli("", append([]string{"users", "disable", "--store", store, "--login", "prof.cli"}, base...)...)
	if status, body := get(t, site, "/api/v1/session", cookie); status != http.StatusUnauthorized {
		t.Errorf("the session of a disabled account: %d %s", status, body)
	}
	// A demo account signs in through the site too.
	login(t, site, "prof.martin", app.DemoPassword, "teacher")

	// Ctrl-C stops every process the stack started.
	if err := run.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("run-hosted after Ctrl-C: %v\n%s", waitErr, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("run-hosted still runs a minute after Ctrl-C\n%s", stderr.String())
	}
	for _, addr := range []string{site, dynamo, s3} {
		u, err := url.Parse(addr)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after Ctrl-C", addr)
		}
	}
}

// readAddresses reads run-hosted's standard output until its addresses
// are printed (labels, in order), and returns them by label, and what it
// printed before (the demo accounts). The rest of its output is drained.
func readAddresses(t *testing.T, stdout io.Reader, exited <-chan struct{}, stderr *localtool.TailBuffer) (map[string]string, string) {
	t.Helper()
	type line struct {
		text string
		ok   bool
	}
	lines := make(chan line)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- line{sc.Text(), true}
		}
		close(lines)
	}()
	printed := map[string]string{}
	var before strings.Builder
	timeout := time.After(10 * time.Minute) // the first start builds the five functions
	for len(printed) < len(labels) {
		select {
		case l, ok := <-lines:
			if !ok {
				<-exited
				missing(t, stderr.String())
				t.Fatalf("run-hosted ended before its addresses:\n%s\n%s", before.String(), stderr.String())
			}
			if len(printed) == 0 && !strings.HasPrefix(l.text, labels[0]) {
				before.WriteString(l.text + "\n")
				continue
			}
			want := labels[len(printed)]
			v, ok := strings.CutPrefix(l.text, want)
			if !ok || v == "" {
				t.Fatalf("run-hosted printed %q where %q… was due", l.text, want)
			}
			printed[want] = v
		case <-timeout:
			t.Fatalf("run-hosted printed no addresses in 10 minutes:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return printed, before.String()
}

// missing skips loudly (fails under CI=true) when run-hosted stopped for
// want of a component: its error names the step (hostedlocal's
// MissingError).
func missing(t *testing.T, stderr string) {
	t.Helper()
	for _, step := range []string{"DynamoDB Local:", "versitygw:", "Lambda RIE:", "qemu-user:", "njs:", "aws-sam-translator:", "functions:"} {
		if strings.Contains(stderr, step) {
			testenv.Require(t, "the hosted stack's components", errors.New(stderr))
		}
	}
}

// serveDemo runs `sesame serve --demo` (what make run runs) on store until
// it has printed the demo accounts, then stops it.
func serveDemo(t *testing.T, sesameBin, store string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sesameBin, "serve", "--demo", "--store", store, "--addr", "127.0.0.1:0")
	out := &localtool.TailBuffer{Max: 1 << 20}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(out.String(), "Le mode administratif offre 4 places") {
		if ctx.Err() != nil {
			t.Fatalf("sesame serve --demo printed no accounts:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	_ = cmd.Wait()
}

// login signs in through the site as a browser does, and returns the
// session cookie.
func login(t *testing.T, site, user, password, mode string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"school": app.DemoUAI, "login": user, "password": password, "mode": mode})
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(site, "/")+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Origin", strings.TrimSuffix(site, "/"))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.Name == "sesame_session" && res.StatusCode == http.StatusOK {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("sign-in of %s through the site: %d %s", user, res.StatusCode, b)
	return ""
}

func get(t *testing.T, site, path, cookie string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(site, "/")+path, nil)
	req.Header.Set("Cookie", cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
