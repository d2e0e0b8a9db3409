//go:build js && wasm

// Command empty is the smallest Go WebAssembly module: the floor of every
// module's size.
package main

func main() {}
