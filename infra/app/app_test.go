package app_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/password"
)

func TestParseJournalRetention(t *testing.T) {
	for s, want := range map[string]time.Duration{"1": 24 * time.Hour, "183": sesame.DefaultJournalRetention, " 30 ": 30 * 24 * time.Hour, "1098": sesame.MaxJournalRetention} {
		if got, err := app.ParseJournalRetention(s); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1", "1099", "1.5", "6 mois", "183d", "4380h"} {
		_, err := app.ParseJournalRetention(s)
		if sesame.ErrorCode(err) != sesame.CodeInvalid || sesame.ErrorMessage(err) !=
			"La durée de conservation du journal « "+s+" » est incorrecte : donnez un nombre entier de jours, de 1 à 1098 (183 par défaut, six mois)." {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestJournalRetention(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == app.EnvJournalRetention {
				return v
			}
			return ""
		}
	}
	if d, err := app.JournalRetention(env("")); err != nil || d != sesame.DefaultJournalRetention {
		t.Errorf("unset: %v %v", d, err)
	}
	if d, err := app.JournalRetention(env("90")); err != nil || d != 90*24*time.Hour {
		t.Errorf("90: %v %v", d, err)
	}
	_, err := app.JournalRetention(env("jamais"))
	if sesame.ErrorCode(err) != sesame.CodeInvalid || !strings.HasPrefix(sesame.ErrorMessage(err), "SESAME_JOURNAL_RETENTION_DAYS : La durée de conservation du journal « jamais » est incorrecte") {
		t.Errorf("jamais: %v", err)
	}
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// TestCollectJournalOnTime: on the single server's store, the collector
// removes a journal entry when it expires (At + the retention, within the
// collector's period), while it keeps an ended session a day, so that a
// browser coming back is told why its session ended.
func TestCollectJournalOnTime(t *testing.T) {
	ctx := context.Background()
	st, err := app.OpenStore(ctx, "bolt:"+filepath.Join(t.TempDir(), "sesame.db"), app.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const retention = 10 * 24 * time.Hour
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	clk := &clock{t0}
	svc := &sesame.Service{Store: st, Clock: clk, Timing: sesame.DefaultTiming, Retention: retention,
		Hasher: password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})}
	const pw = "mot-de-passe-solide"
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: "0751234A", Name: "Collège", Year: "2026-2027", SPRPassword: pw}); err != nil {
		t.Fatal(err)
	}
	k := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	login := func() string {
		t.Helper()
		res, err := svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: "spr", Password: pw, Mode: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Token
	}
	journal := func() map[time.Time]int {
		t.Helper()
		page, err := st.ListJournal(ctx, k, sesame.JournalQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		at := map[time.Time]int{}
		for _, e := range page.Entries {
			at[e.At.UTC()]++
		}
		return at
	}
	login() // a journal entry at t0
	later := t0.Add(retention - time.Hour)
	clk.t = later
	token := login() // and at later, a session that ends at once
	if err := svc.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := journal(); got[t0] != 1 || got[later] != 2 {
		t.Fatalf("journal %v", got)
	}

	if _, err := app.CollectOnce(ctx, st, t0.Add(retention-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := journal(); got[t0] != 1 {
		t.Fatalf("an entry went a minute before it expired: %v", got)
	}
	// The collector runs every CollectPeriod: an entry goes at most that
	// long after it expires.
	if _, err := app.CollectOnce(ctx, st, t0.Add(retention+app.CollectPeriod)); err != nil {
		t.Fatal(err)
	}
	if got := journal(); got[t0] != 0 || got[later] != 2 {
		t.Fatalf("after its expiry: %v, want the entry of t0 gone and the later ones kept", got)
	}
	// The session that ended an hour ago is still there, with its reason.
	if s, err := st.GetSession(ctx, sesame.TokenID(token)); err != nil || s.EndReason != sesame.ReasonLoggedOut {
		t.Fatalf("a session ended an hour before was collected: %+v %v", s, err)
	}
	if _, err := app.CollectOnce(ctx, st, later.Add(app.CollectKeep+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSession(ctx, sesame.TokenID(token)); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a session ended a day before is kept: %v", err)
	}
}
