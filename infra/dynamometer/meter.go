// Package dynamometer counts the DynamoDB requests of processes it cannot
// wrap in Go: a reverse proxy in front of DynamoDB (Local) that counts
// each request by API call and by the operation its caller was serving,
// with the transaction conflicts and failed conditions among the answers.
//
// Each caller (a Lambda instance under RIE, which serves one invocation at
// a time) reaches DynamoDB at its own endpoint, Endpoint(caller), and
// whoever dispatches work to it says what it serves, Serving(caller, op),
// for the time of the invocation. GET /counts on the meter's address gives
// the counts so far as JSON ([Counts] by operation), which a load test
// reads before and after its run.
//
//	m, _ := dynamometer.Start("http://127.0.0.1:8000")
//	env := "AWS_ENDPOINT_URL_DYNAMODB=" + m.Endpoint("seats-0")
//	done := m.Serving("seats-0", "POST /api/v1/heartbeat")
//	… invoke …
//	done()
package dynamometer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Counts are the DynamoDB requests made while serving one operation.
type Counts struct {
	// Invocations is how many times a caller served the operation.
	Invocations int `json:"invocations"`
	// Requests counts the requests by API call (GetItem, Query…).
	Requests map[string]int `json:"requests"`
	Total    int            `json:"total"`
	// Conflicts counts the answers TransactionConflict (a transaction
	// cancelled by a concurrent one, or TransactionConflictException).
	Conflicts int `json:"conflicts"`
	// ConditionsFailed counts the answers whose condition failed
	// (ConditionalCheckFailed, alone or in a cancelled transaction).
	ConditionsFailed int `json:"conditionsFailed"`
}

// Unattributed names the requests of a caller that was serving nothing
// (a function's start-up, or a caller never named by Serving).
const Unattributed = "(hors invocation)"

// Meter is the proxy. It is safe for concurrent use.
type Meter struct {
	URL    string // http://127.0.0.1:PORT
	proxy  *httputil.ReverseProxy
	server *http.Server

	mu      sync.Mutex
	serving map[string]string // caller → operation
	counts  map[string]*Counts
}

// Start listens on a free loopback port and forwards to target.
func Start(target string) (*Meter, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("dynamometer: bad target %q", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dynamometer: %w", err)
	}
	m := &Meter{URL: "http://" + ln.Addr().String(), serving: map[string]string{}, counts: map[string]*Counts{}}
	m.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.URL.Path, r.Out.URL.RawPath = "/", ""
			r.Out.Host = u.Host
		},
		ModifyResponse: m.observe,
	}
	m.server = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = m.server.Serve(ln) }()
	return m, nil
}

// Close stops the proxy.
func (m *Meter) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return m.server.Shutdown(ctx)
}

// Endpoint is the DynamoDB endpoint a caller uses (a name of letters,
// digits, '-' and '_').
func (m *Meter) Endpoint(caller string) string { return m.URL + "/c/" + caller }

// Serving records that caller now serves op, until done is called; each
// call counts one invocation of op.
func (m *Meter) Serving(caller, op string) (done func()) {
	m.mu.Lock()
	m.serving[caller] = op
	m.countsLocked(op).Invocations++
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.serving, caller)
		m.mu.Unlock()
	}
}

func (m *Meter) countsLocked(op string) *Counts {
	c := m.counts[op]
	if c == nil {
		c = &Counts{Requests: map[string]int{}}
		m.counts[op] = c
	}
	return c
}

// Snapshot returns the counts so far, by operation.
func (m *Meter) Snapshot() map[string]Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Counts, len(m.counts))
	for op, c := range m.counts {
		cp := *c
		cp.Requests = make(map[string]int, len(c.Requests))
		for k, v := range c.Requests {
			cp.Requests[k] = v
		}
		out[op] = cp
	}
	return out
}

func (m *Meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/counts" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m.Snapshot())
		return
	}
	caller, ok := strings.CutPrefix(r.URL.Path, "/c/")
	caller, _, _ = strings.Cut(caller, "/")
	if !ok || caller == "" {
		http.NotFound(w, r)
		return
	}
	m.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller)))
}

type callerKey struct{}

// observe counts one answered request.
func (m *Meter) observe(res *http.Response) error {
	req := res.Request
	caller, _ := req.Context().Value(callerKey{}).(string)
	call := req.Header.Get("X-Amz-Target")
	if _, after, ok := strings.Cut(call, "."); ok {
		call = after
	}
	var conflict, condition bool
	if res.StatusCode >= 400 {
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			return err
		}
		conflict = bytes.Contains(body, []byte("TransactionConflict"))
		condition = bytes.Contains(body, []byte("ConditionalCheckFailed"))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	op, ok := m.serving[caller]
	if !ok {
		op = Unattributed
	}
	c := m.countsLocked(op)
	c.Requests[call]++
	c.Total++
	if conflict {
		c.Conflicts++
	}
	if condition {
		c.ConditionsFailed++
	}
	return nil
}

// Read fetches a meter's counts over HTTP (GET URL/counts).
func Read(ctx context.Context, hc *http.Client, meterURL string) (map[string]Counts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(meterURL, "/")+"/counts", nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("dynamometer: %s answered %d", meterURL, res.StatusCode)
	}
	var out map[string]Counts
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("dynamometer: %w", err)
	}
	return out, nil
}

// Diff is after − before, by operation; operations with nothing new are
// left out.
func Diff(after, before map[string]Counts) map[string]Counts {
	out := map[string]Counts{}
	for op, a := range after {
		b := before[op]
		d := Counts{Invocations: a.Invocations - b.Invocations, Total: a.Total - b.Total,
			Conflicts: a.Conflicts - b.Conflicts, ConditionsFailed: a.ConditionsFailed - b.ConditionsFailed, Requests: map[string]int{}}
		for k, v := range a.Requests {
			if n := v - b.Requests[k]; n != 0 {
				d.Requests[k] = n
			}
		}
		if d.Invocations != 0 || d.Total != 0 {
			out[op] = d
		}
	}
	return out
}
