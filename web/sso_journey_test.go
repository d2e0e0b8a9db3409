package web_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/idp"
)

// ssoProtocol is one way a school's identity provider speaks: the
// provider as the SPR declares it (without its address) and where its
// address comes from.
type ssoProtocol struct {
	name     string
	provider map[string]any
	address  func(*idp.Server) (key, url string)
}

// ssoCAS is the protocol of most ENTs, and the one whose journey also
// shows a refusal.
var ssoCAS = ssoProtocol{"CAS", map[string]any{"id": "ent", "protocol": "cas", "displayName": "ENT du collège", "claim": "sub"},
	func(srv *idp.Server) (string, string) { return "casUrl", srv.CASURL() }}

var ssoProtocols = []ssoProtocol{
	ssoCAS,
	{"OIDC", map[string]any{"id": "ent-oidc", "protocol": "oidc", "displayName": "ENT (OpenID Connect)", "claim": "sub",
		"clientId": idp.ClientID, "clientSecret": idp.ClientSecret},
		func(srv *idp.Server) (string, string) { return "issuer", srv.Issuer() }},
	{"SAML", map[string]any{"id": "educonnect", "protocol": "saml", "displayName": "ÉduConnect", "claim": "uid"},
		func(srv *idp.Server) (string, string) { return "metadataUrl", srv.SAMLMetadataURL() }},
}

// ssoTiming is the agent's timing in the journeys through the provider: a
// heartbeat a second, and a lease long enough for the emulated functions of
// the hosted deployment (hostedTiming).
var ssoTiming = hostedTiming

// ssoStack is the product with a heartbeat log, its school declaring one
// identity provider (a real LemonLDAP::NG) for teachers, in a pool of one
// teacher seat; the teacher pmartin is linked to idp.User, idp.OtherUser
// to no one.
type ssoStack struct {
	*agentStack
	idp         *idp.Server
	displayName string
}

func newSSOStack(t *testing.T, p ssoProtocol) *ssoStack {
	t.Helper()
	a := &agentStack{}
	a.stack = newStackWith(t, stackOptions{agent: true, timing: ssoTiming, wrap: a.watch, https: true})
	site := a.browserURL()
	o := site + httpapi.Prefix
	srv := idp.New(t, idp.Config{SPURL: site, OIDCRedirectURI: o + httpapi.SSOCallbackPath,
		SAMLEntityID: o + httpapi.SSOEntityPath, SAMLACS: o + httpapi.SSOACSPath, PostLogoutURI: site + "/?raison=logged_out"})
	ignoreConsoleOf(t, srv.URL) // the provider's own pages are not Sésame's
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("LemonLDAP::NG's output:\n%s", srv.Output())
		}
	})
	one := sesame.Limit(1)
	if _, err := a.svc.SetLicense(t.Context(), uai, year, sesame.LicenseChange{TeacherSeats: &one}); err != nil {
		t.Fatalf("SetLicense: %v", err)
	}
	a.addUser(t, "pmartin", "teacher", "Paul Martin", "")
	spr := a.apiLogin(t, sprLogin, sprPass, "admin", "modify")
	provider := map[string]any{"kinds": []string{"teacher"}}
	for k, v := range p.provider {
		provider[k] = v
	}
	key, url := p.address(srv)
	provider[key] = url
	if code, e := a.callJSON(t, http.MethodPost, "/providers", provider, spr, nil); code != http.StatusCreated {
		t.Fatalf("create provider: %d %s", code, e.Error.Message)
	}
	if code, e := a.callJSON(t, http.MethodPatch, "/users/pmartin", map[string]any{"entId": idp.User}, spr, nil); code != http.StatusOK {
		t.Fatalf("link pmartin: %d %s", code, e.Error.Message)
	}
	return &ssoStack{agentStack: a, idp: srv, displayName: p.provider["displayName"].(string)}
}

// signInAtProvider leaves Sésame's sign-in page for the provider with the
// teacher mode chosen, and signs in on the provider's own login form.
func (s *ssoStack) signInAtProvider(t *testing.T, tab context.Context, user, password string) {
	t.Helper()
	do(t, tab, chromedp.Navigate(s.browserURL()+"/"))
	waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
	do(t, tab, chromedp.Clear(chromedp.ID("school")), chromedp.SendKeys(chromedp.ID("school"), uai),
		chromedp.Evaluate[chromedp.Void](`(() => { const m = document.getElementById('mode'); m.value = 'teacher'; m.dispatchEvent(new Event('change', {bubbles: true})); })()`))
	waitFor(t, tab, `!document.getElementById('ent').hidden && document.querySelector('#ent-choix button')`)
	if got := text(t, tab, "#ent-choix button"); got != "Se connecter avec "+s.displayName {
		t.Errorf("button = %q", got)
	}
	click(t, tab, "#ent-choix button")
	waitFor(t, tab, `location.origin === `+jsString(s.idp.URL)+` && document.querySelector('input[name=user]') && document.querySelector('input[name=password]')`)
	screenshot(t, tab, "ent-formulaire")
	do(t, tab, chromedp.SendKeys(chromedp.CSS(`input[name=user]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)))
}

// heartbeatsSince waits until the server has answered n heartbeats since
// from, and fails on a heartbeat it refused.
func (s *ssoStack) heartbeatsSince(t *testing.T, from time.Time, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Duration(n+5) * ssoTiming.Heartbeat)
	for {
		s.mu.Lock()
		ok := 0
		for _, b := range s.beats {
			if b.at.Before(from) {
				continue
			}
			if b.status != http.StatusOK {
				s.mu.Unlock()
				t.Fatalf("a heartbeat answered %d", b.status)
			}
			ok++
		}
		s.mu.Unlock()
		if ok >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats since the home page, want %d", ok, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSSOJourney: in Chromium, a teacher signs in through the school's
// ENT, a real LemonLDAP::NG, with each protocol: Sésame's sign-in page,
// the provider's login form, back on the home page holding the pool's
// only seat with the agent's heartbeat running, then logout frees the
// seat. An identity linked to no account comes back to the sign-in page
// with the French explanation.
func TestSSOJourney(t *testing.T) {
	t.Parallel()
	for _, p := range ssoProtocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ssoJourney(t, p)
		})
	}
}

func ssoJourney(t *testing.T, p ssoProtocol) {
	s := newSSOStack(t, p)
	tab := newBrowser(t)

	t0 := time.Now()
	s.signInAtProvider(t, tab, idp.User, idp.UserPassword)
	waitHome(t, tab)
	home := time.Now()
	waitAgent(t, tab)
	t.Logf("%s: sign-in page to home page %v, agent running %v after", p.name, home.Sub(t0).Round(time.Millisecond),
		time.Since(home).Round(time.Millisecond))
	screenshot(t, tab, "accueil-ent-"+p.name)
	if got := text(t, tab, "#f-login"); got != "pmartin" {
		t.Errorf("signed in as %q", got)
	}
	contains(t, "seat", text(t, tab, "#f-seat"), "mode enseignant")
	if logins, seats, _ := s.connections(t); !slices.Contains(logins, "pmartin") || seats != 1 {
		t.Fatalf("signed in: connected %v, teacher seats %d, want pmartin holding the only one", logins, seats)
	}
	s.heartbeatsSince(t, home, 2)
	cookie := sessionCookie(t, s.agentStack, tab)

	t1 := time.Now()
	do(t, tab, chromedp.Click(chromedp.ID("logout")))
	waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
	if got := eval[string](t, tab, `location.search`); got != "?raison=logged_out" {
		t.Errorf("after logout: search = %q", got)
	}
	if res, e := s.call(t, http.MethodGet, "/session", nil, cookie); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /session after logout: %d %s", res.StatusCode, e.Error.Code)
	}
	if logins, seats, _ := s.connections(t); slices.Contains(logins, "pmartin") || seats != 0 {
		t.Errorf("after logout: connected %v, teacher seats %d", logins, seats)
	}
	t.Logf("%s: logout %v; journey %v", p.name, time.Since(t1).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))

	if p.name != ssoCAS.name {
		return
	}
	// An identity of the provider linked to no account, in a browser of
	// its own (the provider's session is per browser).
	other := newTab(t, tab)
	t2 := time.Now()
	s.signInAtProvider(t, other, idp.OtherUser, idp.OtherPassword)
	waitFor(t, other, `location.origin === `+jsString(s.browserURL())+` && location.pathname === '/' && document.getElementById('raison-message')`)
	if q := eval[[]string](t, other, `(() => { const q = new URLSearchParams(location.search); return [q.get('raison'), q.get('ecole')]; })()`); q[0] != "identity_unknown" || q[1] != uai {
		t.Errorf("refused: raison, ecole = %q", q)
	}
	screenshot(t, other, "connexion-ent-inconnu")
	contains(t, "refusal", text(t, other, "#raison-message"), "Votre compte de l'ENT n'est relié à aucun compte Sésame de l'établissement.")
	if logins, seats, _ := s.connections(t); slices.Contains(logins, "pmartin") || seats != 0 {
		t.Errorf("after the refusal: connected %v, teacher seats %d", logins, seats)
	}
	t.Logf("%s: refusal %v", p.name, time.Since(t2).Round(time.Millisecond))
}
