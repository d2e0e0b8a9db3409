package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/sesame-ecole/sesame"
)

// testUserSearch covers ListUsers' Member and Search filters, alone, with
// the kind and the prefix, and across pages.
func testUserSearch(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	people := []sesame.User{
		{Login: "hdupre", DisplayName: "Hélène Dupré", Kind: sesame.KindStaff, AdminGroup: sesame.ModificationID, Profile: sesame.StaffID},
		{Login: "jdupont", DisplayName: "Jean Dupont", Kind: sesame.KindTeacher, Profile: sesame.TeachersID},
		{Login: "Dupuis.Anne", DisplayName: "Anne Dupuis", Kind: sesame.KindTeacher, Profile: sesame.TeachersID},
		{Login: "mlefevre", DisplayName: "Marc  LEFÈVRE", Kind: sesame.KindStaff, AdminGroup: sesame.ConsultationID},
		{Login: "eleve.dupre", DisplayName: "Lucas Dupré", Kind: sesame.KindStudent},
		{Login: "HELENE.MARTIN", DisplayName: "Hélène Martin", Kind: sesame.KindParent},
		{Login: "zoe", DisplayName: "Zoé Œuvrard", Kind: sesame.KindStudent},
		{Login: "perrine", DisplayName: "Perrine Dupont-Laurent", Kind: sesame.KindParent},
	}
	for _, u := range people {
		u.Enabled, u.CreatedAt, u.UpdatedAt = true, t0, t0
		must(t, "CreateUser "+u.Login, st.CreateUser(ctx, k, u))
	}

	cases := []struct {
		name string
		q    sesame.UserQuery
		want []string
	}{
		{"AccentsAndCase", sesame.UserQuery{Search: "helene DUPRE"}, []string{"hdupre"}},
		{"PartOfAWord", sesame.UserQuery{Search: "dupr"}, []string{"eleve.dupre", "hdupre"}},
		{"AccentedQuery", sesame.UserQuery{Search: "Hélène"}, []string{"hdupre", "helene.martin"}},
		{"EveryWordMustMatch", sesame.UserQuery{Search: "  hélène   MARTIN "}, []string{"helene.martin"}},
		{"WordsInAnyOrder", sesame.UserQuery{Search: "martin helene"}, []string{"helene.martin"}},
		{"Ligature", sesame.UserQuery{Search: "oeuvrard"}, []string{"zoe"}},
		{"LigatureInQuery", sesame.UserQuery{Search: "Œuvr"}, []string{"zoe"}},
		{"Login", sesame.UserQuery{Search: "JDUP"}, []string{"jdupont"}},
		{"LoginAndName", sesame.UserQuery{Search: "jdupont jean"}, []string{"jdupont"}},
		{"Hyphen", sesame.UserQuery{Search: "dupont-laurent"}, []string{"perrine"}},
		{"Dupont", sesame.UserQuery{Search: "dupont"}, []string{"jdupont", "perrine"}},
		{"NoMatch", sesame.UserQuery{Search: "dupont zoé"}, nil},
		{"OnlySpaces", sesame.UserQuery{Search: "   "}, []string{"dupuis.anne", "eleve.dupre", "hdupre", "helene.martin", "jdupont", "mlefevre", "perrine", "spr", "zoe"}},
		{"MemberAdminGroup", sesame.UserQuery{Member: sesame.ModificationID}, []string{"hdupre"}},
		{"MemberProfile", sesame.UserQuery{Member: sesame.TeachersID}, []string{"dupuis.anne", "jdupont"}},
		{"MemberStaffProfile", sesame.UserQuery{Member: sesame.StaffID}, []string{"hdupre", "spr"}}, // the SPR's staff profile
		{"MemberSPR", sesame.UserQuery{Member: sesame.AdministrationID}, []string{"spr"}},
		{"MemberNobody", sesame.UserQuery{Member: "inconnu"}, nil},
		{"KindAndSearch", sesame.UserQuery{Kind: sesame.KindTeacher, Search: "dup"}, []string{"dupuis.anne", "jdupont"}},
		{"KindAndSearchNone", sesame.UserQuery{Kind: sesame.KindParent, Search: "dupr"}, nil},
		{"PrefixAndSearch", sesame.UserQuery{Prefix: "ELEVE", Search: "dupré"}, []string{"eleve.dupre"}},
		{"MemberAndSearch", sesame.UserQuery{Member: sesame.TeachersID, Search: "anne"}, []string{"dupuis.anne"}},
		{"AllFilters", sesame.UserQuery{Prefix: "h", Kind: sesame.KindStaff, Member: sesame.StaffID, Search: "hélène"}, []string{"hdupre"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, limit := range []int{0, 1} {
				q := c.q
				q.Limit = limit
				got := searchAll(t, st, k, q)
				if !slices.Equal(got, c.want) {
					t.Fatalf("ListUsers %+v = %v, want %v", q, got, c.want)
				}
			}
		})
	}

	t.Run("Pages", func(t *testing.T) {
		// 40 students named Dupré among 80 others, interleaved in login
		// order; a search with the kind pages through exactly them.
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		var want []string
		for i := range 120 {
			u := sesame.User{Login: fmt.Sprintf("u%03d", i), DisplayName: fmt.Sprintf("Camille Martin %d", i), Kind: sesame.KindStudent, Enabled: true}
			switch {
			case i%3 == 0:
				u.DisplayName = fmt.Sprintf("Camille Dupré %d", i)
				want = append(want, u.Key())
			case i%3 == 1:
				u.DisplayName = fmt.Sprintf("Camille Dupré %d", i)
				u.Kind = sesame.KindParent
			}
			must(t, "CreateUser", st.CreateUser(ctx, k, u))
		}
		for _, limit := range []int{1, 3, 7, 40, 41} {
			got := searchAll(t, st, k, sesame.UserQuery{Kind: sesame.KindStudent, Search: "DUPRE camille", Limit: limit})
			if !slices.Equal(got, want) {
				t.Fatalf("pages of %d: %v, want %v", limit, got, want)
			}
		}
		// The last 1% of a base, found by reading all of it.
		got := searchAll(t, st, k, sesame.UserQuery{Search: "martin 119", Limit: 5})
		if !slices.Equal(got, []string{"u119"}) {
			t.Fatalf("search martin 119 = %v", got)
		}
		// A cursor in the middle.
		p, err := st.ListUsers(ctx, k, sesame.UserQuery{Search: "dupre", Kind: sesame.KindStudent, After: "u050", Limit: 2})
		must(t, "ListUsers", err)
		if len(p.Users) != 2 || p.Users[0].Key() != "u051" || p.Users[1].Key() != "u054" || p.Next != "u054" {
			t.Fatalf("page after u050: %d users, next %q", len(p.Users), p.Next)
		}
	})

	t.Run("AfterUpdate", func(t *testing.T) {
		u, err := st.GetUser(ctx, k, "zoe")
		must(t, "GetUser", err)
		u.DisplayName = "Zoé Bénard"
		_, err = st.UpdateUser(ctx, k, u)
		must(t, "UpdateUser", err)
		if got := searchAll(t, st, k, sesame.UserQuery{Search: "oeuvrard"}); len(got) != 0 {
			t.Fatalf("the old name still finds %v", got)
		}
		if got := searchAll(t, st, k, sesame.UserQuery{Search: "benard"}); !slices.Equal(got, []string{"zoe"}) {
			t.Fatalf("the new name finds %v", got)
		}
	})
}

// searchAll pages through ListUsers like listAll, and also checks that
// every page but the last is full and that Next names its last user.
func searchAll(t *testing.T, st sesame.Store, k sesame.BaseKey, q sesame.UserQuery) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("ListUsers never reaches its last page")
		}
		p, err := st.ListUsers(context.Background(), k, q)
		must(t, "ListUsers", err)
		if p.Users == nil {
			t.Fatal("ListUsers returned nil Users")
		}
		if len(p.Users) > q.PageSize() {
			t.Fatalf("page of %d users, asked for %d", len(p.Users), q.PageSize())
		}
		for _, u := range p.Users {
			if !u.Matches(q) {
				t.Fatalf("ListUsers %+v returned %s (%q), which does not match", q, u.Login, u.DisplayName)
			}
			if len(out) > 0 && out[len(out)-1] >= u.Key() {
				t.Fatalf("ListUsers out of order or repeated: %s after %s", u.Key(), out[len(out)-1])
			}
			out = append(out, u.Key())
		}
		if p.Next == "" {
			return out
		}
		if len(p.Users) != q.PageSize() || p.Next != p.Users[len(p.Users)-1].Key() {
			t.Fatalf("a page of %d users (asked for %d) has next %q", len(p.Users), q.PageSize(), p.Next)
		}
		q.After = p.Next
	}
}
