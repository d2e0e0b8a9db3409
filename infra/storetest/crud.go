package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

func testBases(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	uai := NewUAI()
	k := MustBase(t, st, uai, year, sesame.DefaultLicense)

	t.Run("SchoolAndBase", func(t *testing.T) {
		s, err := st.GetSchool(ctx, uai)
		must(t, "GetSchool", err)
		if s.UAI != uai || s.Name != "Collège "+string(uai) || s.CurrentYear != year {
			t.Fatalf("GetSchool = %+v", s)
		}
		b, err := st.GetBase(ctx, k)
		must(t, "GetBase", err)
		if b.BaseKey != k || b.License != sesame.DefaultLicense || !b.CreatedAt.Equal(t0) {
			t.Fatalf("GetBase = %+v", b)
		}
		ps, err := st.ListProfiles(ctx, k)
		must(t, "ListProfiles", err)
		want := sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "x"}, t0).Profiles
		sesame.SortProfiles(want)
		if len(ps) != len(want) {
			t.Fatalf("ListProfiles: %d profiles, want %d", len(ps), len(want))
		}
		for i := range ps {
			if !sameProfile(ps[i], want[i]) {
				t.Fatalf("profile %d = %+v, want %+v", i, ps[i], want[i])
			}
		}
		spr, err := st.GetUser(ctx, k, "SPR")
		must(t, "GetUser spr", err)
		if !spr.Supervisor || spr.AdminGroup != sesame.AdministrationID || !spr.Enabled {
			t.Fatalf("SPR = %+v", spr)
		}
	})

	cases := []struct {
		name string
		err  error
		want error
	}{
		{"CreateBaseTwice", st.CreateBase(ctx, sesame.School{UAI: uai, Name: "Autre nom", CurrentYear: year},
			sesame.Base{BaseKey: k, License: sesame.DefaultLicense}, sesame.BaseContent{}), sesame.ErrExists},
		{"GetSchoolMissing", second(st.GetSchool(ctx, NewUAI())), sesame.ErrNotFound},
		{"GetBaseMissingYear", second(st.GetBase(ctx, sesame.BaseKey{UAI: uai, Year: "2030-2031"})), sesame.ErrNotFound},
		{"GetBaseMissingSchool", second(st.GetBase(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year})), sesame.ErrNotFound},
		{"SetCurrentYearMissing", st.SetCurrentYear(ctx, sesame.BaseKey{UAI: uai, Year: "2030-2031"}), sesame.ErrNotFound},
		{"SetLicenseMissing", second(st.SetLicense(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, sesame.DefaultLicense, t0)), sesame.ErrNotFound},
		{"MarkLegacyHashesMissing", st.MarkLegacyHashes(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, 10), sesame.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.name, c.err, c.want) })
	}

	t.Run("NextYear", func(t *testing.T) {
		next := MustBaseIn(t, st, uai, year.Next())
		s, err := st.GetSchool(ctx, uai)
		must(t, "GetSchool", err)
		if s.CurrentYear != year || s.Name != "Collège "+string(uai) {
			t.Fatalf("a new base changed the school: %+v", s)
		}
		bs, err := st.ListBases(ctx, uai)
		must(t, "ListBases", err)
		if len(bs) != 2 || bs[0].Year != year || bs[1].Year != next.Year {
			t.Fatalf("ListBases = %+v", bs)
		}
		must(t, "SetCurrentYear", st.SetCurrentYear(ctx, next))
		s, err = st.GetSchool(ctx, uai)
		must(t, "GetSchool", err)
		if s.CurrentYear != next.Year {
			t.Fatalf("current year %s, want %s", s.CurrentYear, next.Year)
		}
		none, err := st.ListBases(ctx, NewUAI())
		must(t, "ListBases unknown", err)
		if len(none) != 0 {
			t.Fatalf("ListBases of an unknown school = %+v", none)
		}
	})

	t.Run("MarkLegacyHashes", func(t *testing.T) {
		before, err := st.GetBase(ctx, k)
		must(t, "GetBase", err)
		if before.LegacyHashes {
			t.Fatal("a new base has legacy hashes")
		}
		must(t, "MarkLegacyHashes", st.MarkLegacyHashes(ctx, k, 11))
		must(t, "MarkLegacyHashes again, cheaper", st.MarkLegacyHashes(ctx, k, 10))
		after, err := st.GetBase(ctx, k)
		must(t, "GetBase", err)
		if !after.LegacyHashes || after.LegacyCost != 11 || after.Version != before.Version || after.License != before.License {
			t.Fatalf("after MarkLegacyHashes: %+v (before %+v)", after, before)
		}
		must(t, "MarkLegacyHashes, costlier", st.MarkLegacyHashes(ctx, k, 12))
		if after, _ = st.GetBase(ctx, k); after.LegacyCost != 12 {
			t.Fatalf("the cost stays %d after a costlier mark", after.LegacyCost)
		}
	})

	t.Run("SetLicense", func(t *testing.T) {
		before, err := st.GetBase(ctx, k)
		must(t, "GetBase", err)
		lic := sesame.License{AdminSeats: 6, TeacherSeats: sesame.Unlimited, Consultation: true}
		b, err := st.SetLicense(ctx, k, lic, t0.Add(time.Hour))
		must(t, "SetLicense", err)
		if b.License != lic || b.Version != before.Version+1 {
			t.Fatalf("SetLicense = %+v (before: version %d)", b, before.Version)
		}
		got, err := st.GetBase(ctx, k)
		must(t, "GetBase", err)
		if got.License != lic || got.Version != b.Version {
			t.Fatalf("GetBase after SetLicense = %+v", got)
		}
	})
}

// MustBaseIn adds the base of year y to an existing school.
func MustBaseIn(t testing.TB, st sesame.Store, uai sesame.UAI, y sesame.Year) sesame.BaseKey {
	t.Helper()
	k := sesame.BaseKey{UAI: uai, Year: y}
	c := sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "Superviseur"}, t0)
	must(t, "CreateBase "+k.String(), st.CreateBase(context.Background(),
		sesame.School{UAI: uai, Name: "Nom ignoré", CurrentYear: y},
		sesame.Base{BaseKey: k, License: sesame.DefaultLicense, CreatedAt: t0, Version: 1}, c))
	return k
}

func second[T any](_ T, err error) error { return err }

func sameProfile(a, b sesame.Profile) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Mode == b.Mode && a.Group == b.Group &&
		slices.Equal(a.Grants, b.Grants) && a.AutoDisconnect == b.AutoDisconnect
}

func sameUser(a, b sesame.User) bool {
	return a.Login == b.Login && a.DisplayName == b.DisplayName && a.Kind == b.Kind &&
		a.Supervisor == b.Supervisor && a.Enabled == b.Enabled && a.PasswordHash == b.PasswordHash &&
		a.AdminGroup == b.AdminGroup && a.Profile == b.Profile
}

const argonHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"

func testUsers(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	u := sesame.User{Login: "Marie.Curie", DisplayName: "Marie Curie", Kind: sesame.KindTeacher, Enabled: true,
		PasswordHash: argonHash, Profile: sesame.TeachersID, CreatedAt: t0, UpdatedAt: t0}
	must(t, "CreateUser", st.CreateUser(ctx, k, u))

	t.Run("GetAnyCase", func(t *testing.T) {
		for _, login := range []string{"Marie.Curie", "marie.curie", "MARIE.CURIE"} {
			got, err := st.GetUser(ctx, k, login)
			must(t, "GetUser "+login, err)
			if !sameUser(got, u) || got.Version != 1 {
				t.Fatalf("GetUser %s = %+v, want %+v with version 1", login, got, u)
			}
		}
	})

	stale := u
	stale.Version = 7
	missing := u
	missing.Login = "personne"
	missing.Version = 1
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"CreateSameLoginOtherCase", st.CreateUser(ctx, k, sesame.User{Login: "MARIE.curie", DisplayName: "Autre", Kind: sesame.KindStaff, Enabled: true}), sesame.ErrExists},
		{"CreateInMissingBase", st.CreateUser(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, u), sesame.ErrNotFound},
		{"GetMissing", second(st.GetUser(ctx, k, "personne")), sesame.ErrNotFound},
		{"UpdateStaleVersion", second(st.UpdateUser(ctx, k, stale)), sesame.ErrConflict},
		{"UpdateMissing", second(st.UpdateUser(ctx, k, missing)), sesame.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.name, c.err, c.want) })
	}

	t.Run("UpdateVersioned", func(t *testing.T) {
		cur, err := st.GetUser(ctx, k, "marie.curie")
		must(t, "GetUser", err)
		edit := cur
		edit.DisplayName = "Marie Skłodowska-Curie"
		edit.Enabled = false
		edit.UpdatedAt = t0.Add(time.Minute)
		got, err := st.UpdateUser(ctx, k, edit)
		must(t, "UpdateUser", err)
		if got.Version != cur.Version+1 || got.DisplayName != edit.DisplayName {
			t.Fatalf("UpdateUser = %+v", got)
		}
		// A second writer holding the old version is refused, and changes nothing.
		late := cur
		late.DisplayName = "Écrasé"
		wantErr(t, "UpdateUser with the old version", second(st.UpdateUser(ctx, k, late)), sesame.ErrConflict)
		now, err := st.GetUser(ctx, k, "MARIE.CURIE")
		must(t, "GetUser", err)
		if !sameUser(now, edit) || now.Version != got.Version {
			t.Fatalf("after a refused update: %+v, want %+v", now, edit)
		}
	})

	t.Run("ListPages", func(t *testing.T) {
		k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
		var want []string
		for i := range 25 {
			kind := sesame.KindStudent
			if i%3 == 0 {
				kind = sesame.KindParent
			}
			login := fmt.Sprintf("Eleve%02d", i)
			must(t, "CreateUser", st.CreateUser(ctx, k, sesame.User{Login: login, DisplayName: login, Kind: kind, Enabled: true}))
			want = append(want, sesame.LoginKey(login))
		}
		want = append(want, "spr")
		slices.Sort(want)
		got := listAll(t, st, k, sesame.UserQuery{Limit: 7})
		if !slices.Equal(got, want) {
			t.Fatalf("paged listing = %v, want %v", got, want)
		}
		parents := listAll(t, st, k, sesame.UserQuery{Kind: sesame.KindParent, Limit: 2})
		if len(parents) != 9 || parents[0] != "eleve00" || parents[8] != "eleve24" {
			t.Fatalf("parents = %v", parents)
		}
		pre := listAll(t, st, k, sesame.UserQuery{Prefix: "eleve1", Limit: 4})
		if len(pre) != 10 || pre[0] != "eleve10" || pre[9] != "eleve19" {
			t.Fatalf("prefix eleve1 = %v", pre)
		}
		one, err := st.ListUsers(ctx, k, sesame.UserQuery{Prefix: "spr"})
		must(t, "ListUsers", err)
		if len(one.Users) != 1 || one.Next != "" || !one.Users[0].Supervisor {
			t.Fatalf("prefix spr = %+v", one)
		}
	})
}

// listAll pages through ListUsers and returns the login keys seen, checking
// that no page is larger than asked and no user comes twice.
func listAll(t *testing.T, st sesame.Store, k sesame.BaseKey, q sesame.UserQuery) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("ListUsers never reaches its last page")
		}
		p, err := st.ListUsers(context.Background(), k, q)
		must(t, "ListUsers", err)
		if len(p.Users) > q.PageSize() {
			t.Fatalf("page of %d users, asked for %d", len(p.Users), q.PageSize())
		}
		for _, u := range p.Users {
			if len(out) > 0 && out[len(out)-1] >= u.Key() {
				t.Fatalf("ListUsers out of order or repeated: %s after %s", u.Key(), out[len(out)-1])
			}
			out = append(out, u.Key())
		}
		if p.Next == "" {
			return out
		}
		q.After = p.Next
	}
}

func testProfiles(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	p := sesame.Profile{ID: "vie-sco-cpe", Name: "CPE", Mode: sesame.ModeVieScolaire,
		Grants:         []string{"absences.voir-tableau-bord", "punitions.saisir-sanctions"},
		AutoDisconnect: sesame.AutoDisconnect{Enabled: true, After: 20 * time.Minute}, UpdatedAt: t0}
	must(t, "CreateProfile", st.CreateProfile(ctx, k, p))
	empty := sesame.Profile{ID: "vide", Name: "Sans droits", Mode: sesame.ModeAdmin, Group: sesame.GroupModif, UpdatedAt: t0}
	must(t, "CreateProfile without grants", st.CreateProfile(ctx, k, empty))

	t.Run("Get", func(t *testing.T) {
		got, err := st.GetProfile(ctx, k, p.ID)
		must(t, "GetProfile", err)
		if !sameProfile(got, p) || got.Version != 1 {
			t.Fatalf("GetProfile = %+v, want %+v", got, p)
		}
		got, err = st.GetProfile(ctx, k, "vide")
		must(t, "GetProfile", err)
		if len(got.Grants) != 0 || got.Group != sesame.GroupModif || got.AutoDisconnect.Enabled {
			t.Fatalf("GetProfile vide = %+v", got)
		}
	})

	stale := p
	stale.Version = 9
	missing := p
	missing.ID = "absent"
	missing.Version = 1
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"CreateTwice", st.CreateProfile(ctx, k, p), sesame.ErrExists},
		{"CreateBuiltInTwice", st.CreateProfile(ctx, k, sesame.Profile{ID: sesame.ModificationID, Name: "X", Mode: sesame.ModeAdmin, Group: sesame.GroupModif}), sesame.ErrExists},
		{"CreateInMissingBase", st.CreateProfile(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, p), sesame.ErrNotFound},
		{"GetMissing", second(st.GetProfile(ctx, k, "absent")), sesame.ErrNotFound},
		{"UpdateStale", second(st.UpdateProfile(ctx, k, stale)), sesame.ErrConflict},
		{"UpdateMissing", second(st.UpdateProfile(ctx, k, missing)), sesame.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.name, c.err, c.want) })
	}

	t.Run("Delete", func(t *testing.T) { testDeleteProfile(t, st) })

	t.Run("UpdateAndList", func(t *testing.T) {
		cur, err := st.GetProfile(ctx, k, p.ID)
		must(t, "GetProfile", err)
		cur.Grants = nil
		cur.AutoDisconnect = sesame.AutoDisconnect{}
		got, err := st.UpdateProfile(ctx, k, cur)
		must(t, "UpdateProfile", err)
		if got.Version != cur.Version+1 || len(got.Grants) != 0 || got.AutoDisconnect.Enabled {
			t.Fatalf("UpdateProfile = %+v", got)
		}
		ps, err := st.ListProfiles(ctx, k)
		must(t, "ListProfiles", err)
		sorted := slices.Clone(ps)
		sesame.SortProfiles(sorted)
		if len(ps) != 11 || !slices.EqualFunc(ps, sorted, sameProfile) {
			t.Fatalf("ListProfiles: %d profiles, sorted: %v", len(ps), slices.EqualFunc(ps, sorted, sameProfile))
		}
	})
}

// testDeleteProfile runs in a base of its own: testProfiles counts the
// profiles of its base.
func testDeleteProfile(t *testing.T, st sesame.Store) {
	ctx := context.Background()
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	p := sesame.Profile{ID: "a-supprimer", Name: "Ancien profil", Mode: sesame.ModeTeacher, Grants: []string{"notes.saisir-notes"}, UpdatedAt: t0}
	must(t, "CreateProfile", st.CreateProfile(ctx, k, p))
	cur, err := st.GetProfile(ctx, k, p.ID)
	must(t, "GetProfile", err)
	cur.Name = "Renommé"
	cur, err = st.UpdateProfile(ctx, k, cur)
	must(t, "UpdateProfile", err)
	if cur.Version != 2 {
		t.Fatalf("version %d after one update", cur.Version)
	}
	before, err := st.ListProfiles(ctx, k)
	must(t, "ListProfiles", err)

	wantErr(t, "DeleteProfile with a stale version", st.DeleteProfile(ctx, k, p.ID, 1), sesame.ErrConflict)
	wantErr(t, "DeleteProfile with a future version", st.DeleteProfile(ctx, k, p.ID, 3), sesame.ErrConflict)
	got, err := st.GetProfile(ctx, k, p.ID)
	must(t, "GetProfile after refused deletions", err)
	if got.Version != 2 || got.Name != "Renommé" {
		t.Fatalf("a refused deletion changed the profile: %+v", got)
	}
	wantErr(t, "DeleteProfile of a missing profile", st.DeleteProfile(ctx, k, "absent", 1), sesame.ErrNotFound)
	wantErr(t, "DeleteProfile in a missing base", st.DeleteProfile(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, p.ID, 2), sesame.ErrNotFound)

	must(t, "DeleteProfile", st.DeleteProfile(ctx, k, p.ID, 2))
	wantErr(t, "GetProfile after DeleteProfile", second(st.GetProfile(ctx, k, p.ID)), sesame.ErrNotFound)
	wantErr(t, "DeleteProfile twice", st.DeleteProfile(ctx, k, p.ID, 2), sesame.ErrNotFound)
	wantErr(t, "UpdateProfile after DeleteProfile", second(st.UpdateProfile(ctx, k, cur)), sesame.ErrNotFound)
	after, err := st.ListProfiles(ctx, k)
	must(t, "ListProfiles", err)
	if len(after) != len(before)-1 || slices.ContainsFunc(after, func(x sesame.Profile) bool { return x.ID == p.ID }) {
		t.Fatalf("ListProfiles after DeleteProfile: %d profiles (were %d)", len(after), len(before))
	}
	// The ID is free again: a new profile starts at version 1.
	must(t, "CreateProfile again", st.CreateProfile(ctx, k, p))
	again, err := st.GetProfile(ctx, k, p.ID)
	must(t, "GetProfile", err)
	if again.Version != 1 || again.Name != p.Name {
		t.Fatalf("recreated profile = %+v", again)
	}
}

func testImports(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	j := sesame.ImportJob{ID: "sha256-4f2a", Source: "rentree.zip", State: sesame.ImportPlanned,
		Plan: []byte(`{"add":["a","b"]}`), CreatedAt: t0, UpdatedAt: t0}
	must(t, "CreateImport", st.CreateImport(ctx, k, j))

	stale := j
	stale.Version = 5
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"CreateTwice", st.CreateImport(ctx, k, j), sesame.ErrExists},
		{"CreateInMissingBase", st.CreateImport(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, j), sesame.ErrNotFound},
		{"GetMissing", second(st.GetImport(ctx, k, "sha256-0000")), sesame.ErrNotFound},
		{"UpdateStale", second(st.UpdateImport(ctx, k, stale)), sesame.ErrConflict},
		{"UpdateMissing", second(st.UpdateImport(ctx, k, sesame.ImportJob{ID: "autre", Version: 1})), sesame.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.name, c.err, c.want) })
	}

	t.Run("Progress", func(t *testing.T) {
		got, err := st.GetImport(ctx, k, j.ID)
		must(t, "GetImport", err)
		if got.Version != 1 || got.State != sesame.ImportPlanned || !bytes.Equal(got.Plan, j.Plan) || got.Source != j.Source {
			t.Fatalf("GetImport = %+v", got)
		}
		got.State, got.Step = sesame.ImportApplying, 40
		got, err = st.UpdateImport(ctx, k, got)
		must(t, "UpdateImport", err)
		got.State, got.Step, got.Report = sesame.ImportDone, 80, []byte(`{"added":80}`)
		done, err := st.UpdateImport(ctx, k, got)
		must(t, "UpdateImport", err)
		again, err := st.GetImport(ctx, k, j.ID)
		must(t, "GetImport", err)
		if done.Version != 3 || again.Version != 3 || again.State != sesame.ImportDone || again.Step != 80 || string(again.Report) != `{"added":80}` {
			t.Fatalf("after two updates: %+v", again)
		}
	})
}
