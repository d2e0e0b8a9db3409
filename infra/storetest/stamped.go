package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// testBeatStamped checks BeatStamped, a heartbeat's fast path: it applies
// exactly when sesame.Session.Heartbeat under the stamped setting goes on
// (the boundaries of its three steps, the absolute end, the stamp's own
// life), it extends only a live lease of the session, and every other case
// is ErrNotStamped with nothing changed but, at most, the activity.
func testBeatStamped(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	now := t0
	ad := sesame.AutoDisconnect{Enabled: true, After: 20 * time.Minute}
	noSeat := sesame.SeatPolicy{Lease: lease}
	// stamped opens a seat-less session stamped with setting a at now.
	stamped := func(t *testing.T, a sesame.AutoDisconnect) sesame.Session {
		t.Helper()
		s := newSession(k, "eleve-"+NewID()[:6], sesame.PoolParent, now)
		s.Pool = "" // the spaces take no seat
		s.Stamp(a, now)
		_, err := st.OpenSession(ctx, s, sesame.SeatPolicy{}, now)
		must(t, "OpenSession", err)
		return s
	}
	same := func(t *testing.T, what string, want sesame.Session) {
		t.Helper()
		got, err := st.GetSession(ctx, want.ID)
		must(t, "GetSession", err)
		if !sameSession(got, want) {
			t.Fatalf("%s: stored %+v, want %+v", what, got, want)
		}
	}

	t.Run("OpenKeepsTheStamp", func(t *testing.T) {
		s := stamped(t, ad)
		same(t, "after OpenSession", s)
	})

	t.Run("AsTheRuleSays", func(t *testing.T) {
		// Each case: the stored activity's age at the heartbeat, the idle
		// reported, the setting, whether the rule goes on.
		cases := []struct {
			name string
			age  time.Duration
			idle time.Duration
			ad   sesame.AutoDisconnect
		}{
			{"Active", 5 * time.Minute, time.Second, ad},
			{"IdleUnderTheLimit", 10 * time.Minute, 19 * time.Minute, ad},
			{"NegativeIdle", time.Minute, -time.Hour, ad},
			{"StoredJustUnder", ad.After - time.Nanosecond, 0, ad},
			{"StoredAtTheLimit", ad.After, 0, ad},         // step 1
			{"StoredPast", ad.After + time.Minute, 0, ad}, // step 1
			{"ReportJustUnder", time.Minute, ad.After - time.Nanosecond, ad},
			{"ReportAtTheLimit", time.Minute, ad.After, ad}, // step 3
			{"Off", 50 * time.Minute, 50 * time.Minute, sesame.AutoDisconnect{After: ad.After}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := stamped(t, c.ad)
				at := now.Add(c.age)
				want := s
				goesOn := want.Heartbeat(at, c.idle, c.ad) == ""
				got, err := st.BeatStamped(ctx, s.ID, c.idle, noSeat, at)
				if !goesOn {
					wantErr(t, "BeatStamped where the rule ends the session", err, sesame.ErrNotStamped)
					same(t, "after a declined BeatStamped", s)
					return
				}
				must(t, "BeatStamped", err)
				if !sameSession(got, want) {
					t.Fatalf("BeatStamped returned %+v, want %+v", got, want)
				}
				same(t, "after BeatStamped", want)
				// The deadline moved with the activity: the next heartbeat
				// is judged from the activity just stored.
				next := want
				nextAt := at.Add(time.Minute)
				goesOn = next.Heartbeat(nextAt, 0, c.ad) == ""
				_, err = st.BeatStamped(ctx, s.ID, 0, noSeat, nextAt)
				if goesOn {
					must(t, "the next BeatStamped", err)
				} else {
					wantErr(t, "the next BeatStamped", err, sesame.ErrNotStamped)
				}
			})
		}
	})

	t.Run("Declines", func(t *testing.T) {
		_, err := st.BeatStamped(ctx, "absente", 0, noSeat, now)
		wantErr(t, "BeatStamped of no session", err, sesame.ErrNotStamped)

		plain := newSession(k, "sans-tampon", "", now)
		plain.Mode = sesame.SpaceStudent
		_, err = st.OpenSession(ctx, plain, sesame.SeatPolicy{}, now)
		must(t, "OpenSession", err)
		_, err = st.BeatStamped(ctx, plain.ID, 0, noSeat, now.Add(time.Minute))
		wantErr(t, "BeatStamped without a stamp", err, sesame.ErrNotStamped)
		same(t, "unstamped", plain)

		s := stamped(t, sesame.AutoDisconnect{})
		_, err = st.BeatStamped(ctx, s.ID, 0, noSeat, s.IdleUntil)
		wantErr(t, "BeatStamped when the stamp's life ends", err, sesame.ErrNotStamped)
		_, err = st.BeatStamped(ctx, s.ID, 0, noSeat, s.ExpiresAt)
		wantErr(t, "BeatStamped at the absolute end", err, sesame.ErrNotStamped)
		same(t, "after declined BeatStamped", s)

		_, err = st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, now.Add(time.Minute))
		must(t, "EndSession", err)
		_, err = st.BeatStamped(ctx, s.ID, 0, noSeat, now.Add(2*time.Minute))
		wantErr(t, "BeatStamped after the end", err, sesame.ErrNotStamped)
	})

	t.Run("Unstamp", func(t *testing.T) {
		s := stamped(t, ad)
		must(t, "UnstampSession", st.UnstampSession(ctx, s.ID))
		_, err := st.BeatStamped(ctx, s.ID, 0, noSeat, now.Add(time.Minute))
		wantErr(t, "BeatStamped after UnstampSession", err, sesame.ErrNotStamped)
		must(t, "UnstampSession again", st.UnstampSession(ctx, s.ID))
		wantErr(t, "UnstampSession of no session", st.UnstampSession(ctx, "absente"), sesame.ErrNotFound)

		// The full path stamps what it read: a shorter limit now judges.
		at := now.Add(2 * time.Minute)
		shorter := sesame.AutoDisconnect{Enabled: true, After: 5 * time.Minute}
		s.LastActivity, s.LastSeen = at, at
		s.Stamp(shorter, at)
		must(t, "TouchSession with a new stamp", st.TouchSession(ctx, s))
		got, err := st.BeatStamped(ctx, s.ID, 4*time.Minute, noSeat, at.Add(time.Minute))
		must(t, "BeatStamped under the new stamp", err)
		if got.Idle != shorter {
			t.Fatalf("BeatStamped's session is judged under %+v, want %+v", got.Idle, shorter)
		}
		_, err = st.BeatStamped(ctx, s.ID, 6*time.Minute, noSeat, at.Add(2*time.Minute))
		wantErr(t, "BeatStamped past the new, shorter limit", err, sesame.ErrNotStamped)

		// An ended session may lose its stamp too.
		_, err = st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, at.Add(3*time.Minute))
		must(t, "EndSession", err)
		must(t, "UnstampSession of an ended session", st.UnstampSession(ctx, s.ID))
	})

	t.Run("Seat", func(t *testing.T) {
		pool := sesame.PoolTeacher
		p := sesame.SeatPolicy{Limit: 1, Lease: lease}
		s := newSession(k, "prof", pool, now)
		s.Stamp(ad, now)
		_, err := st.OpenSession(ctx, s, p, now)
		must(t, "OpenSession", err)
		at := now.Add(time.Minute)
		got, err := st.BeatStamped(ctx, s.ID, time.Second, p, at)
		must(t, "BeatStamped of a seat holder", err)
		if !got.LastSeen.Equal(at) || got.Pool != pool {
			t.Fatalf("BeatStamped of a seat holder = %+v", got)
		}
		// The lease now runs from at: live just before at+lease.
		if l := liveIn(t, st, k, pool, at.Add(lease)); len(l) != 1 || l[0] != "prof" {
			t.Fatalf("after BeatStamped, live at %v: %v, want [prof]", at.Add(lease), l)
		}

		// A lapsed lease is RenewSeat's business, through the full path.
		late := at.Add(lease + time.Second)
		_, err = st.BeatStamped(ctx, s.ID, time.Second, p, late)
		wantErr(t, "BeatStamped of a lapsed seat", err, sesame.ErrNotStamped)
		if l := liveIn(t, st, k, pool, late); len(l) != 0 {
			t.Fatalf("a declined BeatStamped brought a lapsed lease back: %v", l)
		}

		// The seat moved to a newer session of the same user: the old one
		// is over (replaced), and its stamp no longer counts.
		newer := newSession(k, "prof", pool, late)
		_, err = st.OpenSession(ctx, newer, p, late)
		must(t, "OpenSession of the newer session", err)
		_, err = st.BeatStamped(ctx, s.ID, time.Second, p, late.Add(time.Second))
		wantErr(t, "BeatStamped of a replaced session", err, sesame.ErrNotStamped)
		ended(t, st, s.ID, sesame.ReasonReplaced)
		if l := liveIn(t, st, k, pool, late.Add(time.Second)); len(l) != 1 {
			t.Fatalf("after the move: live %v, want the newer session's only", l)
		}
	})
}
