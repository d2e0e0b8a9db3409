package hostedlocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/hostedlocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/ssotest"
)

// cloudFrontTLS stands for CloudFront's end of TLS: a viewer asks for
// https://<the gateway's address>/…, and the request reaches the gateway
// over plain HTTP. The viewer's cookie jar sees HTTPS, so it keeps and
// sends the Secure cookies the functions set, as a browser does.
type cloudFrontTLS struct {
	host string
	next http.RoundTripper
}

func (c cloudFrontTLS) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "https" && r.URL.Host == c.host {
		r = r.Clone(r.Context())
		r.URL.Scheme = "http"
	}
	return c.next.RoundTrip(r)
}

// hostedViewer is one browser of the hosted site: its own cookies, no
// redirect followed (the sign-in's redirects are answers to look at).
type hostedViewer struct {
	t    *testing.T
	site string // https://127.0.0.1:PORT, as the functions see the site
	c    *http.Client
}

func newHostedViewer(t *testing.T, site string) *hostedViewer {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(site)
	return &hostedViewer{t: t, site: site, c: &http.Client{Jar: jar, Timeout: time.Minute,
		Transport:     cloudFrontTLS{host: u.Host, next: &http.Transport{DisableKeepAlives: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// api calls the API with a JSON body, as the pages do, and decodes the
// answer.
func (v *hostedViewer) api(method, path string, body any) (int, map[string]any) {
	v.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, v.site+httpapi.Prefix+path, r)
	if method != http.MethodGet {
		req.Header.Set("Origin", v.site)
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := v.c.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func (v *hostedViewer) want(what string, status int, method, path string, body any) map[string]any {
	v.t.Helper()
	got, out := v.api(method, path, body)
	if got != status {
		v.t.Fatalf("%s: %s %s answered %d %v, want %d", what, method, path, got, out, status)
	}
	return out
}

// TestSSOHosted signs users in through a real LemonLDAP::NG on the hosted
// stack, for each protocol: the SPR declares the school's providers
// through the API (admin function), the start route (login function under
// RIE) sends the viewer to the provider's form, the provider's callback
// (OIDC and CAS: a GET; SAML: the cross-site POST of its form, which the
// SameSite=None flow cookie follows over HTTPS) comes back through the
// gateway as a payload 2.0 event, and the session it opens holds a teacher
// seat. Two login instances take the calls in turn, so the start and
// the callback run in different processes: the flow key is the one both
// read from the table's SecretStore. A full teacher pool is seats_exhausted, an unlinked identity
// identity_unknown, and the logout ends the session in Sésame first, then
// the provider's through GET /login/sso/logout; SAML's LogoutResponse
// comes back there, checked (a tampered one is provider_logout_refused).
// Skipped with -short.
func TestSSOHosted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole hosted stack and LemonLDAP::NG; skipped with -short")
	}
	st := startStack(t, hostedlocal.Options{DynamoDB: dynamolocal.Endpoint(t), Table: dynamolocal.TableName(t),
		Warm: true, Instances: map[string]int{"LoginFunction": 2, "SeatsFunction": 1, "AuthorizeFunction": 1},
		// As `make run-hosted -function-timeout`: under qemu, on a loaded
		// machine, a cold start and the SPR's argon2id outlast the
		// template's 10 s; this journey is about the flows, not the timeout.
		Env: []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60"}})
	t.Cleanup(func() {
		if t.Failed() {
			for id, l := range st.Logs() {
				if id == "LoginFunction" || id == "AdminFunction" {
					t.Logf("%s:\n%s", id, l)
				}
			}
		}
	})
	site := "https://" + strings.TrimSuffix(strings.TrimPrefix(st.URL, "http://"), "/")
	srv := idp.New(t, ssotest.IdPConfig(site))

	store, err := core.OpenDynamo(t.Context(), st.DynamoDBClient(), st.Table, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(store, sesame.DefaultTiming)
	ctx := context.Background()
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège Jean Moulin", Year: year, SPRPassword: pass,
		AdminSeats: 2, TeacherSeats: 1}); err != nil {
		t.Fatal(err)
	}
	for _, login := range []string{"prof", "prof2"} {
		if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: year, Login: login, Kind: "teacher", DisplayName: "Compte " + login,
			Password: "mot-de-passe-" + login}); err != nil {
			t.Fatal(err)
		}
	}

	// The SPR declares the providers, single logout on, and links prof.
	spr := newHostedViewer(t, site)
	spr.want("spr login", http.StatusOK, "POST", "/login", map[string]any{"school": uai, "login": "spr", "password": pass, "mode": "admin", "access": "modify"})
	for _, p := range ssotest.Providers(srv) {
		p["singleLogout"] = true
		spr.want("create provider "+p["id"].(string), http.StatusCreated, "POST", "/providers", p)
	}
	spr.want("link prof", http.StatusOK, "PATCH", "/users/prof", map[string]any{"entId": idp.User})
	spr.want("spr logout", http.StatusNoContent, "POST", "/logout", nil)

	for _, provider := range []string{ssotest.OIDC, ssotest.SAML, ssotest.CAS} {
		t.Run(provider, func(t *testing.T) {
			b := newHostedViewer(t, site)
			t0 := time.Now()
			tr := ssotest.SignIn(t, b.c, site, ssotest.Start{School: uai, Provider: provider, Mode: "teacher"}, idp.User, idp.UserPassword)
			took := time.Since(t0)
			if !tr.Flow.Secure || tr.Flow.SameSite != http.SameSiteNoneMode || tr.Reposted {
				t.Fatalf("flow cookie %+v (HTTPS: Secure, SameSite=None), reposted %v", tr.Flow, tr.Reposted)
			}
			if tr.Answer.StatusCode != http.StatusSeeOther || tr.Location == nil || tr.Location.Path != "/accueil" {
				t.Fatalf("callback: %v, want 303 to /accueil", tr)
			}
			s := b.want("session", http.StatusOK, "GET", "/session", nil)
			if u, _ := s["user"].(map[string]any); u["login"] != "prof" || s["mode"] != "teacher" || s["seat"] == nil {
				t.Fatalf("session %v", s)
			}
			t.Logf("%s: signed in through the hosted stack in %v (start, provider's form, callback)", provider, took.Round(time.Millisecond))

			// The one teacher seat is held: another teacher, linked, is
			// refused as by password; unlinked, unknown.
			spr.want("spr login", http.StatusOK, "POST", "/login", map[string]any{"school": uai, "login": "spr", "password": pass, "mode": "admin", "access": "modify"})
			spr.want("link prof2", http.StatusOK, "PATCH", "/users/prof2", map[string]any{"entId": idp.OtherUser})
			tr2 := ssotest.SignIn(t, newHostedViewer(t, site).c, site, ssotest.Start{School: uai, Provider: provider, Mode: "teacher"}, idp.OtherUser, idp.OtherPassword)
			ssotest.WantRefusal(t, "a full pool", tr2.Location, "seats_exhausted")
			spr.want("unlink prof2", http.StatusOK, "PATCH", "/users/prof2", map[string]any{"entId": ""})
			spr.want("spr logout", http.StatusNoContent, "POST", "/logout", nil)
			tr3 := ssotest.SignIn(t, newHostedViewer(t, site).c, site, ssotest.Start{School: uai, Provider: provider, Mode: "teacher"}, idp.OtherUser, idp.OtherPassword)
			ssotest.WantRefusal(t, "unlinked", tr3.Location, "identity_unknown")

			// Logout: Sésame's session ends first, then the provider's.
			b.want("logout", http.StatusNoContent, "POST", "/logout", nil)
			b.want("session over", http.StatusUnauthorized, "GET", "/session", nil)
			out, _ := ssotest.Get(t, b.c, site, httpapi.Prefix+httpapi.SSOLogoutPath)
			to := ssotest.Location(t, out)
			if !strings.HasPrefix(to.String(), srv.URL+"/") {
				t.Fatalf("logout sent to %v, want the provider's logout", to)
			}
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			back, err := tr.IdP.SignIn(lctx, to.String(), "", "")
			if err != nil {
				t.Fatalf("the provider's logout: %v", err)
			}
			t.Logf("%s: the provider's logout came back by %s to %s", provider, back.Method, back.URL.Redacted())
			if provider == ssotest.SAML {
				// The LogoutResponse, checked by the login function: a
				// tampered one, brought with a copy of the pending
				// logout's cookie, is refused; the genuine one is not.
				forger := newHostedViewer(t, site)
				u, _ := url.Parse(site + httpapi.Prefix + httpapi.SSOLogoutPath)
				forger.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
				_, loc := ssotest.Callback(t, forger.c, ssotest.TamperLogoutResponse(t, back))
				ssotest.WantRefusal(t, "a tampered logout response", loc, "provider_logout_refused")
				b.want("session after a tampered logout response", http.StatusUnauthorized, "GET", "/session", nil)
				res, loc := ssotest.Callback(t, b.c, back)
				if back.URL.Path != httpapi.Prefix+httpapi.SSOLogoutPath || loc == nil || loc.RequestURI() != "/?raison=logged_out" {
					t.Fatalf("SAML logout response at %s: %d to %v", back.URL.Path, res.StatusCode, loc)
				}
			} else if back.URL.Path != "/" || back.URL.Query().Get("raison") != "logged_out" {
				t.Fatalf("came back to %v, want the sign-in page", back.URL)
			}
			if ssotest.ProviderSession(t, b.c, site, uai, provider, tr.IdP) {
				t.Fatal("the provider's session outlived the logout")
			}
		})
	}
}
