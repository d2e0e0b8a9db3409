package sesame

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Password hashing under load. A morning rush of sign-ins must not
// collapse the server: every argon2id verification holds a CPU and its
// memory (19 MiB) while it runs, so hashing runs at most Slots at once,
// behind a queue no longer than what can be served within MaxWait. A
// sign-in that would wait longer is told at once that the school's
// connection is busy (BusyError, HTTP 503 with Retry-After: when the
// queue will have room again): it holds no memory and counts as nobody's
// failed attempt. A caller that goes away
// while queued leaves the queue and hashes nothing.

// DefaultHashWait is the longest a sign-in queues for hashing.
const DefaultHashWait = 2 * time.Second

// HashGate bounds concurrent password hashing. Its zero value is not
// usable; NewHashGate makes one.
type HashGate struct {
	slots   chan struct{}
	maxWait time.Duration

	mu       sync.Mutex
	inflight int           // callers queued or hashing
	average  time.Duration // moving average of one hashing job
}

// NewHashGate returns a gate of slots concurrent jobs (when 0: one CPU
// fewer than the machine has, at least one, so that heartbeats and page
// loads always find a CPU) that refuses callers who would wait more than
// maxWait (DefaultHashWait when 0).
func NewHashGate(slots int, maxWait time.Duration) *HashGate {
	if slots <= 0 {
		slots = max(1, runtime.NumCPU()-1)
	}
	if maxWait <= 0 {
		maxWait = DefaultHashWait
	}
	return &HashGate{slots: make(chan struct{}, slots), maxWait: maxWait, average: 30 * time.Millisecond}
}

// Enter takes a place in the gate, or returns a *BusyError at once when
// the expected wait exceeds the gate's limit. The caller must Leave it.
func (g *HashGate) Enter() (*Ticket, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inflight >= cap(g.slots) {
		// The callers already in (hashing, or about to take a slot)
		// fill the slots: this one queues. Everyone in the gate, and
		// this caller, hash once each; the slots serve cap(g.slots) of
		// them per average job.
		wait := time.Duration(g.inflight+1) * g.average / time.Duration(cap(g.slots))
		if wait > g.maxWait {
			// Come back when the queue has room again, not when it
			// has emptied: a gate whose refused callers all return
			// after the queue drained stands idle in between.
			return nil, &BusyError{RetryAfter: max(time.Second, wait-g.maxWait)}
		}
	}
	g.inflight++
	return &Ticket{g: g}, nil
}

// Ticket is a place in a HashGate.
type Ticket struct {
	g    *HashGate
	done bool
}

// Run runs job when a slot is free, or returns ctx's error when ctx ends
// first (job has not run then).
func (t *Ticket) Run(ctx context.Context, job func()) error {
	g := t.g
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	job()
	g.mu.Lock()
	g.average += (time.Since(start) - g.average) / 8
	g.mu.Unlock()
	return nil
}

// Leave gives the place back; calling it again does nothing.
func (t *Ticket) Leave() {
	if t == nil || t.done {
		return
	}
	t.done = true
	t.g.mu.Lock()
	t.g.inflight--
	t.g.mu.Unlock()
}
