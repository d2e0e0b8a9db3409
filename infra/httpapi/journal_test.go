package httpapi_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

type entry struct {
	event, actor, subject, pool, reason, detail string
}

func entries(t *testing.T, a answer) []entry {
	t.Helper()
	wantStatus(t, "journal", a, http.StatusOK, "")
	var out []entry
	for _, x := range a.body["entries"].([]any) {
		m := x.(map[string]any)
		s := func(k string) string { v, _ := m[k].(string); return v }
		out = append(out, entry{s("event"), s("actor"), s("subject"), s("pool"), s("reason"), s("detail")})
	}
	return out
}

func has(es []entry, f func(entry) bool) bool { return slices.ContainsFunc(es, f) }

// TestJournalAndUsage: what the journal records, its filters, paging and
// CSV export, its retention, and the seat usage per pool and day.
func TestJournalAndUsage(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.License{AdminSeats: 4, TeacherSeats: 1})
		w.svc.Retention = 48 * time.Hour
		w.user("p1", "teacher", "", "")
		w.user("p2", "teacher", "", "")

		p1, p2 := w.browser(), w.browser()
		p1.mustLogin("p1", "teacher", "")
		wantStatus(t, "p2 finds the pool full", p2.login("p2", "teacher", ""), http.StatusConflict, "seats_exhausted")
		injection := "=HYPERLINK(\"http://evil\",\"clic\")"
		wantStatus(t, "a hostile login", p2.do("POST", "/login", map[string]string{"school": w.uai, "login": injection, "password": "x", "mode": "teacher"}, nil),
			http.StatusUnauthorized, "invalid_credentials")
		wantStatus(t, "unknown login", p2.do("POST", "/login", map[string]string{"school": w.uai, "login": "@inconnu", "password": "xxxxxxxx", "mode": "teacher"}, nil),
			http.StatusUnauthorized, "invalid_credentials")
		long := strings.Repeat("x", 100)
		wantStatus(t, "a long login", p2.do("POST", "/login", map[string]string{"school": w.uai, "login": long, "password": "xxxxxxxx", "mode": "teacher"}, nil),
			http.StatusUnauthorized, "invalid_credentials")
		wantStatus(t, "p1 logs out", p1.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
		p2.mustLogin("p2", "teacher", "")
		// p2 goes idle past the default 30 minutes.
		w.clock.Advance(31 * time.Minute)
		wantReason(t, "idle p2", p2.heartbeat(31*60), sesame.ReasonIdleTimeout)
		spr := w.spr()
		p1.mustLogin("p1", "teacher", "")
		var id string
		for _, c := range spr.do("GET", "/connections", nil, nil).body["connections"].([]any) {
			if m := c.(map[string]any); m["login"] == "p1" {
				id = m["id"].(string)
			}
		}
		wantStatus(t, "SPR disconnects p1", spr.do("DELETE", "/connections/"+id, nil, nil), http.StatusNoContent, "")
		wantStatus(t, "rename p2", spr.do("PATCH", "/users/p2", map[string]any{"displayName": "Paul Deux"}, nil), http.StatusOK, "")
		wantStatus(t, "deactivate p2", spr.do("PATCH", "/users/p2", map[string]any{"enabled": false}, nil), http.StatusOK, "")
		wantStatus(t, "teacher setting", spr.do("PATCH", "/profiles/professeurs", map[string]any{"autoDisconnect": map[string]any{"enabled": true, "seconds": 900}}, nil), http.StatusOK, "")
		// A recovery from last year's base.
		if _, err := w.svc.CreateSchool(t.Context(), sesame.NewSchool{UAI: w.uai, Name: "Collège", Year: "2025-2026", SPRPassword: pw}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "recover", spr.do("POST", "/recoveries", map[string]any{"fromYear": "2025-2026", "add": true}, nil), http.StatusOK, "")

		all := entries(t, spr.do("GET", "/journal?limit=1000", nil, nil))
		checks := map[string]func(entry) bool{
			"sign-in": func(e entry) bool { return e.event == "login" && e.actor == "p1" && e.pool == "teacher" },
			"full pool": func(e entry) bool {
				return e.event == "login_refused" && e.subject == "p2" && e.reason == "seats_exhausted" && e.pool == "teacher"
			},
			// Refusals before any password was right add to the hour's
			// summary: the unknown, the long and the hostile login.
			"summary of wrong credentials": func(e entry) bool {
				return e.event == "login_refused" && e.subject == "" && e.reason == "invalid_credentials" &&
					strings.HasPrefix(e.detail, "3 connexion(s) refusée(s) (identifiants incorrects)")
			},
			"logout": func(e entry) bool { return e.event == "logout" && e.actor == "p1" },
			"idle disconnection": func(e entry) bool {
				return e.event == "idle_timeout" && e.subject == "p2" && strings.Contains(e.detail, "30 minutes")
			},
			"forced": func(e entry) bool { return e.event == "disconnected" && e.actor == "spr" && e.subject == "p1" },
			"user change": func(e entry) bool {
				return e.event == "user_updated" && e.subject == "p2" && strings.Contains(e.detail, "Paul Deux")
			},
			"deactivation": func(e entry) bool { return e.event == "user_disabled" && e.actor == "spr" && e.subject == "p2" },
			"setting": func(e entry) bool {
				return e.event == "profile_updated" && e.subject == "professeurs" && strings.Contains(e.detail, "15 minutes")
			},
			"recovery": func(e entry) bool { return e.event == "recovery" && e.actor == "spr" },
		}
		for what, f := range checks {
			if !has(all, f) {
				t.Errorf("the journal lacks the %s: %+v", what, all)
			}
		}
		if has(all, func(e entry) bool {
			return strings.Contains(e.subject, "xxxx") || e.subject == injection || e.subject == "@inconnu"
		}) {
			t.Error("an unauthenticated refusal wrote an entry of its own")
		}
		// Newest first, paged without loss.
		var paged []entry
		for before, n := "", 0; n < 50; n++ {
			a := spr.do("GET", "/journal?limit=4&before="+url.QueryEscape(before), nil, nil)
			paged = append(paged, entries(t, a)...)
			next, _ := a.body["next"].(string)
			if next == "" {
				break
			}
			before = next
		}
		if len(paged) < len(all) || !slices.Equal(paged[:len(all)], all) {
			t.Fatalf("paged journal (%d) differs from one page (%d)", len(paged), len(all))
		}
		if all[0].event != "recovery" {
			t.Fatalf("newest entry: %+v", all[0])
		}
		// Filters.
		refused := entries(t, spr.do("GET", "/journal?event=login_refused", nil, nil))
		if len(refused) != 2 || has(refused, func(e entry) bool { return e.event != "login_refused" }) {
			t.Fatalf("refusals: %+v", refused)
		}
		mine := entries(t, spr.do("GET", "/journal?login=P1&event=login,logout,disconnected", nil, nil))
		if len(mine) != 4 || has(mine, func(e entry) bool { return e.actor != "p1" && e.subject != "p1" }) {
			t.Fatalf("p1's sessions: %+v", mine)
		}
		tomorrow := w.clock.Now().Add(24 * time.Hour).Format(time.DateOnly)
		if got := entries(t, spr.do("GET", "/journal?from="+tomorrow, nil, nil)); len(got) != 0 {
			t.Fatalf("entries from tomorrow: %+v", got)
		}
		wantStatus(t, "bad event", spr.do("GET", "/journal?event=vol", nil, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "bad date", spr.do("GET", "/journal?from=hier", nil, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "backwards", spr.do("GET", "/journal?from=2026-12-02&to=2026-12-01", nil, nil), http.StatusBadRequest, "invalid_value")

		// Kept as long as the retention says.
		page, err := st.ListJournal(t.Context(), sesame.BaseKey{UAI: sesame.UAI(w.uai), Year: sesame.Year(w.year)}, sesame.JournalQuery{Limit: 1})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].ExpiresAt.Sub(page.Entries[0].At) != 48*time.Hour {
			t.Fatalf("retention: %+v %v", page.Entries, err)
		}

		// CSV: every entry, cells escaped against formula injection.
		w.user("formule", "student", "", "")
		wantStatus(t, "rename to a formula", spr.do("PATCH", "/users/formule", map[string]any{"displayName": "=1+1"}, nil), http.StatusOK, "")
		wantStatus(t, "a login starting with @", p2.do("POST", "/login", map[string]string{"school": w.uai, "login": "@SUM", "password": "xxxxxxxx", "mode": "student"}, nil),
			http.StatusUnauthorized, "invalid_credentials")
		res := spr.raw("GET", "/journal.csv", "", "")
		if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(res.text, "\uFEFF") {
			t.Fatalf("CSV: %d %s %.80q", res.status, res.header.Get("Content-Type"), res.text)
		}
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.text, "\uFEFF")))
		r.Comma = ';'
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// The CSV holds the journal as listed: two entries more (the account
		// and its rename), and the refused @SUM only counted in a summary
		// (a new one if the test's clock crossed an hour). Escaping itself
		// is tested with the CSV writer, TestCSVEscapesFormulas.
		now := entries(t, spr.do("GET", "/journal?limit=1000", nil, nil))
		if len(rows) != len(now)+1 || rows[0][0] != "Date (UTC)" || len(now) < len(all)+2 || len(now) > len(all)+3 {
			t.Fatalf("CSV has %d rows for %d entries (%d before the last three requests)", len(rows), len(now), len(all))
		}
		for _, row := range rows[1:] {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
					t.Fatalf("unescaped cell %q in %v", cell, row)
				}
				if strings.Contains(cell, "@SUM") || strings.Contains(cell, "HYPERLINK") {
					t.Fatalf("an unauthenticated login reached the CSV: %v", row)
				}
			}
		}

		// Seat usage: the teacher pool's peak and its refusals today; the
		// student space, where sessions take no seat, counts its sign-ins
		// (two, from two devices); the SPR counts in no pool.
		w.user("eleve", "student", "", "")
		w.browser().mustLogin("eleve", "student", "")
		w.browser().mustLogin("eleve", "student", "")
		u := spr.do("GET", "/usage", nil, nil)
		wantStatus(t, "usage", u, http.StatusOK, "")
		today := sesame.Day(w.clock.Now())
		var peak, refusals, students float64 = -1, -1, -1
		for _, d := range u.body["days"].([]any) {
			m := d.(map[string]any)
			switch {
			case m["pool"] == "" || m["pool"] == nil:
				t.Fatalf("usage of no pool: %v", m)
			case m["day"] == today && m["pool"] == "teacher":
				peak, refusals = m["peak"].(float64), m["refused"].(float64)
			case m["day"] == today && m["pool"] == "student":
				students = m["signIns"].(float64)
			}
		}
		if peak != 1 || refusals != 1 || students != 2 {
			t.Fatalf("usage today: teacher peak %v refused %v, student sign-ins %v (%v)", peak, refusals, students, u.body)
		}
		for _, p := range u.body["pools"].([]any) {
			if m := p.(map[string]any); m["pool"] == "teacher" && m["limit"] != 1.0 {
				t.Fatalf("teacher limit %v", m["limit"])
			}
		}
		// Past the retention (48 h here), entries no longer show, even
		// before the store collects them.
		w.clock.Advance(49 * time.Hour)
		late := entries(t, w.spr().do("GET", "/journal?limit=1000", nil, nil))
		if len(late) != 1 || late[0].event != "login" {
			t.Fatalf("after the retention: %+v", late)
		}
		spr = w.spr()
		wantStatus(t, "usage bad day", spr.do("GET", "/usage?from=2026-13-01", nil, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "usage too long", spr.do("GET", "/usage?from=2020-01-01&to=2026-01-01", nil, nil), http.StatusBadRequest, "invalid_value")
	})
}
