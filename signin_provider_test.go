package sesame_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
)

const entSecret = "tres-secret-client"

// ssoSchool makes school code with a teacher (prof) and two students, an
// OIDC provider "ent" for teachers and students, and returns the SPR's
// token.
func ssoSchool(t *testing.T, st sesame.Backend, svc *sesame.Service, code string) string {
	t.Helper()
	ctx := context.Background()
	school(t, st, svc, code, 2)
	if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: code, Year: y2, Login: "prof", Kind: "teacher", DisplayName: "Prof", Password: pass}); err != nil {
		t.Fatal(err)
	}
	spr, err := svc.Login(ctx, sesame.LoginRequest{School: code, Login: "spr", Password: pass, Mode: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProvider(ctx, spr.Token, entProvider()); err != nil {
		t.Fatal(err)
	}
	return spr.Token
}

func entProvider() sesame.IdentityProvider {
	return sesame.IdentityProvider{ID: "ent", Protocol: sesame.ProtocolOIDC, DisplayName: "Mon ENT",
		Issuer: "https://ent.example.fr/oidc", ClientID: "sesame", ClientSecret: entSecret, Claim: "uid",
		Kinds: []sesame.Kind{sesame.KindStudent, sesame.KindTeacher}}
}

func link(t *testing.T, svc *sesame.Service, token, login, ent string) {
	t.Helper()
	if _, err := svc.UpdateUser(context.Background(), token, login, sesame.UserEdit{ENTID: &ent}); err != nil {
		t.Fatalf("link %s: %v", login, err)
	}
}

func viaENT(code, mode, uid string) sesame.IdentityLogin {
	return sesame.IdentityLogin{School: code, Provider: "ent", Mode: mode,
		Identity: sesame.Identity{Subject: "opaque-" + uid, Attributes: map[string][]string{"uid": {uid}}}, Address: "192.0.2.7"}
}

func TestProviderSettings(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := newService(st)
		spr := ssoSchool(t, st, svc, "0751234A")

		t.Run("Validation", func(t *testing.T) {
			cases := []struct {
				name, field string
				edit        func(p *sesame.IdentityProvider)
			}{
				{"BadID", "id", func(p *sesame.IdentityProvider) { p.ID = "Mon ENT" }},
				{"UnknownProtocol", "protocol", func(p *sesame.IdentityProvider) { p.Protocol = "kerberos" }},
				{"NoName", "displayName", func(p *sesame.IdentityProvider) { p.DisplayName = " " }},
				{"PlainHTTP", "issuer", func(p *sesame.IdentityProvider) { p.Issuer = "http://ent.example.fr" }},
				{"NoSecret", "clientSecret", func(p *sesame.IdentityProvider) { p.ClientSecret = "" }},
				{"OtherProtocolsSetting", "casUrl", func(p *sesame.IdentityProvider) { p.CASURL = "https://cas.example.fr/cas" }},
				{"NoClaim", "claim", func(p *sesame.IdentityProvider) { p.Claim = "" }},
				{"NoKinds", "kinds", func(p *sesame.IdentityProvider) { p.Kinds = nil }},
				{"UnknownKind", "kinds", func(p *sesame.IdentityProvider) { p.Kinds = []sesame.Kind{"robot"} }},
				{"SAMLWithBoth", "metadataUrl", func(p *sesame.IdentityProvider) {
					*p = sesame.IdentityProvider{ID: "edu", Protocol: sesame.ProtocolSAML, DisplayName: "ÉduConnect", Claim: "sub",
						Kinds: []sesame.Kind{sesame.KindParent}, MetadataURL: "https://educonnect.example.fr/idp", MetadataXML: "<x/>"}
				}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					p := entProvider()
					p.ID = "autre"
					c.edit(&p)
					_, err := svc.CreateProvider(ctx, spr, p)
					var e *sesame.Error
					if !errors.As(err, &e) || e.Code != sesame.CodeInvalid || e.Field != c.field {
						t.Fatalf("got %v, want invalid_value on %s", err, c.field)
					}
				})
			}
			local := entProvider()
			local.ID, local.Issuer = "local", "http://127.0.0.1:8081/oidc"
			if _, err := svc.CreateProvider(ctx, spr, local); err != nil {
				t.Fatalf("a provider on this machine over http: %v", err)
			}
		})

		t.Run("SecretIsWriteOnly", func(t *testing.T) {
			views, err := svc.Providers(ctx, spr)
			if err != nil {
				t.Fatal(err)
			}
			v, err := svc.Provider(ctx, spr, "ent")
			if err != nil || !v.HasSecret {
				t.Fatalf("Provider = %+v, %v", v, err)
			}
			full, err := svc.ProviderForSignIn(ctx, "0751234A", "ent")
			if err != nil || full.ClientSecret.Reveal() != entSecret {
				t.Fatalf("ProviderForSignIn does not give the protocol layer its secret: %v", err)
			}
			var logged bytes.Buffer
			slog.New(slog.NewJSONHandler(&logged, nil)).Info("provider", "p", full, "secret", full.ClientSecret)
			j, _ := json.Marshal(views)
			jf, _ := json.Marshal(full)
			for what, s := range map[string]string{"views": string(j), "json of the provider": string(jf), "log": logged.String(),
				"%v": fmt.Sprintf("%v", full), "%+v": fmt.Sprintf("%+v", full), "%#v": fmt.Sprintf("%#v", full)} {
				if strings.Contains(s, entSecret) {
					t.Errorf("the secret shows in the %s: %s", what, s)
				}
			}
		})

		t.Run("UpdateKeepsTheSecret", func(t *testing.T) {
			p := entProvider()
			p.ClientSecret, p.DisplayName, p.Version = "", "ENT du collège", 1
			v, err := svc.UpdateProvider(ctx, spr, p)
			if err != nil || v.Version != 2 || v.DisplayName != "ENT du collège" {
				t.Fatalf("UpdateProvider = %+v, %v", v, err)
			}
			if full, _ := svc.ProviderForSignIn(ctx, "0751234A", "ent"); full.ClientSecret.Reveal() != entSecret {
				t.Fatal("an update without a secret lost the stored one")
			}
			if _, err := svc.UpdateProvider(ctx, spr, p); !errors.Is(err, sesame.ErrConflict) {
				t.Fatalf("a stale update: %v", err)
			}
		})

		t.Run("SPROnly", func(t *testing.T) {
			if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: "0751234A", Year: y2, Login: "adjoint", Kind: "staff", DisplayName: "Adjoint",
				AdminGroup: "Modification", Password: pass}); err != nil {
				t.Fatal(err)
			}
			adm, err := svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: "adjoint", Password: pass, Mode: "admin"})
			if err != nil {
				t.Fatal(err)
			}
			var fe *sesame.ForbiddenError
			if _, err := svc.Providers(ctx, adm.Token); !errors.As(err, &fe) || fe.Decision.Action != sesame.ActionSPRSecurity {
				t.Fatalf("an admin user lists the providers: %v", err)
			}
			if err := svc.DeleteProvider(ctx, adm.Token, "ent", 2); !errors.As(err, &fe) {
				t.Fatalf("an admin user deletes a provider: %v", err)
			}
		})

		t.Run("Journalled", func(t *testing.T) {
			page, err := svc.Journal(ctx, spr, sesame.JournalQuery{Events: []sesame.Event{sesame.EventProviderEdited}})
			if err != nil || len(page.Entries) < 3 {
				t.Fatalf("journal of provider changes: %+v, %v", page.Entries, err)
			}
			for _, e := range page.Entries {
				if strings.Contains(e.Detail, entSecret) || e.Actor != "spr" {
					t.Fatalf("journal entry %+v", e)
				}
			}
		})

		t.Run("SignInChoices", func(t *testing.T) {
			cs, err := svc.SignInProviders(ctx, "0751234A")
			if err != nil || len(cs) != 2 || cs[0].ID != "ent" || cs[0].DisplayName != "ENT du collège" {
				t.Fatalf("SignInProviders = %+v, %v", cs, err)
			}
			if cs, err := svc.SignInProviders(ctx, "0350001B"); err != nil || len(cs) != 0 {
				t.Fatalf("SignInProviders of an unknown school = %+v, %v", cs, err)
			}
		})
	})
}

func TestLoginWithIdentity(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := newService(st)
		spr := ssoSchool(t, st, svc, "0751234A")
		sprB := ssoSchool(t, st, svc, "0350001B")
		link(t, svc, spr, "eleve0", "E-0001")
		link(t, svc, spr, "prof", "P-0001")
		link(t, svc, sprB, "eleve1", "E-0001") // the same ENT identifier, in another school

		t.Run("Linked", func(t *testing.T) {
			res, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "student", "E-0001"))
			if err != nil {
				t.Fatal(err)
			}
			if res.View.User.Login != "eleve0" || res.View.School.UAI != "0751234A" || res.Token == "" || res.Device == "" {
				t.Fatalf("signed in as %+v", res.View)
			}
			page, err := svc.Journal(ctx, spr, sesame.JournalQuery{Events: []sesame.Event{sesame.EventLogin}, Login: "eleve0"})
			if err != nil || len(page.Entries) != 1 || !strings.Contains(page.Entries[0].Detail, "via « Mon ENT »") {
				t.Fatalf("journal: %+v, %v", page.Entries, err)
			}
		})
		t.Run("NothingAcrossSchools", func(t *testing.T) {
			res, err := svc.LoginWithIdentity(ctx, viaENT("0350001B", "student", "E-0001"))
			if err != nil || res.View.User.Login != "eleve1" || res.View.School.UAI != "0350001B" {
				t.Fatalf("school B: %+v, %v", res.View, err)
			}
			r := viaENT("0751234A", "student", "E-0001")
			r.Provider = "autre"
			if _, err := svc.LoginWithIdentity(ctx, r); !errors.Is(err, sesame.ErrNotFound) {
				t.Fatalf("a provider the school does not have: %v", err)
			}
		})
		t.Run("Unlinked", func(t *testing.T) {
			for _, r := range []sesame.IdentityLogin{viaENT("0751234A", "student", "E-9999"), viaENT("0751234A", "student", "eleve1")} {
				if _, err := svc.LoginWithIdentity(ctx, r); sesame.ErrorCode(err) != sesame.CodeIdentityUnknown {
					t.Fatalf("an unlinked identity: %v", err)
				}
			}
			noClaim := viaENT("0751234A", "student", "E-0001")
			noClaim.Identity.Attributes = nil
			if _, err := svc.LoginWithIdentity(ctx, noClaim); sesame.ErrorCode(err) != sesame.CodeIdentityUnknown {
				t.Fatalf("an identity without the claim: %v", err)
			}
			page, err := svc.Journal(ctx, spr, sesame.JournalQuery{Events: []sesame.Event{sesame.EventLoginRefused}})
			if err != nil {
				t.Fatal(err)
			}
			var summary *sesame.JournalEntry
			for i, e := range page.Entries {
				if e.Reason == sesame.CodeIdentityUnknown {
					if summary != nil {
						t.Fatalf("unlinked identities are journalled one by one: %+v", page.Entries)
					}
					summary = &page.Entries[i]
				}
			}
			if summary == nil || summary.Count != 3 || !strings.Contains(summary.Detail, "identité ENT non reliée") {
				t.Fatalf("the hour's summary: %+v", summary)
			}
		})
		t.Run("MatchLogin", func(t *testing.T) {
			p := entProvider()
			p.MatchLogin, p.Version = true, 1
			if _, err := svc.UpdateProvider(ctx, spr, p); err != nil {
				t.Fatal(err)
			}
			res, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "student", "ELEVE1"))
			if err != nil || res.View.User.Login != "eleve1" {
				t.Fatalf("matching on the login: %+v, %v", res.View.User, err)
			}
			// An ENTID wins over a login.
			link(t, svc, spr, "eleve0", "eleve1")
			res, err = svc.LoginWithIdentity(ctx, viaENT("0751234A", "student", "eleve1"))
			if err != nil || res.View.User.Login != "eleve0" {
				t.Fatalf("an ENTID equal to another's login: %+v, %v", res.View.User, err)
			}
			link(t, svc, spr, "eleve0", "E-0001")
		})
		t.Run("KindNotServed", func(t *testing.T) {
			p := entProvider()
			p.Kinds, p.Version = []sesame.Kind{sesame.KindStudent}, 2
			if _, err := svc.UpdateProvider(ctx, spr, p); err != nil {
				t.Fatal(err)
			}
			_, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "teacher", "P-0001"))
			if sesame.ErrorCode(err) != sesame.CodeProviderForbidden || !strings.Contains(sesame.ErrorMessage(err), "professeur") {
				t.Fatalf("a teacher through a students' provider: %v", err)
			}
			p.Kinds, p.Version = []sesame.Kind{sesame.KindStudent, sesame.KindTeacher}, 3
			if _, err := svc.UpdateProvider(ctx, spr, p); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("SameAdmission", func(t *testing.T) {
			one := sesame.Limit(1)
			if _, err := svc.SetLicense(ctx, "0751234A", y2, sesame.LicenseChange{TeacherSeats: &one}); err != nil {
				t.Fatal(err)
			}
			first, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "teacher", "P-0001"))
			if err != nil || first.View.Seat == nil {
				t.Fatalf("a teacher through the ENT: %+v, %v", first.View, err)
			}
			// The same teacher again: the seat moves, the first session is replaced.
			second, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "teacher", "P-0001"))
			if err != nil {
				t.Fatal(err)
			}
			var ue *sesame.UnauthenticatedError
			if _, err := svc.Session(ctx, first.Token); !errors.As(err, &ue) || ue.Reason != sesame.ReasonReplaced {
				t.Fatalf("the first session: %v", err)
			}
			if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: "0751234A", Year: y2, Login: "prof2", Kind: "teacher", DisplayName: "Prof 2", Password: pass}); err != nil {
				t.Fatal(err)
			}
			link(t, svc, spr, "prof2", "P-0002")
			var se *sesame.SeatsExhaustedError
			if _, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "teacher", "P-0002")); !errors.As(err, &se) || se.Pool != sesame.PoolTeacher {
				t.Fatalf("a second teacher in a pool of one: %v", err)
			}
			if _, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "admin", "P-0001")); !errors.Is(err, sesame.ErrModeForbidden) {
				t.Fatalf("a teacher in admin mode: %v", err)
			}
			if err := svc.Logout(ctx, second.Token); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("Disabled", func(t *testing.T) {
			off := false
			if _, err := svc.UpdateUser(ctx, spr, "eleve0", sesame.UserEdit{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.LoginWithIdentity(ctx, viaENT("0751234A", "student", "E-0001")); !errors.Is(err, sesame.ErrAccountDisabled) {
				t.Fatalf("a disabled account: %v", err)
			}
		})
		t.Run("Replay", func(t *testing.T) {
			r := viaENT("0350001B", "student", "E-0001")
			r.Identity.AssertionID = "ST-1-abcdef"
			if _, err := svc.LoginWithIdentity(ctx, r); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.LoginWithIdentity(ctx, r); sesame.ErrorCode(err) != sesame.CodeAssertionReplayed {
				t.Fatalf("a replayed ticket: %v", err)
			}
		})
		t.Run("ProviderDown", func(t *testing.T) {
			down := &sesame.ProviderUnavailableError{Provider: "Mon ENT", Err: errors.New("dial tcp: connection refused")}
			svc.RefuseIdentity(ctx, "0751234A", fmt.Errorf("oidc exchange: %w", down))
			p := sesame.Describe(fmt.Errorf("oidc exchange: %w", down))
			if p.Code != sesame.CodeProviderUnavailable || strings.Contains(p.Message, "dial") || p.RetryAfter <= 0 {
				t.Fatalf("provider down: %+v", p)
			}
			page, err := svc.Journal(ctx, spr, sesame.JournalQuery{Events: []sesame.Event{sesame.EventLoginRefused}})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range page.Entries {
				found = found || (e.Reason == sesame.CodeProviderUnavailable && e.Count == 1)
			}
			if !found {
				t.Fatalf("the provider's failure is not in the journal: %+v", page.Entries)
			}
		})
	})
}

func TestENTLinks(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := newService(st)
		spr := ssoSchool(t, st, svc, "0751234A")
		link(t, svc, spr, "eleve0", "E-0001")
		dup := "E-0001"
		if _, err := svc.UpdateUser(ctx, spr, "eleve1", sesame.UserEdit{ENTID: &dup}); !errors.Is(err, sesame.ErrExists) {
			t.Fatalf("a second account with the same ENTID: %v", err)
		}
		bad := " espace"
		if _, err := svc.UpdateUser(ctx, spr, "eleve1", sesame.UserEdit{ENTID: &bad}); err != nil {
			t.Fatalf("spaces around an ENTID are trimmed: %v", err)
		}
		rep, err := svc.LinkENT(ctx, spr, []sesame.ENTLink{
			{Line: 2, Login: "eleve0", ENTID: "E-0001"}, // unchanged
			{Line: 3, Login: "eleve1", ENTID: "E-0002"},
			{Line: 4, Login: "prof", ENTID: "E-0002"}, // twice in the file
			{Line: 5, Login: "inconnu", ENTID: "E-0003"},
			{Line: 6, Login: "prof", ENTID: "E-0001"}, // another account's
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Linked != 1 || rep.Unchanged != 1 || len(rep.Rejected) != 3 {
			t.Fatalf("LinkENT = %+v", rep)
		}
		for i, want := range []struct {
			line int
			code string
		}{{4, sesame.CodeExists}, {5, sesame.CodeNotFound}, {6, sesame.CodeExists}} {
			if r := rep.Rejected[i]; r.Line != want.line || r.Code != want.code || r.Message == "" {
				t.Fatalf("rejected %d = %+v, want line %d %s", i, r, want.line, want.code)
			}
		}
		u, err := svc.GetUser(ctx, spr, "eleve1")
		if err != nil || u.ENTID != "E-0002" {
			t.Fatalf("eleve1 = %+v, %v", u, err)
		}
	})
}
