package storetest

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The sequential model of one limited pool of one base, which the recorded
// histories of the seat races are checked against. Each operation is
// decided at its own now, as the stores decide it; lapsed holders of other
// users may have been cleared before any admission or renewal (a store may
// clear them to make room, inside any call), which the model allows as a
// choice: those lapsed at the call's horizon (see poolInput.Horizon).

// Kinds of operations.
const (
	opAcquire = iota // OpenSession with a seat
	opRenew          // RenewSeat
	opEnd            // EndSession: a logout or a forced disconnection
	opLimit          // SetLicense: the pool's limit changes
	opBeat           // BeatStamped: a heartbeat's fast path
)

// Answers. unknown is a call whose outcome the caller could not learn: the
// model lets it have taken effect or not. failed is a call that failed
// with nothing done, as a store whose failures are clean promises.
const (
	ansGranted   = "granted"
	ansExhausted = "exhausted"
	ansChanged   = "license_changed"
	ansKept      = "kept"
	ansLost      = "lost"
	ansEnded     = "ended"
	ansNotFound  = "not_found"
	ansOK        = "ok"
	ansUnknown   = "unknown"
	ansFailed    = "failed"   // an error that left nothing done
	ansDeclined  = "declined" // BeatStamped's ErrNotStamped: nothing done
)

// poolInput is one call. Sessions and logins are small numbers of the
// partition; times are unix nanoseconds.
type poolInput struct {
	Kind    int
	Login   int
	Session int
	Now     int64
	Expires int64 // now + lease
	Limit   int   // read by the caller with Version (opLimit: the new limit; -1 unlimited)
	Version int64 // opLimit: the version the store answered
	// Horizon is the latest now of the calls begun before this one
	// answered. A store may clear lapsed holders inside any call, before
	// that call's own answer (a sign-in that then answers license_changed
	// has made room all the same), so a holder lapsed at the horizon may
	// be gone when this call takes effect, even if it is live at Now.
	Horizon int64
}

type holder struct {
	Login, Session int
	Expires        int64
}

// poolState is immutable: every step copies what it changes.
type poolState struct {
	Limit    int
	Version  int64
	Holders  []holder // by login
	Sessions []byte   // by session number: 0 never stored, 1 open, 2 ended
}

const (
	sessAbsent = 0
	sessOpen   = 1
	sessEnded  = 2
)

func (s poolState) status(i int) byte {
	if i < len(s.Sessions) {
		return s.Sessions[i]
	}
	return sessAbsent
}

func (s poolState) withStatus(i int, v byte) poolState {
	n := slices.Clone(s.Sessions)
	if i >= len(n) {
		n = append(n, make([]byte, i+1-len(n))...)
	}
	n[i] = v
	s.Sessions = n
	return s
}

func (s poolState) holderOf(login int) (holder, bool) {
	for _, h := range s.Holders {
		if h.Login == login {
			return h, true
		}
	}
	return holder{}, false
}

func (s poolState) withHolder(h holder) poolState {
	hs := slices.DeleteFunc(slices.Clone(s.Holders), func(x holder) bool { return x.Login == h.Login })
	hs = append(hs, h)
	slices.SortFunc(hs, func(a, b holder) int { return a.Login - b.Login })
	s.Holders = hs
	return s
}

func (s poolState) withoutHolder(login int) poolState {
	s.Holders = slices.DeleteFunc(slices.Clone(s.Holders), func(x holder) bool { return x.Login == login })
	return s
}

// liveOthers counts the holders other than login's that are live at now.
func (s poolState) liveOthers(login int, now int64) int {
	n := 0
	for _, h := range s.Holders {
		if h.Login != login && h.Expires >= now {
			n++
		}
	}
	return n
}

func admits(limit, live int) bool { return limit < 0 || live < limit }

// cleared returns s and, as further choices, s without some of the holders
// of other users that have lapsed at now (all subsets up to three of them,
// none or all beyond).
func (s poolState) cleared(login int, now int64) []poolState {
	var lapsed []int
	for _, h := range s.Holders {
		if h.Login != login && h.Expires < now {
			lapsed = append(lapsed, h.Login)
		}
	}
	out := []poolState{s}
	if len(lapsed) == 0 {
		return out
	}
	if len(lapsed) > 3 {
		x := s
		for _, l := range lapsed {
			x = x.withoutHolder(l)
		}
		return append(out, x)
	}
	for mask := 1; mask < 1<<len(lapsed); mask++ {
		x := s
		for i, l := range lapsed {
			if mask&(1<<i) != 0 {
				x = x.withoutHolder(l)
			}
		}
		out = append(out, x)
	}
	return out
}

// step returns the states the pool may be in after in answered out from s
// (none when it cannot answer so).
func step(s poolState, in poolInput, out string) []poolState {
	if out == ansFailed {
		return []poolState{s}
	}
	if out == ansUnknown {
		next := []poolState{s} // it may not have taken effect
		for _, o := range []string{ansGranted, ansExhausted, ansChanged, ansKept, ansLost, ansEnded, ansNotFound, ansOK} {
			next = append(next, step(s, in, o)...)
		}
		return next
	}
	switch in.Kind {
	case opLimit:
		if out != ansOK || in.Version != s.Version+1 {
			return nil
		}
		s.Limit, s.Version = in.Limit, in.Version
		return []poolState{s}
	case opEnd:
		return stepEnd(s, in, out)
	case opBeat:
		return stepBeat(s, in, out)
	}
	var next []poolState
	for _, c := range s.cleared(in.Login, max(in.Now, in.Horizon)) {
		if in.Kind == opAcquire {
			next = append(next, stepAcquire(c, in, out)...)
		} else {
			next = append(next, stepRenew(c, in, out)...)
		}
	}
	return next
}

func stepEnd(s poolState, in poolInput, out string) []poolState {
	switch st := s.status(in.Session); {
	case st == sessAbsent:
		return when(out == ansNotFound, s)
	case st == sessEnded:
		return when(out == ansEnded, s)
	case out != ansOK:
		return nil
	}
	s = s.withStatus(in.Session, sessEnded)
	if h, ok := s.holderOf(in.Login); ok && h.Session == in.Session {
		s = s.withoutHolder(in.Login)
	}
	return []poolState{s}
}

// admission is the answer of a newcomer: granted, or refused as exhausted
// or license_changed (either, when both hold).
func admission(s poolState, in poolInput, out string, refused string) (grant bool, ok bool) {
	fits := admits(in.Limit, s.liveOthers(in.Login, in.Now))
	current := in.Version == s.Version
	switch out {
	case ansChanged:
		return false, !current
	case refused:
		return false, !fits
	case ansGranted, ansKept:
		return true, fits && current
	}
	return false, false
}

func stepAcquire(s poolState, in poolInput, out string) []poolState {
	if s.status(in.Session) != sessAbsent {
		return nil // session numbers are never reused
	}
	own, has := s.holderOf(in.Login)
	if has && own.Expires >= in.Now { // a move: no admission
		if out != ansGranted {
			return nil
		}
	} else if grant, ok := admission(s, in, out, ansExhausted); !ok {
		return nil
	} else if !grant {
		return []poolState{s}
	}
	if has {
		if s.status(own.Session) == sessOpen {
			s = s.withStatus(own.Session, sessEnded) // replaced
		}
	}
	s = s.withStatus(in.Session, sessOpen).withHolder(holder{Login: in.Login, Session: in.Session, Expires: in.Expires})
	return []poolState{s}
}

func stepRenew(s poolState, in poolInput, out string) []poolState {
	switch s.status(in.Session) {
	case sessAbsent:
		return when(out == ansNotFound, s)
	case sessEnded:
		return when(out == ansEnded, s)
	}
	h, has := s.holderOf(in.Login)
	ours := has && h.Session == in.Session
	if ours && h.Expires >= in.Now {
		h.Expires = in.Expires
		return when(out == ansKept, s.withHolder(h))
	}
	if has && !ours {
		return nil // an open session whose login's seat is another's: never
	}
	// Lapsed, or cleared: taken again if the pool admits it.
	grant, ok := admission(s, in, out, ansLost)
	switch {
	case !ok:
		return nil
	case grant:
		return []poolState{s.withHolder(holder{Login: in.Login, Session: in.Session, Expires: in.Expires})}
	case out == ansLost:
		return []poolState{s.withStatus(in.Session, sessEnded).withoutHolder(in.Login)}
	}
	return []poolState{s}
}

// stepBeat is the fast path of a heartbeat: it extends only a live lease of
// an open session, and may decline anything, changing nothing.
func stepBeat(s poolState, in poolInput, out string) []poolState {
	if out == ansDeclined {
		return []poolState{s}
	}
	h, has := s.holderOf(in.Login)
	if out != ansKept || s.status(in.Session) != sessOpen || !has || h.Session != in.Session || h.Expires < in.Now {
		return nil
	}
	h.Expires = in.Expires
	return []poolState{s.withHolder(h)}
}

func when(ok bool, s poolState) []poolState {
	if ok {
		return []poolState{s}
	}
	return nil
}

func (s poolState) equal(o poolState) bool {
	return s.Limit == o.Limit && s.Version == o.Version && slices.Equal(s.Holders, o.Holders) &&
		strings.TrimRight(string(s.Sessions), "\x00") == strings.TrimRight(string(o.Sessions), "\x00")
}

func (s poolState) hash() uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, s.Limit, s.Version, s.Holders, strings.TrimRight(string(s.Sessions), "\x00"))
	return h.Sum64()
}

func (s poolState) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "limit %d (v%d); holders", s.Limit, s.Version)
	for _, h := range s.Holders {
		fmt.Fprintf(&b, " u%d:s%d", h.Login, h.Session)
	}
	return b.String()
}

// poolOp is an operation of the recorded history, with its partition.
type poolOp struct {
	Base int
	In   poolInput
	Out  string
}

// poolModel is the porcupine model of a history of poolOps, partitioned by
// base; init gives each base's limit and version at the start.
func poolModel(init map[int]poolState) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			by := map[int][]porcupine.Operation{}
			var keys []int
			for _, op := range history {
				b := op.Input.(poolOp).Base
				if _, ok := by[b]; !ok {
					keys = append(keys, b)
				}
				by[b] = append(by[b], op)
			}
			slices.Sort(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, by[k])
			}
			return out
		},
		Init: func() []any {
			// The partition is not known here: the first operation of a
			// base selects its initial state (see Step).
			return []any{partitionStart{}}
		},
		Step: func(state, input, output any) []any {
			op := input.(poolOp)
			var s poolState
			switch x := state.(type) {
			case partitionStart:
				s = init[op.Base]
			case poolState:
				s = x
			}
			var out []any
			for _, n := range step(s, op.In, output.(string)) {
				out = append(out, n)
			}
			return out
		},
		Equal: func(a, b any) bool {
			x, okx := a.(poolState)
			y, oky := b.(poolState)
			if !okx || !oky {
				return okx == oky
			}
			return x.equal(y)
		},
		Hash: func(state any) uint64 {
			if s, ok := state.(poolState); ok {
				return s.hash()
			}
			return 0
		},
		DescribeOperation: func(input, output any) string {
			op, ok := input.(poolOp)
			if !ok { // porcupine describes some steps without their input
				return fmt.Sprintf("%v → %v", input, output)
			}
			in := op.In
			switch in.Kind {
			case opAcquire:
				return fmt.Sprintf("acquire(u%d, s%d, limit %d v%d) → %s", in.Login, in.Session, in.Limit, in.Version, output)
			case opRenew:
				return fmt.Sprintf("renew(u%d, s%d, limit %d v%d) → %s", in.Login, in.Session, in.Limit, in.Version, output)
			case opEnd:
				return fmt.Sprintf("end(u%d, s%d) → %s", in.Login, in.Session, output)
			case opBeat:
				return fmt.Sprintf("beat(u%d, s%d) → %s", in.Login, in.Session, output)
			}
			return fmt.Sprintf("set limit %d (v%d) → %s", in.Limit, in.Version, output)
		},
		DescribeState: func(state any) string {
			if s, ok := state.(poolState); ok {
				return s.String()
			}
			return "start"
		},
	}
	return nm.ToModel()
}

// partitionStart is the state before a partition's first operation.
type partitionStart struct{}
