// Package ssotest holds what the tests of the sign-in through a school's
// identity provider share, whether they run on `sesame serve`'s handler
// (infra/httpapi) or on the hosted stack (infra/hostedlocal): the
// LemonLDAP::NG instance prepared for Sésame's addresses, the school's
// three providers as the API takes them, and one sign-in driven headless
// from the start route to the callback's answer, as a browser makes it.
//
//	srv := idp.New(t, ssotest.IdPConfig(site))
//	for _, p := range ssotest.Providers(srv) { … POST /providers … }
//	tr := ssotest.SignIn(t, client, site, ssotest.Start{School: uai, Provider: "ent", Mode: "teacher"}, idp.User, idp.UserPassword)
//	ssotest.WantRefusal(t, "unlinked", tr.Location, "identity_unknown")
package ssotest

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/idp"
)

// Providers' identifiers in [Providers].
const (
	OIDC = "ent-oidc"   // OpenID Connect, the subject
	SAML = "educonnect" // SAML 2.0, uid
	CAS  = "ent"        // CAS 3, the user
)

// IdPConfig is the provider prepared for Sésame reached at site (the
// origin the browser sees, e.g. https://127.0.0.1:8090): the OIDC redirect
// URI, the SAML entity ID, ACS and single logout service, and the
// post-logout page, as httpapi's routes name them.
func IdPConfig(site string) idp.Config {
	site = strings.TrimRight(site, "/")
	o := site + httpapi.Prefix
	return idp.Config{SPURL: site, OIDCRedirectURI: o + httpapi.SSOCallbackPath, SAMLEntityID: o + httpapi.SSOEntityPath,
		SAMLACS: o + httpapi.SSOACSPath, SAMLSLO: o + httpapi.SSOLogoutPath, PostLogoutURI: site + "/?raison=logged_out"}
}

// Providers are srv declared once per protocol, as POST /providers takes
// them: [OIDC], [SAML] and [CAS], each for teachers and students.
func Providers(srv *idp.Server) []map[string]any {
	kinds := []string{"teacher", "student"}
	return []map[string]any{
		{"id": OIDC, "protocol": "oidc", "displayName": "ENT (OpenID Connect)", "issuer": srv.Issuer(),
			"clientId": idp.ClientID, "clientSecret": idp.ClientSecret, "claim": "sub", "kinds": kinds},
		{"id": SAML, "protocol": "saml", "displayName": "ÉduConnect", "metadataUrl": srv.SAMLMetadataURL(),
			"claim": "uid", "kinds": kinds},
		{"id": CAS, "protocol": "cas", "displayName": "ENT (CAS)", "casUrl": srv.CASURL(), "claim": "sub", "kinds": kinds},
	}
}

// Start is what the sign-in page sends to the start route.
type Start struct {
	School, Provider, Mode string
}

// Path is the start route's path and query, under httpapi.Prefix.
func (s Start) Path() string {
	q := url.Values{"school": {s.School}, "provider": {s.Provider}, "mode": {s.Mode}}
	return httpapi.Prefix + httpapi.SSOStartPath + "?" + q.Encode()
}

// Trip is one sign-in through a provider, up to the callback's answer.
type Trip struct {
	Start    *http.Response // the start route's answer (its body read and closed)
	Flow     *http.Cookie   // the sealed flow as the start set it
	IdP      *idp.Browser   // the browser at the provider, with its session cookie
	Arrival  *idp.Arrival   // how the provider sent the browser back
	Reposted bool           // the SAML POST came back through the re-post page
	Answer   *http.Response // the callback's answer (body closed)
	Location *url.URL       // where the callback sends the browser
}

// Get sends a GET for site+path with c, and returns the answer with its
// body read (and closed).
func Get(t testing.TB, c *http.Client, site, path string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(strings.TrimRight(site, "/") + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// FlowCookie is the flow cookie among cookies, or nil.
func FlowCookie(cookies []*http.Cookie) *http.Cookie {
	for _, c := range cookies {
		if c.Name == httpapi.FlowCookie {
			return c
		}
	}
	return nil
}

// SignIn leaves for the provider from site with browser c (a cookie jar;
// redirects not followed), signs in there as user with password, and
// comes back to Sésame with c's cookies, as a browser does: the provider's
// SAML POST is cross-site, so it carries the flow cookie only when that
// is SameSite=None (HTTPS); a Lax flow cookie (plain HTTP) stays behind,
// and the browser follows Sésame's re-post page.
func SignIn(t testing.TB, c *http.Client, site string, s Start, user, password string) *Trip {
	t.Helper()
	res, body := Get(t, c, site, s.Path())
	tr := &Trip{Start: res, Flow: FlowCookie(res.Cookies())}
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start %s: %d %s", s.Provider, res.StatusCode, body)
	}
	if tr.Flow == nil || !tr.Flow.HttpOnly {
		t.Fatalf("start %s: flow cookie %+v, want HttpOnly", s.Provider, tr.Flow)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr.IdP = idp.NewBrowser(site, 10*time.Second)
	arr, err := tr.IdP.SignIn(ctx, res.Header.Get("Location"), user, password)
	if err != nil {
		t.Fatal(err)
	}
	tr.Arrival = arr
	if arr.Method == http.MethodPost && tr.Flow.SameSite != http.SameSiteNoneMode {
		arr = Repost(t, arr)
		tr.Reposted = true
	}
	tr.Answer, tr.Location = Callback(t, c, arr)
	return tr
}

// Repost plays the SAML POST without cookies, as a browser sends it cross
// site with a Lax flow cookie. Sésame answers a page that posts the same
// form to itself from the site, which carries the cookie: Repost returns
// that second POST.
func Repost(t testing.TB, arr *idp.Arrival) *idp.Arrival {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).PostForm(arr.URL.String(), arr.Form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "form-action 'self'") {
		t.Fatalf("cross-site SAML POST: %d %v", res.StatusCode, res.Header)
	}
	m := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindSubmatch(page)
	if m == nil || string(m[1]) != httpapi.Prefix+httpapi.SSOACSPath {
		t.Fatalf("re-post page without its form: %s", page)
	}
	form := url.Values{}
	for _, f := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllSubmatch(page, -1) {
		form.Add(string(f[1]), html.UnescapeString(string(f[2])))
	}
	if form.Get("SAMLResponse") != arr.Form.Get("SAMLResponse") || form.Get("RelayState") != arr.Form.Get("RelayState") {
		t.Fatalf("the re-post page changed the form: %v", form)
	}
	return &idp.Arrival{Method: http.MethodPost, URL: arr.URL, Form: form}
}

// Callback sends the provider's callback arr with c's cookies, and
// returns the answer (body closed) and where it sends the browser.
func Callback(t testing.TB, c *http.Client, arr *idp.Arrival) (*http.Response, *url.URL) {
	t.Helper()
	req, err := arr.Request(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := res.Location()
	return res, loc
}

// WantRefusal fails unless loc is the sign-in page with the refusal code.
func WantRefusal(t testing.TB, what string, loc *url.URL, code string) {
	t.Helper()
	if loc == nil || loc.Path != "/" || loc.Query().Get("raison") != code {
		t.Fatalf("%s: sent to %v, want the sign-in page with raison=%s", what, loc, code)
	}
}

// Location is a's redirect target; it fails unless a is a redirect.
func Location(t testing.TB, a *http.Response) *url.URL {
	t.Helper()
	u, err := a.Location()
	if err != nil || a.StatusCode/100 != 3 {
		t.Fatalf("%d %q: not a redirect (%v)", a.StatusCode, a.Header.Get("Location"), err)
	}
	return u
}

// String names the trip in a failure.
func (tr *Trip) String() string {
	return fmt.Sprintf("%d to %v", tr.Answer.StatusCode, tr.Location)
}

// TamperLogoutResponse changes the ID of the LogoutResponse in a, which
// nothing but its signature covers (the HTTP-Redirect binding: deflated,
// base64, in the query).
func TamperLogoutResponse(t *testing.T, a *idp.Arrival) *idp.Arrival {
	t.Helper()
	q := a.URL.Query()
	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	changed := regexp.MustCompile(`(<[^>]*LogoutResponse[^>]* ID=")([^"]+)"`).ReplaceAll(doc, []byte(`${1}${2}x"`))
	if bytes.Equal(changed, doc) {
		t.Fatalf("no LogoutResponse ID in %s", doc)
	}
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	w.Write(changed)
	w.Close()
	q.Set("SAMLResponse", base64.StdEncoding.EncodeToString(out.Bytes()))
	u := *a.URL
	u.RawQuery = q.Encode()
	return &idp.Arrival{Method: a.Method, URL: &u}
}

// ProviderSession begins a sign-in through provider of school with browser
// c and the provider's browser ib, and reports whether the provider let it
// through without its login form (its session lives), posting a wrong
// password if it shows the form.
func ProviderSession(t testing.TB, c *http.Client, site, school, provider string, ib *idp.Browser) bool {
	t.Helper()
	res, body := Get(t, c, site, Start{School: school, Provider: provider, Mode: "teacher"}.Path())
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := ib.SignIn(ctx, res.Header.Get("Location"), idp.User, "pas-le-mot-de-passe")
	return err == nil
}
