package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/ssotest"
)

// ssoWorld is a world whose school 0751234A signs in through a real
// LemonLDAP::NG, declared once per protocol: "ent-oidc" (OpenID Connect,
// the subject), "educonnect" (SAML 2.0, uid) and "ent" (CAS, the user).
// The account prof is linked to idp.User; idp.OtherUser is linked to no
// one.
type ssoWorld struct {
	*world
	idp *idp.Server
}

func newSSOWorld(t *testing.T, st sesame.Backend, lic sesame.License) *ssoWorld {
	t.Helper()
	w := newWorld(t, st, "0751234A", lic)
	srv := idp.New(t, ssotest.IdPConfig(w.srv.URL))
	w.user("prof", "teacher", "", "")
	spr := w.spr()
	for _, p := range ssotest.Providers(srv) {
		wantStatus(t, "create provider "+p["id"].(string), spr.do("POST", "/providers", p, nil), http.StatusCreated, "")
	}
	wantStatus(t, "link prof", spr.do("PATCH", "/users/prof", map[string]any{"entId": idp.User}, nil), http.StatusOK, "")
	wantStatus(t, "logout spr", spr.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
	return &ssoWorld{world: w, idp: srv}
}

// ssoStart leaves b for provider of school, as the sign-in page does.
func (w *ssoWorld) ssoStart(b *browser, school, provider, mode string) *http.Response {
	w.t.Helper()
	res, _ := ssotest.Get(w.t, b.http, w.srv.URL, ssotest.Start{School: school, Provider: provider, Mode: mode}.Path())
	return res
}

// ssoSignIn signs in at the provider as user and comes back to Sésame with
// b's cookies. On plain HTTP the flow cookie is Lax: the SAML POST comes
// back through the re-post page.
func (w *ssoWorld) ssoSignIn(b *browser, school, provider, mode, user, password string) *ssotest.Trip {
	w.t.Helper()
	tr := ssotest.SignIn(w.t, b.http, w.srv.URL, ssotest.Start{School: school, Provider: provider, Mode: mode}, user, password)
	if tr.Flow.SameSite != http.SameSiteLaxMode || tr.Reposted != (provider == ssotest.SAML) {
		w.t.Fatalf("start %s: flow cookie %+v (plain HTTP: Lax), reposted %v", provider, tr.Flow, tr.Reposted)
	}
	return tr
}

// TestSSOSignIn: a school configured with each protocol signs a linked
// user in through LemonLDAP::NG into the same kind of session as a
// password sign-in; the refusals come back to the sign-in page with their
// code.
func TestSSOSignIn(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 1})
		for _, provider := range []string{"ent-oidc", "educonnect", "ent"} {
			b := w.browser()
			tr := w.ssoSignIn(b, w.uai, provider, "teacher", idp.User, idp.UserPassword)
			if tr.Answer.StatusCode != http.StatusSeeOther || tr.Location.Path != "/accueil" {
				t.Fatalf("%s: %d to %v, want 303 to /accueil", provider, tr.Answer.StatusCode, tr.Location)
			}
			s := b.do("GET", "/session", nil, nil)
			wantStatus(t, provider+": session", s, http.StatusOK, "")
			if s.body["user"].(map[string]any)["login"] != "prof" || s.body["mode"] != "teacher" || s.body["seat"] == nil {
				t.Fatalf("%s: session %v", provider, s.body)
			}
			if got := w.used(sesame.PoolTeacher); got != 1 {
				t.Fatalf("%s: %d teacher seats held, want 1", provider, got)
			}

			// The teacher pool (1 seat) is full: another teacher signing
			// in through the provider is refused as by password.
			if provider == "ent" {
				w.user("prof2", "teacher", "", "")
				spr := w.spr()
				wantStatus(t, "link prof2", spr.do("PATCH", "/users/prof2", map[string]any{"entId": idp.OtherUser}, nil), http.StatusOK, "")
				tr2 := w.ssoSignIn(w.browser(), w.uai, provider, "teacher", idp.OtherUser, idp.OtherPassword)
				ssotest.WantRefusal(t, "a full pool", tr2.Location, "seats_exhausted")
				wantStatus(t, "unlink prof2", spr.do("PATCH", "/users/prof2", map[string]any{"entId": ""}, nil), http.StatusOK, "")
			}
			wantStatus(t, provider+": logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
		}

		// An identity linked to no account.
		tr := w.ssoSignIn(w.browser(), w.uai, "ent", "teacher", idp.OtherUser, idp.OtherPassword)
		ssotest.WantRefusal(t, "unlinked", tr.Location, "identity_unknown")
		if tr.Location.Query().Get("ecole") != w.uai {
			t.Fatalf("unlinked: %v does not name the school", tr.Location)
		}
	})
}

// TestSSOAccountRefusals: through each protocol, an account whose kind
// the provider does not serve is refused with provider_forbidden, and a
// disabled account with account_disabled; neither opens a session.
func TestSSOAccountRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 2})
		spr := w.spr()
		w.user("parent1", "parent", "", "")
		w.user("prof3", "teacher", "", "")
		wantStatus(t, "disable prof3", spr.do("PATCH", "/users/prof3", map[string]any{"enabled": false}, nil), http.StatusOK, "")
		for _, c := range []struct{ login, mode, code string }{
			{"parent1", "parent", "provider_forbidden"},
			{"prof3", "teacher", "account_disabled"},
		} {
			wantStatus(t, "link "+c.login, spr.do("PATCH", "/users/"+c.login, map[string]any{"entId": idp.OtherUser}, nil), http.StatusOK, "")
			for _, provider := range []string{"ent-oidc", "educonnect", "ent"} {
				b := w.browser()
				tr := w.ssoSignIn(b, w.uai, provider, c.mode, idp.OtherUser, idp.OtherPassword)
				ssotest.WantRefusal(t, provider+": "+c.login, tr.Location, c.code)
				wantStatus(t, provider+": no session for "+c.login, b.do("GET", "/session", nil, nil), http.StatusUnauthorized, "unauthenticated")
			}
			wantStatus(t, "unlink "+c.login, spr.do("PATCH", "/users/"+c.login, map[string]any{"entId": ""}, nil), http.StatusOK, "")
		}
	})
}

// TestSSOReplay: a SAML response or a CAS ticket presented twice opens no
// second session.
func TestSSOReplay(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 30})
		for provider, code := range map[string]string{"educonnect": sesame.CodeAssertionReplayed, "ent": "response_refused"} {
			b := w.browser()
			tr := w.ssoSignIn(b, w.uai, provider, "teacher", idp.User, idp.UserPassword)
			if tr.Location == nil || tr.Location.Path != "/accueil" {
				t.Fatalf("%s: first use sent to %v", provider, tr.Location)
			}
			// The attacker holds the same flow cookie and the same answer.
			thief := w.browser()
			u, _ := url.Parse(w.srv.URL + httpapi.Prefix + "/login/sso")
			thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: tr.Flow.Name, Value: tr.Flow.Value, Path: tr.Flow.Path}})
			_, loc := ssotest.Callback(t, thief.http, tr.Arrival)
			ssotest.WantRefusal(t, provider+" replayed", loc, code)
			wantStatus(t, provider+": no session for the thief", thief.do("GET", "/session", nil, nil), http.StatusUnauthorized, "unauthenticated")
		}
	})
}

// TestSSOIsolation: a provider of school A never opens a session in school
// B, nor does a sign-in begun for A; a flow cookie changed by hand is
// refused.
func TestSSOIsolation(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 30})
		const uaiB = "0759999B"
		if _, err := w.svc.CreateSchool(context.Background(), sesame.NewSchool{UAI: uaiB, Name: "Lycée B", Year: w.year, SPRPassword: pw}); err != nil {
			t.Fatal(err)
		}
		// School B has no provider "ent": starting there is refused.
		ssotest.WantRefusal(t, "school B without a provider", ssotest.Location(t, w.ssoStart(w.browser(), uaiB, "ent", "teacher")), "not_found")

		// A sign-in begun for A opens a session in A.
		b := w.browser()
		tr := w.ssoSignIn(b, w.uai, "ent", "teacher", idp.User, idp.UserPassword)
		if tr.Location.Path != "/accueil" {
			t.Fatalf("sent to %v", tr.Location)
		}
		if got := b.do("GET", "/session", nil, nil).body["school"].(map[string]any)["uai"]; got != w.uai {
			t.Fatalf("session in school %v, want %s", got, w.uai)
		}
		// A flow cookie changed by hand (another school) is refused.
		forged := w.browser()
		tr2start := w.ssoStart(forged, w.uai, "ent", "teacher")
		u, _ := url.Parse(w.srv.URL + httpapi.Prefix + "/login/sso")
		if c := ssotest.FlowCookie(tr2start.Cookies()); c != nil {
			forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: "x" + c.Value, Path: c.Path}})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		arr, err := idp.NewBrowser(w.srv.URL, 10*time.Second).SignIn(ctx, tr2start.Header.Get("Location"), idp.User, idp.UserPassword)
		if err != nil {
			t.Fatal(err)
		}
		_, loc := ssotest.Callback(t, forged.http, arr)
		ssotest.WantRefusal(t, "a forged flow", loc, "response_refused")
	})
}

// TestSSOProviderStopped: a provider that stops between the sign-in at
// the provider and the callback is provider_unavailable, and the school's
// password sign-in still works.
func TestSSOProviderStopped(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 30})
		b := w.browser()
		start := w.ssoStart(b, w.uai, "ent-oidc", "teacher")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		arr, err := idp.NewBrowser(w.srv.URL, 10*time.Second).SignIn(ctx, start.Header.Get("Location"), idp.User, idp.UserPassword)
		if err != nil {
			t.Fatal(err)
		}
		w.idp.Stop()
		_, loc := ssotest.Callback(t, b.http, arr)
		ssotest.WantRefusal(t, "provider stopped", loc, sesame.CodeProviderUnavailable)
		ssotest.WantRefusal(t, "start while stopped", ssotest.Location(t, w.ssoStart(w.browser(), w.uai, "ent-oidc", "teacher")), sesame.CodeProviderUnavailable)
		w.browser().mustLogin("prof", "teacher", "")
	})
}

// TestSSOSingleLogout: logging out always ends Sésame's session; where the
// provider's SingleLogout is on, GET /login/sso/logout then sends the
// browser to the provider's logout, which comes back to the sign-in page.
func TestSSOSingleLogout(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 30})
		spr := w.spr()
		w.singleLogout(spr)
		for provider, want := range map[string]string{"ent": w.idp.CASURL() + "/logout?", "ent-oidc": w.idp.URL + "/", "educonnect": w.idp.URL + "/"} {
			b := w.browser()
			tr := w.ssoSignIn(b, w.uai, provider, "teacher", idp.User, idp.UserPassword)
			marked := false
			for _, c := range tr.Answer.Cookies() {
				marked = marked || (c.Name == httpapi.EntCookie && c.Value == "1" && !c.HttpOnly)
			}
			if !marked {
				t.Fatalf("%s: the page's marker cookie set: %v", provider, marked)
			}
			wantStatus(t, provider+": logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
			out := b.raw("GET", httpapi.SSOLogoutPath, "", "")
			if out.status != http.StatusSeeOther || !strings.HasPrefix(out.header.Get("Location"), want) {
				t.Fatalf("%s: logout sent to %d %q, want %s…", provider, out.status, out.header.Get("Location"), want)
			}
			wantStatus(t, provider+": session over", b.do("GET", "/session", nil, nil), http.StatusUnauthorized, "unauthenticated")
			// The hint is used once.
			if again := b.raw("GET", httpapi.SSOLogoutPath, "", ""); again.header.Get("Location") != "/?raison=logged_out" {
				t.Fatalf("%s: second logout sent to %q", provider, again.header.Get("Location"))
			}
		}
	})
}

// singleLogout turns SingleLogout on for every provider.
func (w *ssoWorld) singleLogout(spr *browser) {
	w.t.Helper()
	for _, p := range ssotest.Providers(w.idp) {
		p["singleLogout"], p["version"] = true, 1
		wantStatus(w.t, "single logout on "+p["id"].(string), spr.do("PUT", "/providers/"+p["id"].(string), p, nil), http.StatusOK, "")
	}
}

// samlLogout signs prof in through the SAML provider with b, logs out
// of Sésame, and follows GET /login/sso/logout to the IdP's single logout,
// which ends its session there: it returns the LogoutResponse's way back
// to Sésame, not yet followed, and the trip.
func (w *ssoWorld) samlLogout(b *browser) (*idp.Arrival, *ssotest.Trip) {
	w.t.Helper()
	tr := w.ssoSignIn(b, w.uai, ssotest.SAML, "teacher", idp.User, idp.UserPassword)
	wantStatus(w.t, "logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
	out, _ := ssotest.Get(w.t, b.http, w.srv.URL, httpapi.Prefix+httpapi.SSOLogoutPath)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	back, err := tr.IdP.SignIn(ctx, ssotest.Location(w.t, out).String(), "", "")
	if err != nil {
		w.t.Fatalf("the IdP's single logout: %v", err)
	}
	if back.URL.Path != httpapi.Prefix+httpapi.SSOLogoutPath || back.URL.Query().Get("SAMLResponse") == "" {
		w.t.Fatalf("the IdP's logout came back to %s", back.URL.Redacted())
	}
	return back, tr
}

// TestSSOSAMLLogoutResponse: the SAML IdP's LogoutResponse comes back to
// GET /login/sso/logout, where it is checked against the LogoutRequest
// sent (signature, issuer, destination, InResponseTo): the genuine one
// ends at the sign-in page, logged out; a tampered one, or one presented
// twice, is refused with provider_logout_refused, and Sésame's session,
// ended before the browser left, stays ended.
func TestSSOSAMLLogoutResponse(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 30})
		w.singleLogout(w.spr())

		b := w.browser()
		back, _ := w.samlLogout(b)
		_, loc := ssotest.Callback(t, b.http, ssotest.TamperLogoutResponse(t, back))
		ssotest.WantRefusal(t, "a tampered logout response", loc, "provider_logout_refused")
		wantStatus(t, "session after a tampered logout response", b.do("GET", "/session", nil, nil), http.StatusUnauthorized, "unauthenticated")
		_, loc = ssotest.Callback(t, b.http, back)
		ssotest.WantRefusal(t, "a logout response with no logout pending", loc, "provider_logout_refused")

		b = w.browser()
		back, tr := w.samlLogout(b)
		if _, loc := ssotest.Callback(t, b.http, back); loc == nil || loc.RequestURI() != "/?raison=logged_out" {
			t.Fatalf("the genuine logout response sent to %v", loc)
		}
		if ssotest.ProviderSession(t, b.http, w.srv.URL, w.uai, ssotest.SAML, tr.IdP) {
			t.Fatal("the IdP's session outlived its single logout")
		}
	})
}
