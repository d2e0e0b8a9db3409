//go:build js && wasm

package browser

import (
	"errors"
	"sync/atomic"

	"github.com/hack-pad/safejs"
)

// live counts the JS callbacks created and not yet released.
var live atomic.Int64

// Live returns how many JS callbacks the agents of this program hold.
func Live() int { return int(live.Load()) }

// newFunc wraps fn as a JS callback, counted until release. fn runs on
// the JS event loop: it must never block.
func newFunc(fn func(this safejs.Value, args []safejs.Value) any) (safejs.Func, error) {
	f, err := safejs.FuncOf(fn)
	if err == nil {
		live.Add(1)
	}
	return f, err
}

func release(f safejs.Func) {
	f.Release()
	live.Add(-1)
}

// get follows keys from v; undefined when one is missing or throws.
func get(v safejs.Value, keys ...string) safejs.Value {
	for _, k := range keys {
		if t := v.Type(); t != safejs.TypeObject && t != safejs.TypeFunction {
			return safejs.Undefined()
		}
		var err error
		if v, err = v.Get(k); err != nil {
			return safejs.Undefined()
		}
	}
	return v
}

// call calls method m of v; undefined when it is missing or throws.
func call(v safejs.Value, m string, args ...any) safejs.Value {
	if get(v, m).Type() != safejs.TypeFunction {
		return safejs.Undefined()
	}
	r, err := v.Call(m, args...)
	if err != nil {
		return safejs.Undefined()
	}
	return r
}

// invoke calls f if it is a function, ignoring what it throws.
func invoke(f safejs.Value, args ...any) {
	if isFunc(f) {
		_, _ = f.Invoke(args...)
	}
}

func set(v safejs.Value, k string, x any) { _ = v.Set(k, x) }

func str(v safejs.Value) string {
	if v.Type() != safejs.TypeString {
		return ""
	}
	s, _ := v.String()
	return s
}

func num(v safejs.Value) float64 {
	if v.Type() != safejs.TypeNumber {
		return 0
	}
	f, _ := v.Float()
	if f != f { // NaN
		return 0
	}
	return f
}

func truthy(v safejs.Value) bool {
	b, _ := v.Truthy()
	return b
}

func isFunc(v safejs.Value) bool { return v.Type() == safejs.TypeFunction }

func arg(args []safejs.Value, i int) safejs.Value {
	if i < len(args) {
		return args[i]
	}
	return safejs.Undefined()
}

// jsError turns a rejection's value into an error.
func jsError(v safejs.Value) error {
	name, msg := str(get(v, "name")), str(get(v, "message"))
	if name == "" && msg == "" {
		return errors.New("rejected")
	}
	return errors.New(name + ": " + msg)
}

// await waits for the promise p. It blocks: call it from a goroutine,
// never from a JS callback.
func await(p safejs.Value) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	ok, err := newFunc(func(_ safejs.Value, args []safejs.Value) any {
		ch <- result{v: arg(args, 0)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer release(ok)
	fail, err := newFunc(func(_ safejs.Value, args []safejs.Value) any {
		ch <- result{err: jsError(arg(args, 0))}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer release(fail)
	if !isFunc(get(p, "then")) {
		return safejs.Undefined(), errors.New("not a promise")
	}
	if _, err := p.Call("then", ok, fail); err != nil {
		return safejs.Undefined(), err
	}
	r := <-ch
	return r.v, r.err
}
