//go:build js && wasm

// Command agent is Sésame's browser agent, built to WebAssembly and loaded
// by web/static/agent.js on every signed-in page (see package wasm/browser).
// Build it with go run ./wasm/cmd/buildagent.
package main

import (
	"github.com/hack-pad/safejs"

	"github.com/sesame-ecole/sesame/wasm/browser"
)

func main() {
	perf, _ := safejs.Global().Get("performance")
	mark := func(name string) { _, _ = perf.Call("mark", name) }
	mark("sesame-agent:running")
	a, err := browser.Start(browser.Globals())
	if err == nil && a != nil {
		mark("sesame-agent:ready")
		a.Wait()
	}
	// The program never exits. When the Go scheduler goes idle with a timer
	// pending, the runtime asks the page for a setTimeout to wake it, and
	// nothing clears that timeout when main returns: it would fire into an
	// exited program ("Go program has already exited") while the page the
	// agent left waits for the sign-in page. Stopped, the agent holds no
	// listener, channel or lock; a wake-up finds nothing to do.
	select {}
}
