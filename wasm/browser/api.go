//go:build js && wasm

package browser

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/sesame-ecole/sesame/wasm/agent"
)

// api calls the Sésame API with fetch, as the pages do: same-origin
// credentials, JSON, never cached.
type api struct {
	fetch safejs.Value
	base  string // "/api/v1"
}

// errAnswer is an answer that is neither the expected one nor a 401.
var errAnswer = errors.New("unexpected answer")

// reply is an answer of the API: its status, its JSON body (undefined
// when there is none) and, on a 503 or 429, the Retry-After it gave.
type reply struct {
	status int
	data   safejs.Value
	retry  time.Duration
}

// busy reports whether the server asked to come back later (503 busy,
// 429 with a Retry-After), and when.
func (r reply) busy() (time.Duration, bool) {
	return r.retry, r.retry > 0 && (r.status == 503 || r.status == 429)
}

// call sends a request and returns the answer. err is set when no answer
// came.
func (a api) call(method, path, body string, timeout time.Duration) (reply, error) {
	headers := map[string]any{"Accept": "application/json"}
	init := map[string]any{"method": method, "credentials": "same-origin", "cache": "no-store", "headers": headers}
	if body != "" {
		headers["Content-Type"] = "application/json"
		init["body"] = body
	}
	if sig := call(get(safejs.Global(), "AbortSignal"), "timeout", timeout.Milliseconds()); !sig.IsUndefined() {
		init["signal"] = sig
	}
	r := reply{data: safejs.Undefined()}
	p, err := a.fetch.Invoke(a.base+path, init)
	if err != nil {
		return r, err
	}
	res, err := await(p)
	if err != nil {
		return r, err
	}
	r.status = int(num(get(res, "status")))
	h := get(res, "headers")
	r.retry = seconds(call(safejs.Global(), "Number", call(h, "get", "Retry-After"))) // seconds; NaN or null: 0
	if strings.HasPrefix(str(call(h, "get", "Content-Type")), "application/json") {
		if v, err := await(call(res, "json")); err == nil {
			r.data = v
		}
	}
	return r, nil
}

// session is what the agent needs of GET /session.
type session struct {
	cfg agent.Config
	// id names the session among the tabs: school, year, login, mode and
	// the instant it began.
	id string
}

// busyError is a 503 or 429 answer: come back after retry.
type busyError struct{ retry time.Duration }

func (e *busyError) Error() string { return "busy" }

// session gets the session: its settings, or why it is over (a 401). A
// busy server gives a *busyError.
func (a api) session() (session, *agent.End, error) {
	r, err := a.call("GET", "/session", "", 30*time.Second)
	data := r.data
	if retry, busy := r.busy(); busy && err == nil {
		return session{}, nil, &busyError{retry}
	}
	switch {
	case err != nil:
		return session{}, nil, err
	case r.status == 401:
		return session{}, endOf(data), nil
	case r.status != 200 || data.IsUndefined():
		return session{}, nil, errAnswer
	}
	id := str(get(data, "school", "uai")) + "/" + str(get(data, "school", "year")) + "/" +
		str(get(data, "user", "login")) + "/" + str(get(data, "mode")) + "/" + str(get(data, "since"))
	return session{cfg: configOf(data), id: id}, nil, nil
}

// heartbeat reports idle and returns the server's answer.
func (a api) heartbeat(idle time.Duration, timeout time.Duration) agent.Answer {
	body := `{"idleSeconds":` + strconv.FormatFloat(float64(max(idle, 0).Milliseconds())/1000, 'f', -1, 64) + `}`
	r, err := a.call("POST", "/heartbeat", body, timeout)
	retry, busy := r.busy()
	switch {
	case err != nil:
		return agent.Answer{}
	case r.status == 200 && !r.data.IsUndefined():
		return agent.Answer{OK: true, Config: configOf(r.data)}
	case r.status == 401:
		return agent.Answer{End: endOf(r.data)}
	case busy:
		return agent.Answer{RetryAfter: retry}
	}
	return agent.Answer{}
}

// configOf reads the settings of a session or a heartbeat answer:
// {"idle":{"enabled","timeoutSeconds","warningSeconds"},"heartbeatSeconds","leaseSeconds","reportSeconds"?}.
func configOf(v safejs.Value) agent.Config {
	idle := get(v, "idle")
	return agent.Config{
		Idle:      truthy(get(idle, "enabled")),
		Timeout:   seconds(get(idle, "timeoutSeconds")),
		Warning:   seconds(get(idle, "warningSeconds")),
		Heartbeat: seconds(get(v, "heartbeatSeconds")),
		Lease:     seconds(get(v, "leaseSeconds")),
		Report:    seconds(get(v, "reportSeconds")),
	}
}

// endOf reads a 401's body: {"error":{"code":"unauthenticated","reason",
// "idleTimeoutSeconds"?}}. A 401 without a reason is taken as expired.
func endOf(v safejs.Value) *agent.End {
	e := get(v, "error")
	r := str(get(e, "reason"))
	if r == "" {
		r = agent.ReasonExpired
	}
	return &agent.End{Reason: r, Timeout: seconds(get(e, "idleTimeoutSeconds"))}
}

func seconds(v safejs.Value) time.Duration { return time.Duration(num(v) * float64(time.Second)) }
