package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sesame-ecole/sesame"
)

// The page Connexion via l'ENT (/ent), and the identifiant ENT on the
// page Utilisateurs.

// recordAnswers keeps, in the tab's sessionStorage, the text of every
// answer of the API a page receives, from each page's first script on.
const recordAnswers = `(() => {
	const fetch0 = window.fetch;
	window.fetch = async (...args) => {
		const res = await fetch0(...args);
		try {
			const text = await res.clone().text();
			const all = JSON.parse(sessionStorage.getItem('api-answers') || '[]');
			all.push(String(args[0]) + ' ' + text);
			sessionStorage.setItem('api-answers', JSON.stringify(all));
		} catch (e) { /* an answer without a body */ }
		return res;
	};
})()`

// providerAnswer is a provider as the API gives it.
type providerAnswer struct {
	ID           string   `json:"id"`
	DisplayName  string   `json:"displayName"`
	Issuer       *string  `json:"issuer"`
	HasSecret    bool     `json:"hasSecret"`
	Kinds        []string `json:"kinds"`
	MatchLogin   bool     `json:"matchLogin"`
	SingleLogout bool     `json:"singleLogout"`
	Version      int64    `json:"version"`
}

// getProvider reads a provider through the API.
func getProvider(t *testing.T, s *stack, cookie *http.Cookie, id string) (int, providerAnswer) {
	t.Helper()
	var p providerAnswer
	code, _ := s.callJSON(t, http.MethodGet, "/providers/"+id, nil, cookie, &p)
	return code, p
}

// onEveryPage runs the script src in each document the tab loads from now
// on, before the page's own scripts.
func onEveryPage(t *testing.T, tab context.Context, src string) {
	t.Helper()
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		t.Fatal(err)
	}
}

// signInSPR signs the SPR in, in admin mode, through the sign-in page,
// and returns the tab's session cookie.
func signInSPR(t *testing.T, s *stack, tab context.Context) *http.Cookie {
	t.Helper()
	signIn(t, s, tab, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, tab)
	return tabCookie(t, s, tab)
}

// addCAS adds a CAS provider for teachers on /ent, with its form.
func addCAS(t *testing.T, tab context.Context, id, name string) {
	t.Helper()
	if eval[bool](t, tab, `document.getElementById('edition').hidden`) {
		click(t, tab, "#ajouter")
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
	}
	typeIn(t, tab, "#p-name", name)
	typeIn(t, tab, "#p-id", id)
	click(t, tab, "#p-protocol-cas")
	typeIn(t, tab, "#p-cas", "https://ent.exemple.fr/cas")
	typeIn(t, tab, "#p-claim", "uid")
	click(t, tab, "#p-kind-teacher")
	click(t, tab, "#enregistrer")
	waitRow(t, tab, id)
}

// waitRow waits for the row of provider id in the list of /ent.
func waitRow(t *testing.T, tab context.Context, id string) {
	t.Helper()
	waitFor(t, tab, `document.querySelector('#providers tr[data-id="`+id+`"]')`)
}

// TestENTPage: the SPR adds a CAS provider, an OpenID Connect provider
// with its client secret and a SAML one, sees them listed, edits one without typing its
// secret again (kept), is refused a bad address and a stale version with
// the API's French messages, and deletes one; the secret is never in the
// page nor in an answer the page received. A teacher and vie scolaire
// staff do not see the link, and the page shows the API's refusal. On
// Utilisateurs, the SPR links an account to the ENT and unlinks it.
func TestENTPage(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-du-client-oidc-4242"
	s := newStack(t)
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	s.addUser(t, "vsco", "staff", "Victor Scolaire", "")
	tab := newBrowser(t)
	onEveryPage(t, tab, recordAnswers)
	spr := signInSPR(t, s, tab)
	if eval[bool](t, tab, `document.getElementById('nav-ent').hidden || document.getElementById('lien-ent').closest('li').hidden`) {
		t.Fatal("the SPR does not see the links to Connexion via l'ENT")
	}
	click(t, tab, "#nav-ent a")
	waitPage(t, tab, "/ent")
	if eval[bool](t, tab, `document.getElementById('aucun').hidden`) {
		t.Error("an empty list does not say so")
	}

	t.Run("AddCAS", func(t *testing.T) {
		click(t, tab, "#ajouter")
		waitFor(t, tab, `!document.getElementById('edition').hidden && document.activeElement.id === 'h-edition'`)
		if eval[bool](t, tab, `!document.querySelector('.protocol-fields[data-protocol="oidc"]').hidden`) {
			t.Error("the OpenID Connect settings show for CAS")
		}
		click(t, tab, "#p-kind-staff")
		addCAS(t, tab, "ent", "ENT du collège")
		contains(t, "CAS row", text(t, tab, `#providers tr[data-id="ent"]`), "ENT du collège", "CAS", "uid")
		contains(t, "CAS kinds", strings.ToLower(text(t, tab, `#providers tr[data-id="ent"] td:nth-of-type(3)`)), "professeur", "personnel")
		if !eval[bool](t, tab, `document.getElementById('edition').hidden`) {
			t.Error("the form stays open after the provider is added")
		}
		contains(t, "announce", text(t, tab, "#annonce"), "ENT du collège", "ajouté")
	})

	t.Run("AddOIDCWithSecret", func(t *testing.T) {
		click(t, tab, "#ajouter")
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
		typeIn(t, tab, "#p-name", "Mon ENT OpenID")
		typeIn(t, tab, "#p-id", "ent-oidc")
		click(t, tab, "#p-protocol-oidc")
		waitFor(t, tab, `!document.querySelector('.protocol-fields[data-protocol="oidc"]').hidden && document.querySelector('.protocol-fields[data-protocol="cas"]').hidden`)
		typeIn(t, tab, "#p-issuer", "https://auth.exemple.fr/realms/college")
		typeIn(t, tab, "#p-client", "sesame")
		typeIn(t, tab, "#p-secret", secret)
		typeIn(t, tab, "#p-claim", "sub")
		click(t, tab, "#p-kind-student")
		click(t, tab, "#p-kind-parent")
		click(t, tab, "#p-match-login")
		click(t, tab, "#p-single-logout")
		screenshot(t, tab, "ent-formulaire")
		click(t, tab, "#enregistrer")
		waitRow(t, tab, "ent-oidc")
		contains(t, "OIDC row", text(t, tab, `#providers tr[data-id="ent-oidc"]`), "Mon ENT OpenID", "OpenID Connect", "secret enregistré")
		code, p := getProvider(t, s, spr, "ent-oidc")
		if code != http.StatusOK || !p.HasSecret || !p.MatchLogin || !p.SingleLogout || strings.Join(p.Kinds, ",") != "student,parent" && strings.Join(p.Kinds, ",") != "parent,student" {
			t.Errorf("GET /providers/ent-oidc: %d %+v", code, p)
		}
		if got := storedSecret(t, s, "ent-oidc"); got != secret {
			t.Errorf("stored secret %q, want the one typed", got)
		}
	})

	t.Run("AddSAML", func(t *testing.T) {
		const xml = `<EntityDescriptor entityID="https://educonnect.exemple.fr/idp"/>`
		click(t, tab, "#ajouter")
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
		typeIn(t, tab, "#p-name", "ÉduConnect")
		typeIn(t, tab, "#p-id", "educonnect")
		click(t, tab, "#p-protocol-saml")
		waitFor(t, tab, `!document.querySelector('.protocol-fields[data-protocol="saml"]').hidden`)
		typeIn(t, tab, "#p-metadata-xml", xml)
		typeIn(t, tab, "#p-claim", "FrEduCtId")
		click(t, tab, "#p-kind-parent")
		click(t, tab, "#enregistrer")
		waitRow(t, tab, "educonnect")
		contains(t, "SAML row", text(t, tab, `#providers tr[data-id="educonnect"]`), "ÉduConnect", "SAML 2.0", "FrEduCtId")
		// What to give ÉduConnect's administrator: this site's SAML
		// addresses, as the API names them.
		contains(t, "SAML registration", norm(text(t, tab, `#adresses .registration[data-id="educonnect"]`)),
			"Identifiant du fournisseur de service (entity ID)", s.url+"/api/v1/login/sso/saml",
			"Service de réception des assertions (ACS, HTTP-POST)", s.url+"/api/v1/login/sso/acs",
			"Service de déconnexion unique (SLO, HTTP-Redirect)", s.url+"/api/v1/login/sso/logout")
		contains(t, "OIDC registration", norm(text(t, tab, `#adresses .registration[data-id="ent-oidc"]`)),
			"URI de redirection", s.url+"/api/v1/login/sso/callback")
		var p struct {
			MetadataXML *string `json:"metadataXml"`
			HasSecret   bool    `json:"hasSecret"`
		}
		if code, _ := s.callJSON(t, http.MethodGet, "/providers/educonnect", nil, spr, &p); code != http.StatusOK || p.MetadataXML == nil || *p.MetadataXML != xml || p.HasSecret {
			t.Errorf("GET /providers/educonnect: %d %+v", code, p)
		}
		// Its edit form shows the metadata it was given.
		click(t, tab, `#providers tr[data-id="educonnect"] [data-action="edit"]`)
		waitFor(t, tab, `document.getElementById('p-metadata-xml').value === `+jsString(xml)+` && document.getElementById('p-protocol-saml').checked`)
		click(t, tab, "#fermer")
	})

	t.Run("EditKeepsSecret", func(t *testing.T) {
		click(t, tab, `#providers tr[data-id="ent-oidc"] [data-action="edit"]`)
		waitFor(t, tab, `!document.getElementById('edition').hidden && document.getElementById('p-name').value === 'Mon ENT OpenID'`)
		if got := eval[string](t, tab, `document.getElementById('p-secret').value`); got != "" {
			t.Errorf("the secret field is filled: %q", got)
		}
		contains(t, "secret hint", text(t, tab, "#p-secret-hint"), "Un secret est enregistré", "laissez ce champ vide pour le garder")
		if eval[bool](t, tab, `!document.getElementById('p-id-field').hidden`) {
			t.Error("the identifier can be typed on an edit")
		}
		typeIn(t, tab, "#p-name", "ENT du département")
		click(t, tab, "#enregistrer")
		waitFor(t, tab, `document.querySelector('#providers tr[data-id="ent-oidc"] th').innerText.startsWith('ENT du département\n')`)
		code, p := getProvider(t, s, spr, "ent-oidc")
		if code != http.StatusOK || !p.HasSecret || p.DisplayName != "ENT du département" || p.Version != 2 {
			t.Errorf("after the edit: %d %+v", code, p)
		}
		if got := storedSecret(t, s, "ent-oidc"); got != secret {
			t.Errorf("stored secret %q after an edit without it, want the first one", got)
		}
		screenshot(t, tab, "ent")
		if !eval[bool](t, tab, `document.activeElement.dataset.action === 'edit' && document.activeElement.closest('tr').dataset.id === 'ent-oidc'`) {
			t.Error("after saving, the focus is not on the provider's Modifier")
		}
	})

	t.Run("BadIssuerRefused", func(t *testing.T) {
		_, before := getProvider(t, s, spr, "ent-oidc")
		click(t, tab, `#providers tr[data-id="ent-oidc"] [data-action="edit"]`)
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
		typeIn(t, tab, "#p-issuer", "http://auth.exemple.fr")
		click(t, tab, "#enregistrer")
		waitFor(t, tab, `document.querySelector('#form-erreur .alert')`)
		_, e := s.callJSON(t, http.MethodPut, "/providers/ent-oidc", map[string]any{"protocol": "oidc", "displayName": "x",
			"issuer": "http://auth.exemple.fr", "clientId": "sesame", "claim": "sub", "kinds": []string{"student"}}, spr, nil)
		if e.Error.Code != sesame.CodeInvalid {
			t.Fatalf("the API's refusal of an http issuer: %+v", e.Error)
		}
		got := text(t, tab, "#form-erreur .alert")
		contains(t, "refusal", got, "n'a pas été enregistré", norm(e.Error.Message))
		screenshot(t, tab, "ent-refus")
		if !eval[bool](t, tab, `document.getElementById('p-issuer').getAttribute('aria-invalid') === 'true' && document.activeElement.closest('#form-erreur') !== null`) {
			t.Error("the refused field is not marked, or the message does not take the focus")
		}
		if _, after := getProvider(t, s, spr, "ent-oidc"); after.Version != before.Version || *after.Issuer != *before.Issuer {
			t.Errorf("a refused edit changed the provider: %+v → %+v", before, after)
		}
		keys(t, tab, kb.Escape) // Escape closes the form
		waitFor(t, tab, `document.getElementById('edition').hidden`)
	})

	t.Run("StaleVersion", func(t *testing.T) {
		click(t, tab, `#providers tr[data-id="ent"] [data-action="edit"]`)
		waitFor(t, tab, `!document.getElementById('edition').hidden && document.getElementById('p-cas').value !== ''`)
		// Someone else saves it meanwhile.
		if code, e := s.callJSON(t, http.MethodPut, "/providers/ent", map[string]any{"protocol": "cas", "displayName": "ENT (autre onglet)",
			"casUrl": "https://ent.exemple.fr/cas", "claim": "uid", "kinds": []string{"teacher"}, "version": 1}, spr, nil); code != http.StatusOK {
			t.Fatalf("PUT /providers/ent: %d %s", code, e.Error.Message)
		}
		typeIn(t, tab, "#p-name", "ENT du collège Jean Moulin")
		click(t, tab, "#enregistrer")
		waitFor(t, tab, `document.querySelector('#form-erreur [data-code="conflict"]')`)
		_, e := s.callJSON(t, http.MethodPut, "/providers/ent", map[string]any{"protocol": "cas", "displayName": "x",
			"casUrl": "https://ent.exemple.fr/cas", "claim": "uid", "kinds": []string{"teacher"}, "version": 1}, spr, nil)
		contains(t, "conflict", text(t, tab, "#form-erreur .alert"), norm(e.Error.Message))
		click(t, tab, "#recharger")
		waitFor(t, tab, `document.getElementById('p-name').value === 'ENT (autre onglet)'`)
		if _, p := getProvider(t, s, spr, "ent"); p.DisplayName != "ENT (autre onglet)" {
			t.Errorf("the stale save changed the provider: %+v", p)
		}
		click(t, tab, "#fermer")
		waitFor(t, tab, `document.getElementById('edition').hidden`)
	})

	t.Run("Delete", func(t *testing.T) {
		click(t, tab, `#providers tr[data-id="ent"] [data-action="delete"]`)
		waitFor(t, tab, `document.activeElement && document.activeElement.dataset.action === 'confirm-delete'`)
		click(t, tab, `#providers [data-action="confirm-delete"]`)
		waitFor(t, tab, `!document.querySelector('#providers tr[data-id="ent"]')`)
		if code, _ := getProvider(t, s, spr, "ent"); code != http.StatusNotFound {
			t.Errorf("GET /providers/ent after its deletion: %d", code)
		}
		if code, _ := getProvider(t, s, spr, "ent-oidc"); code != http.StatusOK {
			t.Errorf("the other provider is gone: %d", code)
		}
		contains(t, "announce", text(t, tab, "#annonce"), "est supprimé")
	})

	t.Run("SecretNeverShown", func(t *testing.T) {
		do(t, tab, chromedp.Reload())
		waitPage(t, tab, "/ent")
		click(t, tab, `#providers tr[data-id="ent-oidc"] [data-action="edit"]`)
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
		inDOM := eval[bool](t, tab, `document.documentElement.outerHTML.includes(`+jsString(secret)+`) ||
			[...document.querySelectorAll('input, textarea')].some((e) => e.value.includes(`+jsString(secret)+`))`)
		if inDOM {
			t.Error("the client secret is in the page")
		}
		answers := eval[[]string](t, tab, `JSON.parse(sessionStorage.getItem('api-answers') || '[]')`)
		providers := 0
		for _, a := range answers {
			if strings.Contains(a, secret) {
				t.Errorf("an answer of the API holds the secret: %.200s", a)
			}
			if strings.Contains(a, "/providers") && strings.Contains(a, `"hasSecret":true`) {
				providers++
			}
		}
		if providers < 3 {
			t.Errorf("%d answers about the provider with its secret recorded, want the list, the creation and the edit at least", providers)
		}
		click(t, tab, "#fermer")
	})

	t.Run("Journal", func(t *testing.T) {
		// The journal offers the event type and shows the changes, never
		// the secret.
		do(t, tab, chromedp.Navigate(s.url+"/journal"))
		waitPage(t, tab, "/journal")
		choose(t, tab, "#event", string(sesame.EventProviderEdited))
		click(t, tab, "#afficher")
		waitFor(t, tab, `document.querySelectorAll('#entries tbody tr').length === 6`)
		got := text(t, tab, "#entries tbody")
		contains(t, "journal", got, "Connexion via l'ENT modifiée", "(OpenID Connect) ajouté", "(SAML 2.0) ajouté", "(CAS) ajouté", "(CAS) supprimé")
		if strings.Contains(eval[string](t, tab, `document.documentElement.outerHTML`), secret) {
			t.Error("the journal page holds the client secret")
		}
	})

	t.Run("Refused", func(t *testing.T) {
		for _, who := range []struct{ login, mode string }{{"mdurand", "teacher"}, {"vsco", "vie-scolaire"}} {
			other := newTab(t, tab)
			signIn(t, s, other, uai, who.login, userPass, who.mode, "")
			waitHome(t, other)
			if !eval[bool](t, other, `document.getElementById('nav-ent').hidden && document.getElementById('lien-ent').closest('li').hidden`) {
				t.Errorf("%s sees a link to Connexion via l'ENT", who.login)
			}
			code, e := s.callJSON(t, http.MethodGet, "/providers", nil, tabCookie(t, s, other), nil)
			if code != http.StatusForbidden {
				t.Fatalf("%s: GET /providers answered %d", who.login, code)
			}
			do(t, other, chromedp.Navigate(s.url+"/ent"))
			waitFor(t, other, `document.querySelector('#erreur .alert')`)
			contains(t, who.login+" on /ent", text(t, other, "#erreur .alert"), norm(e.Error.Message))
			if eval[bool](t, other, `!document.getElementById('vue').hidden`) {
				t.Errorf("%s sees the providers' view", who.login)
			}
		}
	})

	t.Run("UserENTID", func(t *testing.T) {
		do(t, tab, chromedp.Navigate(s.url+"/utilisateurs?q=mdurand"))
		waitPage(t, tab, "/utilisateurs")
		waitFor(t, tab, `document.querySelector('#users tr[data-login="mdurand"]')`)
		click(t, tab, `#users tr[data-login="mdurand"] button[data-action="edit"]`)
		waitFor(t, tab, `!document.getElementById('edition').hidden && document.getElementById('e-ent').value === ''`)
		typeIn(t, tab, "#e-ent", "ent-prof-0042")
		click(t, tab, "#enregistrer")
		waitFor(t, tab, `document.querySelector('#annonce .alert-ok')`)
		var u struct {
			EntID *string `json:"entId"`
		}
		if code, e := s.callJSON(t, http.MethodGet, "/users/mdurand", nil, spr, &u); code != http.StatusOK || u.EntID == nil || *u.EntID != "ent-prof-0042" {
			t.Fatalf("GET /users/mdurand: %d %s, entId %v", code, e.Error.Message, u.EntID)
		}
		waitFor(t, tab, `document.querySelector('#users tr[data-login="mdurand"] [data-ent]')`)
		contains(t, "list", text(t, tab, `#users tr[data-login="mdurand"] [data-ent]`), "Identifiant ENT : ent-prof-0042")
		// Another account may not take the same identifier: the API's message.
		click(t, tab, "#fermer")
		do(t, tab, chromedp.Navigate(s.url+"/utilisateurs?q=vsco"))
		waitFor(t, tab, `document.querySelector('#users tr[data-login="vsco"]')`)
		click(t, tab, `#users tr[data-login="vsco"] button[data-action="edit"]`)
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
		typeIn(t, tab, "#e-ent", "ent-prof-0042")
		click(t, tab, "#enregistrer")
		waitFor(t, tab, `document.querySelector('#erreur .alert')`)
		contains(t, "taken identifier", text(t, tab, "#erreur .alert"), "ent-prof-0042", "mdurand")
		if !eval[bool](t, tab, `document.getElementById('e-ent').getAttribute('aria-invalid') === 'true'`) {
			t.Error("the refused identifier is not marked")
		}
		// Emptied, the link is gone.
		do(t, tab, chromedp.Navigate(s.url+"/utilisateurs?q=mdurand"))
		waitFor(t, tab, `document.querySelector('#users tr[data-login="mdurand"]')`)
		click(t, tab, `#users tr[data-login="mdurand"] button[data-action="edit"]`)
		waitFor(t, tab, `document.getElementById('e-ent').value === 'ent-prof-0042'`)
		typeIn(t, tab, "#e-ent", "")
		click(t, tab, "#enregistrer")
		waitFor(t, tab, `document.querySelector('#annonce .alert-ok')`)
		contains(t, "unlinked", text(t, tab, "#annonce"), "n'est plus relié")
		u.EntID = nil
		if code, _ := s.callJSON(t, http.MethodGet, "/users/mdurand", nil, spr, &u); code != http.StatusOK || u.EntID != nil {
			t.Errorf("GET /users/mdurand after unlinking: %d, entId %v", code, u.EntID)
		}
	})
}

// storedSecret reads a provider's client secret from the store.
func storedSecret(t *testing.T, s *stack, id string) string {
	t.Helper()
	p, err := s.svc.Store.GetProvider(context.Background(), sesame.ProviderKey{UAI: uai, ID: id})
	if err != nil {
		t.Fatalf("GetProvider %s: %v", id, err)
	}
	return p.ClientSecret.Reveal()
}
