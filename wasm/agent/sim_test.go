package agent_test

import (
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/wasm/agent"
)

// t0 is when every simulation starts: a whole minute, as Chrome aligns the
// timers of hidden tabs on whole minutes.
var t0 = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

// defaults are the product's settings: 30 minutes idle, a warning a minute
// before, a heartbeat a minute, a lease of three.
var defaults = agent.Config{Idle: true, Timeout: 30 * time.Minute, Warning: time.Minute,
	Heartbeat: time.Minute, Lease: 3 * time.Minute}

// seatless are the settings of a session without a seat to keep: it
// reports every 10 minutes.
var seatless = agent.Config{Idle: true, Timeout: 30 * time.Minute, Warning: time.Minute,
	Heartbeat: time.Minute, Lease: 3 * time.Minute, Report: 10 * time.Minute}

// server is the heartbeat side of the service reduced to its rules (the
// three steps of DESIGN.md and the 401 reasons), with a log of what it
// received.
type server struct {
	cfg     agent.Config
	lastAct time.Time
	reason  string // the session is over, why
	down    bool   // no answer at all
	// busy > 0 answers every heartbeat 503 with that Retry-After.
	busy  time.Duration
	beats []received
}

type received struct {
	at    time.Time
	tab   string
	idle  time.Duration
	final bool
}

func (s *server) heartbeat(now time.Time, tab string, b agent.Beat) agent.Answer {
	if s.down {
		return agent.Answer{}
	}
	if s.busy > 0 {
		return agent.Answer{RetryAfter: s.busy}
	}
	s.beats = append(s.beats, received{at: now, tab: tab, idle: b.Idle, final: b.Final})
	if s.reason != "" {
		return agent.Answer{End: &agent.End{Reason: s.reason}}
	}
	idle := func() bool { return s.cfg.Idle && now.Sub(s.lastAct) >= s.cfg.Timeout }
	if idle() {
		s.reason = agent.ReasonIdleTimeout
		return agent.Answer{End: &agent.End{Reason: s.reason, Timeout: s.cfg.Timeout}}
	}
	s.lastAct = now.Add(-max(b.Idle, 0))
	if idle() {
		s.reason = agent.ReasonIdleTimeout
		return agent.Answer{End: &agent.End{Reason: s.reason, Timeout: s.cfg.Timeout}}
	}
	return agent.Answer{OK: true, Config: s.cfg}
}

// beatsBy counts the heartbeats received from tab ("" for all) in [from, to).
func (s *server) beatsBy(tab string, from, to time.Time) int {
	n := 0
	for _, b := range s.beats {
		if (tab == "" || b.tab == tab) && !b.at.Before(from) && b.at.Before(to) {
			n++
		}
	}
	return n
}

// tab is one page with its agent, and what the shell would have shown.
type tab struct {
	name    string
	m       *agent.Machine
	wake    time.Time
	warning bool
	left    time.Duration // the countdown shown
	warned  []time.Time   // when the warning appeared
	offline bool
	offAt   []time.Time // when the lease-at-risk notice appeared
	sent    []time.Time // when heartbeats were sent, answered or not
	end     *agent.End
	endAt   time.Time
	done    bool
}

// world runs tabs of one session against a server, on a fake clock.
type world struct {
	t   *testing.T
	now time.Time
	srv *server
	// tabs of the session; the first leads when shared.
	tabs []*tab
	// throttle > 0 makes timers fire only on multiples of it, as Chrome
	// does for hidden tabs (once a minute).
	throttle time.Duration
	pending  []func()
}

func newWorld(t *testing.T, cfg agent.Config, shared bool, names ...string) *world {
	t.Helper()
	w := &world{t: t, now: t0, srv: &server{cfg: cfg, lastAct: t0}}
	for i, n := range names {
		tb := &tab{name: n}
		tb.m = agent.New(w.now, cfg, agent.Options{Shared: shared, Elected: shared, Visible: i == 0})
		w.tabs = append(w.tabs, tb)
		w.apply(tb, tb.m.Tick(w.now))
		if shared && i == 0 {
			w.apply(tb, tb.m.Lead(w.now, true))
		}
	}
	w.flush()
	return w
}

func (w *world) tab(name string) *tab {
	for _, tb := range w.tabs {
		if tb.name == name {
			return tb
		}
	}
	w.t.Fatalf("no tab %s", name)
	return nil
}

// apply carries out what a tab's agent asked, as the shell would; messages
// and answers are queued and delivered by flush.
func (w *world) apply(tb *tab, out agent.Out) {
	if tb.done {
		return
	}
	if out.Warning && !tb.warning {
		tb.warned = append(tb.warned, w.now)
	}
	tb.warning, tb.left = out.Warning, out.Remaining
	if out.Offline && !tb.offline {
		tb.offAt = append(tb.offAt, w.now)
	}
	tb.offline = out.Offline
	tb.wake = out.Wake
	if out.Beat != nil {
		tb.sent = append(tb.sent, w.now)
	}
	for _, msg := range out.Share {
		for _, other := range w.tabs {
			if other != tb {
				w.pending = append(w.pending, func() { w.apply(other, other.m.Remote(w.now, msg)) })
			}
		}
	}
	if b := out.Beat; b != nil {
		w.pending = append(w.pending, func() {
			w.apply(tb, tb.m.Answer(w.now, *b, w.srv.heartbeat(w.now, tb.name, *b)))
		})
	}
	if out.Claim {
		w.pending = append(w.pending, func() {
			for _, other := range w.tabs {
				if other != tb && other.m.Leader() {
					w.apply(other, other.m.Lead(w.now, false))
				}
			}
			w.apply(tb, tb.m.Lead(w.now, true))
		})
	}
	if out.End != nil && tb.end == nil {
		tb.end, tb.endAt = out.End, w.now
	}
	if out.Done {
		tb.done = true
	}
}

// flush delivers the queued messages and answers, at the current instant.
func (w *world) flush() {
	for len(w.pending) > 0 {
		f := w.pending[0]
		w.pending = w.pending[1:]
		f()
	}
}

// run ticks the tabs at the instants they ask for (rounded up to the
// throttle) until the clock reads until.
func (w *world) run(until time.Time) {
	w.t.Helper()
	for steps := 0; ; steps++ {
		if steps > 100000 {
			w.t.Fatal("the agent does not settle")
		}
		next := time.Time{}
		for _, tb := range w.tabs {
			if tb.done || tb.wake.IsZero() {
				continue
			}
			at := tb.wake
			if w.throttle > 0 {
				at = roundUp(at, w.throttle)
			}
			if next.IsZero() || at.Before(next) {
				next = at
			}
		}
		if next.IsZero() || next.After(until) {
			w.now = until
			return
		}
		if next.Before(w.now) { // asleep when it was due
			next = w.now
		}
		w.now = next
		for _, tb := range w.tabs {
			at := tb.wake
			if w.throttle > 0 {
				at = roundUp(at, w.throttle)
			}
			if !tb.done && !tb.wake.IsZero() && !at.After(w.now) {
				w.apply(tb, tb.m.Tick(w.now))
			}
		}
		w.flush()
	}
}

// sleep moves the clock without any tick, as a laptop's lid closed does.
func (w *world) sleep(d time.Duration) { w.now = w.now.Add(d) }

// act is the user's activity in a tab now.
func (w *world) act(name string) {
	tb := w.tab(name)
	w.apply(tb, tb.m.Activity(w.now))
	w.flush()
}

// actEvery acts in a tab every period until the clock reads until.
func (w *world) actEvery(name string, period time.Duration, until time.Time) {
	w.t.Helper()
	for w.now.Add(period).Before(until) {
		w.run(w.now.Add(period))
		w.act(name)
	}
	w.run(until)
}

func roundUp(t time.Time, d time.Duration) time.Time {
	r := t.Truncate(d)
	if r.Before(t) {
		r = r.Add(d)
	}
	return r
}

func at(d time.Duration) time.Time { return t0.Add(d) }
