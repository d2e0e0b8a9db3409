// Package sizeref holds the reference modules the agent's size is measured
// against (see wasm/build.Sizes): empty, a Go WebAssembly module that does
// nothing, and safejsonly, one that only imports safejs and adds a listener
// and a fetch through it. Both build for js/wasm only.
package sizeref
