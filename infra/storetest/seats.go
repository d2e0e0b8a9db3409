package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

func testSessions(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	now := t0

	t.Run("RoundTrip", func(t *testing.T) {
		s := newSession(k, "spr", "", now)
		s.Supervisor, s.Profile = true, sesame.AdministrationID
		l, err := st.OpenSession(ctx, s, sesame.SeatPolicy{Limit: sesame.Unlimited, Lease: lease}, now)
		must(t, "OpenSession without seat", err)
		if l != (sesame.Lease{}) {
			t.Fatalf("a session without pool got a lease: %+v", l)
		}
		got, err := st.GetSession(ctx, s.ID)
		must(t, "GetSession", err)
		if !sameSession(got, s) {
			t.Fatalf("GetSession = %+v, want %+v", got, s)
		}
		r, err := st.RenewSeat(ctx, s.ID, sesame.SeatPolicy{Limit: 4, Lease: lease}, now.Add(time.Minute))
		if err != nil || r != (sesame.Lease{}) {
			t.Fatalf("RenewSeat without seat = %+v, %v", r, err)
		}
		wantErr(t, "OpenSession with the same ID", second(st.OpenSession(ctx, s, sesame.SeatPolicy{Limit: sesame.Unlimited, Lease: lease}, now)), sesame.ErrExists)
	})

	t.Run("Touch", func(t *testing.T) {
		s := mustOpen(t, st, k, "touche", sesame.PoolVieScolaire, sesame.Unlimited, now)
		s.LastActivity = now.Add(30 * time.Second)
		s.LastSeen = now.Add(45 * time.Second)
		must(t, "TouchSession", st.TouchSession(ctx, s))
		got, err := st.GetSession(ctx, s.ID)
		must(t, "GetSession", err)
		if !got.LastActivity.Equal(s.LastActivity) || !got.LastSeen.Equal(s.LastSeen) || !got.CreatedAt.Equal(now) {
			t.Fatalf("after TouchSession: %+v", got)
		}
		_, err = st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, now.Add(time.Minute))
		must(t, "EndSession", err)
		wantErr(t, "TouchSession after the end", st.TouchSession(ctx, s), sesame.ErrSessionEnded)
		wantErr(t, "RenewSeat after the end", second(st.RenewSeat(ctx, s.ID, sesame.SeatPolicy{Limit: sesame.Unlimited, Lease: lease}, now.Add(time.Minute))), sesame.ErrSessionEnded)
	})

	t.Run("ReadSession", func(t *testing.T) {
		_, err := st.ReadSession(ctx, "absente", sesame.SessionNear{})
		wantErr(t, "ReadSession of no session", err, sesame.ErrNotFound)
		s := newSession(k, "SPR", "", now)
		s.Mode = sesame.SpaceStudent // a space: its setting comes along
		_, err = st.OpenSession(ctx, s, sesame.SeatPolicy{}, now)
		must(t, "OpenSession", err)
		r, err := st.ReadSession(ctx, s.ID, sesame.SessionNear{})
		must(t, "ReadSession", err)
		if r.Session.ID != s.ID || r.User == nil || r.User.Login != "spr" || r.Base.BaseKey != k || r.Base.Version == 0 {
			t.Fatalf("ReadSession = session %.8s, user %v, base %+v", r.Session.ID, r.User, r.Base)
		}
		if r.Profile == nil || r.Profile.ID != string(sesame.SpaceStudent) {
			t.Fatalf("ReadSession's profile = %+v, want the student space's setting", r.Profile)
		}
		// A session that names its profile: the user's, as it names it.
		u, err := st.GetUser(ctx, k, "spr")
		must(t, "GetUser", err)
		named := newSession(k, "spr", "", now)
		named.Profile = sesame.IdleProfileFor(u, named.Mode)
		must(t, "OpenSession", second(st.OpenSession(ctx, named, sesame.SeatPolicy{}, now)))
		if r, err := st.ReadSession(ctx, named.ID, sesame.SessionNear{}); err != nil || r.Profile == nil || r.Profile.ID != named.Profile || named.Profile == "" {
			t.Fatalf("ReadSession of a session naming profile %q: %+v, %v", named.Profile, r.Profile, err)
		}
		// Where the token says the session lies: right, or misleading.
		other := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		for _, near := range []sesame.SessionNear{{Base: k, Login: "spr", Profile: named.Profile}, {Base: k, Login: "spr"},
			{Base: other, Login: "spr", Profile: string(sesame.SpaceStudent)}} {
			r, err := st.ReadSession(ctx, named.ID, near)
			if err != nil || r.Session.ID != named.ID || r.User == nil || r.User.Login != "spr" || r.Base.BaseKey != k ||
				r.Profile == nil || r.Profile.ID != named.Profile {
				t.Fatalf("ReadSession near %+v = session %.8s, user %v, base %v, profile %v, %v", near, r.Session.ID, r.User, r.Base.BaseKey, r.Profile, err)
			}
		}
		wantErr(t, "ReadSession of no session near a base", second(st.ReadSession(ctx, NewID(), sesame.SessionNear{Base: k, Login: "spr"})), sesame.ErrNotFound)
		_, err = st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, now)
		must(t, "EndSession", err)
		r, err = st.ReadSession(ctx, s.ID, sesame.SessionNear{})
		if err != nil || r.Session.EndReason != sesame.ReasonLoggedOut || r.User != nil {
			t.Fatalf("ReadSession of an ended session = %+v, %v", r, err)
		}
		// A session of an account that no longer exists: no user.
		g := newSession(k, "fantome", "", now)
		_, err = st.OpenSession(ctx, g, sesame.SeatPolicy{}, now)
		must(t, "OpenSession", err)
		if r, err := st.ReadSession(ctx, g.ID, sesame.SessionNear{}); err != nil || r.User != nil || r.Profile != nil {
			t.Fatalf("ReadSession of a session without its account = %+v, %v", r, err)
		}
	})

	t.Run("EndTwice", func(t *testing.T) {
		s := mustOpen(t, st, k, "deux-fois", sesame.PoolVieScolaire, sesame.Unlimited, now)
		e, err := st.EndSession(ctx, s.ID, sesame.ReasonIdleTimeout, now.Add(time.Minute))
		must(t, "EndSession", err)
		if e.EndReason != sesame.ReasonIdleTimeout || !e.EndedAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("EndSession = %+v", e)
		}
		e2, err := st.EndSession(ctx, s.ID, sesame.ReasonDisconnected, now.Add(2*time.Minute))
		wantErr(t, "EndSession twice", err, sesame.ErrSessionEnded)
		if e2.EndReason != sesame.ReasonIdleTimeout || !e2.EndedAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("a second EndSession changed the session: %+v", e2)
		}
		if got := liveIn(t, st, k, sesame.PoolVieScolaire, now.Add(time.Minute)); slices.Contains(got, "deux-fois") {
			t.Fatalf("an ended session still holds its seat: %v", got)
		}
	})

	cases := []struct {
		name string
		err  error
	}{
		{"GetMissing", second(st.GetSession(ctx, NewID()))},
		{"TouchMissing", st.TouchSession(ctx, newSession(k, "x", "", now))},
		{"RenewMissing", second(st.RenewSeat(ctx, NewID(), sesame.SeatPolicy{Limit: 4, Lease: lease}, now))},
		{"EndMissing", second(st.EndSession(ctx, NewID(), sesame.ReasonLoggedOut, now))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.name, c.err, sesame.ErrNotFound) })
	}

	t.Run("ListOpen", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		a := mustOpen(t, st, k, "a", sesame.PoolAdminModify, 4, now)
		b := mustOpen(t, st, k, "b", sesame.PoolTeacher, 30, now.Add(time.Second))
		c := mustOpen(t, st, k, "c", "", sesame.Unlimited, now.Add(2*time.Second))
		_, err := st.EndSession(ctx, b.ID, sesame.ReasonLoggedOut, now.Add(3*time.Second))
		must(t, "EndSession", err)
		ss, err := st.ListSessions(ctx, k)
		must(t, "ListSessions", err)
		var ids []string
		for _, s := range ss {
			ids = append(ids, s.ID)
		}
		if !slices.Equal(ids, []string{a.ID, c.ID}) {
			t.Fatalf("ListSessions = %d sessions, want a then c", len(ss))
		}
	})
}

func sameSession(a, b sesame.Session) bool {
	return a.ID == b.ID && a.UAI == b.UAI && a.Year == b.Year && a.Login == b.Login && a.DisplayName == b.DisplayName &&
		a.Kind == b.Kind && a.Supervisor == b.Supervisor && a.Mode == b.Mode && a.Access == b.Access && a.Pool == b.Pool &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.LastActivity.Equal(b.LastActivity) &&
		a.LastSeen.Equal(b.LastSeen) && a.EndedAt.Equal(b.EndedAt) && a.EndReason == b.EndReason && a.Profile == b.Profile &&
		a.Idle == b.Idle && a.IdleUntil.Equal(b.IdleUntil)
}

func testSeats(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	pool := sesame.PoolAdminModify
	policy := func(l sesame.Limit) sesame.SeatPolicy { return sesame.SeatPolicy{Limit: l, Lease: lease} }

	t.Run("FillThenExhausted", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		c := NewClock(t0)
		for _, u := range []string{"u1", "u2", "u3", "u4"} {
			mustOpen(t, st, k, u, pool, 4, c.Now())
			c.Advance(10 * time.Second)
		}
		// u1's lease, taken at t0, ends first: t0+180s, that is 140 s from now.
		s5 := newSession(k, "u5", pool, c.Now())
		_, err := st.OpenSession(ctx, s5, policy(4), c.Now())
		var ex *sesame.SeatsExhaustedError
		if !errors.As(err, &ex) || !errors.Is(err, sesame.ErrSeatsExhausted) {
			t.Fatalf("fifth sign-in: %v, want seats_exhausted", err)
		}
		if ex.Pool != pool || ex.Limit != 4 || ex.RetryAfter != 140*time.Second {
			t.Fatalf("seats_exhausted = pool %s, limit %v, retry after %v; want %s, 4, 2m20s", ex.Pool, ex.Limit, ex.RetryAfter, pool)
		}
		wantErr(t, "the refused session", second(st.GetSession(ctx, s5.ID)), sesame.ErrNotFound)
		if got := liveIn(t, st, k, pool, c.Now()); !slices.Equal(got, []string{"u1", "u2", "u3", "u4"}) {
			t.Fatalf("live holders = %v", got)
		}
		// Other pools of the base are not affected.
		mustOpen(t, st, k, "u5", sesame.PoolVieScolaire, sesame.Unlimited, c.Now())
	})

	t.Run("AdmissionCountsTheSeatsHeld", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		held := func(login string, limit sesame.Limit, p sesame.Pool) int {
			t.Helper()
			l, err := st.OpenSession(ctx, newSession(k, login, p, t0), policy(limit), t0)
			must(t, "OpenSession "+login, err)
			return l.Held
		}
		for i, u := range []string{"u1", "u2", "u3"} {
			if got := held(u, 4, pool); got != i+1 {
				t.Fatalf("%s's admission counts %d seats held, want %d", u, got, i+1)
			}
		}
		if got := held("u2", 4, pool); got != 3 {
			t.Fatalf("u2 signing in again counts %d seats held, want 3 (a move)", got)
		}
		for i, u := range []string{"e1", "e2"} {
			if got := held(u, sesame.Unlimited, sesame.PoolStudent); got != i+1 {
				t.Fatalf("%s's admission into an unlimited pool counts %d seats held, want %d", u, got, i+1)
			}
		}
	})

	t.Run("BeatSession", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		a := mustOpen(t, st, k, "a", pool, 1, t0)
		at := t0.Add(time.Minute)
		a.LastActivity, a.LastSeen = at.Add(-10*time.Second), at
		l, err := st.BeatSession(ctx, a, policy(1), at)
		must(t, "BeatSession", err)
		if l.Session != a.ID || !l.ExpiresAt.Equal(at.Add(lease)) {
			t.Fatalf("BeatSession's lease = %+v, want session %s until %v", l, a.ID, at.Add(lease))
		}
		got, err := st.GetSession(ctx, a.ID)
		must(t, "GetSession", err)
		if !got.LastActivity.Equal(a.LastActivity) || !got.LastSeen.Equal(at) {
			t.Fatalf("after BeatSession: activity %v, seen %v; want %v, %v", got.LastActivity, got.LastSeen, a.LastActivity, at)
		}
		// Without a seat: the activity alone.
		e := mustOpen(t, st, k, "e", "", sesame.Unlimited, t0)
		e.LastActivity = at
		if l, err := st.BeatSession(ctx, e, policy(sesame.Unlimited), at); err != nil || l != (sesame.Lease{}) {
			t.Fatalf("BeatSession without a seat: %+v, %v", l, err)
		}
		// Lapsed in a full pool: the seat is lost and the session over.
		late := at.Add(lease + time.Second)
		mustOpen(t, st, k, "b", pool, 1, late)
		wantErr(t, "BeatSession of a lapsed seat in a full pool", second(st.BeatSession(ctx, a, policy(1), late)), sesame.ErrSeatLost)
		ended(t, st, a.ID, sesame.ReasonSeatLost)
		wantErr(t, "BeatSession after the end", second(st.BeatSession(ctx, a, policy(1), late)), sesame.ErrSessionEnded)
	})

	t.Run("SignInAgainMovesTheSeat", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		now := t0
		first := mustOpen(t, st, k, "u1", pool, 2, now)
		mustOpen(t, st, k, "u2", pool, 2, now)
		second := mustOpen(t, st, k, "u1", pool, 2, now.Add(time.Minute)) // full pool: a move, not an admission
		ended(t, st, first.ID, sesame.ReasonReplaced)
		if got := liveIn(t, st, k, pool, now.Add(time.Minute)); !slices.Equal(got, []string{"u1", "u2"}) {
			t.Fatalf("live holders = %v", got)
		}
		ls, err := st.ListLeases(ctx, k, now.Add(time.Minute))
		must(t, "ListLeases", err)
		for _, l := range ls {
			if l.Login == "u1" && l.Session != second.ID {
				t.Fatalf("u1's lease names session %s, want the new one", l.Session[:8])
			}
		}
		wantErr(t, "renew by the replaced session", second2(st.RenewSeat(ctx, first.ID, policy(2), now.Add(time.Minute))), sesame.ErrSessionEnded)
		_, err = st.RenewSeat(ctx, second.ID, policy(2), now.Add(2*time.Minute))
		must(t, "renew by the new session", err)
		// Ending the replaced session again does not free the moved seat.
		_, err = st.EndSession(ctx, first.ID, sesame.ReasonLoggedOut, now.Add(2*time.Minute))
		wantErr(t, "end the replaced session", err, sesame.ErrSessionEnded)
		if got := liveIn(t, st, k, pool, now.Add(2*time.Minute)); !slices.Equal(got, []string{"u1", "u2"}) {
			t.Fatalf("live holders after ending the replaced session = %v", got)
		}
	})

	t.Run("ReleaseFreesAtOnce", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		now := t0
		var ss []sesame.Session
		for _, u := range []string{"u1", "u2", "u3", "u4"} {
			ss = append(ss, mustOpen(t, st, k, u, pool, 4, now))
		}
		reasons := []sesame.EndReason{sesame.ReasonLoggedOut, sesame.ReasonIdleTimeout, sesame.ReasonDisconnected}
		for i, r := range reasons {
			_, err := st.EndSession(ctx, ss[i].ID, r, now.Add(time.Second))
			must(t, "EndSession", err)
			ended(t, st, ss[i].ID, r)
			mustOpen(t, st, k, "new-"+string(r), pool, 4, now.Add(time.Second))
		}
		wantErr(t, "pool full again", second(st.OpenSession(ctx, newSession(k, "u9", pool, now), policy(4), now.Add(time.Second))), sesame.ErrSeatsExhausted)
	})

	t.Run("RenewOnlyByHolder", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		c := NewClock(t0)
		s := mustOpen(t, st, k, "u1", pool, 4, c.Now())
		for range 5 {
			now := c.Advance(100 * time.Second) // each renewal within the lease
			l, err := st.RenewSeat(ctx, s.ID, policy(4), now)
			must(t, "RenewSeat", err)
			if !l.ExpiresAt.Equal(now.Add(lease)) || l.Session != s.ID {
				t.Fatalf("RenewSeat = %+v, want expiry %v", l, now.Add(lease))
			}
		}
		other := newSession(k, "u2", pool, c.Now())
		wantErr(t, "renew a session that never opened", second(st.RenewSeat(ctx, other.ID, policy(4), c.Now())), sesame.ErrNotFound)
	})

	t.Run("LeaseExpires", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		c := NewClock(t0)
		mustOpen(t, st, k, "dort", pool, 2, c.Now())
		mustOpen(t, st, k, "u2", pool, 2, c.Now())
		// At exactly the end of the lease it still holds; one second later it does not.
		if got := liveIn(t, st, k, pool, t0.Add(lease)); len(got) != 2 {
			t.Fatalf("at the lease's end: live holders %v", got)
		}
		wantErr(t, "sign-in at the lease's end", second(st.OpenSession(ctx, newSession(k, "u3", pool, t0.Add(lease)), policy(2), t0.Add(lease))), sesame.ErrSeatsExhausted)
		now := c.Advance(lease + time.Second)
		if got := liveIn(t, st, k, pool, now); len(got) != 0 {
			t.Fatalf("after the lease: live holders %v", got)
		}
		mustOpen(t, st, k, "u3", pool, 2, now)
		mustOpen(t, st, k, "u4", pool, 2, now)
		wantErr(t, "third newcomer", second(st.OpenSession(ctx, newSession(k, "u5", pool, now), policy(2), now)), sesame.ErrSeatsExhausted)
	})

	t.Run("LapsedLeaseTakenAgain", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		s := mustOpen(t, st, k, "portable", pool, 2, t0)
		now := t0.Add(10 * time.Minute) // the laptop slept
		l, err := st.RenewSeat(ctx, s.ID, policy(2), now)
		must(t, "RenewSeat after a sleep", err)
		if !l.ExpiresAt.Equal(now.Add(lease)) {
			t.Fatalf("lease after the sleep ends %v, want %v", l.ExpiresAt, now.Add(lease))
		}
		if got := liveIn(t, st, k, pool, now); !slices.Equal(got, []string{"portable"}) {
			t.Fatalf("live holders = %v", got)
		}
	})

	t.Run("LapsedLeaseBackAfterANewcomer", func(t *testing.T) {
		// Two laptops sleep; a newcomer signs in meanwhile (a store may
		// clear lapsed leases to make room). The first to wake finds room
		// and takes a seat again; the second finds the pool full.
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		a := mustOpen(t, st, k, "a", pool, 2, t0)
		b := mustOpen(t, st, k, "b", pool, 2, t0)
		now := t0.Add(lease + time.Second)
		mustOpen(t, st, k, "c", pool, 2, now)
		_, err := st.RenewSeat(ctx, a.ID, policy(2), now.Add(time.Second))
		must(t, "RenewSeat of the first to wake", err)
		wantErr(t, "RenewSeat of the second", second(st.RenewSeat(ctx, b.ID, policy(2), now.Add(2*time.Second))), sesame.ErrSeatLost)
		ended(t, st, b.ID, sesame.ReasonSeatLost)
		if got := liveIn(t, st, k, pool, now.Add(2*time.Second)); !slices.Equal(got, []string{"a", "c"}) {
			t.Fatalf("live holders = %v", got)
		}
	})

	t.Run("LapsedLeaseLostWhenFull", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		s := mustOpen(t, st, k, "portable", pool, 2, t0)
		now := t0.Add(10 * time.Minute)
		mustOpen(t, st, k, "u2", pool, 2, now)
		mustOpen(t, st, k, "u3", pool, 2, now)
		wantErr(t, "RenewSeat into a full pool", second(st.RenewSeat(ctx, s.ID, policy(2), now)), sesame.ErrSeatLost)
		ended(t, st, s.ID, sesame.ReasonSeatLost)
		if got := liveIn(t, st, k, pool, now); !slices.Equal(got, []string{"u2", "u3"}) {
			t.Fatalf("live holders = %v", got)
		}
		// Its seat went to nobody: once u2 leaves, a newcomer gets one.
		ss, err := st.ListSessions(ctx, k)
		must(t, "ListSessions", err)
		for _, x := range ss {
			if x.Login == "u2" {
				_, err := st.EndSession(ctx, x.ID, sesame.ReasonLoggedOut, now)
				must(t, "EndSession", err)
			}
		}
		mustOpen(t, st, k, "u4", pool, 2, now)
	})

	t.Run("OwnLapsedLeaseIsNoMove", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		mustOpen(t, st, k, "a", pool, 2, t0)
		now := t0.Add(lease + time.Second)
		mustOpen(t, st, k, "b", pool, 2, now)
		mustOpen(t, st, k, "c", pool, 2, now)
		// a's own lease has lapsed: signing in again is a newcomer's admission.
		wantErr(t, "sign-in again over a lapsed lease", second(st.OpenSession(ctx, newSession(k, "a", pool, now), policy(2), now)), sesame.ErrSeatsExhausted)
		if got := liveIn(t, st, k, pool, now); !slices.Equal(got, []string{"b", "c"}) {
			t.Fatalf("live holders = %v", got)
		}
	})

	t.Run("ClosedAndUnlimited", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		_, err := st.OpenSession(ctx, newSession(k, "u1", sesame.PoolAdminConsult, t0), policy(sesame.Closed), t0)
		var ex *sesame.SeatsExhaustedError
		if !errors.As(err, &ex) || ex.Limit != sesame.Closed || ex.Pool != sesame.PoolAdminConsult {
			t.Fatalf("closed pool: %v", err)
		}
		for i := range 40 {
			mustOpen(t, st, k, "parent"+string(rune('a'+i%26))+string(rune('a'+i/26)), sesame.PoolParent, sesame.Unlimited, t0)
		}
		if got := liveIn(t, st, k, sesame.PoolParent, t0); len(got) != 40 {
			t.Fatalf("unlimited pool: %d live holders, want 40", len(got))
		}
	})
}

func second2(_ sesame.Lease, err error) error { return err }

func testLicenseChanges(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	pool := sesame.PoolAdminModify
	policy := func(l sesame.Limit) sesame.SeatPolicy { return sesame.SeatPolicy{Limit: l, Lease: lease} }
	refused := func(t *testing.T, k sesame.BaseKey, login string, p sesame.Pool, l sesame.Limit, now time.Time) {
		t.Helper()
		wantErr(t, login+" signs in", second(st.OpenSession(ctx, newSession(k, login, p, now), policy(l), now)), sesame.ErrSeatsExhausted)
	}

	t.Run("DowngradeNeverEvicts", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		now := t0
		var ss []sesame.Session
		for _, u := range []string{"u1", "u2", "u3", "u4"} {
			ss = append(ss, mustOpen(t, st, k, u, pool, 4, now))
		}
		// The licence drops to 2 seats: the four holders stay and renew.
		now = now.Add(time.Minute)
		for _, s := range ss {
			_, err := st.RenewSeat(ctx, s.ID, policy(2), now)
			must(t, "RenewSeat after a downgrade", err)
		}
		refused(t, k, "new1", pool, 2, now)
		_, err := st.EndSession(ctx, ss[0].ID, sesame.ReasonLoggedOut, now)
		must(t, "EndSession", err)
		refused(t, k, "new1", pool, 2, now) // 3 live > 2
		_, err = st.EndSession(ctx, ss[1].ID, sesame.ReasonLoggedOut, now)
		must(t, "EndSession", err)
		refused(t, k, "new1", pool, 2, now) // 2 live = 2
		_, err = st.EndSession(ctx, ss[2].ID, sesame.ReasonLoggedOut, now)
		must(t, "EndSession", err)
		mustOpen(t, st, k, "new1", pool, 2, now) // 1 live < 2
		refused(t, k, "new2", pool, 2, now)
	})

	t.Run("UpgradeAdmitsAtOnce", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		for _, u := range []string{"u1", "u2", "u3", "u4"} {
			mustOpen(t, st, k, u, pool, 4, t0)
		}
		refused(t, k, "u5", pool, 4, t0)
		mustOpen(t, st, k, "u5", pool, 6, t0)
		mustOpen(t, st, k, "u6", pool, 6, t0)
		refused(t, k, "u7", pool, 6, t0)
	})

	t.Run("UnlimitedToNumberCountsLiveHolders", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		p := sesame.PoolTeacher
		for _, u := range []string{"old1", "old2", "old3"} {
			mustOpen(t, st, k, u, p, sesame.Unlimited, t0)
		}
		now := t0.Add(lease + time.Second) // the three old leases have lapsed
		for _, u := range []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7"} {
			mustOpen(t, st, k, u, p, sesame.Unlimited, now)
		}
		// The licence becomes 8 teacher seats: 7 live holders, so exactly one more.
		mustOpen(t, st, k, "t8", p, 8, now)
		refused(t, k, "t9", p, 8, now)
		if got := liveIn(t, st, k, p, now); len(got) != 8 {
			t.Fatalf("live teachers = %v, want 8", got)
		}
	})

	t.Run("AdmissionChecksTheLicenceVersion", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		before, err := st.GetBase(ctx, k)
		must(t, "GetBase", err)
		after, err := st.SetLicense(ctx, k, sesame.License{AdminSeats: 2, TeacherSeats: 30}, t0)
		must(t, "SetLicense", err)
		stale := sesame.SeatPolicy{Limit: 4, Lease: lease, LicenseVersion: before.Version}
		fresh := sesame.SeatPolicy{Limit: 2, Lease: lease, LicenseVersion: after.Version}
		s := newSession(k, "u1", pool, t0)
		_, err = st.OpenSession(ctx, s, stale, t0)
		wantErr(t, "admission under a licence read before a change", err, sesame.ErrConflict)
		wantErr(t, "the refused session", second(st.GetSession(ctx, s.ID)), sesame.ErrNotFound)
		_, err = st.OpenSession(ctx, s, fresh, t0)
		must(t, "admission under the current licence", err)
		// A move admits nobody: it needs no check.
		moved := newSession(k, "u1", pool, t0)
		_, err = st.OpenSession(ctx, moved, stale, t0)
		must(t, "move under an old licence version", err)
		// Taking a lapsed seat again is an admission.
		now := t0.Add(lease + time.Second)
		wantErr(t, "retake under a stale version", second(st.RenewSeat(ctx, moved.ID, stale, now)), sesame.ErrConflict)
		if got, err := st.GetSession(ctx, moved.ID); err != nil || !got.Open() {
			t.Fatalf("a refused retake changed the session: %+v, %v", got, err)
		}
		_, err = st.RenewSeat(ctx, moved.ID, fresh, now)
		must(t, "retake under the current licence", err)
	})

	t.Run("LapsedHolderOverNewLimit", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		var ss []sesame.Session
		for _, u := range []string{"u1", "u2", "u3", "u4"} {
			ss = append(ss, mustOpen(t, st, k, u, pool, 4, t0))
		}
		now := t0.Add(2 * time.Minute)
		for _, s := range ss[1:] {
			_, err := st.RenewSeat(ctx, s.ID, policy(2), now)
			must(t, "RenewSeat", err)
		}
		now = t0.Add(lease + time.Second) // u1 missed its heartbeats; 3 others live, limit 2
		wantErr(t, "lapsed holder over the new limit", second(st.RenewSeat(ctx, ss[0].ID, policy(2), now)), sesame.ErrSeatLost)
		ended(t, st, ss[0].ID, sesame.ReasonSeatLost)
	})
}
