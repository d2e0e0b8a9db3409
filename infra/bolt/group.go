package bolt

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// group commits write transactions together without waiting for a timer.
// One goroutine, the committer, takes the queue as it stands and commits
// it in one transaction (one sync), then the writes queued meanwhile, and
// so on; when the queue is empty it waits for the next write. So a lone
// write pays one commit and no delay, and under load the batches grow
// with the load. bbolt's own DB.Batch waits MaxBatchDelay (10 ms) for
// each batch to fill: with a fixed number of clients, that timer, not the
// disk, set the rate of heartbeats.
//
// As in DB.Batch, the functions of a batch run one after the other in
// one transaction; when one fails, the transaction is rolled back, the
// failed function runs again alone in a transaction of its own (its
// error, if it fails again, is its caller's), and the others run again
// together. So a function may run more than once, and must decide
// everything from what it reads in the transaction.
//
// # Answered before the commit
//
// A write given with a key (early) is answered as soon as every function
// of its batch has run in the transaction, before the commit and its sync
// end: a heartbeat's renewal, whose loss is harmless. Nothing can be
// ordered before it any more: bbolt holds its writer lock until the
// commit ends, so every later write, in a batch or not, runs after the
// commit and sees it. Reads do not take that lock, and a read transaction
// begun before the commit ends sees the state before the batch: so the
// store makes every read that could see the key's previous state wait
// for that commit first (settled by the key for a read of one session,
// settled by none for a listing). Every other write of the batch is
// answered after the commit, with its error.
//
// When the commit fails after that answer, the early writes are lost:
// their callers were told they landed. For a heartbeat that is harmless
// by design (sesame.Store.BeatStamped): the lease lapses early, and the
// stored activity is older, so the session may reach its idle limit
// sooner; it never holds a seat it was not given, since every seat
// decision is a later write, which reads the committed state. No other
// write may be given a key.
//
// The committer is a goroutine of its own, not the first caller of a
// batch: a caller answered early returns at once, while the committer
// goes on with the commit without waiting to be scheduled again.
type group struct {
	db *bbolt.DB

	mu     sync.Mutex
	queue  []*groupCall
	closed bool
	wake   chan struct{} // holds a token while the queue may hold writes
	done   chan struct{} // closed when the committer has stopped

	// pending is the batch answered early whose commit is under way (at
	// most one: the next batch begins after that commit ends).
	pending atomic.Pointer[pendingCommit]
	// syncing, when set (tests), runs between the early answers and the
	// commit; an error from it rolls the transaction back as a failed
	// commit would.
	syncing func() error
}

// groupCall is one write waiting for its batch.
type groupCall struct {
	fn   func(*bbolt.Tx) error
	key  string     // non-empty: answered early (see group)
	done chan error // one result: the call's error
}

// pendingCommit is a batch whose early writes were answered and whose
// commit has not ended: done is closed when it ends.
type pendingCommit struct {
	keys map[string]struct{}
	done chan struct{}
}

// panicked carries a panic of a batch's function back to its caller.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("bolt: panic in a write: %v", p.value) }

// newGroup starts the committer of db's group commit; close stops it.
func newGroup(db *bbolt.DB) *group {
	g := &group{db: db, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go g.commitLoop()
	return g
}

// close commits the writes queued, then stops the committer. A write
// given after it fails with bbolt's ErrDatabaseNotOpen.
func (g *group) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.signal()
	<-g.done
}

// do runs fn in a write transaction shared with the writes queued at the
// same time, and returns fn's error or the commit's.
func (g *group) do(fn func(*bbolt.Tx) error) error { return g.run(fn, "") }

// early is do for a write whose loss is harmless (a heartbeat's): it
// returns fn's error, or nil once every function of its batch ran, before
// the commit ends. Until it ends, settled(ctx, key) waits for it.
func (g *group) early(key string, fn func(*bbolt.Tx) error) error { return g.run(fn, key) }

func (g *group) run(fn func(*bbolt.Tx) error, key string) error {
	c := &groupCall{fn: fn, key: key, done: make(chan error, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return bolterrors.ErrDatabaseNotOpen
	}
	g.queue = append(g.queue, c)
	g.mu.Unlock()
	g.signal()
	err := <-c.done
	if p, ok := err.(panicked); ok {
		panic(p.value)
	}
	return err
}

// signal tells the committer that the queue may hold writes.
func (g *group) signal() {
	select {
	case g.wake <- struct{}{}:
	default: // a token is there already
	}
}

// settled waits until no commit under way holds a write of key answered
// early (any such write when key is empty), so that a read transaction
// begun after it sees what was answered.
func (g *group) settled(ctx context.Context, key string) error {
	p := g.pending.Load()
	if p == nil {
		return nil
	}
	if _, ok := p.keys[key]; !ok && key != "" {
		return nil
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop is the committer: it commits the queue as it stands, again
// and again, until the queue is empty and the group closed.
func (g *group) commitLoop() {
	defer close(g.done)
	for range g.wake {
		for {
			g.mu.Lock()
			batch, closed := g.queue, g.closed
			g.queue = nil
			g.mu.Unlock()
			if len(batch) == 0 {
				if closed {
					return
				}
				break
			}
			g.commit(batch)
		}
	}
}

// commit runs the batch's functions in one transaction and gives each
// its result, taking out and running alone those that fail.
func (g *group) commit(batch []*groupCall) {
	for len(batch) > 0 {
		tx, err := g.db.Begin(true)
		if err != nil {
			for _, c := range batch {
				c.done <- err
			}
			return
		}
		failed := -1
		for i, c := range batch {
			if err := call(c.fn, tx); err != nil {
				failed = i
				break
			}
		}
		if failed < 0 {
			g.finish(tx, batch)
			return
		}
		_ = tx.Rollback()
		c := batch[failed]
		batch = append(batch[:failed:failed], batch[failed+1:]...)
		c.done <- g.db.Update(func(tx *bbolt.Tx) error { return call(c.fn, tx) })
	}
}

// finish answers the early writes of batch, whose functions all ran in
// tx, commits tx, then answers the others with the commit's error.
func (g *group) finish(tx *bbolt.Tx, batch []*groupCall) {
	var p *pendingCommit
	for _, c := range batch {
		if c.key == "" {
			continue
		}
		if p == nil {
			p = &pendingCommit{keys: make(map[string]struct{}, len(batch)), done: make(chan struct{})}
		}
		p.keys[c.key] = struct{}{}
	}
	if p != nil {
		g.pending.Store(p) // before any answer: a read after one waits
		for _, c := range batch {
			if c.key != "" {
				c.done <- nil
			}
		}
	}
	var err error
	if p != nil && g.syncing != nil {
		err = g.syncing()
	}
	if err != nil {
		_ = tx.Rollback()
	} else {
		err = tx.Commit()
	}
	if p != nil {
		g.pending.CompareAndSwap(p, nil)
		close(p.done)
	}
	for _, c := range batch {
		if c.key == "" {
			c.done <- err
		}
	}
}

// call runs fn, turning a panic into an error its caller panics with.
func call(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicked{v}
		}
	}()
	return fn(tx)
}
