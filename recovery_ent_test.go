package sesame_test

import (
	"context"
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
