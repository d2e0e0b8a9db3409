//go:build js && wasm

package browser

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/sesame-ecole/sesame/wasm/agent"
)

func TestAPIHeartbeat(t *testing.T) {
	srv := js(t, fakeServer)
	a := api{fetch: get(srv, "fetch"), base: "/api/v1"}
	ans := a.heartbeat(500*time.Millisecond, time.Second)
	want := agent.Config{Idle: true, Timeout: 2 * time.Second, Warning: 500 * time.Millisecond, Heartbeat: 50 * time.Millisecond, Lease: time.Second}
	if !ans.OK || ans.Config != want || ans.End != nil {
		t.Errorf("answer %+v, want OK with %+v", ans, want)
	}
	c := index(get(srv, "calls"), 0)
	for k, want := range map[string]string{"url": "/api/v1/heartbeat", "method": "POST", "body": `{"idleSeconds":0.5}`,
		"credentials": "same-origin", "contentType": "application/json"} {
		if got := str(get(c, k)); got != want {
			t.Errorf("request %s = %q, want %q", k, got, want)
		}
	}
	if !truthy(get(c, "signal")) {
		t.Error("no timeout on the request")
	}
}

func TestAPIUnauthenticated(t *testing.T) {
	srv := js(t, fakeServer)
	a := api{fetch: get(srv, "fetch"), base: "/api/v1"}
	for _, reason := range []string{"idle_timeout", "disconnected", "replaced", "seat_lost", "expired", "logged_out"} {
		set(srv, "reason", reason)
		ans := a.heartbeat(0, time.Second)
		want := agent.End{Reason: reason}
		if reason == "idle_timeout" {
			want.Timeout = 2 * time.Second
		}
		if ans.OK || ans.End == nil || *ans.End != want {
			t.Errorf("%s: answer %+v", reason, ans)
		}
		_, end, err := a.session()
		if err != nil || end == nil || *end != want {
			t.Errorf("%s: session end %+v, err %v", reason, end, err)
		}
	}
	set(srv, "reason", "")
	set(srv, "status", 401) // a 401 that is not the API's
	if ans := a.heartbeat(0, time.Second); ans.End == nil || ans.End.Reason != agent.ReasonExpired {
		t.Errorf("bare 401: %+v", ans)
	}
}

func TestAPIFailures(t *testing.T) {
	srv := js(t, fakeServer)
	a := api{fetch: get(srv, "fetch"), base: "/api/v1"}
	set(srv, "fail", true)
	if ans := a.heartbeat(0, time.Second); ans.OK || ans.End != nil {
		t.Errorf("network error: %+v", ans)
	}
	if _, _, err := a.session(); err == nil {
		t.Error("session: no error on a network error")
	}
	set(srv, "fail", false)
	set(srv, "status", 503)
	if ans := a.heartbeat(0, time.Second); ans.OK || ans.End != nil {
		t.Errorf("503: %+v", ans)
	}
	// fetch itself throwing, synchronously.
	a.fetch = js(t, `return () => { throw new TypeError('bad init'); };`)
	if ans := a.heartbeat(0, time.Second); ans.OK || ans.End != nil {
		t.Errorf("fetch throws: %+v", ans)
	}
	if n := Live(); n != 0 {
		t.Errorf("%d callbacks left", n)
	}
}

// A busy server's Retry-After reaches the machine (heartbeats) and the
// session call; without one, the answer is a plain failure.
func TestAPIBusy(t *testing.T) {
	srv := js(t, fakeServer)
	a := api{fetch: get(srv, "fetch"), base: "/api/v1"}
	set(srv, "busy", 2)
	for _, status := range []int{503, 429} {
		set(srv, "busyStatus", status)
		if ans := a.heartbeat(0, time.Second); ans.OK || ans.End != nil || ans.RetryAfter != 2*time.Second {
			t.Errorf("%d: %+v", status, ans)
		}
		var b *busyError
		if _, end, err := a.session(); end != nil || !errors.As(err, &b) || b.retry != 2*time.Second {
			t.Errorf("%d: session end %+v, err %v", status, end, err)
		}
	}
	set(srv, "busy", 0)
	set(srv, "status", 503) // a 503 without Retry-After
	if ans := a.heartbeat(0, time.Second); ans.OK || ans.End != nil || ans.RetryAfter != 0 {
		t.Errorf("503 without Retry-After: %+v", ans)
	}
}

// The agent follows a busy server's Retry-After, for its session call and
// its heartbeats, and never leaves the page for it.
func TestAgentBusyServer(t *testing.T) {
	srv, page := js(t, fakeServer), js(t, fakePage)
	set(get(srv, "idle"), "enabled", false)
	set(srv, "busy", 1)
	set(srv, "busyTimes", 1) // the session call
	e := env(page, srv, safejs.Undefined())
	e.Rand = func() float64 { return 0.5 }
	a, err := Start(e)
	if err != nil || a == nil {
		t.Fatalf("Start: %v", err)
	}
	// Retry-After 1 s, plus half of half of it.
	if s := callTimes(srv, "/session"); len(s) != 2 || s[1]-s[0] < 1249 {
		a.Stop()
		t.Fatalf("session calls at %v ms: want the second 1.25 s after the first", s)
	}
	eventually(t, 2*time.Second, "a heartbeat", func() bool { return beats(srv) > 0 })
	set(srv, "busyTimes", -1) // busy from now on, heartbeats every 50 ms otherwise
	from := len(callTimes(srv, "/heartbeat"))
	time.Sleep(3500 * time.Millisecond)
	busy := callTimes(srv, "/heartbeat")[from:]
	if len(busy) < 2 || len(busy) > 4 {
		t.Errorf("%d heartbeats in 3.5 s of a busy server; want one each 1.25 s", len(busy))
	}
	for i := 2; i < len(busy); i++ {
		if busy[i]-busy[i-1] < 1249 {
			t.Errorf("heartbeats %v ms apart: sooner than Retry-After plus jitter", busy[i]-busy[i-1])
		}
	}
	if left := strs(get(page, "left")); len(left) != 0 {
		t.Errorf("left for %v on a busy server", left)
	}
	set(srv, "busy", 0)
	n := beats(srv)
	eventually(t, 3*time.Second, "heartbeats at their rhythm again", func() bool { return beats(srv) > n+10 })
	noLeak(t, a)
}

func TestAPISession(t *testing.T) {
	srv := js(t, fakeServer)
	s, end, err := api{fetch: get(srv, "fetch"), base: "/api/v1"}.session()
	if err != nil || end != nil {
		t.Fatalf("session: %v %v", end, err)
	}
	if s.id != "0751234A/2026-2027/mdurand/teacher/2026-09-01T08:00:00Z" || !s.cfg.Idle || s.cfg.Timeout != 2*time.Second {
		t.Errorf("session %+v", s)
	}
}

func TestBus(t *testing.T) {
	ctor := get(safejs.Global(), "BroadcastChannel")
	got := make(chan agent.Message, 10)
	self := make(chan agent.Message, 10)
	a := openBus(ctor, "test-bus", func(m agent.Message) { self <- m })
	b := openBus(ctor, "test-bus", func(m agent.Message) { got <- m })
	other := openBus(ctor, "another-session", func(m agent.Message) { t.Errorf("heard from another session: %+v", m) })
	at := time.UnixMilli(1788249600123)
	cfg := agent.Config{Idle: true, Timeout: 30 * time.Minute, Warning: time.Minute, Heartbeat: time.Minute, Lease: 3 * time.Minute}
	msgs := []agent.Message{
		{Kind: agent.KindActivity, At: at},
		{Kind: agent.KindBeat, At: at, Reported: at.Add(-time.Minute), Config: cfg},
		{Kind: agent.KindEnd, At: at, End: agent.End{Reason: "idle_timeout", Timeout: 30 * time.Minute}},
	}
	for _, m := range msgs {
		a.post(m)
		select {
		case r := <-got:
			if r != m {
				t.Errorf("received %+v, want %+v", r, m)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%+v not received", m)
		}
	}
	// Messages of another protocol version are ignored.
	call(a.ch, "postMessage", js(t, `return {v: 99, k: 1, at: 0};`))
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-got:
		t.Errorf("received %+v from another version", r)
	case r := <-self:
		t.Errorf("a tab heard itself: %+v", r)
	default:
	}
	a.close()
	b.close()
	other.close()
	if n := Live(); n != 0 {
		t.Errorf("%d callbacks left", n)
	}
}

// TestAgentIdleLogout runs the whole agent against the fake server: it
// sends heartbeats, activity keeps the session, idleness ends it with the
// reason and the duration, and nothing is left behind.
func TestAgentIdleLogout(t *testing.T) {
	srv, page := js(t, fakeServer), js(t, fakePage)
	a, err := Start(env(page, srv, safejs.Undefined()))
	if err != nil || a == nil {
		t.Fatalf("Start: %v", err)
	}
	started := time.Now()
	// Active for longer than the idle limit.
	var idleFrom time.Time
	for time.Since(started) < 3*time.Second {
		call(page, "act")
		idleFrom = time.Now()
		time.Sleep(100 * time.Millisecond)
	}
	if left := strs(get(page, "left")); len(left) != 0 {
		t.Fatalf("left for %v while active", left)
	}
	if n := beats(srv); n < 10 {
		t.Errorf("%d heartbeats in 3 s at one each 50 ms", n)
	}
	// Idle: out after 2 seconds (less the 250 ms in which events are
	// taken once).
	eventually(t, 5*time.Second, "the idle logout", func() bool { return length(get(page, "left")) > 0 })
	if d := time.Since(idleFrom); d < 1700*time.Millisecond {
		t.Errorf("logged out after %v idle, before the limit", d)
	}
	if left := strs(get(page, "left")); !slices.Equal(left, []string{"idle_timeout 2"}) {
		t.Errorf("left for %v, want idle_timeout after 2 s", left)
	}
	if kept := str(call(get(page, "storage"), "getItem", storageKey)); !strings.Contains(kept, "mdurand") {
		t.Errorf("kept for the next page: %q", kept)
	}
	noLeak(t, a)
	// The listeners are gone: activity now does nothing.
	n := beats(srv)
	call(page, "act")
	time.Sleep(100 * time.Millisecond)
	if beats(srv) != n {
		t.Error("heartbeats after the end")
	}
}

// TestAgentDayOfHeartbeats: a long run holds no more callbacks than the
// first heartbeat did.
func TestAgentDayOfHeartbeats(t *testing.T) {
	srv, page := js(t, fakeServer), js(t, fakePage)
	set(get(srv, "idle"), "enabled", false)
	set(srv, "heartbeatSeconds", 0.005)
	a, err := Start(env(page, srv, safejs.Undefined()))
	if err != nil || a == nil {
		t.Fatalf("Start: %v", err)
	}
	peak := 0
	for beats(srv) < 400 {
		peak = max(peak, Live())
		time.Sleep(5 * time.Millisecond)
	}
	if peak > 16 {
		t.Errorf("up to %d callbacks held", peak)
	}
	noLeak(t, a)
}

// TestAgentSeatless: a session without a seat reports at its own long
// interval, which heartbeat answers (that do not carry it) do not undo,
// and before the server could judge the active user idle.
func TestAgentSeatless(t *testing.T) {
	srv, page := js(t, fakeServer), js(t, fakePage)
	set(srv, "reportSeconds", 0.6) // heartbeats every 50 ms for a seat
	set(get(srv, "idle"), "enabled", false)
	a, err := Start(env(page, srv, safejs.Undefined()))
	if err != nil || a == nil {
		t.Fatalf("Start: %v", err)
	}
	time.Sleep(2 * time.Second)
	if n := beats(srv); n < 3 || n > 5 {
		t.Errorf("%d reports in 2 s, want one at the load and one each 0.6 s", n)
	}
	noLeak(t, a)
}

func TestAgentNetworkErrorsKeepThePage(t *testing.T) {
	srv, page := js(t, fakeServer), js(t, fakePage)
	set(get(srv, "idle"), "enabled", false)
	a, err := Start(env(page, srv, safejs.Undefined()))
	if err != nil || a == nil {
		t.Fatalf("Start: %v", err)
	}
	set(srv, "fail", true)
	time.Sleep(time.Second) // twice the lease
	if left := strs(get(page, "left")); len(left) != 0 {
		t.Errorf("left for %v on network errors", left)
	}
	// Tried again, never more often than a heartbeat (50 ms) is due.
	if n := length(get(srv, "calls")); n < 2 || n > 24 {
		t.Errorf("%d tries in a second", n)
	}
	set(srv, "fail", false)
	set(srv, "reason", "seat_lost")
	eventually(t, 5*time.Second, "the end", func() bool { return length(get(page, "left")) > 0 })
	if left := strs(get(page, "left")); !slices.Equal(left, []string{"seat_lost"}) {
		t.Errorf("left for %v", left)
	}
	noLeak(t, a)
}

func TestAgentSessionOver(t *testing.T) {
	srv, page := js(t, fakeServer), js(t, fakePage)
	set(srv, "reason", "replaced")
	a, err := Start(env(page, srv, safejs.Undefined()))
	if err != nil || a != nil {
		t.Fatalf("Start: %v, %v", a, err)
	}
	if left := strs(get(page, "left")); !slices.Equal(left, []string{"replaced"}) {
		t.Errorf("left for %v", left)
	}
	if n := Live(); n != 0 {
		t.Errorf("%d callbacks left", n)
	}
}

// TestTabs: two pages of one session. Without Web Locks each sends its
// heartbeats; they share activity and the end.
func TestTabs(t *testing.T) {
	srv := js(t, fakeServer)
	pa, pb := js(t, fakePage), js(t, fakePage)
	a, err := Start(env(pa, srv, safejs.Undefined()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Start(env(pb, srv, safejs.Undefined()))
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	for time.Since(started) < 3*time.Second { // activity in a only
		call(pa, "act")
		time.Sleep(100 * time.Millisecond)
	}
	if left := strs(get(pb, "left")); len(left) != 0 {
		t.Fatalf("b left for %v while the user was active in a", left)
	}
	// Log out in a: the page says so, b follows.
	js(t, `return (w) => w.dispatchEvent(new CustomEvent('sesame:leave', {detail: {reason: 'logged_out'}}));`).Invoke(get(pa, "window"))
	eventually(t, 5*time.Second, "b to leave", func() bool { return length(get(pb, "left")) > 0 })
	if left := strs(get(pb, "left")); !slices.Equal(left, []string{"logged_out"}) {
		t.Errorf("b left for %v", left)
	}
	if left := strs(get(pa, "left")); len(left) != 0 {
		t.Errorf("a, leaving on its own, was sent away again: %v", left)
	}
	noLeak(t, a, b)
}

// TestElection: with Web Locks one tab sends the heartbeats; a tab shown
// steals the lead; a stopped tab gives the lock back.
func TestElection(t *testing.T) {
	srvA, srvB := js(t, fakeServer), js(t, fakeServer)
	for _, s := range []safejs.Value{srvA, srvB} {
		// Slow enough for a loaded machine: a follower takes the lead
		// after 2.5 heartbeats of silence.
		set(get(s, "idle"), "enabled", false)
		set(s, "heartbeatSeconds", 0.2)
		set(s, "leaseSeconds", 2)
	}
	locks := js(t, fakeLocks)
	pa, pb := js(t, fakePage), js(t, fakePage)
	a, err := Start(env(pa, srvA, locks))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a to lead", a.Leader)
	call(pb, "show", false) // b opens hidden: it waits in line
	envB := env(pb, srvB, locks)
	envB.Document = get(pb, "document")
	b, err := Start(envB)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if !a.Leader() || b.Leader() {
		t.Fatalf("leaders: a %v, b %v", a.Leader(), b.Leader())
	}
	nb := beats(srvB)
	time.Sleep(time.Second)
	if d := beats(srvB) - nb; d != 0 {
		t.Errorf("the follower sent %d heartbeats", d)
	}
	// b shown: it steals the lead; a follows and waits in line.
	call(pb, "show", true)
	eventually(t, 5*time.Second, "b to lead", func() bool { return b.Leader() && !a.Leader() })
	na, nb := beats(srvA), beats(srvB)
	eventually(t, 5*time.Second, "b to send heartbeats", func() bool { return beats(srvB) >= nb+3 })
	if d := beats(srvA) - na; d > 1 { // one may have been on its way
		t.Errorf("a sent %d heartbeats after losing the lead", d)
	}
	if w := num(call(locks, "waiting", "sesame-agent-1:"+a.id)); w != 1 {
		t.Errorf("%v requests waiting, want a's only (leaders a %v b %v, held %v)", w, a.Leader(), b.Leader(), truthy(call(locks, "held", "sesame-agent-1:"+a.id)))
	}
	// b stops (its page is gone): a takes over.
	b.Stop()
	eventually(t, 5*time.Second, "a to lead again", a.Leader)
	noLeak(t, a, b)
	if truthy(call(locks, "held", "sesame-agent-1:"+a.id)) {
		t.Error("the lock is still held after both stopped")
	}
}
