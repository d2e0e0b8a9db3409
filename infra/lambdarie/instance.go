package lambdarie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
// init), and handles one invocation at a time: Invoke serialises calls.
type Instance struct {
	proc     *localtool.Process
	endpoint string
	mu       sync.Mutex // one invocation at a time
	client   *http.Client
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
	addrs, err := localtool.FreeAddrs(2)
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("lambdarie: %w", err)
	}
	return &Instance{proc: proc, endpoint: "http://" + addrs[0], client: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// Endpoint is the instance's Invoke URL.
func (in *Instance) Endpoint() string { return in.endpoint + InvokePath }

// Logs returns what RIE and the function printed (the function's JSON log
// lines included), up to the last 4 MB.
func (in *Instance) Logs() string { return in.proc.Output.String() }

// Invoke hands the function one event (a synchronous invocation) and
// returns its answer. A handler's error is a *FunctionError, an init
// failure an *InitError. Calls are serialised.
func (in *Instance) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if exited, err := in.proc.Exited(); exited {
		return nil, fmt.Errorf("lambdarie: RIE has exited (%v)", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.Endpoint(), bytes.NewReader(event))
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

// Stop kills RIE and the function, and waits for them. Safe to call more
// than once.
func (in *Instance) Stop() { in.proc.Stop() }
