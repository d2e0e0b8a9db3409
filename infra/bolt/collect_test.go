package bolt_test

import (
	"context"
	"errors"
	"slices"
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

	n, err := st.Collect(ctx, day0.Add(24*time.Hour), 0)
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
	if n, _ := st.Collect(ctx, day0.Add(24*time.Hour), 0); n != 0 {
		t.Fatalf("a second Collect removed %d more", n)
	}
}

// TestCollectJournal: Collect removes the journal entries whose ExpiresAt
// is before its bound, in every base, and only those. (DynamoDB leaves
// them to the table's TTL, which DynamoDB Local cannot test.)
func TestCollectJournal(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	a := storetest.MustBase(t, st, storetest.NewUAI(), "2026-2027", sesame.DefaultLicense)
	b := storetest.MustBase(t, st, storetest.NewUAI(), "2026-2027", sesame.DefaultLicense)
	day0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	bound := day0.Add(100 * 24 * time.Hour)
	entry := func(at time.Time, retention time.Duration, subject string) sesame.JournalEntry {
		e := sesame.JournalEntry{ID: sesame.JournalID(at) + storetest.NewID()[:6], At: at, Event: sesame.EventLogin,
			Actor: subject, Subject: subject}
		if retention > 0 {
			e.ExpiresAt = at.Add(retention)
		}
		return e
	}
	// kept[k] lists the subjects that must stay in base k.
	kept := map[sesame.BaseKey][]string{}
	gone := 0
	add := func(k sesame.BaseKey, e sesame.JournalEntry, stays bool) {
		t.Helper()
		if err := st.AppendJournal(ctx, k, e); err != nil {
			t.Fatal(err)
		}
		if stays {
			kept[k] = append(kept[k], e.Subject)
		} else {
			gone++
		}
	}
	// Old entries with a short retention go; an old entry with a long
	// retention stays even though newer ones go (the index is by expiry,
	// not by time); an entry expiring exactly at the bound stays (not
	// before it); one without ExpiresAt never goes.
	add(a, entry(day0, 24*time.Hour, "a-vieux"), false)
	add(a, entry(day0.Add(time.Hour), 30*24*time.Hour, "a-mois"), false)
	add(a, entry(day0.Add(2*time.Hour), sesame.MaxJournalRetention, "a-long"), true)
	add(a, entry(day0.Add(50*24*time.Hour), 50*24*time.Hour-time.Nanosecond, "a-juste-avant"), false)
	add(a, entry(day0.Add(50*24*time.Hour), 50*24*time.Hour, "a-a-la-borne"), true)
	add(a, entry(day0.Add(99*24*time.Hour), sesame.DefaultJournalRetention, "a-recent"), true)
	add(a, entry(day0, 0, "a-sans-expiration"), true)
	add(b, entry(day0, 24*time.Hour, "b-vieux"), false)
	add(b, entry(day0.Add(3*time.Hour), sesame.DefaultJournalRetention, "b-recent"), true)
	// A base that never had a journal is no trouble.
	storetest.MustBase(t, st, storetest.NewUAI(), "2026-2027", sesame.DefaultLicense)

	n, err := st.Collect(ctx, bound, 0)
	if err != nil || n != gone {
		t.Fatalf("Collect = %d, %v; want %d expired entries", n, err, gone)
	}
	for k, want := range kept {
		p, err := st.ListJournal(ctx, k, sesame.JournalQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range p.Entries {
			got = append(got, e.Subject)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("base %s after Collect: %v, want %v", k, got, want)
		}
	}
	if n, err := st.Collect(ctx, bound, 0); err != nil || n != 0 {
		t.Fatalf("a second Collect removed %d more (%v)", n, err)
	}
	// Later, the rest expires too, except the entry without ExpiresAt.
	n, err = st.Collect(ctx, day0.Add(4*366*24*time.Hour), 0)
	if err != nil || n != 4 {
		t.Fatalf("Collect four years on = %d, %v; want 4", n, err)
	}
	p, err := st.ListJournal(ctx, a, sesame.JournalQuery{})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Subject != "a-sans-expiration" {
		t.Fatalf("after the last Collect: %+v, %v", p.Entries, err)
	}
	// An expired entry appended again (its ID is free once collected) is
	// indexed again, and goes at the next Collect.
	again := entry(day0, 24*time.Hour, "a-vieux")
	if err := st.AppendJournal(ctx, a, again); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Collect(ctx, bound, 0); err != nil || n != 1 {
		t.Fatalf("Collect of a re-added expired entry = %d, %v; want 1", n, err)
	}
}
