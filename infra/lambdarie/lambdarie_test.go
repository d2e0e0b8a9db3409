package lambdarie_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

func TestEnvironment(t *testing.T) {
	v := lambdarie.Values{Refs: map[string]string{"Table": "t-1", "OriginSecret": "s3cr3t"}}
	env, err := lambdarie.Environment(sesame.Template, "LoginFunction", v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SESAME_TABLE=t-1", "SESAME_ORIGIN_SECRET=s3cr3t", "SESAME_STAGE=dev", "SESAME_JOURNAL_RETENTION_DAYS=183"} {
		if !slices.Contains(env, want) {
			t.Errorf("LoginFunction's environment %q lacks %s", env, want)
		}
	}
	// The import bucket's name is a !Sub on the stack's id: it must be given.
	if _, err := lambdarie.Environment(sesame.Template, "RecoverFunction", v); err == nil || !strings.Contains(err.Error(), "SESAME_IMPORT_BUCKET") {
		t.Fatalf("RecoverFunction without its bucket: %v", err)
	}
	v.Vars = map[string]string{"SESAME_IMPORT_BUCKET": "imports"}
	if env, err = lambdarie.Environment(sesame.Template, "RecoverFunction", v); err != nil || !slices.Contains(env, "SESAME_IMPORT_BUCKET=imports") {
		t.Fatalf("RecoverFunction: %q %v", env, err)
	}
	if _, err := lambdarie.Environment(sesame.Template, "Table", v); err == nil {
		t.Fatal("Table is not a function")
	}
}

func TestAsyncRetriesThenDestination(t *testing.T) {
	for _, tc := range []struct {
		fails, calls int
		failed       bool
	}{{0, 1, false}, {2, 3, false}, {3, 3, true}, {9, 3, true}} {
		calls := 0
		var dest []string
		a := lambdarie.Async{Retries: 2,
			Invoke: func(_ context.Context, ev []byte) ([]byte, error) {
				calls++
				if calls <= tc.fails {
					return nil, &lambdarie.FunctionError{Type: "E", Message: "m"}
				}
				return []byte("ok"), nil
			},
			OnFailure: func(ev []byte, err error) { dest = append(dest, string(ev)) }}
		out, err := a.Deliver(t.Context(), []byte("ev"))
		if calls != tc.calls || (err != nil) != tc.failed || (len(dest) == 1) != tc.failed || (!tc.failed && string(out) != "ok") {
			t.Errorf("%d failures: %d calls, %q %v, destination %q", tc.fails, calls, out, err, dest)
		}
	}
}

// startTestFunction runs testdata/name under RIE with env, stopped at the
// test's end.
func startTestFunction(t *testing.T, name string, env ...string) *lambdarie.Instance {
	t.Helper()
	rie, err := lambdarie.InstallEmulator(t.Context())
	testenv.Require(t, "Lambda RIE", err)
	qemu, err := lambdarie.Qemu()
	testenv.Require(t, "qemu-user", err)
	boot, err := lambdarie.BuildTestFunction(t.Context(), t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	in, err := lambdarie.Start(t.Context(), lambdarie.Options{RIE: rie, Qemu: qemu, Bootstrap: boot, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Stop)
	return in
}

// TestHelloUnderRIE runs the yardstick function under RIE: answers,
// a malformed event is a function error and not a crash, and concurrent
// callers are served one at a time without crashing RIE.
func TestHelloUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an arm64 function; skipped with -short")
	}
	in := startTestFunction(t, "hello")
	out, err := in.Invoke(t.Context(), []byte(`{"name":"Sésame"}`))
	if err != nil || string(out) != `{"hello":"Sésame"}` {
		t.Fatalf("invoke: %s %v\n%s", out, err, in.Logs())
	}
	_, err = in.Invoke(t.Context(), []byte(`{"name":3}`))
	var fe *lambdarie.FunctionError
	if !errors.As(err, &fe) || !strings.Contains(fe.Type, "UnmarshalTypeError") {
		t.Fatalf("malformed event: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			b, _ := json.Marshal(map[string]any{"name": i})
			_, errs[i] = in.Invoke(t.Context(), b)
			if errs[i] == nil {
				errs[i] = errors.New("an int name was accepted")
			}
			var fe *lambdarie.FunctionError
			if errors.As(errs[i], &fe) {
				errs[i] = nil
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent calls: %v\n%s", err, in.Logs())
	}
	if out, err := in.Invoke(t.Context(), []byte(`{"name":"encore"}`)); err != nil || string(out) != `{"hello":"encore"}` {
		t.Fatalf("after concurrent calls: %s %v", out, err)
	}
}

// TestInstanceOutlivesItsFailures: as Lambda replaces a timed-out or dead
// execution environment, an instance keeps serving after an invocation
// that outlasted the function's timeout (a TimedOut function error; RIE
// counts the on-demand init in the timeout, so it is the template's 10 s,
// which a loaded machine's init under qemu stays within), after
// a caller that stopped waiting (the invocation runs on, and the next call
// waits for it instead of crashing RIE), and after RIE was killed (started
// again: a cold start).
func TestInstanceOutlivesItsFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an arm64 function; skipped with -short")
	}
	in := startTestFunction(t, "sleep", "AWS_LAMBDA_FUNCTION_TIMEOUT=10")
	served := func(step string) {
		t.Helper()
		if out, err := in.Invoke(t.Context(), []byte(`{"ms":1}`)); err != nil || string(out) != `{"slept":1}` {
			t.Fatalf("%s: the next call got %s %v\n%s", step, out, err, in.Logs())
		}
	}
	served("first call")

	_, err := in.Invoke(t.Context(), []byte(`{"ms":15000}`))
	var fe *lambdarie.FunctionError
	if !errors.As(err, &fe) || fe.Type != lambdarie.TimedOut || !strings.Contains(fe.Message, "10.00 seconds") {
		t.Fatalf("an invocation over the timeout: %v", err)
	}
	served("after a timeout")

	// The caller stops waiting at 100 ms of a 700 ms invocation; the
	// next call comes at once.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	_, err = in.Invoke(ctx, []byte(`{"ms":700}`))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a caller that stopped waiting: %v", err)
	}
	served("after a caller went away")

	in.Kill()
	served("after RIE was killed")
	if in.Restarts() != 1 {
		t.Errorf("%d restarts, want 1", in.Restarts())
	}
	if logs := in.Logs(); !strings.Contains(logs, "started again") {
		t.Errorf("the logs do not say RIE was started again:\n%s", logs)
	}
}
