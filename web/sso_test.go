package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/web/pages"
)

// TestSignInThroughENT: the sign-in page offers the school's providers
// once the school is typed, leaves for the chosen one with the mode chosen
// here (the provider is asked to send the browser back to Sésame's
// callback), and explains a refusal the callback sent back.
func TestSignInThroughENT(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// The ENT: a CAS server on this machine that records the sign-in it
	// is asked for.
	asked := make(chan *url.URL, 1)
	ent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- r.URL:
		default:
		}
		_, _ = w.Write([]byte(`<!doctype html><html lang="fr"><title>ENT</title><h1>ENT</h1></html>`))
	}))
	t.Cleanup(ent.Close)
	spr := s.apiLogin(t, "spr", sprPass, "admin", "")
	if code, e := s.callJSON(t, http.MethodPost, "/providers", map[string]any{"id": "ent", "protocol": "cas",
		"displayName": "ENT du collège", "casUrl": ent.URL + "/cas", "claim": "sub", "kinds": []string{"teacher"}}, spr, nil); code != http.StatusCreated {
		t.Fatalf("create provider: %d %s", code, e.Error.Message)
	}

	tab := newBrowser(t)
	do(t, tab, chromedp.Navigate(s.url+"/"))
	waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
	if eval[bool](t, tab, `!document.getElementById('ent').hidden`) {
		t.Error("the ENT choices show before a school is typed")
	}
	do(t, tab, chromedp.Clear(chromedp.ID("school")), chromedp.SendKeys(chromedp.ID("school"), uai))
	waitFor(t, tab, `!document.getElementById('ent').hidden && document.querySelector('#ent-choix button')`)
	if got := text(t, tab, "#ent-choix button"); got != "Se connecter avec ENT du collège" {
		t.Errorf("button = %q", got)
	}
	screenshot(t, tab, "connexion-ent")
	do(t, tab, chromedp.Evaluate[chromedp.Void](`(() => { const m = document.getElementById('mode'); m.value = 'teacher'; m.dispatchEvent(new Event('change', {bubbles: true})); })()`))
	click(t, tab, "#ent-choix button")
	select {
	case u := <-asked:
		service := u.Query().Get("service")
		if u.Path != "/cas/login" || !strings.HasPrefix(service, s.url+"/api/v1/login/sso/callback?") {
			t.Errorf("the ENT was asked %s, service %q", u.Path, service)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the button did not lead to the ENT")
	}

	waitFor(t, tab, `document.title === 'ENT'`)

	// A refusal of the callback is explained on the sign-in page.
	do(t, tab, chromedp.Navigate(s.url+"/?raison=identity_unknown&ecole="+uai))
	waitFor(t, tab, `document.getElementById('raison-message')`)
	contains(t, "refusal", text(t, tab, "#raison-message"), "n'est relié à aucun compte Sésame")
	// Every refusal the API may send back shows the domain's message, and
	// text from the address is never shown.
	for _, r := range sesame.SignInRefusals {
		do(t, tab, chromedp.Navigate(s.url+"/?"+url.Values{"raison": {r.Code}, "ecole": {uai}}.Encode()))
		waitFor(t, tab, `document.getElementById('raison-message') && document.getElementById('raison-message').dataset.reason === `+jsString(r.Code))
		if got, want := norm(text(t, tab, "#raison-message")), norm(pages.Typography(r.Message)); got != want {
			t.Errorf("?raison=%s shows %q, want %q", r.Code, got, want)
		}
	}
	do(t, tab, chromedp.Navigate(s.url+"/?"+url.Values{"raison": {"<b>Votre mot de passe a expiré, appelez le 08…</b>"}}.Encode()))
	waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
	if got := text(t, tab, "#raison"); got != "" {
		t.Errorf("a made-up reason shows %q", got)
	}
}
