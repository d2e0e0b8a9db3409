package faults

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// TxErrors injects errors at the boundary of an embedded store's
// transactions (infra/bolt's WithTxHook): before a transaction begins, and
// at a write's commit, whose writes are then rolled back. Unlike a lost
// reply, such a failure is never ambiguous: nothing of the transaction
// remains. It is safe for concurrent use.
type TxErrors struct {
	begin, commit float64
	mu            sync.Mutex
	rng           *rand.Rand
	off           atomic.Bool

	begins, commits atomic.Int64
}

// NewTxErrors fails a share begin of the transactions before they begin
// and a share commit of the writes at their commit, drawn from seed.
func NewTxErrors(begin, commit float64, seed uint64) *TxErrors {
	return &TxErrors{begin: begin, commit: commit, rng: rand.New(rand.NewPCG(seed, seed^0xb017))}
}

// TxError is an injected failure of a transaction.
type TxError struct{ AtCommit bool }

func (e *TxError) Error() string {
	if e.AtCommit {
		return "faults: injected I/O error at commit (rolled back)"
	}
	return "faults: injected error before the transaction began"
}

// Hook is the transaction hook: pass it to bolt.WithTxHook.
func (f *TxErrors) Hook(write, commit bool) error {
	if f.off.Load() {
		return nil
	}
	f.mu.Lock()
	x := f.rng.Float64()
	f.mu.Unlock()
	switch {
	case commit && x < f.commit:
		f.commits.Add(1)
		return &TxError{AtCommit: true}
	case !commit && x < f.begin:
		f.begins.Add(1)
		return &TxError{}
	}
	return nil
}

// Pause stops injecting errors; Resume starts again.
func (f *TxErrors) Pause()  { f.off.Store(true) }
func (f *TxErrors) Resume() { f.off.Store(false) }

// Counts returns how many transactions failed before they began and at
// their commit.
func (f *TxErrors) Counts() (begins, commits int64) { return f.begins.Load(), f.commits.Load() }
