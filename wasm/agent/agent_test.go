package agent_test

import (
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/wasm/agent"
)

func TestIdleWarnsThenLogsOut(t *testing.T) {
	w := newWorld(t, defaults, false, "a")
	a := w.tab("a")

	w.run(at(29*time.Minute - time.Second))
	if a.warning || a.end != nil {
		t.Fatalf("before the warning: warning %v, end %v", a.warning, a.end)
	}
	w.run(at(29 * time.Minute))
	if !a.warning || a.left != time.Minute {
		t.Fatalf("at 29 min: warning %v with %v left, want a minute", a.warning, a.left)
	}
	w.run(at(29*time.Minute + 20*time.Second))
	if !a.warning || a.left != 40*time.Second {
		t.Errorf("countdown: %v left, want 40s", a.left)
	}
	w.run(at(30 * time.Minute))
	if a.end == nil || a.end.Reason != agent.ReasonIdleTimeout || a.end.Timeout != 30*time.Minute {
		t.Fatalf("at 30 min: end %+v, want idle_timeout after 30 min", a.end)
	}
	if !a.endAt.Equal(at(30 * time.Minute)) {
		t.Errorf("ended at %v", a.endAt.Sub(t0))
	}
	last := w.srv.beats[len(w.srv.beats)-1]
	if !last.final || last.idle < 30*time.Minute {
		t.Errorf("last heartbeat %+v: want the final one reporting 30 min idle", last)
	}
	if w.srv.reason != agent.ReasonIdleTimeout {
		t.Errorf("server: session %q, want ended by idle_timeout (seat freed)", w.srv.reason)
	}
	if !a.done {
		t.Error("the agent goes on after the end")
	}
	// A heartbeat a minute (the first at the page's load) and the final one.
	if n := len(w.srv.beats); n != 31 {
		t.Errorf("%d heartbeats, want 31", n)
	}
}

func TestActivityCancelsWarning(t *testing.T) {
	w := newWorld(t, defaults, false, "a")
	a := w.tab("a")
	w.run(at(29*time.Minute + 50*time.Second))
	if !a.warning {
		t.Fatal("no warning")
	}
	before := len(w.srv.beats)
	w.act("a") // or the button Rester connecté: the same input
	if a.warning {
		t.Fatal("the warning stays after activity")
	}
	// The server last heard of activity at t0: it is told at once.
	if len(w.srv.beats) != before+1 || w.srv.beats[before].idle != 0 {
		t.Fatalf("no immediate heartbeat after the warning: %+v", w.srv.beats[before:])
	}
	w.run(at(45 * time.Minute))
	if a.end != nil || w.srv.reason != "" {
		t.Fatalf("ended %+v (server %q) although the user stayed", a.end, w.srv.reason)
	}
	// Idle again: logged out 30 minutes after that activity.
	w.run(at(29*time.Minute + 50*time.Second + 30*time.Minute))
	if a.end == nil || a.end.Reason != agent.ReasonIdleTimeout {
		t.Fatalf("end %+v", a.end)
	}
	if got := a.endAt.Sub(t0); got != 59*time.Minute+50*time.Second {
		t.Errorf("ended at %v", got)
	}
	if len(a.warned) != 2 {
		t.Errorf("warned %d times, want 2", len(a.warned))
	}
}

func TestSteadyActivityKeepsSession(t *testing.T) {
	w := newWorld(t, defaults, false, "a")
	a := w.tab("a")
	w.actEvery("a", 7*time.Minute, at(3*time.Hour))
	if a.end != nil || len(a.warned) != 0 {
		t.Fatalf("end %+v, warned %v", a.end, a.warned)
	}
	if n := w.srv.beatsBy("", t0, at(3*time.Hour)); n < 175 || n > 182 {
		t.Errorf("%d heartbeats in 3 hours, want one a minute", n)
	}
}

// A short idle limit beside the heartbeat: the server would judge the
// session idle before the next regular heartbeat, so activity is reported
// early.
func TestShortLimitReportsActivityEarly(t *testing.T) {
	cfg := agent.Config{Idle: true, Timeout: time.Minute, Warning: 30 * time.Second, Heartbeat: time.Minute, Lease: 3 * time.Minute}
	w := newWorld(t, cfg, false, "a")
	a := w.tab("a")
	w.actEvery("a", 10*time.Second, at(10*time.Minute))
	if a.end != nil || w.srv.reason != "" || len(a.warned) != 0 {
		t.Fatalf("active user: end %+v, server %q, warned %v", a.end, w.srv.reason, a.warned)
	}
}

func TestSleepJump(t *testing.T) {
	t.Run("past the limit", func(t *testing.T) {
		w := newWorld(t, defaults, false, "a")
		a := w.tab("a")
		w.run(at(5 * time.Minute))
		w.sleep(2 * time.Hour) // the lid closed: no timer at all
		w.run(w.now)           // the first tick on wake, whatever it was set for
		if a.end == nil || a.end.Reason != agent.ReasonIdleTimeout {
			t.Fatalf("after a 2-hour sleep: end %+v", a.end)
		}
		last := w.srv.beats[len(w.srv.beats)-1]
		if !last.final || last.idle != 2*time.Hour+5*time.Minute {
			t.Errorf("final heartbeat %+v: want the whole idleness reported", last)
		}
	})
	t.Run("within the limit", func(t *testing.T) {
		w := newWorld(t, defaults, false, "a")
		a := w.tab("a")
		w.act("a")
		w.run(at(2 * time.Minute))
		w.sleep(10 * time.Minute) // longer than the lease
		n := len(w.srv.beats)
		w.apply(a, a.m.Tick(w.now))
		w.flush()
		if a.end != nil || len(w.srv.beats) != n+1 {
			t.Fatalf("on wake: end %+v, %d heartbeats sent, want one at once", a.end, len(w.srv.beats)-n)
		}
		if got := w.srv.beats[n].idle; got != 12*time.Minute {
			t.Errorf("reported %v idle, want 12m", got)
		}
		w.run(at(30 * time.Minute))
		if a.end == nil || !a.endAt.Equal(at(30*time.Minute)) {
			t.Errorf("end %+v at %v, want idle_timeout 30 min after the last activity", a.end, a.endAt.Sub(t0))
		}
	})
}

// Chrome fires the timers of a hidden tab once a minute, aligned: the
// agent is late, never wrong.
func TestThrottledTicks(t *testing.T) {
	cfg := defaults
	cfg.Timeout = 5*time.Minute + 30*time.Second
	w := newWorld(t, cfg, false, "a")
	w.throttle = time.Minute
	a := w.tab("a")
	w.run(at(time.Hour))
	if a.end == nil || a.end.Reason != agent.ReasonIdleTimeout {
		t.Fatalf("end %+v", a.end)
	}
	if got := a.endAt.Sub(t0); got != 6*time.Minute {
		t.Errorf("ended at %v, want the first tick after 5m30s: 6m", got)
	}
	if len(a.warned) != 1 || !a.warned[0].Equal(at(5*time.Minute)) {
		t.Errorf("warned at %v, want at the first tick after 4m30s: 5m", a.warned)
	}
	last := w.srv.beats[len(w.srv.beats)-1]
	if !last.final || last.idle != 6*time.Minute {
		t.Errorf("final heartbeat %+v", last)
	}
	for i := 1; i < len(w.srv.beats); i++ {
		if gap := w.srv.beats[i].at.Sub(w.srv.beats[i-1].at); gap > 2*time.Minute {
			t.Errorf("heartbeats %v apart", gap)
		}
	}
}

func TestHeartbeatFailuresAndRecovery(t *testing.T) {
	cfg := defaults
	cfg.Idle = false
	w := newWorld(t, cfg, false, "a")
	a := w.tab("a")
	w.run(at(5*time.Minute + 30*time.Second))
	w.srv.down = true
	from := len(a.sent)
	w.run(at(9 * time.Minute))
	tries := a.sent[from:]
	// Retries back off: 5 s, 10 s, 20 s, 40 s, then a minute.
	var gaps []time.Duration
	for i := 1; i < len(tries); i++ {
		gaps = append(gaps, tries[i].Sub(tries[i-1]))
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute}
	for i, g := range want {
		if i >= len(gaps) || gaps[i] != g {
			t.Fatalf("retry gaps %v, want them to start with %v", gaps, want)
		}
	}
	// Told only when the lease is about to lapse: two minutes after the
	// last answer (at 5:00).
	if len(a.offAt) != 1 || !a.offAt[0].Equal(at(7*time.Minute)) {
		t.Errorf("lease-at-risk notice at %v, want at 7m", a.offAt)
	}
	if a.end != nil {
		t.Fatal("the page is left on network errors")
	}
	w.srv.down = false
	w.apply(a, a.m.Online(w.now)) // the browser says the network is back
	w.flush()
	if a.offline {
		t.Error("the notice stays after the server answered")
	}
	if last := w.srv.beats[len(w.srv.beats)-1]; !last.at.Equal(w.now) {
		t.Error("no heartbeat when the network came back")
	}
	w.run(at(20 * time.Minute))
	if a.offline || a.end != nil {
		t.Errorf("after recovery: offline %v, end %+v", a.offline, a.end)
	}
	if n := w.srv.beatsBy("", at(10*time.Minute), at(20*time.Minute)); n != 10 {
		t.Errorf("%d heartbeats in 10 minutes after recovery, want 10", n)
	}
}

// A busy server (503 with Retry-After) is asked again when it said, plus
// a random 0 to 50 %, however long it stays busy, and the session goes on.
func TestBusyFollowsRetryAfter(t *testing.T) {
	cfg := defaults
	cfg.Idle = false
	w := newWorld(t, cfg, false, "a")
	a := w.tab("a")
	draws := []float64{0, 0.5, 0.998}
	n := 0
	a.m = agent.New(w.now, cfg, agent.Options{Rand: func() float64 { n++; return draws[(n-1)%len(draws)] }})
	w.apply(a, a.m.Tick(w.now))
	w.flush()
	w.run(at(5*time.Minute + 30*time.Second))
	w.srv.busy = 2 * time.Second
	from := len(a.sent)
	w.run(at(6*time.Minute + 12*time.Second))
	var gaps []time.Duration
	for i := from + 1; i < len(a.sent); i++ {
		gaps = append(gaps, a.sent[i].Sub(a.sent[i-1]))
	}
	want := []time.Duration{2 * time.Second, 2500 * time.Millisecond, 2998 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond}
	if len(a.sent) <= from || !a.sent[from].Equal(at(6*time.Minute)) || len(gaps) != len(want) {
		t.Fatalf("tries at %v, want from 6m with gaps %v", a.sent[from:], want)
	}
	for i := range want {
		if gaps[i] != want[i] {
			t.Fatalf("retry gaps %v, want %v", gaps, want)
		}
	}
	// Busy for ten minutes: the seat is at risk, but the page stays.
	w.run(at(16 * time.Minute))
	if a.end != nil || a.done || !a.offline {
		t.Fatalf("after ten busy minutes: end %+v, done %v, offline %v", a.end, a.done, a.offline)
	}
	if tries := len(a.sent) - from; tries < 10*60/3 || tries > 10*60/2+1 {
		t.Errorf("%d tries in ten minutes, want one every 2 to 3 s", tries)
	}
	w.srv.busy = 0
	w.run(at(16*time.Minute + 3*time.Second))
	if a.offline || w.srv.beatsBy("a", at(16*time.Minute), at(16*time.Minute+3*time.Second)) != 1 {
		t.Fatalf("not back to normal: offline %v", a.offline)
	}
	w.run(at(26*time.Minute + 3*time.Second))
	if got := w.srv.beatsBy("a", at(16*time.Minute+3*time.Second), at(26*time.Minute+3*time.Second)); got != 10 {
		t.Errorf("%d heartbeats in the ten minutes after, want one a minute", got)
	}
}

func TestJitter(t *testing.T) {
	for _, tc := range []struct {
		r    func() float64
		want time.Duration
	}{
		{nil, 2 * time.Second},
		{func() float64 { return 0 }, 2 * time.Second},
		{func() float64 { return 0.5 }, 2500 * time.Millisecond},
		{func() float64 { return 0.999 }, 2999 * time.Millisecond},
	} {
		if got := agent.Jitter(2*time.Second, tc.r); got != tc.want {
			t.Errorf("Jitter(2s) = %v, want %v", got, tc.want)
		}
	}
}

func TestFinalHeartbeatUnanswered(t *testing.T) {
	w := newWorld(t, defaults, false, "a")
	a := w.tab("a")
	w.run(at(29 * time.Minute))
	w.srv.down = true
	w.run(at(30 * time.Minute))
	if a.end == nil || a.end.Reason != agent.ReasonIdleTimeout || a.end.Timeout != 30*time.Minute {
		t.Errorf("end %+v: the page leaves as the warning said", a.end)
	}
}

func TestReasons(t *testing.T) {
	for _, reason := range []string{agent.ReasonIdleTimeout, agent.ReasonDisconnected, agent.ReasonReplaced,
		agent.ReasonSeatLost, agent.ReasonExpired, agent.ReasonLoggedOut} {
		t.Run(reason, func(t *testing.T) {
			w := newWorld(t, defaults, true, "a", "b")
			a, b := w.tab("a"), w.tab("b")
			w.run(at(3 * time.Minute))
			w.srv.reason = reason // the SPR, another sign-in, the lease, the clock…
			w.run(at(5 * time.Minute))
			if a.end == nil || a.end.Reason != reason {
				t.Fatalf("leading tab: end %+v, want %s", a.end, reason)
			}
			if b.end == nil || b.end.Reason != reason || !b.endAt.Equal(a.endAt) {
				t.Errorf("other tab: end %+v at %v, want %s at once", b.end, b.endAt, reason)
			}
			if reason == agent.ReasonIdleTimeout && a.end.Timeout != defaults.Timeout {
				t.Errorf("idle_timeout without its limit: %+v", a.end)
			}
			if !a.endAt.Equal(at(4 * time.Minute)) {
				t.Errorf("ended at %v, want at the next heartbeat (4m)", a.endAt.Sub(t0))
			}
		})
	}
}

func TestConfigFromHeartbeat(t *testing.T) {
	w := newWorld(t, defaults, true, "a", "b")
	a, b := w.tab("a"), w.tab("b")
	w.run(at(5 * time.Minute))
	// The SPR sets the limit to 10 minutes: every tab applies it at the
	// next heartbeat.
	w.srv.cfg.Timeout = 10 * time.Minute
	w.run(at(6 * time.Minute))
	if got := b.m.Config().Timeout; got != 10*time.Minute {
		t.Errorf("other tab's limit %v", got)
	}
	w.run(at(11 * time.Minute))
	if a.end == nil || b.end == nil || a.end.Timeout != 10*time.Minute {
		t.Fatalf("ends %+v %+v, want idle_timeout after 10 min", a.end, b.end)
	}
	if len(b.warned) != 1 || !b.warned[0].Equal(at(9*time.Minute)) {
		t.Errorf("other tab warned at %v", b.warned)
	}
}

func TestIdleDisabled(t *testing.T) {
	cfg := defaults
	cfg.Idle = false
	w := newWorld(t, cfg, false, "a")
	w.run(at(3 * time.Hour))
	a := w.tab("a")
	if a.end != nil || len(a.warned) != 0 {
		t.Errorf("end %+v, warned %v", a.end, a.warned)
	}
	if n := len(w.srv.beats); n != 181 {
		t.Errorf("%d heartbeats in 3 hours", n)
	}
}

func TestTabs(t *testing.T) {
	t.Run("activity in one keeps all", func(t *testing.T) {
		w := newWorld(t, defaults, true, "a", "b")
		a, b := w.tab("a"), w.tab("b")
		w.actEvery("b", 10*time.Minute, at(2*time.Hour))
		if a.end != nil || b.end != nil || len(a.warned) != 0 || len(b.warned) != 0 {
			t.Fatalf("ends %+v %+v, warned %v %v", a.end, b.end, a.warned, b.warned)
		}
		if n := w.srv.beatsBy("b", t0, at(2*time.Hour)); n != 0 {
			t.Errorf("the other tab sent %d heartbeats", n)
		}
		if n := w.srv.beatsBy("a", t0, at(2*time.Hour)); n < 119 || n > 121 {
			t.Errorf("the leading tab sent %d heartbeats in 2 hours", n)
		}
		// Idle in both: both warned, both leave, at the same time.
		w.run(at(3 * time.Hour))
		if a.end == nil || b.end == nil || !a.endAt.Equal(b.endAt) {
			t.Errorf("ends %+v at %v and %+v at %v", a.end, a.endAt, b.end, b.endAt)
		}
	})
	t.Run("activity shared on the trailing edge", func(t *testing.T) {
		cfg := agent.Config{Idle: true, Timeout: 6 * time.Second, Warning: 2 * time.Second, Heartbeat: time.Second, Lease: 3 * time.Second}
		w := newWorld(t, cfg, true, "a", "b")
		a := w.tab("a")
		// b acts every 300 ms, more often than it shares: a hears of all
		// of it within a second and never warns.
		w.actEvery("b", 300*time.Millisecond, at(20*time.Second))
		if len(a.warned) != 0 || a.end != nil {
			t.Fatalf("a warned %v, end %+v", a.warned, a.end)
		}
		w.run(at(40 * time.Second))
		if a.end == nil || a.endAt.Sub(t0) > 26*time.Second+300*time.Millisecond {
			t.Errorf("a ended %+v at %v, want 6 s after b's last activity", a.end, a.endAt.Sub(t0))
		}
	})
	t.Run("warning cancelled in another tab", func(t *testing.T) {
		w := newWorld(t, defaults, true, "a", "b")
		a, b := w.tab("a"), w.tab("b")
		w.run(at(29*time.Minute + 30*time.Second))
		if !a.warning || !b.warning {
			t.Fatal("no warning in both")
		}
		w.act("b")
		if a.warning || b.warning {
			t.Errorf("warnings after activity in b: a %v, b %v", a.warning, b.warning)
		}
	})
	t.Run("a shown tab takes the lead without a burst", func(t *testing.T) {
		w := newWorld(t, defaults, true, "a", "b")
		a, b := w.tab("a"), w.tab("b")
		w.run(at(10*time.Minute + 20*time.Second))
		w.apply(a, a.m.Visibility(w.now, false))
		w.apply(b, b.m.Visibility(w.now, true))
		w.flush()
		if !b.m.Leader() || a.m.Leader() {
			t.Fatalf("leaders: a %v, b %v", a.m.Leader(), b.m.Leader())
		}
		w.run(at(20 * time.Minute))
		if n := w.srv.beatsBy("a", at(10*time.Minute+21*time.Second), at(20*time.Minute)); n != 0 {
			t.Errorf("a sent %d heartbeats after losing the lead", n)
		}
		if n := w.srv.beatsBy("", at(10*time.Minute), at(20*time.Minute)); n != 10 {
			t.Errorf("%d heartbeats in 10 minutes across the change, want 10", n)
		}
	})
	t.Run("a silent leader is replaced", func(t *testing.T) {
		w := newWorld(t, defaults, true, "a", "b")
		a, b := w.tab("a"), w.tab("b")
		w.apply(b, b.m.Visibility(w.now, true))
		w.flush()
		w.apply(a, a.m.Lead(w.now, true)) // a got the lock back and froze
		w.apply(b, b.m.Lead(w.now, false))
		a.done = true
		w.run(at(5 * time.Minute))
		if !b.m.Leader() {
			t.Fatal("the shown tab did not take the lead from a silent one")
		}
		if gap := w.srv.beats[len(w.srv.beats)-1].at.Sub(w.srv.beats[len(w.srv.beats)-2].at); gap > 3*time.Minute {
			t.Errorf("no heartbeat for %v", gap)
		}
	})
	t.Run("logout in one leaves all", func(t *testing.T) {
		w := newWorld(t, defaults, true, "a", "b", "c")
		w.run(at(3 * time.Minute))
		b := w.tab("b")
		w.apply(b, b.m.Leave(w.now, agent.End{Reason: agent.ReasonLoggedOut}))
		w.flush()
		if b.end != nil {
			t.Error("the tab leaving on its own is sent away again")
		}
		for _, name := range []string{"a", "c"} {
			if tb := w.tab(name); tb.end == nil || tb.end.Reason != agent.ReasonLoggedOut || !tb.done {
				t.Errorf("%s: end %+v", name, tb.end)
			}
		}
	})
	t.Run("one agent per tab without the shared APIs", func(t *testing.T) {
		w := newWorld(t, defaults, false, "a", "b")
		w.run(at(10 * time.Minute))
		if w.srv.beatsBy("a", t0, w.now) != 10 || w.srv.beatsBy("b", t0, w.now) != 10 {
			t.Errorf("heartbeats a %d, b %d", w.srv.beatsBy("a", t0, w.now), w.srv.beatsBy("b", t0, w.now))
		}
	})
}

// A page load keeps the cadence of the heartbeats through the last beat
// stored.
func TestPageLoadKeepsCadence(t *testing.T) {
	last := &agent.Message{Kind: agent.KindBeat, At: t0.Add(-20 * time.Second), Reported: t0.Add(-20 * time.Second), Config: defaults}
	m := agent.New(t0, defaults, agent.Options{Last: last})
	out := m.Tick(t0)
	if out.Beat != nil {
		t.Fatal("a heartbeat at load, 20 s after the last one")
	}
	if !out.Wake.Equal(t0.Add(40 * time.Second)) {
		t.Errorf("wake at %v, want 40 s", out.Wake.Sub(t0))
	}
	if out := agent.New(t0, defaults, agent.Options{}).Tick(t0); out.Beat == nil {
		t.Error("no heartbeat at the first load")
	}
}

// TestHeartbeatsPerHour is what one user costs the server in an hour
// (from the page's load, the first hour included), with the product's
// settings: a seat holder reports every minute, active or idle; a session
// without a seat every 10 minutes, and before the server could judge an
// active user idle; an idle user stops at the idle limit, the session
// being over. Tabs change nothing: one of them reports for all.
func TestHeartbeatsPerHour(t *testing.T) {
	type kind struct {
		name string
		cfg  agent.Config
	}
	kinds := []kind{{"seat holder", defaults}, {"seat-less", seatless}}
	short := seatless
	short.Timeout, short.Warning = 5*time.Minute, time.Minute
	kinds = append(kinds, kind{"seat-less, 5 min idle limit", short})
	off := seatless
	off.Idle = false
	kinds = append(kinds, kind{"seat-less, no disconnection", off})
	want := map[string][2]int{ // active, idle
		"seat holder":                 {60, 31},
		"seat-less":                   {6, 4},
		"seat-less, 5 min idle limit": {17, 2},
		"seat-less, no disconnection": {6, 6},
	}
	t.Logf("%-28s %-6s %8s %8s", "session", "tabs", "active", "idle")
	for _, k := range kinds {
		for _, tabs := range [][]string{{"a"}, {"a", "b", "c"}} {
			var got [2]int
			for i, active := range []bool{true, false} {
				w := newWorld(t, k.cfg, len(tabs) > 1, tabs...)
				if active {
					// The user acts every 20 s, in the last tab (a
					// follower when there are several).
					w.actEvery(tabs[len(tabs)-1], 20*time.Second, at(time.Hour))
				} else {
					w.run(at(time.Hour))
				}
				got[i] = w.srv.beatsBy("", t0, at(time.Hour))
				if active && w.srv.reason != "" {
					t.Errorf("%s, %d tabs: an active user's session ended (%s)", k.name, len(tabs), w.srv.reason)
				}
			}
			t.Logf("%-28s %-6d %8d %8d", k.name, len(tabs), got[0], got[1])
			if got != want[k.name] {
				t.Errorf("%s, %d tabs: %v heartbeats an hour (active, idle), want %v", k.name, len(tabs), got, want[k.name])
			}
		}
	}
}

// An active user of a session without a seat is never ended by the
// server's idle rule, whatever the idle limit beside the report interval,
// however late a hidden tab's timers fire, and however sparse the
// activity; an idle one is warned, then logged out, on time.
func TestSeatlessIdleRule(t *testing.T) {
	for _, limit := range []time.Duration{time.Minute, 5 * time.Minute, 9 * time.Minute, 10 * time.Minute, 30 * time.Minute} {
		for _, throttle := range []time.Duration{0, time.Minute} {
			cfg := seatless
			cfg.Timeout, cfg.Warning = limit, min(time.Minute, limit/2)
			name := "limit " + limit.String() + ", throttle " + throttle.String()
			t.Run(name+", active", func(t *testing.T) {
				// The user acts a little more often than the warning
				// would show: the server must hear of it in time.
				every := limit - cfg.Warning - time.Second
				if throttle > 0 {
					every -= throttle
				}
				every = max(every, 10*time.Second)
				w := newWorld(t, cfg, true, "a", "b")
				w.throttle = throttle
				w.actEvery("b", every, at(4*time.Hour))
				if w.srv.reason != "" || w.tab("a").end != nil {
					t.Fatalf("acting every %v: session ended (%q) at %v", every, w.srv.reason, w.tab("a").endAt.Sub(t0))
				}
				if n := w.srv.beatsBy("", t0, at(4*time.Hour)); limit >= 30*time.Minute && n > 4*7 {
					t.Errorf("%d reports in 4 hours", n)
				}
			})
			t.Run(name+", idle", func(t *testing.T) {
				w := newWorld(t, cfg, true, "a", "b")
				w.throttle = throttle
				w.run(at(limit + 5*time.Minute))
				a, b := w.tab("a"), w.tab("b")
				warnAt, endAt := at(limit-cfg.Warning), at(limit)
				if throttle > 0 {
					warnAt, endAt = roundUp(warnAt, throttle), roundUp(endAt, throttle)
				}
				if len(a.warned) != 1 || !a.warned[0].Equal(warnAt) {
					t.Errorf("warned at %v, want at %v", a.warned, warnAt.Sub(t0))
				}
				if a.end == nil || a.end.Reason != agent.ReasonIdleTimeout || !a.endAt.Equal(endAt) || b.end == nil {
					t.Fatalf("end %+v at %v (other tab %+v), want idle_timeout at %v", a.end, a.endAt.Sub(t0), b.end, endAt.Sub(t0))
				}
				if w.srv.reason != agent.ReasonIdleTimeout {
					t.Errorf("server: %q, want the session ended for idleness", w.srv.reason)
				}
			})
		}
	}
	t.Run("comeback after the warning", func(t *testing.T) {
		w := newWorld(t, seatless, true, "a", "b")
		w.run(at(29*time.Minute + 30*time.Second))
		if !w.tab("b").warning {
			t.Fatal("no warning")
		}
		n := len(w.srv.beats)
		w.act("b")
		if len(w.srv.beats) != n+1 || w.srv.beats[n].idle != 0 || w.srv.beats[n].tab != "a" {
			t.Fatalf("after the comeback: %+v, want one report at once, from the leader", w.srv.beats[n:])
		}
		w.run(at(time.Hour))
		if w.srv.reason != "" && w.tab("a").endAt.Before(at(59*time.Minute+30*time.Second)) {
			t.Errorf("ended at %v", w.tab("a").endAt.Sub(t0))
		}
	})
}

// A session without a seat tells of a server that does not answer only
// once its reports have failed for nearly a lease, and its timing
// survives heartbeat answers, which do not carry the report interval.
func TestSeatlessOffline(t *testing.T) {
	w := newWorld(t, seatless, false, "a")
	a := w.tab("a")
	w.srv.cfg.Report = 0 // heartbeat answers do not say it
	w.run(at(25 * time.Minute))
	if a.offline || a.m.Config().Report != 10*time.Minute {
		t.Fatalf("offline %v, report every %v", a.offline, a.m.Config().Report)
	}
	w.act("a")
	w.srv.down = true
	w.run(at(33 * time.Minute))
	// The server holds the activity of t0 (reported at 20m): the user's of
	// 25m is reported at 28m, which fails; the notice comes two minutes on.
	if len(a.offAt) != 1 || !a.offAt[0].Equal(at(30*time.Minute)) {
		t.Errorf("notice at %v, want two minutes after the failing report of 28m", a.offAt)
	}
	for _, sent := range a.sent {
		if sent.After(at(20*time.Minute)) && sent.Before(at(28*time.Minute)) {
			t.Errorf("a report at %v", sent.Sub(t0))
		}
	}
}

// With BroadcastChannel but no Web Locks, every tab sends its heartbeats
// but they still share activity and the end.
func TestSharedWithoutElection(t *testing.T) {
	w := newWorld(t, defaults, false, "a", "b")
	for _, tb := range w.tabs {
		tb.m = agent.New(w.now, defaults, agent.Options{Shared: true, Visible: true})
		w.apply(tb, tb.m.Tick(w.now))
	}
	w.flush()
	w.actEvery("b", 10*time.Minute, at(time.Hour))
	a := w.tab("a")
	if a.end != nil || len(a.warned) != 0 {
		t.Fatalf("a: end %+v, warned %v", a.end, a.warned)
	}
	if na, nb := w.srv.beatsBy("a", at(time.Minute), at(time.Hour)), w.srv.beatsBy("b", at(time.Minute), at(time.Hour)); na < 55 || nb < 55 {
		t.Errorf("heartbeats a %d, b %d: each tab sends its own", na, nb)
	}
	w.srv.reason = agent.ReasonDisconnected
	w.run(at(time.Hour + 2*time.Minute))
	if a.end == nil || w.tab("b").end == nil {
		t.Error("not both ended")
	}
}
