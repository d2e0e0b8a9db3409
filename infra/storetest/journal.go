package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// journalEntry builds an entry at t, its ID shaped as the service makes
// them (JournalID of t, then a random suffix).
func journalEntry(at time.Time, ev sesame.Event, actor, subject string) sesame.JournalEntry {
	return sesame.JournalEntry{ID: sesame.JournalID(at) + NewID()[:8], At: at, Event: ev, Actor: actor, Subject: subject,
		Mode: sesame.ModeAdmin, Pool: sesame.PoolAdminModify, Reason: "raison-" + string(ev),
		Detail: "Détail : " + string(ev) + " de « " + subject + " »", Address: "192.0.2.7",
		ExpiresAt: at.Add(sesame.DefaultJournalRetention)}
}

func sameEntry(a, b sesame.JournalEntry) bool {
	return a.ID == b.ID && a.At.Equal(b.At) && a.Event == b.Event && a.Actor == b.Actor && a.Subject == b.Subject &&
		a.Mode == b.Mode && a.Pool == b.Pool && a.Reason == b.Reason && a.Detail == b.Detail && a.Address == b.Address &&
		a.ExpiresAt.Equal(b.ExpiresAt)
}

// journalModel is what ListJournal must return for q over the entries es,
// all pages together: the range, the cursor and the filters applied by
// their definitions, newest first.
func journalModel(es []sesame.JournalEntry, q sesame.JournalQuery) []string {
	lo, hi := q.Range()
	var out []string
	for _, e := range es {
		if (lo == "" || e.ID >= lo) && (hi == "" || e.ID < hi) && (q.Before == "" || e.ID < q.Before) && e.Matches(q) {
			out = append(out, e.ID)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// journalAll pages through ListJournal from q and returns the IDs seen. It
// checks each page: never nil, never larger than asked, full unless it is
// the last, newest first, and Next naming its last entry exactly when
// another page follows.
func journalAll(t *testing.T, st sesame.Store, k sesame.BaseKey, q sesame.JournalQuery) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("ListJournal never reaches its last page")
		}
		p, err := st.ListJournal(context.Background(), k, q)
		must(t, "ListJournal", err)
		if p.Entries == nil {
			t.Fatal("ListJournal returned nil Entries")
		}
		if len(p.Entries) > q.PageSize() {
			t.Fatalf("page of %d entries, asked for %d", len(p.Entries), q.PageSize())
		}
		for _, e := range p.Entries {
			if len(out) > 0 && out[len(out)-1] <= e.ID {
				t.Fatalf("ListJournal out of order or repeated: %s after %s", e.ID, out[len(out)-1])
			}
			out = append(out, e.ID)
		}
		if p.Next == "" {
			return out
		}
		if len(p.Entries) != q.PageSize() {
			t.Fatalf("a page of %d entries (asked for %d) has a next page", len(p.Entries), q.PageSize())
		}
		if p.Next != p.Entries[len(p.Entries)-1].ID {
			t.Fatalf("Next = %s, want the page's last ID %s", p.Next, p.Entries[len(p.Entries)-1].ID)
		}
		q.Before = p.Next
	}
}

func testJournal(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)

	// 30 entries, one a minute from t0, in a scrambled order of writing;
	// entries 12 and 13 share their instant (the same JournalID prefix).
	events := []sesame.Event{sesame.EventLogin, sesame.EventLogout, sesame.EventLoginRefused, sesame.EventIdleTimeout, sesame.EventUserUpdated}
	actors := []string{"Dupont", "martin", "", "DUPONT", "spr"}
	subjects := []string{"martin", "dupont", "inconnu", "bernard", "Dupont.Fils"}
	var all []sesame.JournalEntry
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if i == 13 {
			at = all[12].At
		}
		all = append(all, journalEntry(at, events[i%len(events)], actors[i%len(actors)], subjects[(i/2)%len(subjects)]))
	}
	for _, i := range []int{5, 0, 29, 13, 12, 7, 1, 2, 3, 4, 6, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28} {
		must(t, "AppendJournal", st.AppendJournal(ctx, k, all[i]))
	}
	ids := journalModel(all, sesame.JournalQuery{})

	t.Run("NewestFirst", func(t *testing.T) {
		p, err := st.ListJournal(ctx, k, sesame.JournalQuery{})
		must(t, "ListJournal", err)
		if p.Next != "" || len(p.Entries) != 30 {
			t.Fatalf("ListJournal: %d entries, next %q; want all 30 on one page", len(p.Entries), p.Next)
		}
		for i, e := range p.Entries {
			if e.ID != ids[i] {
				t.Fatalf("entry %d is %s, want %s (newest first)", i, e.ID, ids[i])
			}
		}
		if !p.Entries[0].At.Equal(t0.Add(29*time.Minute)) || !p.Entries[29].At.Equal(t0) {
			t.Fatalf("newest at %v, oldest at %v", p.Entries[0].At, p.Entries[29].At)
		}
		for _, e := range p.Entries {
			want := all[slices.IndexFunc(all, func(x sesame.JournalEntry) bool { return x.ID == e.ID })]
			if !sameEntry(e, want) {
				t.Fatalf("entry read back as %+v, written as %+v", e, want)
			}
		}
	})

	t.Run("Paging", func(t *testing.T) {
		for _, limit := range []int{1, 6, 7, 29, 30} { // 6 and 30 divide 30: the last full page has no next
			got := journalAll(t, st, k, sesame.JournalQuery{Limit: limit})
			if !slices.Equal(got, ids) {
				t.Fatalf("pages of %d: %d entries, want the 30 in order\ngot  %v\nwant %v", limit, len(got), got, ids)
			}
		}
		// Between the two entries of the same instant.
		tied := journalAll(t, st, k, sesame.JournalQuery{Before: ids[16], Limit: 1})
		if !slices.Equal(tied, ids[17:]) {
			t.Fatalf("after a cursor between entries of one instant: %v, want %v", tied, ids[17:])
		}
	})

	t.Run("TimeRange", func(t *testing.T) {
		q := sesame.JournalQuery{From: t0.Add(5 * time.Minute), To: t0.Add(10 * time.Minute)}
		p, err := st.ListJournal(ctx, k, q)
		must(t, "ListJournal", err)
		if len(p.Entries) != 5 || p.Next != "" {
			t.Fatalf("From 5 min To 10 min: %d entries, want 5 (From included, To excluded)", len(p.Entries))
		}
		if !p.Entries[0].At.Equal(t0.Add(9*time.Minute)) || !p.Entries[4].At.Equal(t0.Add(5*time.Minute)) {
			t.Fatalf("range from %v to %v, want 9 min down to 5 min", p.Entries[0].At, p.Entries[4].At)
		}
		for _, q := range []sesame.JournalQuery{
			{From: t0.Add(5 * time.Minute), To: t0.Add(10 * time.Minute), Limit: 2},
			{From: t0.Add(12 * time.Minute), To: t0.Add(15 * time.Minute), Limit: 1}, // the tied pair and one more
			{From: t0.Add(20 * time.Minute), Limit: 3},
			{To: t0.Add(4*time.Minute + time.Second), Limit: 2},
			{From: t0.Add(3 * time.Minute), To: t0.Add(25 * time.Minute), Before: ids[10], Limit: 4},
			{From: t0.Add(30 * time.Minute)},
			{To: t0},
			{From: t0.Add(10 * time.Minute), To: t0.Add(5 * time.Minute)},
			{From: t0.Add(10 * time.Minute), Before: ids[25]},
			{Before: sesame.JournalID(t0.Add(3 * time.Minute))}, // a cursor that is no entry's ID
		} {
			got := journalAll(t, st, k, q)
			if want := journalModel(all, q); !slices.Equal(got, want) {
				t.Fatalf("query %+v: %v, want %v", q, got, want)
			}
		}
		if n := len(journalModel(all, sesame.JournalQuery{From: t0.Add(12 * time.Minute), To: t0.Add(15 * time.Minute)})); n != 3 {
			t.Fatalf("the model finds %d entries from 12 to 15 min, want 3", n)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		cases := []struct {
			q    sesame.JournalQuery
			want int // checks the model itself
		}{
			{sesame.JournalQuery{Events: []sesame.Event{sesame.EventLogout}}, 6},
			{sesame.JournalQuery{Events: []sesame.Event{sesame.EventLogout, sesame.EventLoginRefused}, Limit: 4}, 12},
			{sesame.JournalQuery{Events: []sesame.Event{sesame.EventRecovery}}, 0},
			// Actor "Dupont" or "DUPONT", or subject "dupont": any case.
			{sesame.JournalQuery{Login: "dupont"}, 15},
			{sesame.JournalQuery{Login: "DuPont", Limit: 5}, 15},
			{sesame.JournalQuery{Login: "dupont.fils"}, 6},
			{sesame.JournalQuery{Login: "MARTIN", Events: []sesame.Event{sesame.EventLogout, sesame.EventLogin}, Limit: 2}, 9},
			{sesame.JournalQuery{Login: "dupont", Events: []sesame.Event{sesame.EventLogin}, From: t0.Add(4 * time.Minute), Limit: 2}, 5},
			{sesame.JournalQuery{Login: "personne"}, 0},
		}
		for _, c := range cases {
			want := journalModel(all, c.q)
			if len(want) != c.want {
				t.Fatalf("the model finds %d entries for %+v, the case expects %d", len(want), c.q, c.want)
			}
			got := journalAll(t, st, k, c.q)
			if !slices.Equal(got, want) {
				t.Fatalf("query %+v: %v, want %v", c.q, got, want)
			}
		}
		// The login filter compares whole logins in any case, not parts of
		// them ("Dupont.Fils" is not "dupont").
		p, err := st.ListJournal(ctx, k, sesame.JournalQuery{Login: "dupont"})
		must(t, "ListJournal", err)
		for _, e := range p.Entries {
			if !strings.EqualFold(e.Actor, "dupont") && !strings.EqualFold(e.Subject, "dupont") {
				t.Fatalf("login filter dupont kept %q → %q", e.Actor, e.Subject)
			}
		}
	})

	t.Run("AppendOnly", func(t *testing.T) {
		dup := all[3]
		dup.Detail = "Réécrit"
		wantErr(t, "AppendJournal with an existing ID", st.AppendJournal(ctx, k, dup), sesame.ErrExists)
		p, err := st.ListJournal(ctx, k, sesame.JournalQuery{From: all[3].At, To: all[3].At.Add(time.Nanosecond)})
		must(t, "ListJournal", err)
		if len(p.Entries) != 1 || !sameEntry(p.Entries[0], all[3]) {
			t.Fatalf("after a refused duplicate: %+v, want the original", p.Entries)
		}
		wantErr(t, "AppendJournal in a missing base",
			st.AppendJournal(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, journalEntry(t0, sesame.EventLogin, "a", "a")), sesame.ErrNotFound)
	})

	t.Run("CountedSummary", func(t *testing.T) {
		// A base of its own, so that the listing holds the summary alone.
		kc := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		e := sesame.RefusalSummary(t0.Add(90*time.Minute), sesame.CodeInvalidCredentials, sesame.DefaultJournalRetention)
		must(t, "CountJournal", st.CountJournal(ctx, kc, e))
		var wg sync.WaitGroup
		for range 31 {
			wg.Go(func() {
				later := e
				later.Detail, later.At = "autre", e.At.Add(time.Minute) // never overwrites the first
				if err := st.CountJournal(ctx, kc, later); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		p, err := st.ListJournal(ctx, kc, sesame.JournalQuery{})
		must(t, "ListJournal", err)
		if len(p.Entries) != 1 {
			t.Fatalf("%d entries after 32 counts of one summary", len(p.Entries))
		}
		got := p.Entries[0]
		want := e
		want.Count = 32
		if !sameEntry(got, want) || got.Count != 32 {
			t.Fatalf("summary %+v, want %+v with count 32", got, want)
		}
		if d := got.Summarised().Detail; !strings.HasPrefix(d, "32 connexion(s) refusée(s) (identifiants incorrects)") {
			t.Fatalf("summary reads %q", d)
		}
	})

	t.Run("Isolation", func(t *testing.T) {
		other := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		next := MustBaseIn(t, st, k.UAI, year.Next())
		for _, b := range []sesame.BaseKey{other, next} {
			p, err := st.ListJournal(ctx, b, sesame.JournalQuery{})
			must(t, "ListJournal", err)
			if len(p.Entries) != 0 || p.Next != "" {
				t.Fatalf("a new base %s shows %d entries", b, len(p.Entries))
			}
		}
		// The same ID in two bases is two entries.
		same := all[0]
		same.Detail = "Dans une autre base"
		must(t, "AppendJournal", st.AppendJournal(ctx, other, same))
		must(t, "AppendJournal", st.AppendJournal(ctx, next, journalEntry(t0.Add(time.Hour), sesame.EventLogin, "dupont", "dupont")))
		for _, c := range []struct {
			k    sesame.BaseKey
			want int
		}{{k, 30}, {other, 1}, {next, 1}} {
			p, err := st.ListJournal(ctx, c.k, sesame.JournalQuery{})
			must(t, "ListJournal", err)
			if len(p.Entries) != c.want {
				t.Fatalf("base %s: %d entries, want %d", c.k, len(p.Entries), c.want)
			}
		}
		p, err := st.ListJournal(ctx, other, sesame.JournalQuery{})
		must(t, "ListJournal", err)
		if p.Entries[0].Detail != "Dans une autre base" {
			t.Fatalf("the other base's entry reads %q", p.Entries[0].Detail)
		}
	})
}

func testUsage(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	note := func(day string, pool sesame.Pool, held, refused int) {
		t.Helper()
		must(t, "NoteUsage", st.NoteUsage(ctx, k, sesame.UsageNote{Day: day, Pool: pool, Held: held, Refused: refused}))
	}
	list := func(from, to string) []sesame.UsageDay {
		t.Helper()
		us, err := st.ListUsage(ctx, k, from, to)
		must(t, "ListUsage", err)
		return us
	}

	t.Run("PeakAndRefusals", func(t *testing.T) {
		for _, h := range []int{2, 5, 3, 1} {
			note("2026-09-02", sesame.PoolAdminModify, h, 0)
		}
		note("2026-09-02", sesame.PoolAdminModify, 0, 1)
		note("2026-09-02", sesame.PoolAdminModify, 4, 2)
		got := list("2026-09-02", "2026-09-02")
		want := []sesame.UsageDay{{Day: "2026-09-02", Pool: sesame.PoolAdminModify, Peak: 5, Refused: 3}}
		if !slices.Equal(got, want) {
			t.Fatalf("ListUsage = %+v, want %+v", got, want)
		}
	})

	t.Run("RangeAndOrder", func(t *testing.T) {
		// Written out of order; Pools order differs from the names' order
		// (admin-modify before admin-consult, academy last).
		note("2026-09-05", sesame.PoolAcademy, 1, 0)
		note("2026-09-04", sesame.PoolTeacher, 12, 0)
		note("2026-09-03", sesame.PoolAcademy, 2, 0)
		note("2026-09-03", sesame.PoolAdminConsult, 1, 0)
		note("2026-09-03", sesame.PoolAdminModify, 4, 1)
		note("2026-09-01", sesame.PoolAdminModify, 3, 0)
		note("2026-09-04", sesame.PoolAdminModify, 0, 2)
		note("2026-10-03", sesame.PoolTeacher, 9, 0)
		got := list("2026-09-03", "2026-09-05")
		want := []sesame.UsageDay{
			{Day: "2026-09-03", Pool: sesame.PoolAdminModify, Peak: 4, Refused: 1},
			{Day: "2026-09-03", Pool: sesame.PoolAdminConsult, Peak: 1},
			{Day: "2026-09-03", Pool: sesame.PoolAcademy, Peak: 2},
			{Day: "2026-09-04", Pool: sesame.PoolAdminModify, Refused: 2},
			{Day: "2026-09-04", Pool: sesame.PoolTeacher, Peak: 12},
			{Day: "2026-09-05", Pool: sesame.PoolAcademy, Peak: 1},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ListUsage 09-03..09-05 =\n%+v\nwant\n%+v", got, want)
		}
		if got := list("2026-09-01", "2026-09-02"); len(got) != 2 || got[0].Day != "2026-09-01" || got[1].Day != "2026-09-02" {
			t.Fatalf("ListUsage 09-01..09-02 = %+v", got)
		}
		if got := list("2026-09-06", "2026-09-30"); len(got) != 0 {
			t.Fatalf("days without notes: %+v", got)
		}
		if got := list("2026-09-05", "2026-09-03"); len(got) != 0 {
			t.Fatalf("from after to: %+v", got)
		}
		if got := list("2026-01-01", "2026-12-31"); len(got) != 9 || got[8] != (sesame.UsageDay{Day: "2026-10-03", Pool: sesame.PoolTeacher, Peak: 9}) {
			t.Fatalf("the whole year: %+v", got)
		}
	})

	t.Run("Race", func(t *testing.T) {
		// 32 goroutines note at once, in rounds: held = 1..32 and one
		// refusal each. The peak must be the max and no refusal lost.
		const rounds = 3
		for round := range rounds {
			day := fmt.Sprintf("2026-11-%02d", round+1)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range racers {
				wg.Go(func() {
					<-start
					held := racers - i // the highest first, for some rounds to lose their condition
					if round%2 == 1 {
						held = i + 1
					}
					if err := st.NoteUsage(ctx, k, sesame.UsageNote{Day: day, Pool: sesame.PoolTeacher, Held: held, Refused: 1}); err != nil {
						t.Errorf("NoteUsage: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			got := list(day, day)
			want := []sesame.UsageDay{{Day: day, Pool: sesame.PoolTeacher, Peak: racers, Refused: racers}}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: after %d concurrent notes: %+v, want %+v", round, racers, got, want)
			}
		}
	})

	t.Run("Isolation", func(t *testing.T) {
		other := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		next := MustBaseIn(t, st, k.UAI, year.Next())
		must(t, "NoteUsage", st.NoteUsage(ctx, other, sesame.UsageNote{Day: "2026-09-03", Pool: sesame.PoolAdminModify, Held: 1}))
		for _, c := range []struct {
			k    sesame.BaseKey
			want int
		}{{other, 1}, {next, 0}} {
			us, err := st.ListUsage(ctx, c.k, "2026-01-01", "2026-12-31")
			must(t, "ListUsage", err)
			if len(us) != c.want {
				t.Fatalf("base %s: %+v, want %d day(s)", c.k, us, c.want)
			}
		}
		if got := list("2026-09-03", "2026-09-03"); got[0].Peak != 4 {
			t.Fatalf("another base's note changed this one: %+v", got)
		}
	})
}
