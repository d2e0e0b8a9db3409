//go:build js && wasm

// Command safejsonly only imports safejs, adds one listener and makes one
// fetch through it: what safejs costs before any code of the agent.
package main

import "github.com/hack-pad/safejs"

func main() {
	fn, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any { return nil })
	if err != nil {
		return
	}
	defer fn.Release()
	g := safejs.Global()
	_, _ = g.Call("addEventListener", "pointerdown", fn)
	_, _ = g.Call("fetch", "/")
}
