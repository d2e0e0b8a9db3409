package sesame_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sesame-ecole/sesame"
)

// TestRecoveryKeepsENTLinks: the link is part of the account, so it comes
// with it into the next year, and an update from a source without it
// never drops it.
func TestRecoveryKeepsENTLinks(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := lastYear(t, st, 2)
		k1, k2 := sesame.BaseKey{UAI: uai, Year: y1}, sesame.BaseKey{UAI: uai, Year: y2}
		u, err := st.GetUser(ctx, k1, "prof001")
		if err != nil {
			t.Fatal(err)
		}
		u.ENTID = "ent-prof-1"
		if _, err := st.UpdateUser(ctx, k1, u); err != nil {
			t.Fatal(err)
		}
		src, err := svc.BaseSource(ctx, k1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Recover(ctx, k2, src, sesame.FromYear(y1), sesame.RecoverOptions{Add: true, Update: true}); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetUser(ctx, k2, "prof001")
		if err != nil || got.ENTID != "ent-prof-1" {
			t.Fatalf("recovered prof001: %+v, %v", got, err)
		}
		// Last year's link removed: updating from it keeps this year's.
		u.ENTID, u.DisplayName, u.Version = "", "Prof renommé", u.Version+1
		if _, err := st.UpdateUser(ctx, k1, u); err != nil {
			t.Fatal(err)
		}
		src, _ = svc.BaseSource(ctx, k1)
		rep, err := svc.Recover(ctx, k2, src, sesame.FromYear(y1), sesame.RecoverOptions{Update: true})
		if err != nil || rep.Updated != 1 {
			t.Fatalf("update: %+v, %v", rep, err)
		}
		got, _ = st.GetUser(ctx, k2, "prof001")
		if got.ENTID != "ent-prof-1" || got.DisplayName != "Prof renommé" {
			t.Fatalf("after an update without the link: %+v", got)
		}
	})
}

// TestRecoveryRefusesATakenENTID: an identifiant ENT links one account.
// A line whose ENT link is already another account's in the base, or an
// earlier line's, is rejected with its French message (entid_taken), in
// the preview and in the run alike; the rest is recovered, and the ENT
// sign-in of the account that had it keeps working.
func TestRecoveryRefusesATakenENTID(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := lastYear(t, st, 4)
		k1, k2 := sesame.BaseKey{UAI: uai, Year: y1}, sesame.BaseKey{UAI: uai, Year: y2}
		link := func(k sesame.BaseKey, login, id string) {
			t.Helper()
			u, err := st.GetUser(ctx, k, login)
			if err != nil {
				t.Fatal(err)
			}
			u.ENTID = id
			if _, err := st.UpdateUser(ctx, k, u); err != nil {
				t.Fatal(err)
			}
		}
		// Last year's base shares two links: the store takes them as
		// they are, as an old file would bring them.
		link(k1, "prof000", "ent-partage")
		link(k1, "prof001", "ent-partage")
		link(k1, "prof002", "ent-pris")
		link(k1, "prof003", "ent-libre")
		// This year's base already links ent-pris to the CPE.
		cpe := sesame.User{Login: "cpe", DisplayName: "CPE", Kind: sesame.KindStaff, Enabled: true, ENTID: "ent-pris"}
		if err := st.CreateUser(ctx, k2, sesame.WithDefaultProfile(cpe)); err != nil {
			t.Fatal(err)
		}
		for _, dry := range []bool{true, false} {
			rep, err := svc.Recover(ctx, k2, mustSource(t, svc), sesame.FromYear(y1), sesame.RecoverOptions{Add: true, Update: true, DryRun: dry})
			if err != nil {
				t.Fatal(err)
			}
			taken := 0
			for _, r := range rep.Rejected {
				if r.Code == sesame.RejectENTIDTaken {
					taken++
				}
			}
			if taken != 2 {
				t.Fatalf("dry run %v: rejected %+v, want prof001 and prof002 for their ENT link", dry, rep.Rejected)
			}
			if r := rejection(t, rep, "prof001"); r.Code != sesame.RejectENTIDTaken || r.Message != "L'identifiant ENT « ent-partage » est déjà celui du compte « prof000 »." {
				t.Errorf("dry run %v: prof001 %+v", dry, r)
			}
			if r := rejection(t, rep, "prof002"); r.Code != sesame.RejectENTIDTaken || r.Message != "L'identifiant ENT « ent-pris » est déjà celui du compte « cpe »." {
				t.Errorf("dry run %v: prof002 %+v", dry, r)
			}
		}
		for login, want := range map[string]string{"prof000": "ent-partage", "prof003": "ent-libre", "cpe": "ent-pris"} {
			if u, err := st.GetUser(ctx, k2, login); err != nil || u.ENTID != want {
				t.Errorf("%s after the run: %+v, %v; want ENT id %s", login, u, err, want)
			}
		}
		for _, login := range []string{"prof001", "prof002"} {
			if _, err := st.GetUser(ctx, k2, login); !errors.Is(err, sesame.ErrNotFound) {
				t.Errorf("%s was recovered: %v", login, err)
			}
		}
		for id, want := range map[string]string{"ent-partage": "prof000", "ent-pris": "cpe"} {
			if us, err := st.FindUsersByENTID(ctx, k2, id); err != nil || len(us) != 1 || us[0].Login != want {
				t.Errorf("accounts of %s: %+v, %v; want %s alone", id, us, err, want)
			}
		}
	})
}
