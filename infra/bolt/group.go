package bolt

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
// A write given with a key (early) is answered as soon as it, and every
// function before it in its transaction, has run, before the commit and
// its sync end: a heartbeat's renewal, whose loss is harmless. Nothing can be
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
// # Held open for more heartbeats
//
// A transaction whose writes are all early ones is not committed at once:
// the committer holds it open while more early writes come (the callers
// it answered send their next heartbeat), runs them in it and answers
// them, for at most holdFor; so heartbeats wait for no sync at all, and
// many share one. Anything else that needs the transaction to end ends
// it at once: a write that is not early (it goes first in the next
// transaction, answered after that one's commit), a write outside the
// group waiting for bbolt's writer lock, a read waiting for an early
// write of it (hurry), and close.
//
// Early writes join a transaction held open without their commit hook:
// that hook stands for a failed commit, which would lose the writes
// answered before it. When one fails all the same, the transaction is
// rolled back, the early writes it held run again in a new one, in the
// same order (they succeeded on the same state, and nothing else can have
// written between, unless a write outside the group took bbolt's writer
// lock at that instant: then they are decided again, and a renewal the
// caller was told of may be lost, which is harmless), that one is
// committed, and the failed write and those after it go back to the head
// of the queue, where it runs again alone as above.
//
// The committer is a goroutine of its own, not the first caller of a
// batch: a caller answered early returns at once, while the committer
// goes on without waiting to be scheduled again.
type group struct {
	db *bbolt.DB

	mu     sync.Mutex
	queue  []*groupCall
	closed bool
	wake   chan struct{} // holds a token while the queue may hold writes
	done   chan struct{} // closed when the committer has stopped

	// pending is the transaction whose early writes were answered and
	// whose commit has not ended (at most one: the next begins after).
	pending atomic.Pointer[pendingCommit]
	// urgent counts those waiting for the transaction held open to end:
	// reads of its early writes, and writes outside the group.
	urgent atomic.Int32
	// holdFor is how long a transaction of early writes is held open at
	// most (holdFor below; tests set more).
	holdFor time.Duration
	// syncing, when set (tests), runs between the early answers and the
	// commit; an error from it rolls the transaction back as a failed
	// commit would.
	syncing func() error
}

// holdFor is how long a transaction of early writes is held open for
// more of them, at most: about a commit's time on the project's machine.
// It bounds the heartbeats a crash may lose, and the wait of a write of
// another process's making (none: the file is locked) or of a caller that
// does not hurry.
const holdFor = 3 * time.Millisecond

// groupCall is one write waiting for its batch.
type groupCall struct {
	fn func(*bbolt.Tx) error
	// hook, when set, runs after fn in the transaction, as at its commit:
	// its error fails the write as fn's would (WithTxHook's faults).
	hook func() error
	// again does to the transaction what fn does, without the transaction
	// hook and without touching what fn gives its caller, already
	// answered: an early write run again after the rollback of a
	// transaction held open (see group).
	again func(*bbolt.Tx) error
	key   string     // non-empty: answered early (see group)
	done  chan error // one result: the call's error
}

// pendingCommit is a transaction whose early writes were answered and
// whose commit has not ended: done is closed when it ends.
type pendingCommit struct {
	mu   sync.Mutex
	keys map[string]struct{}
	done chan struct{}
}

// add records an early write of key, before its answer.
func (p *pendingCommit) add(key string) {
	p.mu.Lock()
	p.keys[key] = struct{}{}
	p.mu.Unlock()
}

// holds reports whether key has an early write in p (any, for "").
func (p *pendingCommit) holds(key string) bool {
	if key == "" {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.keys[key]
	return ok
}

// panicked carries a panic of a batch's function back to its caller.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("bolt: panic in a write: %v", p.value) }

// newGroup starts the committer of db's group commit; close stops it.
func newGroup(db *bbolt.DB) *group {
	g := &group{db: db, wake: make(chan struct{}, 1), done: make(chan struct{}), holdFor: holdFor}
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

// do runs fn, then hook when set, in a write transaction shared with the
// writes queued at the same time, and returns their error or the
// commit's.
func (g *group) do(fn func(*bbolt.Tx) error, hook func() error) error {
	return g.run(&groupCall{fn: fn, hook: hook})
}

// early is do for a write whose loss is harmless (a heartbeat's): it
// returns fn's error, or nil once fn and those before it in its
// transaction ran, before the commit ends. Until it ends, settled(ctx,
// key) waits for it. again is what fn does to the transaction, without
// the hook and without touching fn's results, for a run after a rollback,
// once its caller was answered (see group).
func (g *group) early(key string, fn, again func(*bbolt.Tx) error, hook func() error) error {
	return g.run(&groupCall{fn: fn, again: again, hook: hook, key: key})
}

func (g *group) run(c *groupCall) error {
	c.done = make(chan error, 1)
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

// settled waits until no transaction, held open or committing, holds a
// write of key answered early (any such write when key is empty), so that
// a read transaction begun after it sees what was answered. It hurries
// the transaction it waits for.
func (g *group) settled(ctx context.Context, key string) error {
	p := g.pending.Load()
	if p == nil || !p.holds(key) {
		return nil
	}
	defer g.hurry()()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hurry ends the transaction held open, if any, at once, and keeps the
// next from being held, until the function it returns is called: for a
// caller that waits for that transaction.
func (g *group) hurry() (done func()) {
	g.urgent.Add(1)
	g.signal()
	return func() { g.urgent.Add(-1) }
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
			if err := c.call(tx); err != nil {
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
		c.done <- g.db.Update(c.call)
	}
}

// finish answers the early writes of batch, whose functions all ran in
// tx, holds tx open for more of them when it holds nothing else, commits
// it, then answers the others with the commit's error.
func (g *group) finish(tx *bbolt.Tx, batch []*groupCall) {
	var p *pendingCommit
	early := true
	for _, c := range batch {
		if c.key == "" {
			early = false
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
	if p != nil && early {
		tx, batch, err = g.hold(tx, batch, p)
	}
	if err == nil && p != nil && g.syncing != nil {
		err = g.syncing()
	}
	switch {
	case err != nil && tx != nil:
		_ = tx.Rollback()
	case err == nil:
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

// hold keeps tx, whose writes ran are all early and answered, open for
// the early writes that come, for at most holdFor: it runs each in tx,
// without its hook, and answers it. It returns the transaction to commit
// and the writes in it when the time is up, someone hurries, the group
// closes or a write that is not early comes (it goes back to the head of
// the queue). When a write fails, it and those after it go back to the
// queue, and the transaction is rolled back and its writes run again in
// a new one; an error is that new one's, which loses them.
func (g *group) hold(tx *bbolt.Tx, ran []*groupCall, p *pendingCommit) (*bbolt.Tx, []*groupCall, error) {
	deadline := time.Now().Add(g.holdFor)
	for {
		more := g.more(deadline)
		if len(more) == 0 {
			return tx, ran, nil
		}
		for i, c := range more {
			if c.key == "" {
				g.putBack(more[i:])
				return tx, ran, nil
			}
			if err := call(c.fn, tx); err != nil {
				g.putBack(more[i:])
				tx, err = g.again(tx, ran)
				return tx, ran, err
			}
			ran = append(ran, c)
			p.add(c.key)
			c.done <- nil
		}
	}
}

// more takes the queue when it holds writes, waiting for them until the
// deadline; it returns none at the deadline, when someone hurries or when
// the group closes.
func (g *group) more(deadline time.Time) []*groupCall {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if g.urgent.Load() > 0 {
			return nil
		}
		g.mu.Lock()
		q, closed := g.queue, g.closed
		g.queue = nil
		g.mu.Unlock()
		if len(q) > 0 || closed {
			return q
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		}
		select {
		case <-g.wake:
		case <-timer.C:
			return nil
		}
	}
}

// putBack puts writes taken from the queue back at its head.
func (g *group) putBack(cs []*groupCall) {
	if len(cs) == 0 {
		return
	}
	g.mu.Lock()
	g.queue = append(cs[:len(cs):len(cs)], g.queue...)
	g.mu.Unlock()
	g.signal()
}

// again rolls tx back and runs the early writes ran, which all ran in it,
// again in a new transaction, in the same order and without the hook: on
// the same state they do the same. It returns that transaction, or the
// error that lost them (none is expected).
func (g *group) again(tx *bbolt.Tx, ran []*groupCall) (*bbolt.Tx, error) {
	_ = tx.Rollback()
	tx, err := g.db.Begin(true)
	if err != nil {
		return nil, err
	}
	for _, c := range ran {
		if err := call(c.again, tx); err != nil {
			_ = tx.Rollback()
			return nil, fmt.Errorf("bolt: run a heartbeat again after a rollback: %w", err)
		}
	}
	return tx, nil
}

// call runs the write in tx, then its hook.
func (c *groupCall) call(tx *bbolt.Tx) error {
	if err := call(c.fn, tx); err != nil || c.hook == nil {
		return err
	}
	return c.hook()
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
