//go:build js && wasm

package browser

import (
	"time"

	"github.com/hack-pad/safejs"

	"github.com/sesame-ecole/sesame/wasm/agent"
)

// protocol versions the messages between tabs: a tab still running an
// older agent after a deployment ignores the others' messages.
const protocol = 1

// bus is the BroadcastChannel of one session's tabs.
type bus struct {
	ch safejs.Value
	fn safejs.Func
}

// openBus opens the channel name with the constructor ctor and delivers
// every message of the other tabs to deliver. It returns nil when the
// browser has no BroadcastChannel.
func openBus(ctor safejs.Value, name string, deliver func(agent.Message)) *bus {
	if !isFunc(ctor) {
		return nil
	}
	ch, err := ctor.New(name)
	if err != nil {
		return nil
	}
	fn, err := newFunc(func(_ safejs.Value, args []safejs.Value) any {
		if m, ok := decode(get(arg(args, 0), "data")); ok {
			deliver(m)
		}
		return nil
	})
	if err != nil {
		call(ch, "close")
		return nil
	}
	call(ch, "addEventListener", "message", fn)
	return &bus{ch: ch, fn: fn}
}

func (b *bus) post(m agent.Message) { call(b.ch, "postMessage", encode(m)) }

func (b *bus) close() {
	call(b.ch, "removeEventListener", "message", b.fn)
	call(b.ch, "close")
	release(b.fn)
}

// encode writes a message as a plain object, which structured cloning
// carries: {v, k, at, rep?, cfg?, r?, to?}; times in Unix milliseconds,
// durations in milliseconds.
func encode(m agent.Message) map[string]any {
	o := map[string]any{"v": protocol, "k": int(m.Kind), "at": m.At.UnixMilli()}
	switch m.Kind {
	case agent.KindBeat:
		c := m.Config
		o["rep"] = m.Reported.UnixMilli()
		o["cfg"] = []any{c.Idle, c.Timeout.Milliseconds(), c.Warning.Milliseconds(), c.Heartbeat.Milliseconds(), c.Lease.Milliseconds()}
	case agent.KindEnd:
		o["r"] = m.End.Reason
		o["to"] = m.End.Timeout.Milliseconds()
	}
	return o
}

// decode reads what encode wrote; ok is false for anything else.
func decode(v safejs.Value) (m agent.Message, ok bool) {
	if num(get(v, "v")) != protocol {
		return m, false
	}
	m.Kind = agent.Kind(num(get(v, "k")))
	m.At = millis(get(v, "at"))
	switch m.Kind {
	case agent.KindActivity:
	case agent.KindBeat:
		m.Reported = millis(get(v, "rep"))
		c := get(v, "cfg")
		at := func(i int) safejs.Value { x, _ := c.Index(i); return x }
		if n, _ := c.Length(); n != 5 {
			return m, false
		}
		m.Config = agent.Config{Idle: truthy(at(0)), Timeout: ms(at(1)), Warning: ms(at(2)), Heartbeat: ms(at(3)), Lease: ms(at(4))}
	case agent.KindEnd:
		m.End = agent.End{Reason: str(get(v, "r")), Timeout: ms(get(v, "to"))}
		if m.End.Reason == "" {
			return m, false
		}
	default:
		return m, false
	}
	return m, true
}

func millis(v safejs.Value) time.Time { return time.UnixMilli(int64(num(v))) }

func ms(v safejs.Value) time.Duration { return time.Duration(num(v)) * time.Millisecond }
