//go:build js && wasm

package browser

import (
	"sync"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/sesame-ecole/sesame/wasm/agent"
)

// Env is what the agent uses of the page; Globals gives the browser's.
// Tests under Node give their own.
type Env struct {
	// Window receives the activity, focus, online, pageshow and
	// sesame:leave events.
	Window safejs.Value
	// Document tells the visibility and holds the dialog; undefined: no
	// dialog (under Node).
	Document safejs.Value
	// Sesame is window.Sesame (sesame.js): leave(reason, seconds) goes to
	// the sign-in page, duration(seconds) writes a duration in French.
	Sesame safejs.Value
	// Fetch is the fetch function.
	Fetch safejs.Value
	// Channel is the BroadcastChannel constructor; undefined: each tab
	// is an agent of its own.
	Channel safejs.Value
	// Locks is navigator.locks; undefined: every tab sends heartbeats.
	Locks safejs.Value
	// Storage is localStorage, which keeps the heartbeats' cadence across
	// page loads; undefined: none kept.
	Storage safejs.Value
	// API is the API's path: "/api/v1".
	API string
	// Rand returns a number in [0, 1) to spread retries; nil: no spread.
	Rand func() float64
}

// Globals returns the page's environment.
func Globals() Env {
	g := safejs.Global()
	math := get(g, "Math")
	return Env{
		Window:   g,
		Document: get(g, "document"),
		Sesame:   get(g, "Sesame"),
		Fetch:    get(g, "fetch"),
		Channel:  get(g, "BroadcastChannel"),
		Locks:    get(g, "navigator", "locks"),
		Storage:  get(g, "localStorage"), // undefined when storage is refused
		API:      "/api/v1",
		Rand:     func() float64 { return num(call(math, "random")) },
	}
}

// storageKey is where the last answered heartbeat is kept. One key for
// the browser: a new session overwrites the last one's.
const storageKey = "sesame.agent"

// Agent is the agent of one page.
type Agent struct {
	env   Env
	api   api
	id    string
	bus   *bus
	elect *election
	ui    ui
	timer *time.Timer
	wg    sync.WaitGroup // heartbeats and lock requests in flight
	done  chan struct{}

	mu      sync.Mutex // guards m and stopped; never held across a JS call
	m       *agent.Machine
	stopped bool

	listeners []listener
	funcs     []safejs.Func
	lastEvent time.Time // the last activity event let through
	leaving   bool      // the agent itself sends the page away
	role      string    // shown in <html data-agent>
}

type listener struct {
	target  safejs.Value
	typ     string
	fn      safejs.Func
	capture bool
}

// now is the wall clock, without the monotonic reading: timestamps are
// compared with other tabs' and must count the time a laptop slept.
func now() time.Time { return time.Now().Round(0) }

// Start gets the session, then runs the agent until the session ends or
// the page leaves. It blocks while the API cannot be reached: call it from
// main, never from a JS callback. It returns nil, nil when the session is
// already over (the page is then sent to the sign-in page).
func Start(env Env) (*Agent, error) {
	a := &Agent{env: env, api: api{fetch: env.Fetch, base: env.API}, done: make(chan struct{})}
	s, end := a.session()
	if end != nil {
		a.leave(*end)
		return nil, nil
	}
	a.id = s.id
	name := "sesame-agent-1:" + s.id
	a.bus = openBus(env.Channel, name, func(msg agent.Message) {
		a.step(func(t time.Time) agent.Out { return a.m.Remote(t, msg) })
	})
	elected := a.bus != nil && isFunc(get(env.Locks, "request"))
	visible := str(get(env.Document, "visibilityState")) != "hidden"
	a.m = agent.New(now(), s.cfg, agent.Options{Shared: a.bus != nil, Elected: elected, Visible: visible,
		Last: a.last(), Rand: env.Rand})
	a.timer = time.AfterFunc(time.Hour, func() { a.step(a.m.Tick) })
	a.timer.Stop()
	a.ui = ui{doc: env.Document, sesame: env.Sesame, stay: func() { a.step(a.m.Activity) }}
	if err := a.ui.build(); err != nil {
		a.Stop()
		return nil, err
	}
	if err := a.listen(); err != nil {
		a.Stop()
		return nil, err
	}
	if elected {
		a.elect = &election{locks: env.Locks, name: name, wg: &a.wg,
			lead: func(l bool) { a.step(func(t time.Time) agent.Out { return a.m.Lead(t, l) }) }}
		if !visible { // a shown tab claims the lead at its first tick
			a.elect.request(false)
		}
	}
	a.step(a.m.Tick)
	return a, nil
}

// session gets the session, trying again while the API cannot be reached
// or is busy: after the Retry-After a busy server gave, spread by up to
// half, otherwise with a growing backoff. It never gives up.
func (a *Agent) session() (session, *agent.End) {
	wait := time.Second
	for {
		s, end, err := a.api.session()
		if err == nil {
			return s, end
		}
		if b, ok := err.(*busyError); ok { // api.session's own error, never wrapped
			time.Sleep(agent.Jitter(b.retry, a.env.Rand))
			continue
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Minute)
	}
}

// Done is closed when the agent has stopped.
func (a *Agent) Done() <-chan struct{} { return a.done }

// Wait waits until the agent has stopped and what it had in flight has
// settled, so that no callback of it is left to the page.
func (a *Agent) Wait() {
	<-a.done
	a.wg.Wait()
}

// Leader reports whether this tab sends the heartbeats.
func (a *Agent) Leader() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m.Leader()
}

// step applies one input to the machine, then carries out its answer.
func (a *Agent) step(f func(time.Time) agent.Out) {
	a.mu.Lock()
	if a.stopped || a.m == nil {
		a.mu.Unlock()
		return
	}
	out := f(now())
	leader := a.m.Leader()
	a.mu.Unlock()
	a.apply(out, leader)
}

func (a *Agent) apply(out agent.Out, leader bool) {
	for _, msg := range out.Share {
		if a.bus != nil {
			a.bus.post(msg)
		}
		if msg.Kind == agent.KindBeat {
			a.store(msg)
		}
	}
	if b := out.Beat; b != nil {
		a.wg.Add(1)
		go a.beat(*b)
	}
	if out.Claim && a.elect != nil {
		a.elect.request(true)
	}
	a.ui.warn(out.Warning, out.Remaining)
	a.ui.setOffline(out.Offline)
	switch {
	case a.elect == nil:
		a.mark("tab")
	case leader:
		a.mark("leader")
	default:
		a.mark("follower")
	}
	if out.End != nil {
		a.leave(*out.End)
	}
	if out.Done {
		a.Stop()
		return
	}
	if !out.Wake.IsZero() {
		a.timer.Reset(max(out.Wake.Sub(now()), 0))
	}
}

// beat sends a heartbeat and hands the answer to the machine.
func (a *Agent) beat(b agent.Beat) {
	defer a.wg.Done()
	a.mu.Lock()
	timeout := min(max(a.m.Config().Heartbeat, 10*time.Second), 30*time.Second)
	a.mu.Unlock()
	ans := a.api.heartbeat(b.Idle, timeout)
	a.step(func(t time.Time) agent.Out { return a.m.Answer(t, b, ans) })
}

// mark shows the agent's role on <html data-agent="…">: leader, follower,
// tab (every tab on its own) or ended.
func (a *Agent) mark(role string) {
	if role == a.role {
		return
	}
	a.role = role
	set(get(a.env.Document, "documentElement", "dataset"), "agent", role)
}

// leave sends the page to the sign-in page, saying why.
func (a *Agent) leave(e agent.End) {
	a.leaving = true
	seconds := safejs.Undefined()
	if e.Reason == agent.ReasonIdleTimeout && e.Timeout > 0 {
		seconds, _ = safejs.ValueOf(int((e.Timeout + time.Second/2) / time.Second))
	}
	call(a.env.Sesame, "leave", e.Reason, seconds)
}

// store keeps the last answered heartbeat for the next page load.
func (a *Agent) store(m agent.Message) {
	v := call(get(safejs.Global(), "JSON"), "stringify", map[string]any{
		"id": a.id, "at": m.At.UnixMilli(), "rep": m.Reported.UnixMilli()})
	call(a.env.Storage, "setItem", storageKey, v)
}

// last reads what store kept, if it is this session's.
func (a *Agent) last() *agent.Message {
	s := call(a.env.Storage, "getItem", storageKey)
	if s.Type() != safejs.TypeString {
		return nil
	}
	v := call(get(safejs.Global(), "JSON"), "parse", s)
	if str(get(v, "id")) != a.id {
		return nil
	}
	return &agent.Message{Kind: agent.KindBeat, At: millis(get(v, "at")), Reported: millis(get(v, "rep"))}
}

// listen adds the agent's event listeners.
func (a *Agent) listen() error {
	activity, err := a.fn(a.onActivity)
	if err != nil {
		return err
	}
	for _, t := range []string{"pointerdown", "pointermove", "keydown", "wheel", "touchstart"} {
		a.on(a.env.Window, t, true, activity)
	}
	a.on(a.env.Window, "focus", false, activity) // the window's own focus only
	handlers := []struct {
		target safejs.Value
		typ    string
		f      func(time.Time) agent.Out
	}{
		{a.env.Document, "visibilitychange", func(t time.Time) agent.Out {
			return a.m.Visibility(t, str(get(a.env.Document, "visibilityState")) != "hidden")
		}},
		{a.env.Window, "online", func(t time.Time) agent.Out { return a.m.Online(t) }},
		{a.env.Window, "pageshow", func(t time.Time) agent.Out { return a.m.Tick(t) }},
	}
	for _, h := range handlers {
		fn, err := a.fn(func(safejs.Value, []safejs.Value) any {
			a.step(h.f)
			return nil
		})
		if err != nil {
			return err
		}
		a.on(h.target, h.typ, false, fn)
	}
	leave, err := a.fn(a.onLeave)
	if err != nil {
		return err
	}
	a.on(a.env.Window, "sesame:leave", false, leave)
	return nil
}

func (a *Agent) fn(f func(safejs.Value, []safejs.Value) any) (safejs.Func, error) {
	fn, err := newFunc(f)
	if err == nil {
		a.funcs = append(a.funcs, fn)
	}
	return fn, err
}

func (a *Agent) on(target safejs.Value, typ string, capture bool, fn safejs.Func) {
	if !isFunc(get(target, "addEventListener")) {
		return
	}
	call(target, "addEventListener", typ, fn, map[string]any{"capture": capture, "passive": true})
	a.listeners = append(a.listeners, listener{target, typ, fn, capture})
}

// onActivity takes the user's events, four a second at most.
func (a *Agent) onActivity(_ safejs.Value, args []safejs.Value) any {
	if a.ui.busy || a.ui.inside(arg(args, 0)) {
		return nil
	}
	t := now()
	if d := t.Sub(a.lastEvent); d >= 0 && d < 250*time.Millisecond {
		return nil
	}
	a.lastEvent = t
	a.step(a.m.Activity)
	return nil
}

// onLeave hears the page leave on its own (sesame.js's leave) and tells the
// other tabs.
func (a *Agent) onLeave(_ safejs.Value, args []safejs.Value) any {
	if a.leaving {
		return nil
	}
	d := get(arg(args, 0), "detail")
	e := agent.End{Reason: str(get(d, "reason")), Timeout: seconds(get(d, "seconds"))}
	if e.Reason == "" {
		a.Stop()
		return nil
	}
	a.step(func(t time.Time) agent.Out { return a.m.Leave(t, e) })
	return nil
}

// Stop removes the agent from the page: listeners, channel, lock, timer
// and dialog, releasing every callback.
func (a *Agent) Stop() {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
	}
	for _, l := range a.listeners {
		call(l.target, "removeEventListener", l.typ, l.fn, map[string]any{"capture": l.capture})
	}
	for _, f := range a.funcs {
		release(f)
	}
	a.listeners, a.funcs = nil, nil
	if a.bus != nil {
		a.bus.close()
	}
	if a.elect != nil {
		a.elect.stop()
	}
	a.ui.remove()
	a.mark("ended")
	close(a.done)
}
