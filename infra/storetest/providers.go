package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// testProviders covers the identity providers of a school, the accounts
// linked by ENTID, and the single-use proofs.
func testProviders(t *testing.T, open Opener) {
	t.Run("CRUD", func(t *testing.T) { testProviderCRUD(t, open(t)) })
	t.Run("ENTID", func(t *testing.T) { testENTID(t, open(t)) })
	t.Run("Assertions", func(t *testing.T) { testAssertions(t, open(t)) })
}

// SampleProvider returns a valid OIDC provider named id.
func SampleProvider(id string) sesame.IdentityProvider {
	return sesame.IdentityProvider{ID: id, Protocol: sesame.ProtocolOIDC, DisplayName: "ENT " + id,
		Issuer: "https://ent.example.fr/oidc", ClientID: "sesame", ClientSecret: "s3cret-" + sesame.Secret(id),
		Claim: "sub", Kinds: []sesame.Kind{sesame.KindTeacher, sesame.KindStudent}, MatchLogin: true, UpdatedAt: t0}
}

func sameProvider(a, b sesame.IdentityProvider) bool {
	return a.ID == b.ID && a.Protocol == b.Protocol && a.DisplayName == b.DisplayName && a.Issuer == b.Issuer &&
		a.ClientID == b.ClientID && a.ClientSecret.Reveal() == b.ClientSecret.Reveal() && a.MetadataURL == b.MetadataURL &&
		a.MetadataXML == b.MetadataXML && a.CASURL == b.CASURL && a.Claim == b.Claim && slices.Equal(a.Kinds, b.Kinds) &&
		a.MatchLogin == b.MatchLogin && a.SingleLogout == b.SingleLogout && a.UpdatedAt.Equal(b.UpdatedAt) && a.Version == b.Version
}

func testProviderCRUD(t *testing.T, st sesame.Store) {
	ctx := context.Background()
	uai := NewUAI()
	MustBase(t, st, uai, year, sesame.DefaultLicense)
	other := NewUAI()
	MustBase(t, st, other, year, sesame.DefaultLicense)

	ent := SampleProvider("ent")
	wantErr(t, "CreateProvider in a missing school", st.CreateProvider(ctx, NewUAI(), ent), sesame.ErrNotFound)
	must(t, "CreateProvider", st.CreateProvider(ctx, uai, ent))
	wantErr(t, "CreateProvider twice", st.CreateProvider(ctx, uai, ent), sesame.ErrExists)
	saml := sesame.IdentityProvider{ID: "educonnect", Protocol: sesame.ProtocolSAML, DisplayName: "ÉduConnect",
		MetadataXML: "<EntityDescriptor/>", Claim: "FrEduCtId", Kinds: []sesame.Kind{sesame.KindParent}, SingleLogout: true, UpdatedAt: t0}
	must(t, "CreateProvider saml", st.CreateProvider(ctx, uai, saml))

	got, err := st.GetProvider(ctx, sesame.ProviderKey{UAI: uai, ID: "ent"})
	must(t, "GetProvider", err)
	ent.Version = 1
	if !sameProvider(got, ent) {
		t.Fatalf("GetProvider = %+v, want %+v", got, ent)
	}
	wantErr(t, "GetProvider of another school", second(st.GetProvider(ctx, sesame.ProviderKey{UAI: other, ID: "ent"})), sesame.ErrNotFound)
	wantErr(t, "GetProvider missing", second(st.GetProvider(ctx, sesame.ProviderKey{UAI: uai, ID: "cas"})), sesame.ErrNotFound)

	ps, err := st.ListProviders(ctx, uai)
	must(t, "ListProviders", err)
	if len(ps) != 2 || ps[0].ID != "educonnect" || ps[1].ID != "ent" || ps[0].MetadataXML != saml.MetadataXML {
		t.Fatalf("ListProviders = %+v", ps)
	}
	if ps, err := st.ListProviders(ctx, other); err != nil || ps == nil || len(ps) != 0 {
		t.Fatalf("ListProviders of a school without any = %v, %v; want an empty list", ps, err)
	}

	next := got
	next.DisplayName, next.ClientSecret, next.Kinds = "ENT du collège", "autre-secret", []sesame.Kind{sesame.KindStaff}
	saved, err := st.UpdateProvider(ctx, uai, next)
	must(t, "UpdateProvider", err)
	if saved.Version != 2 {
		t.Fatalf("UpdateProvider: version %d, want 2", saved.Version)
	}
	if got, _ := st.GetProvider(ctx, sesame.ProviderKey{UAI: uai, ID: "ent"}); !sameProvider(got, saved) {
		t.Fatalf("after UpdateProvider: %+v, want %+v", got, saved)
	}
	wantErr(t, "UpdateProvider stale", second(st.UpdateProvider(ctx, uai, next)), sesame.ErrConflict)
	missing := SampleProvider("absent")
	missing.Version = 1
	wantErr(t, "UpdateProvider missing", second(st.UpdateProvider(ctx, uai, missing)), sesame.ErrNotFound)

	wantErr(t, "DeleteProvider stale", st.DeleteProvider(ctx, sesame.ProviderKey{UAI: uai, ID: "ent"}, 1), sesame.ErrConflict)
	wantErr(t, "DeleteProvider of another school", st.DeleteProvider(ctx, sesame.ProviderKey{UAI: other, ID: "ent"}, 2), sesame.ErrNotFound)
	must(t, "DeleteProvider", st.DeleteProvider(ctx, sesame.ProviderKey{UAI: uai, ID: "ent"}, 2))
	wantErr(t, "GetProvider deleted", second(st.GetProvider(ctx, sesame.ProviderKey{UAI: uai, ID: "ent"})), sesame.ErrNotFound)
	wantErr(t, "DeleteProvider twice", st.DeleteProvider(ctx, sesame.ProviderKey{UAI: uai, ID: "ent"}, 2), sesame.ErrNotFound)
}

func logins(us []sesame.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Key()
	}
	slices.Sort(out)
	return out
}

func testENTID(t *testing.T, st sesame.Store) {
	ctx := context.Background()
	uai := NewUAI()
	k := MustBase(t, st, uai, year, sesame.DefaultLicense)
	nextYear := MustBaseIn(t, st, uai, year.Next())
	teacher := func(login, ent string) sesame.User {
		return sesame.User{Login: login, DisplayName: "Prof " + login, Kind: sesame.KindTeacher, Enabled: true,
			Profile: sesame.TeachersID, ENTID: ent, CreatedAt: t0, UpdatedAt: t0}
	}
	must(t, "CreateUser", st.CreateUser(ctx, k, teacher("Martin", "ent-123")))
	must(t, "CreateUser", st.CreateUser(ctx, k, teacher("durand", "")))
	must(t, "CreateUser next year", st.CreateUser(ctx, nextYear, teacher("martin", "ent-123")))

	u, err := st.GetUser(ctx, k, "martin")
	must(t, "GetUser", err)
	if u.ENTID != "ent-123" {
		t.Fatalf("GetUser: ENTID %q, want ent-123", u.ENTID)
	}
	find := func(id string) []string {
		t.Helper()
		us, err := st.FindUsersByENTID(ctx, k, id)
		must(t, "FindUsersByENTID", err)
		for _, u := range us {
			if u.ENTID != id || u.Version == 0 {
				t.Fatalf("FindUsersByENTID(%q) returned %+v", id, u)
			}
		}
		return logins(us)
	}
	if got := find("ent-123"); !slices.Equal(got, []string{"martin"}) {
		t.Fatalf("FindUsersByENTID = %v, want [martin] (the base's only, not the next year's)", got)
	}
	if got := find("ENT-123"); len(got) != 0 {
		t.Fatalf("FindUsersByENTID is case-sensitive, found %v", got)
	}
	if got := find("ent-12"); len(got) != 0 {
		t.Fatalf("FindUsersByENTID matched a prefix: %v", got)
	}

	// Relinking moves the identity; unlinking removes it.
	d, err := st.GetUser(ctx, k, "durand")
	must(t, "GetUser", err)
	d.ENTID = `ent"456\`
	_, err = st.UpdateUser(ctx, k, d)
	must(t, "UpdateUser", err)
	if got := find(`ent"456\`); !slices.Equal(got, []string{"durand"}) {
		t.Fatalf("after linking durand: %v", got)
	}
	u.ENTID = ""
	_, err = st.UpdateUser(ctx, k, u)
	must(t, "UpdateUser", err)
	if got := find("ent-123"); len(got) != 0 {
		t.Fatalf("after unlinking martin: %v", got)
	}

	// A recovery writes links too; two accounts with one link are both found.
	im := teacher("bernard", `ent"456\`)
	_, err = st.WriteImport(ctx, k, []sesame.ImportWrite{{User: &im, Create: true}},
		sesame.ImportJob{ID: "ent-import", State: sesame.ImportDone, CreatedAt: t0, UpdatedAt: t0})
	must(t, "WriteImport", err)
	if got := find(`ent"456\`); !slices.Equal(got, []string{"bernard", "durand"}) {
		t.Fatalf("after the import: %v, want [bernard durand]", got)
	}
	if us, err := st.FindUsersByENTID(ctx, sesame.BaseKey{UAI: NewUAI(), Year: year}, "x"); err == nil && len(us) > 0 {
		t.Fatalf("FindUsersByENTID in a missing base found %v", us)
	}
}

func testAssertions(t *testing.T, st sesame.Store) {
	ctx := context.Background()
	uai := NewUAI()
	k := sesame.ProviderKey{UAI: uai, ID: "educonnect"}
	exp := t0.Add(5 * time.Minute)
	must(t, "UseAssertion", st.UseAssertion(ctx, k, "_a1", exp, t0))
	wantErr(t, "UseAssertion replayed", st.UseAssertion(ctx, k, "_a1", exp, t0.Add(time.Minute)), sesame.ErrExists)
	wantErr(t, "UseAssertion replayed at its expiry", st.UseAssertion(ctx, k, "_a1", exp.Add(time.Hour), exp), sesame.ErrExists)
	must(t, "UseAssertion of another provider", st.UseAssertion(ctx, sesame.ProviderKey{UAI: uai, ID: "ent"}, "_a1", exp, t0))
	must(t, "UseAssertion of another school", st.UseAssertion(ctx, sesame.ProviderKey{UAI: NewUAI(), ID: "educonnect"}, "_a1", exp, t0))
	// Once expired, the record no longer refuses (the proof itself has
	// expired by then, and the protocol layer refuses it).
	must(t, "UseAssertion after expiry", st.UseAssertion(ctx, k, "_a1", exp.Add(10*time.Minute), exp.Add(time.Nanosecond)))
	wantErr(t, "UseAssertion replayed again", st.UseAssertion(ctx, k, "_a1", exp, exp.Add(time.Minute)), sesame.ErrExists)

	// Racing uses of one proof: exactly one wins.
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := st.UseAssertion(ctx, k, "ST-race", exp, t0)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, sesame.ErrExists):
				losses.Add(1)
			default:
				t.Errorf("UseAssertion: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != 7 {
		t.Fatalf("8 racing uses of one proof: %d won, %d refused; want 1 and 7", wins.Load(), losses.Load())
	}
}

// BenchFindENTID measures FindUsersByENTID in a base of 2,000 accounts,
// half of them linked: one lookup of a linked account per op, the read a
// sign-in through an identity provider makes.
func BenchFindENTID(b *testing.B, st sesame.Store) {
	ctx := context.Background()
	k := MustBase(b, st, NewUAI(), year, sesame.DefaultLicense)
	const n = 2000
	for i := range n {
		u := sesame.User{Login: fmt.Sprintf("eleve%04d", i), DisplayName: fmt.Sprintf("Élève %d", i), Kind: sesame.KindStudent,
			Enabled: true, CreatedAt: t0, UpdatedAt: t0}
		if i%2 == 0 {
			u.ENTID = fmt.Sprintf("ent-%06d", i)
		}
		must(b, "CreateUser", st.CreateUser(ctx, k, u))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("ent-%06d", (i*2)%n)
		us, err := st.FindUsersByENTID(ctx, k, id)
		if err != nil || len(us) != 1 {
			b.Fatalf("FindUsersByENTID(%s) = %v, %v", id, us, err)
		}
	}
}
