package storetest

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/sesame-ecole/sesame"
)

// A history that a pool of one seat cannot have: two users granted one
// after the other, neither leaving.
func TestCheckerRejectsTwoHoldersOfOneSeat(t *testing.T) {
	init := map[int]poolState{0: {Limit: 1, Version: 1}}
	now := time.Now().UnixNano()
	in := func(login, session int) poolOp {
		return poolOp{In: poolInput{Kind: opAcquire, Login: login, Session: session, Now: now, Expires: now + int64(time.Minute), Limit: 1, Version: 1}}
	}
	ops := []porcupine.Operation{
		{ClientId: 0, Input: in(0, 1), Call: 0, Output: ansGranted, Return: 10},
		{ClientId: 1, Input: in(1, 2), Call: 20, Output: ansGranted, Return: 30},
	}
	if ok, _ := porcupine.CheckOperationsVerbose(poolModel(init), ops, time.Second); ok != porcupine.Illegal {
		t.Fatalf("two holders of one seat: %s, want Illegal", ok)
	}
	// The same calls overlapping, the second refused: linearizable.
	ops[1].Call, ops[1].Output = 5, ansExhausted
	if ok, _ := porcupine.CheckOperationsVerbose(poolModel(init), ops, time.Second); ok != porcupine.Ok {
		t.Fatalf("one granted, one refused: %s, want Ok", ok)
	}
	// An unknown outcome may have taken the seat: a later refusal is fine,
	// and so is a later grant.
	ops[0].Output, ops[0].Return = ansUnknown, 100
	ops[1].Call, ops[1].Return = 20, 30
	for _, out := range []string{ansExhausted, ansGranted} {
		ops[1].Output = out
		if ok, _ := porcupine.CheckOperationsVerbose(poolModel(init), ops, time.Second); ok != porcupine.Ok {
			t.Fatalf("after an unknown outcome, %s: %s, want Ok", out, ok)
		}
	}
}

// The fast path of a heartbeat keeps only a live lease: kept after the
// lease lapsed is a seat taken back without admission, which a full pool
// cannot have; declined changes nothing.
func TestCheckerRejectsAFastBeatOfALapsedLease(t *testing.T) {
	init := map[int]poolState{0: {Limit: 1, Version: 1}}
	now := time.Now().UnixNano()
	minute := int64(time.Minute)
	acquire := func(login, session int, at int64) poolOp {
		return poolOp{In: poolInput{Kind: opAcquire, Login: login, Session: session, Now: at, Expires: at + minute, Limit: 1, Version: 1}}
	}
	beat := poolOp{In: poolInput{Kind: opBeat, Login: 0, Session: 1, Now: now + 2*minute, Expires: now + 3*minute}}
	ops := []porcupine.Operation{
		{ClientId: 0, Input: acquire(0, 1, now), Call: 0, Output: ansGranted, Return: 10},
		{ClientId: 1, Input: acquire(1, 2, now+2*minute), Call: 20, Output: ansGranted, Return: 30},
		{ClientId: 0, Input: beat, Call: 40, Output: ansKept, Return: 50},
	}
	if ok, _ := porcupine.CheckOperationsVerbose(poolModel(init), ops, time.Second); ok != porcupine.Illegal {
		t.Fatalf("a lapsed lease kept by the fast path: %s, want Illegal", ok)
	}
	ops[2].Output = ansDeclined
	if ok, _ := porcupine.CheckOperationsVerbose(poolModel(init), ops, time.Second); ok != porcupine.Ok {
		t.Fatalf("the fast path declining a lapsed lease: %s, want Ok", ok)
	}
	// While the lease is live, kept is what it does.
	ops = ops[:1]
	beat.In.Now, beat.In.Expires = now+minute/2, now+2*minute
	ops = append(ops, porcupine.Operation{ClientId: 0, Input: beat, Call: 20, Output: ansKept, Return: 30})
	if ok, _ := porcupine.CheckOperationsVerbose(poolModel(init), ops, time.Second); ok != porcupine.Ok {
		t.Fatalf("the fast path keeping a live lease: %s, want Ok", ok)
	}
}

// The races against a fake pool that admits one holder too many: the
// sampled invariant and the linearizability check both catch it, and the
// failing history is written where the log says. The same fake, exact,
// passes: the model does not refuse what a correct pool does.
func TestRacesCatchAnOverAdmittingPool(t *testing.T) {
	for _, c := range []struct {
		name  string
		slack int
		bad   bool
	}{{"Exact", 0, false}, {"OneTooMany", 1, true}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultRaces
			cfg.Bases, cfg.Seed = 3, 7
			r := newRace(t, FaultyStore{Store: newFakePool(c.slack)}, cfg)
			r.run()
			ok, path := linearizable(t, r.history(), r.initial)
			switch {
			case c.bad && ok:
				t.Fatal("the checker accepted the history of a pool that admits one too many")
			case c.bad:
				if _, err := os.Stat(path); err != nil {
					t.Fatalf("the failing history was not written: %v", err)
				}
				t.Cleanup(func() { os.Remove(path) })
				if len(r.violations) == 0 {
					t.Error("the sampled invariant never saw the pool above its limit")
				}
			case !ok:
				t.Fatalf("the checker refused the history of an exact pool; see %s", path)
			case len(r.violations) > 0:
				t.Fatalf("violations on an exact pool: %v", r.violations)
			}
		})
	}
}

// A store that reports a clean failure for a write that landed is caught:
// the model holds a failed call as one that changed nothing.
func TestRacesCatchAFailureThatLanded(t *testing.T) {
	f := newFakePool(0)
	cfg := DefaultRaces
	cfg.Bases, cfg.Seed = 3, 11
	r := newRace(t, FaultyStore{Store: &landedButFailed{fakePool: f}, Clean: f, CleanFailures: true}, cfg)
	r.run()
	ok, path := linearizable(t, r.history(), r.initial)
	if ok {
		t.Fatal("the checker accepted sign-ins reported failed although they took a seat")
	}
	t.Cleanup(func() { os.Remove(path) })
}

// landedButFailed answers every fifth sign-in that took a seat with an
// error.
type landedButFailed struct {
	*fakePool
	n atomic.Int64
}

func (l *landedButFailed) OpenSession(ctx context.Context, s sesame.Session, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	lease, err := l.fakePool.OpenSession(ctx, s, p, now)
	if err == nil && l.n.Add(1)%5 == 0 {
		return sesame.Lease{}, errors.New("disk error after the commit")
	}
	return lease, err
}

// fakePool is an in-memory store of bases and seats, exact when slack is
// 0, admitting slack holders too many otherwise. Only what the races call
// is implemented.
type fakePool struct {
	sesame.Store
	slack    int
	mu       sync.Mutex
	bases    map[sesame.BaseKey]sesame.Base
	sessions map[string]sesame.Session
	leases   map[string]sesame.Lease // by base, pool and login
}

func newFakePool(slack int) *fakePool {
	return &fakePool{slack: slack, bases: map[sesame.BaseKey]sesame.Base{},
		sessions: map[string]sesame.Session{}, leases: map[string]sesame.Lease{}}
}

func leaseKey(k sesame.SeatKey, login string) string {
	return string(k.UAI) + "/" + string(k.Year) + "/" + string(k.Pool) + "/" + login
}

func (f *fakePool) CreateBase(_ context.Context, _ sesame.School, b sesame.Base, _ sesame.BaseContent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bases[b.BaseKey] = b
	return nil
}

func (f *fakePool) GetBase(_ context.Context, k sesame.BaseKey) (sesame.Base, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bases[k], nil
}

func (f *fakePool) SetLicense(_ context.Context, k sesame.BaseKey, l sesame.License, _ time.Time) (sesame.Base, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.bases[k]
	b.License, b.Version = l, b.Version+1
	f.bases[k] = b
	return b, nil
}

func (f *fakePool) liveOthers(k sesame.SeatKey, login string, now time.Time) int {
	n := 0
	for _, l := range f.leases {
		if l.SeatKey == k && l.Login != login && l.Live(now) {
			n++
		}
	}
	return n
}

func (f *fakePool) admits(k sesame.SeatKey, login string, p sesame.SeatPolicy, now time.Time) error {
	if f.liveOthers(k, login, now) >= int(p.Limit)+f.slack {
		return sesame.Exhausted(k.Pool, p.Limit, nil, now)
	}
	if f.bases[sesame.BaseKey{UAI: k.UAI, Year: k.Year}].Version != p.LicenseVersion {
		return sesame.ErrLicenseChanged
	}
	return nil
}

func (f *fakePool) OpenSession(_ context.Context, s sesame.Session, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := sesame.SeatKey{UAI: s.UAI, Year: s.Year, Pool: s.Pool}
	key := leaseKey(k, s.Login)
	own, has := f.leases[key]
	if !has || !own.Live(now) {
		if err := f.admits(k, s.Login, p, now); err != nil {
			return sesame.Lease{}, err
		}
	}
	if has {
		if old := f.sessions[own.Session]; old.Open() {
			old.EndReason, old.EndedAt = sesame.ReasonReplaced, now
			f.sessions[old.ID] = old
		}
	}
	l := sesame.Lease{SeatKey: k, Login: s.Login, Session: s.ID, AcquiredAt: now, ExpiresAt: now.Add(p.Lease)}
	f.leases[key], f.sessions[s.ID] = l, s
	return l, nil
}

func (f *fakePool) GetSession(_ context.Context, id string) (sesame.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return s, sesame.ErrNotFound
	}
	return s, nil
}

func (f *fakePool) RenewSeat(_ context.Context, id string, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.open(id)
	if err != nil {
		return sesame.Lease{}, err
	}
	k := sesame.SeatKey{UAI: s.UAI, Year: s.Year, Pool: s.Pool}
	key := leaseKey(k, s.Login)
	l := f.leases[key]
	if !l.Live(now) {
		err := f.admits(k, s.Login, p, now)
		if errors.Is(err, sesame.ErrSeatsExhausted) {
			s.EndReason, s.EndedAt = sesame.ReasonSeatLost, now
			f.sessions[id] = s
			delete(f.leases, key)
			return sesame.Lease{}, sesame.ErrSeatLost
		}
		if err != nil {
			return sesame.Lease{}, err
		}
		l.AcquiredAt = now
	}
	l.ExpiresAt = now.Add(p.Lease)
	f.leases[key] = l
	return l, nil
}

// BeatSession is RenewSeat: the fake keeps no activity.
func (f *fakePool) BeatSession(ctx context.Context, s sesame.Session, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	return f.RenewSeat(ctx, s.ID, p, now)
}

// BeatStamped extends a live lease of an open session and declines the
// rest: the fake keeps no activity nor stamp.
func (f *fakePool) BeatStamped(_ context.Context, id string, _ time.Duration, p sesame.SeatPolicy, now time.Time) (sesame.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.open(id)
	if err != nil {
		return s, sesame.ErrNotStamped
	}
	key := leaseKey(sesame.SeatKey{UAI: s.UAI, Year: s.Year, Pool: s.Pool}, s.Login)
	l := f.leases[key]
	if l.Session != id || !l.Live(now) {
		return s, sesame.ErrNotStamped
	}
	l.ExpiresAt = now.Add(p.Lease)
	f.leases[key] = l
	return s, nil
}

func (f *fakePool) EndSession(_ context.Context, id string, r sesame.EndReason, now time.Time) (sesame.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.open(id)
	if err != nil {
		return s, err
	}
	s.EndReason, s.EndedAt = r, now
	f.sessions[id] = s
	key := leaseKey(sesame.SeatKey{UAI: s.UAI, Year: s.Year, Pool: s.Pool}, s.Login)
	if f.leases[key].Session == id {
		delete(f.leases, key)
	}
	return s, nil
}

func (f *fakePool) ListLeases(_ context.Context, k sesame.BaseKey, now time.Time) ([]sesame.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sesame.Lease
	for _, l := range f.leases {
		if l.UAI == k.UAI && l.Year == k.Year && l.Live(now) {
			out = append(out, l)
		}
	}
	return out, nil
}

// open returns open session id, or the error that says why not.
func (f *fakePool) open(id string) (sesame.Session, error) {
	s, ok := f.sessions[id]
	switch {
	case !ok:
		return s, sesame.ErrNotFound
	case !s.Open():
		return s, sesame.ErrSessionEnded
	}
	return s, nil
}
