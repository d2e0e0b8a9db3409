package httpapi_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/idp"
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
	o := w.srv.URL + httpapi.Prefix
	srv := idp.New(t, idp.Config{SPURL: w.srv.URL, OIDCRedirectURI: o + httpapi.SSOCallbackPath,
		SAMLEntityID: o + httpapi.SSOEntityPath, SAMLACS: o + httpapi.SSOACSPath,
		PostLogoutURI: w.srv.URL + "/?raison=logged_out"})
	w.user("prof", "teacher", "", "")
	spr := w.spr()
	for _, p := range ssoProviders(srv) {
		wantStatus(t, "create provider "+p["id"].(string), spr.do("POST", "/providers", p, nil), http.StatusCreated, "")
	}
	wantStatus(t, "link prof", spr.do("PATCH", "/users/prof", map[string]any{"entId": idp.User}, nil), http.StatusOK, "")
	wantStatus(t, "logout spr", spr.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
	return &ssoWorld{world: w, idp: srv}
}

func ssoProviders(srv *idp.Server) []map[string]any {
	kinds := []string{"teacher", "student"}
	return []map[string]any{
		{"id": "ent-oidc", "protocol": "oidc", "displayName": "ENT (OpenID Connect)", "issuer": srv.Issuer(),
			"clientId": idp.ClientID, "clientSecret": idp.ClientSecret, "claim": "sub", "kinds": kinds},
		{"id": "educonnect", "protocol": "saml", "displayName": "ÉduConnect", "metadataUrl": srv.SAMLMetadataURL(),
			"claim": "uid", "kinds": kinds},
		{"id": "ent", "protocol": "cas", "displayName": "ENT (CAS)", "casUrl": srv.CASURL(), "claim": "sub", "kinds": kinds},
	}
}

// ssoTrip is one sign-in through a provider, up to the callback's answer.
type ssoTrip struct {
	start    rawAnswer
	arrival  *idp.Arrival
	flow     *http.Cookie // the sealed flow as the start set it
	answer   *http.Response
	location *url.URL // where the callback sends the browser
}

// ssoStart leaves b for provider of school, as the sign-in page does.
func (w *ssoWorld) ssoStart(b *browser, school, provider, mode string) rawAnswer {
	w.t.Helper()
	q := url.Values{"school": {school}, "provider": {provider}, "mode": {mode}}
	return b.raw("GET", httpapi.SSOStartPath+"?"+q.Encode(), "", "")
}

// ssoSignIn signs in at the provider as user and comes back to Sésame with
// b's cookies.
func (w *ssoWorld) ssoSignIn(b *browser, school, provider, mode, user, password string) *ssoTrip {
	w.t.Helper()
	tr := &ssoTrip{start: w.ssoStart(b, school, provider, mode)}
	if tr.start.status != http.StatusFound {
		w.t.Fatalf("start %s: %d %s", provider, tr.start.status, tr.start.text)
	}
	for _, c := range tr.start.cookies() {
		if c.Name == httpapi.FlowCookie {
			tr.flow = c
		}
	}
	if tr.flow == nil || !tr.flow.HttpOnly || tr.flow.SameSite != http.SameSiteLaxMode {
		w.t.Fatalf("start %s: flow cookie %+v (plain HTTP: HttpOnly, Lax)", provider, tr.flow)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arr, err := idp.NewBrowser(w.srv.URL, 10*time.Second).SignIn(ctx, tr.start.header.Get("Location"), user, password)
	if err != nil {
		w.t.Fatal(err)
	}
	tr.arrival = arr
	if arr.Method == http.MethodPost {
		arr = w.repost(arr)
	}
	tr.answer, tr.location = w.ssoCallback(b, arr)
	return tr
}

// repost plays the SAML POST as a browser on plain HTTP sends it: cross
// site, so without the Lax flow cookie. Sésame answers a page that posts
// the same form to itself from the site, which carries the cookie: repost
// returns that second POST.
func (w *ssoWorld) repost(arr *idp.Arrival) *idp.Arrival {
	w.t.Helper()
	res, err := http.PostForm(arr.URL.String(), arr.Form)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "form-action 'self'") {
		w.t.Fatalf("cross-site SAML POST: %d %v", res.StatusCode, res.Header)
	}
	m := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindSubmatch(page)
	if m == nil || string(m[1]) != httpapi.Prefix+httpapi.SSOACSPath {
		w.t.Fatalf("re-post page without its form: %s", page)
	}
	form := url.Values{}
	for _, f := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllSubmatch(page, -1) {
		form.Add(string(f[1]), html.UnescapeString(string(f[2])))
	}
	if form.Get("SAMLResponse") != arr.Form.Get("SAMLResponse") || form.Get("RelayState") != arr.Form.Get("RelayState") {
		w.t.Fatalf("the re-post page changed the form: %v", form)
	}
	return &idp.Arrival{Method: http.MethodPost, URL: arr.URL, Form: form}
}

// ssoCallback sends the provider's callback (arr) with b's cookies.
func (w *ssoWorld) ssoCallback(b *browser, arr *idp.Arrival) (*http.Response, *url.URL) {
	w.t.Helper()
	req, err := arr.Request(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := b.http.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := res.Location()
	return res, loc
}

// wantRefusal fails unless tr came back to the sign-in page with code.
func wantRefusal(t *testing.T, what string, loc *url.URL, code string) {
	t.Helper()
	if loc == nil || loc.Path != "/" || loc.Query().Get("raison") != code {
		t.Fatalf("%s: sent to %v, want the sign-in page with raison=%s", what, loc, code)
	}
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
			if tr.answer.StatusCode != http.StatusSeeOther || tr.location.Path != "/accueil" {
				t.Fatalf("%s: %d to %v, want 303 to /accueil", provider, tr.answer.StatusCode, tr.location)
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
				wantRefusal(t, "a full pool", tr2.location, "seats_exhausted")
				wantStatus(t, "unlink prof2", spr.do("PATCH", "/users/prof2", map[string]any{"entId": ""}, nil), http.StatusOK, "")
			}
			wantStatus(t, provider+": logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
		}

		// An identity linked to no account.
		tr := w.ssoSignIn(w.browser(), w.uai, "ent", "teacher", idp.OtherUser, idp.OtherPassword)
		wantRefusal(t, "unlinked", tr.location, "identity_unknown")
		if tr.location.Query().Get("ecole") != w.uai {
			t.Fatalf("unlinked: %v does not name the school", tr.location)
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
			if tr.location == nil || tr.location.Path != "/accueil" {
				t.Fatalf("%s: first use sent to %v", provider, tr.location)
			}
			// The attacker holds the same flow cookie and the same answer.
			thief := w.browser()
			u, _ := url.Parse(w.srv.URL + httpapi.Prefix + "/login/sso")
			thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: tr.flow.Name, Value: tr.flow.Value, Path: tr.flow.Path}})
			_, loc := w.ssoCallback(thief, tr.arrival)
			wantRefusal(t, provider+" replayed", loc, code)
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
		wantRefusal(t, "school B without a provider", mustLocation(t, w.ssoStart(w.browser(), uaiB, "ent", "teacher")), "not_found")

		// A sign-in begun for A opens a session in A.
		b := w.browser()
		tr := w.ssoSignIn(b, w.uai, "ent", "teacher", idp.User, idp.UserPassword)
		if tr.location.Path != "/accueil" {
			t.Fatalf("sent to %v", tr.location)
		}
		if got := b.do("GET", "/session", nil, nil).body["school"].(map[string]any)["uai"]; got != w.uai {
			t.Fatalf("session in school %v, want %s", got, w.uai)
		}
		// A flow cookie changed by hand (another school) is refused.
		forged := w.browser()
		tr2start := w.ssoStart(forged, w.uai, "ent", "teacher")
		u, _ := url.Parse(w.srv.URL + httpapi.Prefix + "/login/sso")
		for _, c := range tr2start.cookies() {
			if c.Name == httpapi.FlowCookie {
				forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: "x" + c.Value, Path: c.Path}})
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		arr, err := idp.NewBrowser(w.srv.URL, 10*time.Second).SignIn(ctx, tr2start.header.Get("Location"), idp.User, idp.UserPassword)
		if err != nil {
			t.Fatal(err)
		}
		_, loc := w.ssoCallback(forged, arr)
		wantRefusal(t, "a forged flow", loc, "response_refused")
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
		arr, err := idp.NewBrowser(w.srv.URL, 10*time.Second).SignIn(ctx, start.header.Get("Location"), idp.User, idp.UserPassword)
		if err != nil {
			t.Fatal(err)
		}
		w.idp.Stop()
		_, loc := w.ssoCallback(b, arr)
		wantRefusal(t, "provider stopped", loc, sesame.CodeProviderUnavailable)
		wantRefusal(t, "start while stopped", mustLocation(t, w.ssoStart(w.browser(), w.uai, "ent-oidc", "teacher")), sesame.CodeProviderUnavailable)
		w.browser().mustLogin("prof", "teacher", "")
	})
}

func mustLocation(t *testing.T, a rawAnswer) *url.URL {
	t.Helper()
	u, err := url.Parse(a.header.Get("Location"))
	if err != nil || a.status/100 != 3 {
		t.Fatalf("%d %q: not a redirect", a.status, a.header.Get("Location"))
	}
	return u
}

// cookies are the cookies a set.
func (a rawAnswer) cookies() []*http.Cookie { return (&http.Response{Header: a.header}).Cookies() }

// TestSSOSingleLogout: logging out always ends Sésame's session; where the
// provider's SingleLogout is on, GET /login/sso/logout then sends the
// browser to the provider's logout, which comes back to the sign-in page.
func TestSSOSingleLogout(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newSSOWorld(t, st, sesame.License{AdminSeats: 2, TeacherSeats: 30})
		spr := w.spr()
		for _, p := range ssoProviders(w.idp) {
			if p["id"] == "educonnect" {
				continue // SAML single logout needs a NameID; LemonLDAP's test SP asks for none
			}
			p["singleLogout"], p["version"] = true, 1
			wantStatus(t, "single logout on "+p["id"].(string), spr.do("PUT", "/providers/"+p["id"].(string), p, nil), http.StatusOK, "")
		}
		for provider, want := range map[string]string{"ent": w.idp.CASURL() + "/logout?", "ent-oidc": w.idp.URL + "/", "educonnect": "/?raison=logged_out"} {
			b := w.browser()
			tr := w.ssoSignIn(b, w.uai, provider, "teacher", idp.User, idp.UserPassword)
			marked := false
			for _, c := range tr.answer.Cookies() {
				marked = marked || (c.Name == httpapi.EntCookie && c.Value == "1" && !c.HttpOnly)
			}
			if marked != (provider != "educonnect") {
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
