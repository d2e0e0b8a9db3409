package bolt

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	bbolt "go.etcd.io/bbolt"
)

// group commits write transactions together without waiting for a timer:
// a write that finds no commit under way commits at once, alone; the
// writes that arrive while a commit runs queue, and the first of them
// commits them all in one transaction (one sync) as soon as that commit
// ends. So a lone write pays one commit and no delay, and under load the
// batches grow with the load. bbolt's own DB.Batch waits MaxBatchDelay
// (10 ms) for each batch to fill: with a fixed number of clients, that
// timer, not the disk, set the rate of heartbeats.
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
type group struct {
	db *bbolt.DB

	mu      sync.Mutex
	queue   []*groupCall
	running bool // a leader is committing

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
	key  string           // non-empty: answered early (see group)
	done chan groupResult // one result: the call's error, or lead
}

type groupResult struct {
	err  error
	lead bool // the caller is to commit the queue
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

// do runs fn in a write transaction shared with the writes queued at the
// same time, and returns fn's error or the commit's.
func (g *group) do(fn func(*bbolt.Tx) error) error { return g.run(fn, "") }

// early is do for a write whose loss is harmless (a heartbeat's): it
// returns fn's error, or nil once every function of its batch ran, before
// the commit ends. Until it ends, settled(ctx, key) waits for it.
func (g *group) early(key string, fn func(*bbolt.Tx) error) error { return g.run(fn, key) }

func (g *group) run(fn func(*bbolt.Tx) error, key string) error {
	c := &groupCall{fn: fn, key: key, done: make(chan groupResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		r := <-c.done
		if !r.lead {
			return r.result()
		}
	}
	g.lead(c)
	return (<-c.done).result()
}

func (r groupResult) result() error {
	if p, ok := r.err.(panicked); ok {
		panic(p.value)
	}
	return r.err
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

// lead commits the queue as it stands, then hands the lead to the first
// write queued meanwhile, or stops leading when none is. It returns once
// self (the leader's own call) has its answer: when that answer came
// early, the commit goes on in a goroutine of its own.
func (g *group) lead(self *groupCall) {
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	for len(batch) > 0 {
		tx, err := g.db.Begin(true)
		if err != nil {
			g.answer(batch, err)
			break
		}
		failed := -1
		for i, c := range batch {
			if err := call(c.fn, tx); err != nil {
				failed = i
				break
			}
		}
		if failed >= 0 {
			_ = tx.Rollback()
			c := batch[failed]
			batch = append(batch[:failed:failed], batch[failed+1:]...)
			c.done <- groupResult{err: g.db.Update(func(tx *bbolt.Tx) error { return call(c.fn, tx) })}
			continue
		}
		p := g.answerEarly(batch)
		if self.key != "" && contains(batch, self) { // answered: its caller goes
			go g.commit(tx, batch, p)
			return
		}
		g.commit(tx, batch, p)
		return
	}
	g.handOff()
}

// contains reports whether c is in batch.
func contains(batch []*groupCall, c *groupCall) bool {
	for _, b := range batch {
		if b == c {
			return true
		}
	}
	return false
}

// answerEarly answers the early writes of batch, whose functions all ran
// in the transaction, and returns the pending commit they now wait for
// (nil when there is none).
func (g *group) answerEarly(batch []*groupCall) *pendingCommit {
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
	if p == nil {
		return nil
	}
	g.pending.Store(p) // before any answer: a read after one waits
	for _, c := range batch {
		if c.key != "" {
			c.done <- groupResult{}
		}
	}
	return p
}

// commit commits tx, whose functions all ran, ends the pending commit p
// (nil: none), hands the lead on, then answers the writes of batch not
// answered early.
func (g *group) commit(tx *bbolt.Tx, batch []*groupCall, p *pendingCommit) {
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
	g.handOff()
	for _, c := range batch {
		if p == nil || c.key == "" {
			c.done <- groupResult{err: err}
		}
	}
}

// answer gives err to every write of batch.
func (g *group) answer(batch []*groupCall, err error) {
	for _, c := range batch {
		c.done <- groupResult{err: err}
	}
}

// handOff hands the lead to the first write queued, or stops leading.
func (g *group) handOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.running = false
		return
	}
	g.queue[0].done <- groupResult{lead: true}
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
