package sesame_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Hélène  DUPRÉ":      "helene dupre",
		" Cœur   d'Élise ":   "coeur d'elise",
		"ÇA":                 "ca",
		"He\u0301le\u0300ne": "helene",
		"":                   "",
	} {
		if got := sesame.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUserMatches(t *testing.T) {
	u := sesame.User{Login: "HDupre", DisplayName: "Hélène Dupré", Kind: sesame.KindTeacher, Profile: sesame.TeachersID}
	for _, c := range []struct {
		q    sesame.UserQuery
		want bool
	}{
		{sesame.UserQuery{}, true},
		{sesame.UserQuery{Search: "helene"}, true},
		{sesame.UserQuery{Search: "DUPR hél"}, true},
		{sesame.UserQuery{Search: "hdup"}, true},
		{sesame.UserQuery{Search: "helene martin"}, false},
		{sesame.UserQuery{Prefix: "hd"}, true},
		{sesame.UserQuery{Prefix: "he"}, false},
		{sesame.UserQuery{Kind: sesame.KindStaff}, false},
		{sesame.UserQuery{Member: sesame.TeachersID, Kind: sesame.KindTeacher}, true},
		{sesame.UserQuery{Member: sesame.ModificationID}, false},
	} {
		if got := u.Matches(c.q); got != c.want {
			t.Errorf("%+v: %v, want %v", c.q, got, c.want)
		}
	}
}

func TestJournalQuery(t *testing.T) {
	e := sesame.JournalEntry{Event: sesame.EventLogin, Actor: "Spr", Subject: "prof"}
	if !e.Matches(sesame.JournalQuery{Login: "SPR"}) || !e.Matches(sesame.JournalQuery{Login: "prof", Events: []sesame.Event{sesame.EventLogout, sesame.EventLogin}}) {
		t.Fatal("an entry does not match its own actor, subject or event")
	}
	if e.Matches(sesame.JournalQuery{Login: "autre"}) || e.Matches(sesame.JournalQuery{Events: []sesame.Event{sesame.EventLogout}}) {
		t.Fatal("an entry matches another login or event")
	}
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	lo, hi := sesame.JournalQuery{From: t0, To: t0.Add(time.Hour)}.Range()
	inside := sesame.JournalID(t0.Add(time.Minute)) + "-x"
	if !(lo <= inside && inside < hi) || sesame.JournalID(t0.Add(time.Hour)) < hi {
		t.Fatalf("range %s..%s, inside %s", lo, hi, inside)
	}
	if sesame.JournalID(t0) >= sesame.JournalID(t0.Add(time.Nanosecond)) {
		t.Fatal("journal IDs do not sort as their times")
	}
	if _, err := sesame.ParseEvent("vol"); sesame.ErrorCode(err) != sesame.CodeInvalid {
		t.Fatalf("ParseEvent(vol): %v", err)
	}
	for _, ev := range sesame.Events {
		if got, err := sesame.ParseEvent(string(ev)); err != nil || got != ev || ev.Label() == string(ev) {
			t.Errorf("event %s: %v %v label %q", ev, got, err, ev.Label())
		}
	}
}

func TestCSVEscapesFormulas(t *testing.T) {
	var buf bytes.Buffer
	rows := [][]string{{"=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "normal", "a;b", "dit \"oui\""}}
	err := sesame.WriteCSV(&buf, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, func(yield func([]string) bool) {
		for _, r := range rows {
			yield(r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "\uFEFF") || !strings.Contains(buf.String(), "\r\n") {
		t.Fatalf("no BOM or CRLF: %q", buf.String())
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF")))
	r.Comma = ';'
	got, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=1+1", "'+33 1 23", "'-2", "'@SUM(A1)", "'\tx", "normal", "a;b", "dit \"oui\""}
	if len(got) != 2 || !slices.Equal(got[1], want) {
		t.Fatalf("CSV rows %q, want %q", got, want)
	}
}
