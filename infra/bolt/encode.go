package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// appender is a record that writes its own JSON, byte for byte what
// encoding/json writes for it, without reflection: the records every
// heartbeat writes (a session and its lease). encode_test.go holds each
// to encoding/json's output.
type appender interface {
	appendJSON(b []byte) []byte
}

// encode is the JSON form of v: its own when it writes one (appender),
// encoding/json's otherwise. The bytes are the value's own, of their
// exact length: bbolt and the cache of decodings keep them.
func encode(v any) ([]byte, error) {
	if a, ok := v.(appender); ok {
		scratch := scratchBuffers.Get().(*[]byte)
		b := a.appendJSON((*scratch)[:0])
		out := bytes.Clone(b)
		*scratch = b
		scratchBuffers.Put(scratch)
		return out, nil
	}
	return json.Marshal(v)
}

// scratchBuffers are where encode appends, before the copy it returns.
var scratchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// jsonObject appends the fields of one JSON object, as encoding/json
// writes a struct's: in order, with the escaping of json.Marshal.
type jsonObject struct {
	b     []byte
	first bool
}

func newObject(b []byte) jsonObject { return jsonObject{b: append(b, '{'), first: true} }

func (o *jsonObject) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *jsonObject) str(k, v string) {
	o.key(k)
	o.b = appendString(o.b, v)
}

func (o *jsonObject) boolean(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *jsonObject) integer(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

// time appends t as time.Time.MarshalJSON does: RFC 3339 with the
// nanoseconds that are not zero.
func (o *jsonObject) time(k string, t time.Time) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = t.AppendFormat(o.b, time.RFC3339Nano)
	o.b = append(o.b, '"')
}

func (o *jsonObject) end() []byte { return append(o.b, '}') }

// appendString appends s as a JSON string, as json.Marshal does: a string
// that needs no escape (printable ASCII but '"', '\\', '<', '>' and '&',
// and valid UTF-8 but U+2028 and U+2029) is copied, any other is left to
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c == 0x7f {
				return appendEscaped(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return appendEscaped(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendEscaped appends s as json.Marshal writes it.
func appendEscaped(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // a string always encodes
		panic(fmt.Sprintf("bolt: encode a string: %v", err))
	}
	return append(b, q...)
}

func (r sessionRec) appendJSON(b []byte) []byte {
	o := newObject(b)
	o.str("id", r.ID)
	o.str("uai", r.UAI)
	o.str("year", r.Year)
	o.str("login", r.Login)
	o.str("displayName", r.DisplayName)
	o.str("kind", r.Kind)
	if r.Supervisor {
		o.boolean("supervisor", true)
	}
	o.str("mode", r.Mode)
	o.str("access", r.Access)
	if r.Pool != "" {
		o.str("pool", r.Pool)
	}
	if r.Profile != "" {
		o.str("profile", r.Profile)
	}
	o.time("createdAt", r.CreatedAt)
	o.time("expiresAt", r.ExpiresAt)
	o.time("lastActivity", r.LastActivity)
	o.time("lastSeen", r.LastSeen)
	o.time("endedAt", r.EndedAt)
	if r.EndReason != "" {
		o.str("endReason", r.EndReason)
	}
	if r.IdleOn {
		o.boolean("idleOn", true)
	}
	if r.IdleAfter != 0 {
		o.integer("idleAfter", int64(r.IdleAfter))
	}
	if !r.IdleUntil.IsZero() {
		o.time("idleUntil", r.IdleUntil)
	}
	return o.end()
}

func (r leaseRec) appendJSON(b []byte) []byte {
	o := newObject(b)
	o.str("uai", r.UAI)
	o.str("year", r.Year)
	o.str("pool", r.Pool)
	o.str("login", r.Login)
	o.str("session", r.Session)
	o.time("acquiredAt", r.AcquiredAt)
	o.time("expiresAt", r.ExpiresAt)
	return o.end()
}
