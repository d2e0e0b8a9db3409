package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Race sizes: at least 32 goroutines for 4 seats, over many rounds.
const (
	racers = 32
	seats  = 4
	rounds = 12
)

// testConcurrency races goroutines for seats with real time. The claims:
// never more holders than the limit, and no seat lost — once everyone has
// released, every seat can be taken again.
func testConcurrency(t *testing.T, open Opener) {
	st := open(t)

	t.Run("NewcomersRace", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		pool := sesame.PoolAdminModify
		for round := range rounds {
			now := time.Now().UTC()
			var (
				start   = make(chan struct{})
				wg      sync.WaitGroup
				mu      sync.Mutex
				winners []sesame.Session
				errs    []error
			)
			for i := range racers {
				wg.Go(func() {
					s := newSession(k, fmt.Sprintf("r%d-u%02d", round, i), pool, now)
					<-start
					_, err := st.OpenSession(context.Background(), s, sesame.SeatPolicy{Limit: seats, Lease: time.Minute}, time.Now().UTC())
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						winners = append(winners, s)
					case !errors.Is(err, sesame.ErrSeatsExhausted):
						errs = append(errs, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("round %d: %d unexpected errors, first: %v", round, len(errs), errs[0])
			}
			if len(winners) != seats {
				t.Fatalf("round %d: %d of %d racers got a seat, want exactly %d", round, len(winners), racers, seats)
			}
			if got := liveIn(t, st, k, pool, time.Now().UTC()); len(got) != seats {
				t.Fatalf("round %d: %d live leases, want %d", round, len(got), seats)
			}
			// Everyone releases, concurrently; the next round needs every seat back.
			var rel sync.WaitGroup
			for _, s := range winners {
				rel.Go(func() {
					if _, err := st.EndSession(context.Background(), s.ID, sesame.ReasonLoggedOut, time.Now().UTC()); err != nil {
						t.Errorf("round %d: EndSession: %v", round, err)
					}
				})
			}
			rel.Wait()
			if got := liveIn(t, st, k, pool, time.Now().UTC()); len(got) != 0 {
				t.Fatalf("round %d: %d live leases after every release", round, len(got))
			}
		}
	})

	// churn makes racers sign in, renew and leave in a loop; racers with
	// the same login move the seat to each other. It returns how many
	// logins were counted as holding a seat at once, where a login counts
	// from the moment its racer got a seat until that racer starts to
	// leave. That count is a true lower bound only when no two racers
	// share a login (a racer sharing its login may free the seat another
	// still counts), so only then is a peak above the limit proof of
	// over-admission.
	churn := func(t *testing.T, k sesame.BaseKey, logins int) (peak int) {
		pool := sesame.PoolAdminModify
		const iterations = 25
		var (
			mu   sync.Mutex
			held = map[string]int{}
			wins atomic.Int64
			wg   sync.WaitGroup
		)
		count := func(login string, d int) {
			mu.Lock()
			defer mu.Unlock()
			held[login] += d
			if held[login] == 0 {
				delete(held, login)
			}
			peak = max(peak, len(held))
		}
		policy := sesame.SeatPolicy{Limit: seats, Lease: time.Minute}
		for i := range racers {
			wg.Go(func() {
				ctx := context.Background()
				login := fmt.Sprintf("churn%02d", i%logins)
				for range iterations {
					s := newSession(k, login, pool, time.Now().UTC())
					_, err := st.OpenSession(ctx, s, policy, time.Now().UTC())
					if errors.Is(err, sesame.ErrSeatsExhausted) {
						continue
					}
					if err != nil {
						t.Errorf("OpenSession: %v", err)
						return
					}
					wins.Add(1)
					count(login, 1)
					_, err = st.RenewSeat(ctx, s.ID, policy, time.Now().UTC())
					if err != nil && !errors.Is(err, sesame.ErrSessionEnded) {
						t.Errorf("RenewSeat: %v", err) // ended: another racer of the login took the seat
					}
					count(login, -1)
					_, err = st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, time.Now().UTC())
					if err != nil && !errors.Is(err, sesame.ErrSessionEnded) {
						t.Errorf("EndSession: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if wins.Load() < seats {
			t.Fatalf("only %d sign-ins succeeded in the churn", wins.Load())
		}
		// No seat lost: every seat can be taken again.
		now := time.Now().UTC()
		if got := liveIn(t, st, k, pool, now); len(got) != 0 {
			t.Fatalf("after the churn, %d live leases remain: %v", len(got), got)
		}
		for i := range seats {
			mustOpen(t, st, k, fmt.Sprintf("after%d", i), pool, seats, now)
		}
		wantErr(t, "one more after the churn", second(st.OpenSession(context.Background(), newSession(k, "after-x", pool, now), policy, now)), sesame.ErrSeatsExhausted)
		return peak
	}

	t.Run("ChurnNeverOverAdmits", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		if peak := churn(t, k, racers); peak > seats {
			t.Fatalf("%d racers held seats at once, limit %d", peak, seats)
		}
	})

	t.Run("ChurnWithMovesLosesNoSeat", func(t *testing.T) {
		churn(t, MustBase(t, st, NewUAI(), year, sesame.DefaultLicense), 12)
	})

	t.Run("SameUserRace", func(t *testing.T) {
		// One login signs in from 16 browsers at once: it ends with one
		// seat, held by one open session; every other session is replaced.
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		pool := sesame.PoolAdminModify
		mustOpen(t, st, k, "autre", pool, 2, time.Now().UTC())
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			ids   = make([]string, 16)
			oks   atomic.Int64
		)
		for i := range ids {
			wg.Go(func() {
				s := newSession(k, "partage", pool, time.Now().UTC())
				ids[i] = s.ID
				<-start
				_, err := st.OpenSession(context.Background(), s, sesame.SeatPolicy{Limit: 2, Lease: time.Minute}, time.Now().UTC())
				if err == nil {
					oks.Add(1)
				} else if !errors.Is(err, sesame.ErrSeatsExhausted) {
					t.Errorf("OpenSession: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		now := time.Now().UTC()
		if oks.Load() == 0 {
			t.Fatal("no browser of the shared login got in")
		}
		ls, err := st.ListLeases(context.Background(), k, now)
		must(t, "ListLeases", err)
		var holder string
		for _, l := range ls {
			if l.Login == "partage" {
				if holder != "" {
					t.Fatal("the shared login holds two leases")
				}
				holder = l.Session
			}
		}
		if len(ls) != 2 || holder == "" {
			t.Fatalf("%d leases, holder %q: want 2 leases, one of them the shared login's", len(ls), holder)
		}
		open := 0
		for _, id := range ids {
			s, err := st.GetSession(context.Background(), id)
			if errors.Is(err, sesame.ErrNotFound) {
				continue // refused
			}
			must(t, "GetSession", err)
			if s.Open() {
				open++
				if s.ID != holder {
					t.Fatalf("session %s is open but does not hold the seat", id[:8])
				}
			} else if s.EndReason != sesame.ReasonReplaced {
				t.Fatalf("session %s ended as %q, want replaced", id[:8], s.EndReason)
			}
		}
		if open != 1 {
			t.Fatalf("%d open sessions for the shared login, want 1", open)
		}
	})
}

// testIsolation checks that nothing of school A is returned for school B,
// nor of year Y for year Y+1.
func testIsolation(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	uaiA, uaiB := NewUAI(), NewUAI()
	a := MustBase(t, st, uaiA, year, sesame.DefaultLicense)
	b := MustBase(t, st, uaiB, year, sesame.DefaultLicense)
	a2 := MustBaseIn(t, st, uaiA, year.Next())
	bases := []sesame.BaseKey{a, b, a2}
	pool := sesame.PoolAdminModify
	for _, k := range bases {
		must(t, "CreateUser", st.CreateUser(ctx, k, sesame.User{Login: "dupont", DisplayName: "Dupont " + k.String(), Kind: sesame.KindStaff, Enabled: true}))
		must(t, "CreateProfile", st.CreateProfile(ctx, k, sesame.Profile{ID: "cpe", Name: "CPE " + k.String(), Mode: sesame.ModeVieScolaire}))
		must(t, "CreateImport", st.CreateImport(ctx, k, sesame.ImportJob{ID: "meme-fichier", Source: k.String(), State: sesame.ImportDone}))
	}
	// School A's pool is full; B's and A's next year are not affected.
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		mustOpen(t, st, a, u, pool, 4, t0)
	}
	wantErr(t, "A is full", second(st.OpenSession(ctx, newSession(a, "dupont", pool, t0), sesame.SeatPolicy{Limit: 4, Lease: lease}, t0)), sesame.ErrSeatsExhausted)
	sb := mustOpen(t, st, b, "dupont", pool, 4, t0)
	s2 := mustOpen(t, st, a2, "dupont", pool, 4, t0)

	for _, k := range bases {
		u, err := st.GetUser(ctx, k, "dupont")
		must(t, "GetUser", err)
		if u.DisplayName != "Dupont "+k.String() {
			t.Fatalf("GetUser in %s returned %q", k, u.DisplayName)
		}
		p, err := st.GetProfile(ctx, k, "cpe")
		must(t, "GetProfile", err)
		if p.Name != "CPE "+k.String() {
			t.Fatalf("GetProfile in %s returned %q", k, p.Name)
		}
		j, err := st.GetImport(ctx, k, "meme-fichier")
		must(t, "GetImport", err)
		if j.Source != k.String() {
			t.Fatalf("GetImport in %s returned %q", k, j.Source)
		}
		page, err := st.ListUsers(ctx, k, sesame.UserQuery{})
		must(t, "ListUsers", err)
		if len(page.Users) != 2 {
			t.Fatalf("ListUsers in %s: %d users, want 2", k, len(page.Users))
		}
		ss, err := st.ListSessions(ctx, k)
		must(t, "ListSessions", err)
		for _, s := range ss {
			if s.Base() != k {
				t.Fatalf("ListSessions %s returned a session of %s", k, s.Base())
			}
		}
		want := map[sesame.BaseKey]int{a: 4, b: 1, a2: 1}[k]
		if len(ss) != want {
			t.Fatalf("ListSessions %s: %d, want %d", k, len(ss), want)
		}
		if got := liveIn(t, st, k, pool, t0); len(got) != want {
			t.Fatalf("ListLeases %s: %v", k, got)
		}
	}
	for _, s := range []sesame.Session{sb, s2} {
		got, err := st.GetSession(ctx, s.ID)
		must(t, "GetSession", err)
		if got.Base() != s.Base() {
			t.Fatalf("session of %s stored as %s", s.Base(), got.Base())
		}
	}
	page, err := st.ListUsers(ctx, sesame.BaseKey{UAI: uaiB, Year: year.Next()}, sesame.UserQuery{})
	if err == nil && len(page.Users) != 0 {
		t.Fatalf("ListUsers of a base that does not exist returned %d users", len(page.Users))
	}
}
