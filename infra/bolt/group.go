package bolt

import (
	"fmt"
	"sync"

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
type group struct {
	db *bbolt.DB

	mu      sync.Mutex
	queue   []*groupCall
	running bool // a leader is committing
}

// groupCall is one write waiting for its batch.
type groupCall struct {
	fn   func(*bbolt.Tx) error
	done chan groupResult // one result: the call's error, or lead
}

type groupResult struct {
	err  error
	lead bool // the caller is to commit the queue
}

// panicked carries a panic of a batch's function back to its caller.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("bolt: panic in a write: %v", p.value) }

// do runs fn in a write transaction shared with the writes queued at the
// same time, and returns fn's error or the commit's.
func (g *group) do(fn func(*bbolt.Tx) error) error {
	c := &groupCall{fn: fn, done: make(chan groupResult, 1)}
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
	g.lead()
	return (<-c.done).result()
}

func (r groupResult) result() error {
	if p, ok := r.err.(panicked); ok {
		panic(p.value)
	}
	return r.err
}

// lead commits the queue as it stands, then hands the lead to the first
// write queued meanwhile, or stops leading when none is.
func (g *group) lead() {
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.queue) == 0 {
			g.running = false
			return
		}
		g.queue[0].done <- groupResult{lead: true}
	}()
	g.commit(batch)
}

// commit runs the batch's functions in one transaction and gives each
// its result, taking out and running alone those that fail.
func (g *group) commit(batch []*groupCall) {
	for len(batch) > 0 {
		failed := -1
		err := g.db.Update(func(tx *bbolt.Tx) error {
			for i, c := range batch {
				if err := call(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range batch {
				c.done <- groupResult{err: err}
			}
			return
		}
		c := batch[failed]
		batch = append(batch[:failed:failed], batch[failed+1:]...)
		c.done <- groupResult{err: g.db.Update(func(tx *bbolt.Tx) error { return call(c.fn, tx) })}
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
