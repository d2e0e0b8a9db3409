package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/sesame-ecole/sesame"
)

// FaultyStore is a store whose calls may suffer faults, with a view of the
// same data without them.
type FaultyStore struct {
	// Store is what the racers call, through the faults.
	Store sesame.Store
	// Clean reaches the same data without faults: licence changes, the
	// invariants' reads and the final checks go through it. Store itself
	// when there are no faults.
	Clean sesame.Store
	// Quiet switches the faults off (true) or on again (false); nil when
	// there are none.
	Quiet func(off bool)
	// Injected returns the ambiguous writes injected so far (writes whose
	// answer the store did not get) and a line describing every fault.
	Injected func() (ambiguous int64, detail string)
	// CleanFailures says that an error from Store means nothing was done
	// (an embedded store whose transaction failed and was rolled back): the
	// history then holds it as failed, not unknown, and the model checks
	// that it changed nothing.
	CleanFailures bool
}

// RaceConfig sizes RunSeatRaces.
type RaceConfig struct {
	Bases   int // schools racing side by side, one limited pool each
	Clients int // users per school, each with one session at a time
	Ops     int // calls per user
	Seed    uint64
	// SleepyLease is the lease of the sessions that sleep past it and come
	// back (lapsed-lease takeovers); LongLease that of the others, which
	// never lapse during a run.
	SleepyLease, LongLease time.Duration
	// SampleEvery is the pause between two samples of the invariants,
	// each of one school in turn.
	SampleEvery time.Duration
}

// DefaultRaces is a run of a few seconds on DynamoDB Local.
var DefaultRaces = RaceConfig{Bases: 6, Clients: 6, Ops: 40, SleepyLease: 40 * time.Millisecond, LongLease: time.Minute,
	SampleEvery: 10 * time.Millisecond}

// RaceReport is what a run saw.
type RaceReport struct {
	Calls      int   // store calls recorded
	Unresolved int   // calls whose outcome stayed unknown: neither a domain answer nor a clean failure
	Failed     int   // calls that failed cleanly (CleanFailures)
	Ambiguous  int64 // ambiguous writes injected during the run
	Detail     string
	Violations []string
	History    string // path of the visualisation of a non-linearizable history
}

// poolLimits are the limits a licence change picks from: downgrades and
// upgrades around the admin-modify pool's default.
var poolLimits = []int{1, 2, 3, 4}

// RunSeatRaces races, in cfg.Bases schools at once: sign-ins (with moves
// of a user's seat to a new session), heartbeats, lapsed-lease takeovers,
// logouts, forced disconnections and licence changes, through st.Store. It
// checks the invariants while they run and at the end:
//   - the live holders of a pool never exceed its limit (after a
//     downgrade, a pool above its new limit never grows);
//   - no live seat is held by an ended session;
//   - no seat is lost: a session told it holds a seat, with a lease that
//     cannot lapse and not disconnected, keeps it until it leaves; and once
//     everyone has left, every seat of the pool can be taken again;
//   - every call ends with an answer: the store resolves its ambiguous
//     writes;
//
// and it checks the recorded history for linearizability against the
// sequential model of a pool (poolmodel.go). A failing history is written
// under the repository's .cache/ as porcupine's HTML visualisation.
func RunSeatRaces(t *testing.T, st FaultyStore, cfg RaceConfig) RaceReport {
	t.Helper()
	r := newRace(t, st, cfg)
	r.run()
	if r.st.Quiet != nil {
		r.st.Quiet(true)
		defer r.st.Quiet(false)
	}
	r.finalChecks()
	rep := r.report()
	t.Logf("seat races: %d calls in %d schools, %d unresolved, %d failed cleanly; %d ambiguous writes injected (%s); %d violations",
		rep.Calls, cfg.Bases, rep.Unresolved, rep.Failed, rep.Ambiguous, rep.Detail, len(rep.Violations))
	beats, all := map[string]int{}, 0
	for _, op := range r.history() {
		if in := op.Input.(poolOp).In; in.Kind == opBeat {
			beats[op.Output.(string)]++
			all++
		}
	}
	t.Logf("heartbeats' fast path (BeatStamped): %d kept, %d declined (then RenewSeat), %d unknown or failed",
		beats[ansKept], beats[ansDeclined], all-beats[ansKept]-beats[ansDeclined])
	if beats[ansKept] == 0 {
		t.Errorf("the heartbeats' fast path never kept a seat: the races did not exercise it")
	}
	for i, v := range rep.Violations {
		if i == 20 {
			t.Errorf("… and %d more", len(rep.Violations)-20)
			break
		}
		t.Error(v)
	}
	if rep.Unresolved > 0 {
		t.Errorf("%d calls ended without an answer: the store left ambiguous writes unresolved", rep.Unresolved)
	}
	rep.History = checkHistory(t, r.history(), r.initial)
	return rep
}

type raceSession struct {
	num    int
	id     string
	sleepy bool
}

type raceBase struct {
	idx  int
	key  sesame.BaseKey
	pool sesame.Pool

	nextSession atomic.Int64
	mu          sync.Mutex
	open        map[int]raceSession // told they hold a seat, not yet left
	victims     map[int]bool        // chosen for a forced disconnection
	// The bound of the sampled invariant: max(limit, carry), where carry
	// is what a downgrade left above the new limit.
	limit, carry int
}

type race struct {
	t     *testing.T
	st    FaultyStore
	cfg   RaceConfig
	start time.Time
	bases []*raceBase

	initial    map[int]poolState
	horizon    atomic.Int64 // the latest now of the calls begun so far
	mu         sync.Mutex
	ops        []porcupine.Operation
	violations []string
	unresolved int
	failed     int
	ambiguous0 int64
}

func newRace(t *testing.T, st FaultyStore, cfg RaceConfig) *race {
	if st.Clean == nil {
		st.Clean = st.Store
	}
	r := &race{t: t, st: st, cfg: cfg, initial: map[int]poolState{}}
	if st.Injected != nil {
		r.ambiguous0, _ = st.Injected()
	}
	for i := range cfg.Bases {
		lic := sesame.DefaultLicense
		lic.AdminSeats = 3
		k := MustBase(t, st.Clean, NewUAI(), year, lic)
		b, err := st.Clean.GetBase(context.Background(), k)
		must(t, "GetBase", err)
		r.bases = append(r.bases, &raceBase{idx: i, key: k, pool: sesame.PoolAdminModify,
			open: map[int]raceSession{}, victims: map[int]bool{}, limit: 3})
		r.initial[i] = poolState{Limit: 3, Version: b.Version}
	}
	return r
}

func (r *race) violate(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

// record adds one call to the history; unknown answers are completed at
// the end of the history.
func (r *race) record(b *raceBase, client int, in poolInput, call time.Time, out string) {
	in.Horizon = r.horizon.Load()
	ret := time.Since(r.start).Nanoseconds()
	switch {
	case out == ansUnknown && r.st.CleanFailures:
		out = ansFailed
	case out == ansUnknown:
		ret = -1 // completed at the end of the history
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: b.idx*(r.cfg.Clients+1) + client,
		Input: poolOp{Base: b.idx, In: in}, Call: call.Sub(r.start).Nanoseconds(), Output: out, Return: ret})
}

func (r *race) history() []porcupine.Operation {
	end := time.Since(r.start).Nanoseconds() + 1
	ops := make([]porcupine.Operation, len(r.ops))
	for i, op := range r.ops {
		if op.Return < 0 {
			op.Return = end
		}
		ops[i] = op
	}
	return ops
}

func (r *race) run() {
	r.start = time.Now()
	ctx, stop := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() { r.sample(ctx) })
	var wg sync.WaitGroup
	for _, b := range r.bases {
		for c := range r.cfg.Clients {
			rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(b.idx*1000+c)))
			wg.Go(func() { r.client(b, c, rng) })
		}
		rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(b.idx*1000+999)))
		bg.Go(func() { r.admin(ctx, b, rng) })
	}
	wg.Wait()
	stop()
	bg.Wait()
}

// policy reads the base's licence, as the service does before a seat call.
func (r *race) policy(b *raceBase, lease time.Duration) (sesame.SeatPolicy, bool) {
	for range 50 {
		base, err := r.st.Clean.GetBase(context.Background(), b.key)
		if err == nil {
			return sesame.SeatPolicy{Limit: base.License.Limit(b.pool), Lease: lease, LicenseVersion: base.Version}, true
		}
		time.Sleep(time.Millisecond)
	}
	r.violate("%s: the base cannot be read", b.key)
	return sesame.SeatPolicy{}, false
}

// classify turns a store's answer into the model's.
func classify(err error, ok string) string {
	switch {
	case err == nil:
		return ok
	case errors.Is(err, sesame.ErrSeatsExhausted):
		return ansExhausted
	case errors.Is(err, sesame.ErrSeatLost):
		return ansLost
	case errors.Is(err, sesame.ErrSessionEnded):
		return ansEnded
	case errors.Is(err, sesame.ErrNotFound):
		return ansNotFound
	case errors.Is(err, sesame.ErrLicenseChanged):
		return ansChanged
	}
	return ansUnknown
}

func (r *race) unknown(what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st.CleanFailures {
		r.failed++
		return
	}
	r.unresolved++
	if r.unresolved <= 5 {
		r.t.Logf("unresolved %s: %v", what, err)
	}
}

// client is one user of base b: sign in, heartbeats, sometimes a move to
// a new session or a sleep past the lease, logout.
func (r *race) client(b *raceBase, c int, rng *rand.Rand) {
	login := fmt.Sprintf("u%d", c)
	var cur *raceSession
	for range r.cfg.Ops {
		switch x := rng.IntN(100); {
		case cur == nil || (x < 8 && !cur.sleepy):
			cur = r.acquire(b, c, login, cur, rng.IntN(5) == 0)
		case cur.sleepy:
			time.Sleep(r.cfg.SleepyLease + time.Duration(10+rng.IntN(40))*time.Millisecond)
			if !r.renew(b, c, login, *cur) {
				cur = nil
				continue
			}
			r.release(b, c, login, *cur)
			cur = nil
		case x < 70:
			if !r.renew(b, c, login, *cur) {
				cur = nil
			}
		case x < 90:
			r.release(b, c, login, *cur)
			cur = nil
		default:
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
	}
	if cur != nil {
		b.mu.Lock()
		b.open[cur.num] = *cur // it holds its seat to the end: checked then
		b.mu.Unlock()
	}
}

// acquire signs login in with a new session; with cur set it is a move.
// It returns the session the user holds afterwards: the new one when
// granted, cur when refused, none when the outcome is unknown.
func (r *race) acquire(b *raceBase, c int, login string, cur *raceSession, sleepy bool) *raceSession {
	lease := r.cfg.LongLease
	if sleepy {
		lease = r.cfg.SleepyLease
	}
	p, ok := r.policy(b, lease)
	if !ok {
		return nil
	}
	num := int(b.nextSession.Add(1))
	now := r.begin()
	s := newSession(b.key, login, b.pool, now)
	s.Stamp(sesame.AutoDisconnect{}, now) // no idle limit: the heartbeats' fast path may apply
	in := poolInput{Kind: opAcquire, Login: c, Session: num, Now: now.UnixNano(), Expires: now.Add(lease).UnixNano(),
		Limit: int(p.Limit), Version: p.LicenseVersion}
	if cur != nil {
		b.mu.Lock()
		delete(b.open, cur.num) // a move ends the old session, if granted
		b.mu.Unlock()
	}
	_, err := r.st.Store.OpenSession(context.Background(), s, p, now)
	out := classify(err, ansGranted)
	r.record(b, c, in, now, out)
	next := &raceSession{num: num, id: s.ID, sleepy: sleepy}
	switch out {
	case ansGranted:
		b.mu.Lock()
		b.open[num] = *next
		b.mu.Unlock()
		return next
	case ansExhausted, ansChanged:
		if cur != nil {
			b.mu.Lock()
			b.open[cur.num] = *cur
			b.mu.Unlock()
		}
		return cur
	case ansUnknown:
		r.unknown("OpenSession", err)
		r.forget(b, c, login, next)
		if cur != nil {
			r.forget(b, c, login, cur)
		}
		return nil
	}
	r.violate("%s: OpenSession %s answered %v", b.key, login, err)
	return cur
}

// forget ends a session whose state is unknown, without faults, so that
// the rest of the history is decided.
func (r *race) forget(b *raceBase, c int, login string, s *raceSession) {
	now := r.begin()
	in := poolInput{Kind: opEnd, Login: c, Session: s.num, Now: now.UnixNano()}
	_, err := r.st.Clean.EndSession(context.Background(), s.id, sesame.ReasonLoggedOut, now)
	out := classify(err, ansOK)
	r.record(b, c, in, now, out)
	if out == ansUnknown {
		r.violate("%s: EndSession without faults: %v", b.key, err)
	}
}

// legit reports whether s may have lost its seat: its lease lapses during
// the run, or it was chosen for a forced disconnection.
func (b *raceBase) legit(s raceSession) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return s.sleepy || b.victims[s.num]
}

// renew sends a heartbeat and reports whether s still holds its seat.
func (r *race) renew(b *raceBase, c int, login string, s raceSession) bool {
	lease := r.cfg.LongLease
	if s.sleepy {
		lease = r.cfg.SleepyLease
	}
	p, ok := r.policy(b, lease)
	if !ok {
		return false
	}
	now := r.begin()
	in := poolInput{Kind: opRenew, Login: c, Session: s.num, Now: now.UnixNano(), Expires: now.Add(lease).UnixNano(),
		Limit: int(p.Limit), Version: p.LicenseVersion}
	var err error
	switch s.num % 3 {
	case 0:
		// A third of the heartbeats go through BeatSession: the activity
		// and the renewal, as the service's full path sends them.
		x := newSession(b.key, login, b.pool, now)
		x.ID = s.id
		_, err = r.st.Store.BeatSession(context.Background(), x, p, now)
	case 1:
		// A third through the fast path first, as the service sends them:
		// what it declines goes to RenewSeat.
		switch r.beatStamped(b, c, s, p, lease, now) {
		case ansKept:
			return true
		case ansUnknown:
			r.forget(b, c, login, &s)
			b.mu.Lock()
			delete(b.open, s.num)
			b.mu.Unlock()
			return false
		}
		now = r.begin()
		in.Now, in.Expires = now.UnixNano(), now.Add(lease).UnixNano()
		fallthrough
	default:
		_, err = r.st.Store.RenewSeat(context.Background(), s.id, p, now)
	}
	out := classify(err, ansKept)
	r.record(b, c, in, now, out)
	switch out {
	case ansKept:
		return true
	case ansChanged:
		return true // it holds what it held; the next heartbeat reads the licence again
	case ansLost, ansEnded, ansNotFound:
		if out == ansNotFound || !b.legit(s) {
			r.violate("%s: seat lost: session s%d of %s, told it held a seat, got %q at its heartbeat", b.key, s.num, login, out)
		}
	case ansUnknown:
		r.unknown("RenewSeat", err)
		r.forget(b, c, login, &s)
	}
	b.mu.Lock()
	delete(b.open, s.num)
	b.mu.Unlock()
	return false
}

// beatStamped sends a heartbeat through the fast path (BeatStamped) and
// returns its answer: kept, declined (the caller then takes the full
// path) or unknown.
func (r *race) beatStamped(b *raceBase, c int, s raceSession, p sesame.SeatPolicy, lease time.Duration, now time.Time) string {
	in := poolInput{Kind: opBeat, Login: c, Session: s.num, Now: now.UnixNano(), Expires: now.Add(lease).UnixNano()}
	_, err := r.st.Store.BeatStamped(context.Background(), s.id, 0, p, now)
	out := ansDeclined
	if !errors.Is(err, sesame.ErrNotStamped) {
		out = classify(err, ansKept)
	}
	r.record(b, c, in, now, out)
	switch out {
	case ansKept, ansDeclined:
	case ansUnknown:
		r.unknown("BeatStamped", err)
	default:
		r.violate("%s: BeatStamped of s%d answered %v", b.key, s.num, err)
	}
	return out
}

// release logs s out.
func (r *race) release(b *raceBase, c int, login string, s raceSession) {
	b.mu.Lock()
	delete(b.open, s.num)
	b.mu.Unlock()
	now := r.begin()
	in := poolInput{Kind: opEnd, Login: c, Session: s.num, Now: now.UnixNano()}
	_, err := r.st.Store.EndSession(context.Background(), s.id, sesame.ReasonLoggedOut, now)
	out := classify(err, ansOK)
	r.record(b, c, in, now, out)
	switch out {
	case ansOK:
	case ansEnded:
		if !b.legit(s) {
			r.violate("%s: seat lost: session s%d of %s ended before its logout", b.key, s.num, login)
		}
	case ansUnknown:
		r.unknown("EndSession", err)
		r.forget(b, c, login, &s)
	default:
		r.violate("%s: logout of s%d answered %v", b.key, s.num, err)
	}
}

// admin disconnects sessions by force and changes the licence, until ctx
// ends.
func (r *race) admin(ctx context.Context, b *raceBase, rng *rand.Rand) {
	c := r.cfg.Clients // the admin's client number
	for ctx.Err() == nil {
		time.Sleep(time.Duration(30+rng.IntN(60)) * time.Millisecond)
		if rng.IntN(3) > 0 {
			r.disconnect(b, rng)
			continue
		}
		limit := poolLimits[rng.IntN(len(poolLimits))]
		lic := sesame.DefaultLicense
		lic.AdminSeats = sesame.Limit(limit)
		b.mu.Lock() // the sampler sees the old bound or the new, never between
		now := r.begin()
		base, err := r.st.Clean.SetLicense(context.Background(), b.key, lic, now)
		if err != nil {
			b.mu.Unlock()
			r.violate("%s: SetLicense: %v", b.key, err)
			return
		}
		b.carry = max(b.carry, b.limit)
		b.limit = limit
		b.mu.Unlock()
		r.record(b, c, poolInput{Kind: opLimit, Limit: limit, Version: base.Version, Now: now.UnixNano()}, now, ansOK)
	}
}

// disconnect ends a random open session by force, as the SPR does.
func (r *race) disconnect(b *raceBase, rng *rand.Rand) {
	b.mu.Lock()
	var nums []int
	for n := range b.open {
		nums = append(nums, n)
	}
	if len(nums) == 0 {
		b.mu.Unlock()
		return
	}
	sort.Ints(nums)
	s := b.open[nums[rng.IntN(len(nums))]]
	b.victims[s.num] = true
	b.mu.Unlock()
	login := r.loginOf(b, s)
	now := r.begin()
	in := poolInput{Kind: opEnd, Login: login, Session: s.num, Now: now.UnixNano()}
	_, err := r.st.Store.EndSession(context.Background(), s.id, sesame.ReasonDisconnected, now)
	out := classify(err, ansOK)
	r.record(b, r.cfg.Clients, in, now, out)
	if out == ansUnknown {
		r.unknown("EndSession (forced)", err)
	}
}

// loginOf returns the client number whose session s is.
func (r *race) loginOf(b *raceBase, s raceSession) int {
	x, err := r.st.Clean.GetSession(context.Background(), s.id)
	if err != nil {
		r.violate("%s: GetSession s%d: %v", b.key, s.num, err)
		return -1
	}
	var c int
	fmt.Sscanf(x.Login, "u%d", &c)
	return c
}

// sample checks, one school every cfg.SampleEvery until ctx ends, that no pool holds
// more than its bound and that no live seat belongs to an ended session.
func (r *race) sample(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		time.Sleep(r.cfg.SampleEvery)
		r.sampleBase(r.bases[i%len(r.bases)])
	}
}

func (r *race) sampleBase(b *raceBase) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now().UTC()
	ls, err := r.st.Clean.ListLeases(context.Background(), b.key, now)
	if err != nil {
		r.violate("%s: ListLeases: %v", b.key, err)
		return
	}
	n := 0
	var live []sesame.Lease
	for _, l := range ls {
		if l.Pool == b.pool && !l.AcquiredAt.After(now) {
			n++
			live = append(live, l)
		}
	}
	if bound := max(b.limit, b.carry); n > bound {
		r.violate("%s: %d live holders at %s, limit %d (carried over a downgrade: %d)", b.key, n, now.Format(time.StampMicro), b.limit, b.carry)
	}
	if n <= b.limit {
		b.carry = 0
	} else {
		b.carry = min(b.carry, n)
	}
	for _, l := range live {
		x, err := r.st.Clean.GetSession(context.Background(), l.Session)
		if err != nil || x.Open() {
			continue
		}
		// Ended: the seat must be gone, read after the end.
		again, err := r.st.Clean.ListLeases(context.Background(), b.key, now)
		if err != nil {
			continue
		}
		for _, l2 := range again {
			if l2.Session == l.Session {
				r.violate("%s: the live seat of %s is held by session %.8s, ended (%s)", b.key, l.Login, l.Session, x.EndReason)
			}
		}
	}
}

// finalChecks runs with faults off, after the races: the sessions that
// kept their seat hold it, no seat is held by an ended session, and once
// all have left every seat of the pool can be taken again.
func (r *race) finalChecks() {
	ctx := context.Background()
	for _, b := range r.bases {
		now := time.Now().UTC()
		ls, err := r.st.Clean.ListLeases(ctx, b.key, now)
		must(r.t, "ListLeases", err)
		held := map[string]bool{}
		for _, l := range ls {
			if l.Pool != b.pool {
				continue
			}
			held[l.Session] = true
			x, err := r.st.Clean.GetSession(ctx, l.Session)
			if err != nil || !x.Open() {
				r.violate("%s: at the end, the live seat of %s is held by session %.8s, not open (%v)", b.key, l.Login, l.Session, err)
			}
		}
		for _, s := range b.open {
			if !s.sleepy && !b.victims[s.num] && !held[s.id] {
				r.violate("%s: seat lost: session s%d was told it holds a seat and holds none at the end", b.key, s.num)
			}
		}
		r.emptyThenFill(b)
	}
}

// emptyThenFill ends every open session of b, then fills the pool to its
// limit: no seat was lost to a count that drifted.
func (r *race) emptyThenFill(b *raceBase) {
	ctx := context.Background()
	ss, err := r.st.Clean.ListSessions(ctx, b.key)
	must(r.t, "ListSessions", err)
	now := time.Now().UTC()
	for _, s := range ss {
		if _, err := r.st.Clean.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, now); err != nil && !errors.Is(err, sesame.ErrSessionEnded) {
			r.violate("%s: EndSession at the end: %v", b.key, err)
		}
	}
	base, err := r.st.Clean.GetBase(ctx, b.key)
	must(r.t, "GetBase", err)
	limit := base.License.Limit(b.pool)
	p := sesame.SeatPolicy{Limit: limit, Lease: time.Minute, LicenseVersion: base.Version}
	for i := range int(limit) {
		s := newSession(b.key, fmt.Sprintf("fin%d", i), b.pool, now)
		if _, err := r.st.Clean.OpenSession(ctx, s, p, now); err != nil {
			r.violate("%s: seat lost: after everyone left, seat %d of %d cannot be taken: %v", b.key, i+1, limit, err)
		}
	}
	s := newSession(b.key, "fin-x", b.pool, now)
	if _, err := r.st.Clean.OpenSession(ctx, s, p, now); !errors.Is(err, sesame.ErrSeatsExhausted) {
		r.violate("%s: after everyone left, the pool admitted more than its %d seats: %v", b.key, limit, err)
	}
}

func (r *race) report() RaceReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := RaceReport{Calls: len(r.ops), Unresolved: r.unresolved, Failed: r.failed, Violations: r.violations}
	if r.st.Injected != nil {
		a, d := r.st.Injected()
		rep.Ambiguous, rep.Detail = a-r.ambiguous0, d
	} else {
		rep.Detail = "no faults"
	}
	return rep
}

// begin reads the now of a call about to start, and moves the horizon to
// it.
func (r *race) begin() time.Time {
	now := time.Now().UTC()
	n := now.UnixNano()
	for {
		h := r.horizon.Load()
		if n <= h || r.horizon.CompareAndSwap(h, n) {
			return now
		}
	}
}
