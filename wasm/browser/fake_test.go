//go:build js && wasm

package browser

import (
	"strings"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
)

// These tests run under Node (go_js_wasm_exec), which has EventTarget,
// BroadcastChannel, fetch's Response and AbortSignal, but no document,
// navigator or localStorage: the page's side is faked in JavaScript.

// js evaluates a JavaScript function body (new Function) with the
// arguments given.
func js(t *testing.T, body string, args ...any) safejs.Value {
	t.Helper()
	fn, err := get(safejs.Global(), "Function").New(body)
	if err != nil {
		t.Fatalf("new Function: %v", err)
	}
	v, err := fn.Invoke(args...)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return v
}

// fakeServer is a fetch that answers like the API: GET /session, and POST
// /heartbeat applying the idle limit; it records every call.
const fakeServer = `
const s = {
  calls: [], fail: false, status: 0, reason: '',
  busy: 0, busyStatus: 503, busyTimes: -1, // busy > 0: answer busyStatus with Retry-After: busy, busyTimes times (-1: always)
  idle: {enabled: true, timeoutSeconds: 2, warningSeconds: 0.5},
  heartbeatSeconds: 0.05, leaseSeconds: 1,
  reportSeconds: 0, // > heartbeatSeconds: a session without a seat (GET /session says so, heartbeats do not)
};
const json = (status, body) => Promise.resolve(new Response(JSON.stringify(body),
  {status, headers: {'Content-Type': 'application/json; charset=utf-8'}}));
const end = (reason) => json(401, {error: Object.assign({code: 'unauthenticated', message: 'Fin.', reason},
  reason === 'idle_timeout' ? {idleTimeoutSeconds: s.idle.timeoutSeconds} : {})});
s.fetch = (url, init) => {
  const call = {url, method: init.method, body: init.body, credentials: init.credentials,
    contentType: (init.headers || {})['Content-Type'], signal: !!init.signal, at: Date.now()};
  s.calls.push(call);
  if (s.fail) return Promise.reject(new TypeError('fetch failed'));
  if (s.busy > 0 && s.busyTimes !== 0) {
    s.busyTimes--;
    call.busy = true;
    return Promise.resolve(new Response(JSON.stringify({error: {code: 'busy', message: 'Occupé.', retryAfterSeconds: s.busy}}),
      {status: s.busyStatus, headers: {'Content-Type': 'application/json; charset=utf-8', 'Retry-After': String(s.busy)}}));
  }
  if (s.status) return Promise.resolve(new Response('oops', {status: s.status}));
  if (s.reason) return end(s.reason);
  const cfg = {idle: s.idle, heartbeatSeconds: s.heartbeatSeconds, leaseSeconds: s.leaseSeconds};
  if (url.endsWith('/session')) {
    return json(200, Object.assign({user: {login: 'mdurand'}, school: {uai: '0751234A', year: '2026-2027'},
      mode: 'teacher', since: '2026-09-01T08:00:00Z'}, cfg, s.reportSeconds ? {reportSeconds: s.reportSeconds} : {}));
  }
  const idle = JSON.parse(init.body).idleSeconds;
  call.idle = idle;
  if (s.idle.enabled && idle >= s.idle.timeoutSeconds) { s.reason = 'idle_timeout'; return end(s.reason); }
  return json(200, Object.assign({idleRemainingSeconds: 1}, cfg));
};
return s;`

// fakePage is what a page gives the agent: an event target for the
// window, window.Sesame recording where it was sent, a localStorage.
const fakePage = `
const p = {window: new EventTarget(), left: [], store: new Map()};
p.sesame = {
  leave: (reason, seconds) => p.left.push(seconds === undefined ? reason : reason + ' ' + seconds),
  duration: (s) => s + ' secondes',
};
p.storage = {getItem: (k) => p.store.has(k) ? p.store.get(k) : null, setItem: (k, v) => p.store.set(k, String(v))};
p.document = new EventTarget();
p.document.visibilityState = 'visible';
p.act = (type) => p.window.dispatchEvent(new Event(type || 'pointerdown'));
p.show = (shown) => { p.document.visibilityState = shown ? 'visible' : 'hidden'; p.document.dispatchEvent(new Event('visibilitychange')); };
return p;`

// fakeLocks is navigator.locks, as much as the agent uses: exclusive
// requests granted in order, {steal: true}, {signal} to withdraw.
const fakeLocks = `
const held = new Map(), queues = new Map();
const abort = (m) => new DOMException(m, 'AbortError');
const next = (name) => { const q = queues.get(name) || []; const r = q.shift(); if (r) run(name, r); };
const run = (name, req) => {
  const entry = {req};
  held.set(name, entry);
  Promise.resolve().then(() => req.cb({name, mode: 'exclusive'})).then((v) => {
    if (held.get(name) === entry) { held.delete(name); next(name); }
    if (!entry.stolen) req.resolve(v);
  }, (e) => { if (held.get(name) === entry) { held.delete(name); next(name); } req.reject(e); });
};
const locks = {
  held: (name) => held.has(name),
  waiting: (name) => (queues.get(name) || []).length,
  request(name, opts, cb) {
    return new Promise((resolve, reject) => {
      const req = {cb, resolve, reject};
      if (opts.steal) {
        const h = held.get(name);
        if (h) { h.stolen = true; held.delete(name); h.req.reject(abort('The lock was stolen.')); }
        run(name, req);
        return;
      }
      if (opts.signal) {
        opts.signal.addEventListener('abort', () => {
          const q = queues.get(name) || [];
          const i = q.indexOf(req);
          if (i >= 0) { q.splice(i, 1); reject(abort('The request was aborted.')); }
        });
      }
      if (!held.has(name)) { run(name, req); return; }
      if (!queues.has(name)) queues.set(name, []);
      queues.get(name).push(req);
    });
  },
};
return locks;`

// env makes the agent's environment over a fake page and server.
func env(page, srv safejs.Value, locks safejs.Value) Env {
	return Env{
		Window:   get(page, "window"),
		Document: safejs.Undefined(), // no DOM under Node: no dialog
		Sesame:   get(page, "sesame"),
		Fetch:    get(srv, "fetch"),
		Channel:  get(safejs.Global(), "BroadcastChannel"),
		Locks:    locks,
		Storage:  get(page, "storage"),
		API:      "/api/v1",
	}
}

// eventually waits for cond, for at most d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v in vain for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func length(v safejs.Value) int {
	n, _ := v.Length()
	return n
}

func index(v safejs.Value, i int) safejs.Value {
	x, _ := v.Index(i)
	return x
}

// strings returns a JS array of strings.
func strs(v safejs.Value) []string {
	var out []string
	for i := range length(v) {
		out = append(out, str(index(v, i)))
	}
	return out
}

// callTimes returns when a fake server received its calls to path, in
// milliseconds since the epoch.
func callTimes(srv safejs.Value, path string) []float64 {
	var out []float64
	calls := get(srv, "calls")
	for i := range length(calls) {
		if c := index(calls, i); strings.HasSuffix(str(get(c, "url")), path) {
			out = append(out, num(get(c, "at")))
		}
	}
	return out
}

// beats counts the heartbeats a fake server received.
func beats(srv safejs.Value) int {
	n := 0
	calls := get(srv, "calls")
	for i := range length(calls) {
		if str(get(index(calls, i), "method")) == "POST" {
			n++
		}
	}
	return n
}

// noLeak checks, once the agents have stopped and settled, that every
// callback they created was released.
func noLeak(t *testing.T, agents ...*Agent) {
	t.Helper()
	for _, a := range agents {
		a.Stop()
		a.Wait()
	}
	eventually(t, 2*time.Second, "every callback released", func() bool { return Live() == 0 })
}
