package bolt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

func TestCollect(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	k := storetest.MustBase(t, st, "0751234A", "2026-2027", sesame.DefaultLicense)
	open := func(login string, at time.Time) sesame.Session {
		s := sesame.Session{ID: storetest.NewID(), UAI: k.UAI, Year: k.Year, Login: login, Mode: sesame.ModeAdmin,
			Access: sesame.Modify, Pool: sesame.PoolAdminModify, CreatedAt: at, ExpiresAt: at.Add(12 * time.Hour), LastActivity: at, LastSeen: at}
		if _, err := st.OpenSession(ctx, s, sesame.SeatPolicy{Limit: 4, Lease: 3 * time.Minute}, at); err != nil {
			t.Fatal(err)
		}
		return s
	}
	day0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	ended := open("parti", day0)
	if _, err := st.EndSession(ctx, ended.ID, sesame.ReasonLoggedOut, day0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	forgotten := open("oublie", day0)                 // never logged out: reaches its 12 h end
	recent := open("present", day0.Add(30*time.Hour)) // still there
	if _, err := st.PutAttempts(ctx, sesame.UnknownDevices.Fail(sesame.Attempts{Key: "vieux"}, day0)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutAttempts(ctx, sesame.UnknownDevices.Fail(sesame.Attempts{Key: "frais"}, day0.Add(30*time.Hour))); err != nil {
		t.Fatal(err)
	}

	n, err := st.Collect(ctx, day0.Add(24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("Collect = %d, %v; want 3 (two sessions, one counter)", n, err)
	}
	for _, s := range []sesame.Session{ended, forgotten} {
		if _, err := st.GetSession(ctx, s.ID); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("session %s kept: %v", s.Login, err)
		}
	}
	if _, err := st.GetSession(ctx, recent.ID); err != nil {
		t.Fatalf("a recent session was collected: %v", err)
	}
	ss, err := st.ListSessions(ctx, k)
	if err != nil || len(ss) != 1 || ss[0].ID != recent.ID {
		t.Fatalf("ListSessions after Collect: %d sessions, %v", len(ss), err)
	}
	if _, err := st.GetAttempts(ctx, "vieux"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("old counter kept: %v", err)
	}
	if _, err := st.GetAttempts(ctx, "frais"); err != nil {
		t.Fatalf("fresh counter collected: %v", err)
	}
	// The forgotten session's lapsed lease went with it: its user gets in again at once.
	now := day0.Add(30 * time.Hour)
	for _, login := range []string{"a", "b", "c"} {
		s := sesame.Session{ID: storetest.NewID(), UAI: k.UAI, Year: k.Year, Login: login, Mode: sesame.ModeAdmin, Access: sesame.Modify,
			Pool: sesame.PoolAdminModify, CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastActivity: now, LastSeen: now}
		if _, err := st.OpenSession(ctx, s, sesame.SeatPolicy{Limit: 4, Lease: time.Minute}, now); err != nil {
			t.Fatalf("after Collect, %s: %v", login, err)
		}
	}
	if n, _ := st.Collect(ctx, day0.Add(24*time.Hour)); n != 0 {
		t.Fatalf("a second Collect removed %d more", n)
	}
}
