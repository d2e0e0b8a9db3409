//go:build js && wasm

package browser

import (
	"sync"

	"github.com/hack-pad/safejs"
)

// election elects, with one Web Lock per session, the tab that sends the
// heartbeats. Every tab asks for the lock and holds it, once granted,
// until it is stolen or the agent stops; a tab shown steals it
// (navigator.locks.request(name, {steal: true}, …)), so the heartbeats
// come from a visible tab when there is one. A queued request is withdrawn
// with an AbortSignal before a steal, so a tab never waits twice.
type election struct {
	locks safejs.Value // navigator.locks
	name  string
	// lead is told when this tab gains or loses the lead. It is called
	// from JS callbacks and goroutines: it must not block.
	lead func(bool)
	wg   *sync.WaitGroup

	mu      sync.Mutex
	gen     int          // the current request; older outcomes are ignored
	queued  safejs.Value // AbortController of a queued request
	release safejs.Value // resolves the promise that holds the lock
}

// request asks for the lock: queued behind the holder, or stolen from it.
func (e *election) request(steal bool) {
	e.mu.Lock()
	e.gen++
	g := e.gen
	queued, held := e.drop()
	opts := map[string]any{}
	if steal {
		opts["steal"] = true
	} else if ctl, err := get(safejs.Global(), "AbortController").New(); err == nil {
		e.queued = ctl
		opts["signal"] = get(ctl, "signal")
	}
	e.mu.Unlock()
	call(queued, "abort")
	invoke(held)

	granted, err := newFunc(func(_ safejs.Value, _ []safejs.Value) any {
		e.mu.Lock()
		if g != e.gen { // withdrawn meanwhile: give it back at once
			e.mu.Unlock()
			return nil
		}
		e.queued = safejs.Undefined()
		e.mu.Unlock()
		var resolve safejs.Value
		exec, err := newFunc(func(_ safejs.Value, args []safejs.Value) any {
			resolve = arg(args, 0)
			return nil
		})
		if err != nil {
			return nil
		}
		p, err := get(safejs.Global(), "Promise").New(exec)
		release(exec)
		if err != nil {
			return nil
		}
		e.mu.Lock()
		e.release = resolve
		e.mu.Unlock()
		e.lead(true)
		return p
	})
	if err != nil {
		return
	}
	p, err := e.locks.Call("request", e.name, opts, granted)
	if err != nil {
		release(granted)
		if steal { // a browser without steal: wait in line
			e.request(false)
		}
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_, _ = await(p) // settled: released, stolen (AbortError) or withdrawn
		release(granted)
		e.mu.Lock()
		current := g == e.gen
		e.mu.Unlock()
		if current {
			// Stolen by another tab: wait in line again, as a follower.
			e.request(false)
			e.lead(false)
		}
	}()
}

// drop forgets the queued request and the held lock and returns them, to
// withdraw and give back once e.mu is unlocked. e.mu is held.
func (e *election) drop() (queued, held safejs.Value) {
	queued, held = e.queued, e.release
	e.queued, e.release = safejs.Undefined(), safejs.Undefined()
	return queued, held
}

// stop withdraws the request and gives the lock back.
func (e *election) stop() {
	e.mu.Lock()
	e.gen++
	queued, held := e.drop()
	e.mu.Unlock()
	call(queued, "abort")
	invoke(held)
}
