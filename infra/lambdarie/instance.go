package lambdarie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sesame-ecole/sesame/infra/localtool"
)

// InvokePath is RIE's invocation endpoint, Lambda's Invoke API.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Options start an [Instance].
type Options struct {
	RIE       string   // the emulator's binary (InstallEmulator)
	Qemu      string   // the arm64 runner, or "" to run the bootstrap directly (Qemu)
	Bootstrap string   // the function's artifact (BuildArtifact)
	Env       []string // the function's environment, NAME=value (Environment plus what Lambda sets)
}

// Instance is one running function: RIE and the bootstrap it runs. RIE
// initialises the function at the first invocation (Lambda's on-demand
// init), and handles one invocation at a time: Invoke serialises calls,
// and an invocation runs to its end even when its caller stops waiting
// (a second call while RIE still runs one crashes it). An instance whose
// RIE has exited is started again at the next call, as Lambda replaces a
// dead execution environment: that call is a cold start.
type Instance struct {
	opts   Options
	client *http.Client
	run    sync.Mutex // one invocation at a time

	mu       sync.Mutex // guards what follows
	proc     *localtool.Process
	endpoint string
	past     string // the output of the processes before a restart
	restarts int
	stopped  bool
}

// InitError is an invocation refused because the function could not
// start (RIE answers 502 Runtime.ExitError; the next call retries init).
type InitError struct{ Status int }

func (e *InitError) Error() string {
	return fmt.Sprintf("lambdarie: the function failed to initialise (RIE answered %d)", e.Status)
}

// FunctionError is an invocation whose handler returned an error (or
// panicked): Lambda's {"errorMessage","errorType"} answer.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("lambdarie: function error %s: %s", e.Type, e.Message)
}

// TimedOut is the error type of an invocation that outlasted the
// function's timeout (AWS_LAMBDA_FUNCTION_TIMEOUT, the template's
// Timeout), as Lambda names it; RIE then resets the function, and the
// next call initialises it again.
const TimedOut = "Sandbox.Timedout"

// timedOut is how RIE answers such an invocation (200, plain text).
var timedOut = []byte("Task timed out after ")

// Start launches RIE on a free loopback port running o.Bootstrap, and
// waits until it accepts connections. The function itself starts at the
// first Invoke.
func Start(ctx context.Context, o Options) (*Instance, error) {
	if o.RIE == "" || o.Bootstrap == "" {
		return nil, errors.New("lambdarie: Options.RIE and Options.Bootstrap are required")
	}
	for attempt := 1; ; attempt++ {
		in, err := start(ctx, o)
		if err != nil && attempt < 3 && bytes.Contains([]byte(err.Error()), []byte("address already in use")) {
			continue
		}
		return in, err
	}
}

func start(ctx context.Context, o Options) (*Instance, error) {
	// A connection per invocation: a call on a dead RIE is then refused
	// (and handed to RIE started again) instead of failing on a kept
	// connection.
	in := &Instance{opts: o, client: &http.Client{Timeout: 20 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}}
	if err := in.launch(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

// launch starts RIE on free loopback ports (in.mu held, or in not shared
// yet).
func (in *Instance) launch(ctx context.Context) error {
	o := in.opts
	addrs, err := localtool.FreeAddrs(2)
	if err != nil {
		return err
	}
	args := []string{"--runtime-interface-emulator-address", addrs[0], "--runtime-api-address", addrs[1]}
	if o.Qemu != "" {
		args = append(args, o.Qemu)
	}
	cmd := exec.Command(o.RIE, append(args, "./"+filepath.Base(o.Bootstrap))...)
	cmd.Dir = filepath.Dir(o.Bootstrap)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "TZ=UTC"}, o.Env...)
	proc, err := localtool.StartProcess(ctx, cmd, addrs[0], 4<<20, 10*time.Second)
	if err != nil {
		return fmt.Errorf("lambdarie: %w", err)
	}
	in.proc, in.endpoint = proc, "http://"+addrs[0]
	return nil
}

// revive starts RIE again if it has exited, and returns the endpoint
// (in.run held).
func (in *Instance) revive(ctx context.Context) (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopped {
		return "", errors.New("lambdarie: the instance is stopped")
	}
	exited, waitErr := in.proc.Exited()
	if !exited {
		return in.endpoint, nil
	}
	in.past = tail(in.past+in.proc.Output.String()+fmt.Sprintf("\n[lambdarie: RIE exited (%v); started again]\n", waitErr), 4<<20)
	in.restarts++
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if err = in.launch(ctx); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("lambdarie: RIE exited (%v) and could not start again: %w", waitErr, err)
	}
	return in.endpoint, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Endpoint is the instance's Invoke URL (it changes when RIE is started
// again).
func (in *Instance) Endpoint() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.endpoint + InvokePath
}

// Logs returns what RIE and the function printed (the function's JSON log
// lines included), up to the last 4 MB, across restarts.
func (in *Instance) Logs() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return tail(in.past+in.proc.Output.String(), 4<<20)
}

// Restarts returns how many times RIE was started again after it exited.
func (in *Instance) Restarts() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.restarts
}

// Kill kills RIE and the function, as an execution environment dies, and
// waits for them: the next call starts RIE again.
func (in *Instance) Kill() {
	in.mu.Lock()
	p := in.proc
	in.mu.Unlock()
	p.Kill()
}

// Invoke hands the function one event (a synchronous invocation) and
// returns its answer. A handler's error is a *FunctionError (Type
// TimedOut for an invocation that outlasted the function's timeout), an
// init failure an *InitError. Calls are serialised. When ctx ends first,
// Invoke returns ctx's error at once, but the invocation runs to its end
// and holds the instance until then, as a Lambda invocation whose caller
// went away does. An instance whose RIE has exited starts it again first.
func (in *Instance) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	in.run.Lock()
	endpoint, err := in.revive(ctx)
	if err != nil {
		in.run.Unlock()
		return nil, err
	}
	return RunToEnd(ctx, func(ctx context.Context) ([]byte, error) {
		defer in.run.Unlock()
		body, err := in.invoke(ctx, endpoint, event)
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			// RIE is gone and the event never reached it: once its exit
			// is seen, start it again and hand it the event.
			for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(20 * time.Millisecond) {
				if exited, _ := in.proc.Exited(); exited {
					break
				}
			}
			if endpoint, err = in.revive(ctx); err == nil {
				body, err = in.invoke(ctx, endpoint, event)
			}
		}
		return body, err
	})
}

// RunToEnd runs call to its end with ctx's values but not its
// cancellation, and returns its answer, or ctx's error as soon as ctx
// ends: an invocation whose caller stopped waiting goes on, as Lambda's
// does.
func RunToEnd(ctx context.Context, call func(context.Context) ([]byte, error)) ([]byte, error) {
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		body, err := call(context.WithoutCancel(ctx))
		done <- result{body, err}
	}()
	select {
	case r := <-done:
		return r.body, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// invoke runs one invocation (in.run held).
func (in *Instance) invoke(ctx context.Context, endpoint string, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+InvokePath, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	res, err := in.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lambdarie: invoke: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("lambdarie: invoke: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, &InitError{Status: res.StatusCode}
	}
	if bytes.HasPrefix(body, timedOut) {
		return nil, &FunctionError{Type: TimedOut, Message: string(body)}
	}
	var fe FunctionError
	if json.Unmarshal(body, &fe) == nil && fe.Type != "" && fe.Message != "" {
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(body, &raw)
		if _, ok := raw["statusCode"]; !ok {
			return nil, &fe
		}
	}
	return body, nil
}

// Stop kills RIE and the function, and waits for them; a call after Stop
// fails. Safe to call more than once.
func (in *Instance) Stop() {
	in.mu.Lock()
	in.stopped = true
	p := in.proc
	in.mu.Unlock()
	p.Stop()
}
