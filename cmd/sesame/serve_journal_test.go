package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
)

func TestServeJournalRetentionRefusals(t *testing.T) {
	store := tempStore(t)
	for _, v := range []string{"0", "1099", "six-mois", "30j", ""} {
		sesameCmd(t, "", "serve", "--store", store, "--journal-retention", v).refused(t, exitUsage,
			"valeur incorrecte pour --journal-retention : La durée de conservation du journal « "+v+" » est incorrecte : donnez un nombre entier de jours, de 1 à 1098 (183 par défaut, six mois).")
	}
	sesameCmd(t, "", "serve", "--store", store, "--journal-retention").refused(t, exitUsage, "l'option --journal-retention attend une valeur.")
	t.Setenv(app.EnvJournalRetention, "toujours")
	sesameCmd(t, "", "serve", "--store", store).refused(t, exitUsage,
		"SESAME_JOURNAL_RETENTION_DAYS : La durée de conservation du journal « toujours » est incorrecte")
}

// TestServeJournalRetention: `sesame serve --journal-retention 30` keeps
// journal entries 30 days: its collector removes a sign-in's entry once
// it is 30 days old, not before, and keeps the ended sessions a day.
func TestServeJournalRetention(t *testing.T) {
	// The flag wins over the environment.
	t.Setenv(app.EnvJournalRetention, "90")
	store := tempStore(t)
	s := serve(t, "--demo", "--store", store, "--journal-retention", "30")
	if want := "Journal : chaque entrée est conservée 30 jours, puis effacée."; !slices.Contains(strings.Split(s.stdout.String(), "\n"), want) {
		t.Errorf("stdout lacks %q:\n%s", want, s.stdout)
	}
	res, _ := signIn(t, http.DefaultClient, s.url, "prof.martin", "teacher")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve ended with %d:\n%s", code, s.stderr)
	}
	withService(t, store, func(_ *sesame.Service, st sesame.Backend) {
		ctx := context.Background()
		k := sesame.BaseKey{UAI: demoUAI, Year: sesame.SchoolYearOf(time.Now())}
		entry := func() *sesame.JournalEntry {
			page, err := st.ListJournal(ctx, k, sesame.JournalQuery{Events: []sesame.Event{sesame.EventLogin}})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Entries) == 0 {
				return nil
			}
			return &page.Entries[0]
		}
		e := entry()
		if e == nil || e.Subject != "prof.martin" {
			t.Fatalf("no sign-in in the journal: %+v", e)
		}
		at := e.At
		if _, err := app.CollectOnce(ctx, st, at.Add(30*24*time.Hour-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if entry() == nil {
			t.Fatal("the entry went before its 30 days")
		}
		if _, err := app.CollectOnce(ctx, st, at.Add(30*24*time.Hour+app.CollectPeriod)); err != nil {
			t.Fatal(err)
		}
		if e := entry(); e != nil {
			t.Fatalf("the entry is still there once 30 days old: %+v", e)
		}
	})
}
