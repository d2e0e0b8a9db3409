package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sesame-ecole/sesame"
)

// testSignIn checks what a sign-in reads at once (ReadSignIn) and writes
// with its admission (AdmitSession).
func testSignIn(t *testing.T, st sesame.Backend) {
	ctx := context.Background()
	uai := NewUAI()
	k := MustBase(t, st, uai, year, sesame.DefaultLicense)
	acct, addr := "acct:"+string(uai)+"/spr", "addr:"+string(uai)+"/192.0.2.9"
	stored, err := st.PutAttempts(ctx, sesame.UnknownDevices.Fail(sesame.Attempts{Key: acct}, t0))
	must(t, "PutAttempts", err)

	read := func(what string, q sesame.SignInQuery) sesame.SignInRead {
		t.Helper()
		q.Login, q.Counters = "SPR", []string{acct, addr}
		r, err := st.ReadSignIn(ctx, q)
		must(t, what, err)
		if len(r.Counters) != 2 || r.Counters[0] != stored || r.Counters[1] != (sesame.Attempts{Key: addr}) {
			t.Fatalf("%s: counters %+v, want %+v and a new one", what, r.Counters, stored)
		}
		return r
	}
	t.Run("Read", func(t *testing.T) {
		for _, guess := range []sesame.Year{year, year.Next(), ""} {
			r := read("ReadSignIn guessing "+string(guess), sesame.SignInQuery{UAI: uai, Guess: guess, Profile: string(sesame.SpaceStudent)})
			if r.School == nil || r.School.CurrentYear != year || r.Base == nil || r.Base.BaseKey != k || r.User == nil || r.User.Login != "spr" {
				t.Fatalf("ReadSignIn guessing %q = school %v, base %v, user %v", guess, r.School, r.Base, r.User)
			}
			if r.Profile == nil || r.Profile.ID != string(sesame.SpaceStudent) {
				t.Fatalf("ReadSignIn's profile = %+v, want the student space's setting", r.Profile)
			}
		}
		if r := read("ReadSignIn of another year", sesame.SignInQuery{UAI: uai, Year: year.Next()}); r.School == nil || r.Base != nil || r.User != nil {
			t.Fatalf("ReadSignIn of a missing base = base %v, user %v", r.Base, r.User)
		}
		if r := read("ReadSignIn of no school", sesame.SignInQuery{UAI: NewUAI(), Guess: year}); r.School != nil || r.Base != nil || r.User != nil {
			t.Fatalf("ReadSignIn of a missing school = %+v", r)
		}
	})

	entry := func(id string) *sesame.JournalEntry {
		return &sesame.JournalEntry{ID: id, At: t0, Event: sesame.EventLogin, Actor: "spr", Subject: "spr", Detail: "Connexion."}
	}
	journaled := func(id string) bool {
		t.Helper()
		p, err := st.ListJournal(ctx, k, sesame.JournalQuery{})
		must(t, "ListJournal", err)
		return slices.ContainsFunc(p.Entries, func(e sesame.JournalEntry) bool { return e.ID == id })
	}
	t.Run("AdmitWrites", func(t *testing.T) {
		for _, pool := range []sesame.Pool{"", sesame.PoolAdminModify} {
			s := newSession(k, "spr", pool, t0)
			id := sesame.JournalID(t0) + "-" + string(pool) + "-admis"
			_, err := st.PutAttempts(ctx, sesame.Attempts{Key: acct + "#" + string(pool)})
			must(t, "PutAttempts", err)
			w := sesame.AdmissionWrites{Forget: []string{acct + "#" + string(pool), addr}, Journal: entry(id)}
			if pool != "" {
				r, err := st.ReadSignIn(ctx, sesame.SignInQuery{UAI: uai, Year: year, Login: "spr", Seat: pool, Day: sesame.Day(t0)})
				must(t, "ReadSignIn of the pool", err)
				w.Seat, w.UsageDay = r.Seat, sesame.Day(t0)
			}
			l, err := st.AdmitSession(ctx, s, sesame.SeatPolicy{Limit: 1, Lease: lease}, w, t0)
			must(t, "AdmitSession in pool "+string(pool), err)
			if pool != "" {
				days, err := st.ListUsage(ctx, k, sesame.Day(t0), sesame.Day(t0))
				must(t, "ListUsage", err)
				if l.Held != 1 || len(days) != 1 || days[0].Pool != pool || days[0].Peak != 1 {
					t.Fatalf("an admission counting %d seats noted the usage %+v, want a peak of 1 in %s", l.Held, days, pool)
				}
			}
			if _, err := st.GetSession(ctx, s.ID); err != nil {
				t.Fatalf("GetSession: %v", err)
			}
			wantErr(t, "the counter forgotten", second(st.GetAttempts(ctx, acct+"#"+string(pool))), sesame.ErrNotFound)
			if !journaled(id) {
				t.Fatalf("the admission's journal entry %s is missing", id)
			}
		}
	})
	t.Run("SignInsWithoutSeat", func(t *testing.T) {
		// Sessions that take no seat leave no peak: their admissions count
		// in the day's sign-ins of the pool they enter, all of them, when
		// many come at once, and a refused one does not.
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		day := sesame.Day(t0)
		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, n)
		first := sesame.Session{}
		for i := range n {
			s := newSession(k, fmt.Sprintf("parent%02d", i), sesame.PoolParent, t0)
			s.Pool = ""
			if i == 0 {
				first = s
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.AdmitSession(ctx, s, sesame.SeatPolicy{Lease: lease}, sesame.AdmissionWrites{UsageDay: day}, t0)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, "AdmitSession without a seat", err)
		}
		_, err := st.AdmitSession(ctx, first, sesame.SeatPolicy{Lease: lease}, sesame.AdmissionWrites{UsageDay: day}, t0)
		wantErr(t, "AdmitSession of a session that exists", err, sesame.ErrExists)
		must(t, "NoteUsage", st.NoteUsage(ctx, k, sesame.UsageNote{Day: day, Pool: sesame.PoolParent, SignIns: 2, Refused: 1}))
		days, err := st.ListUsage(ctx, k, day, day)
		must(t, "ListUsage", err)
		want := []sesame.UsageDay{{Day: day, Pool: sesame.PoolParent, Refused: 1, SignIns: n + 2}}
		if !slices.Equal(days, want) {
			t.Fatalf("ListUsage after %d sign-ins without a seat = %+v, want %+v", n, days, want)
		}
	})
	t.Run("RefusalWritesNothing", func(t *testing.T) {
		s := newSession(k, "autre", sesame.PoolAdminModify, t0)
		id := sesame.JournalID(t0) + "-refus"
		_, err := st.AdmitSession(ctx, s, sesame.SeatPolicy{Limit: 1, Lease: lease},
			sesame.AdmissionWrites{Forget: []string{acct}, Journal: entry(id)}, t0)
		wantErr(t, "AdmitSession into a full pool", err, sesame.ErrSeatsExhausted)
		if got, err := st.GetAttempts(ctx, acct); err != nil || got != stored {
			t.Fatalf("a refused admission changed the counter: %+v, %v", got, err)
		}
		if journaled(id) {
			t.Fatal("a refused admission wrote its journal entry")
		}
	})
}
