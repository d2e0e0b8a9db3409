package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Sign-in through the school's identity provider (its ENT, EduConnect):
//
//	GET  /login/sso/start?school=&provider=&mode=&access=  → 302 to the provider, the flow sealed in a cookie
//	GET  /login/sso/callback                               ← OIDC and CAS come back here
//	POST /login/sso/acs                                    ← SAML's HTTP-POST binding
//
// The callbacks map the provider's answer to the domain (LoginWithIdentity),
// set the same cookies as POST /login, and send the browser to the home
// page; a refusal sends it back to the sign-in page with its code
// (/?raison=<code>&ecole=<uai>).

// Paths of the sign-in through a provider, under Prefix. The provider is
// told them once (the OIDC redirect URI, the SAML ACS and entity ID, the
// CAS service).
const (
	SSOStartPath    = "/login/sso/start"
	SSOCallbackPath = "/login/sso/callback"
	SSOACSPath      = "/login/sso/acs"
	// SSOLogoutPath ends the provider's session after Sésame's own logout,
	// where the provider's SingleLogout is on.
	SSOLogoutPath = "/login/sso/logout"
	// SSOEntityPath names Sésame as a SAML service provider (the audience
	// of assertions); nothing is served there.
	SSOEntityPath = "/login/sso/saml"
)

// SSOTimeout bounds each call to a provider by default (Config.SSOHTTP).
const SSOTimeout = 3 * time.Second

// FlowCookie keeps the sealed flow between the start and the callback.
const FlowCookie = "sesame_sso"

// LogoutCookie keeps, sealed, what ending the provider's session needs
// (the school, the provider, its logout hint); EntCookie, readable by the
// pages, tells them to go through SSOLogoutPath after POST /logout. Both
// are set only when the provider's SingleLogout is on.
const (
	LogoutCookie = "sesame_sso_logout"
	EntCookie    = "sesame_ent"
)

// flowLifetime bounds the time spent at the provider.
const flowLifetime = 10 * time.Minute

// flowKeyName is the secret that seals flows, kept in the service's
// SecretStore like the device key.
const flowKeyName = "sso-flow-key"

// Federation is the protocol layer of the sign-in through a provider
// (infra/ssoweb over infra/sso). Only the login function (Login.With) and
// the single server give one, so that the other functions link none of
// the SAML and OpenID Connect libraries; without it the routes answer 501
// not_configured. Its errors are the domain's (sesame.SignInRefusal for
// the protocol's own refusals).
type Federation interface {
	// Begin returns the provider's URL to send the browser to, and the
	// flow carrying data, sealed with key until expires.
	Begin(ctx context.Context, p sesame.IdentityProvider, e Endpoints, data map[string]string, key []byte, expires time.Time) (redirect, sealed string, err error)
	// Open returns the data sealed by Begin.
	Open(key []byte, sealed string, now time.Time) (map[string]string, error)
	// Finish checks the provider's callback r against the sealed flow and
	// returns who signed in, and what a later logout at the provider needs.
	Finish(ctx context.Context, p sesame.IdentityProvider, e Endpoints, key []byte, sealed string, r *http.Request, now time.Time) (id sesame.Identity, logoutHint map[string]string, err error)
	// Seal seals data with key until expires (Open reads it back).
	Seal(key []byte, data map[string]string, expires time.Time) (string, error)
	// LogoutURL is where to send the browser to end the provider's session
	// too (hint as Finish gave it). When the provider answers the logout
	// (SAML's LogoutResponse), pending is the logout awaiting it, carrying
	// data, sealed with key until expires; otherwise it is empty.
	LogoutURL(ctx context.Context, p sesame.IdentityProvider, e Endpoints, hint, data map[string]string, key []byte, expires time.Time) (redirect, pending string, err error)
	// FinishLogout checks the provider's answer r to the logout pending
	// (its signature, issuer, destination and InResponseTo).
	FinishLogout(ctx context.Context, p sesame.IdentityProvider, e Endpoints, key []byte, pending string, r *http.Request, now time.Time) error
}

// Endpoints are Sésame's addresses a provider is told, as the browser
// reaches the site.
type Endpoints struct {
	Callback   string // OIDC redirect URI, CAS service
	ACS        string // SAML assertion consumer service
	EntityID   string // SAML service provider
	SLO        string // SAML single logout service: the LogoutResponse comes back there
	PostLogout string // where a provider's logout comes back (OIDC, CAS)
}

// With returns f serving the sign-in through a provider with fed.
func (f Function) With(fed Federation) Function {
	f.federation = fed
	return f
}

func (a *api) endpoints(r *http.Request) Endpoints {
	o := a.origin(r)
	return Endpoints{Callback: o + Prefix + SSOCallbackPath, ACS: o + Prefix + SSOACSPath, EntityID: o + Prefix + SSOEntityPath,
		SLO: o + Prefix + SSOLogoutPath, PostLogout: o + "/?raison=logged_out"}
}

// federation returns the protocol layer and the flow key, or
// not_configured.
func (a *api) federation(ctx context.Context) (Federation, []byte, error) {
	if a.cfg.Federation == nil {
		return nil, nil, &sesame.Error{Code: sesame.CodeNotConfigured, Message: "La connexion par l'ENT n'est pas disponible sur ce serveur."}
	}
	key, err := a.flowKey(ctx)
	return a.cfg.Federation, key, err
}

// ssoState is what the sign-in through a provider keeps across requests of
// one process: the flow key, read once from the SecretStore.
type ssoState struct {
	mu  sync.Mutex
	key []byte
}

func (a *api) flowKey(ctx context.Context) ([]byte, error) {
	a.sso.mu.Lock()
	defer a.sso.mu.Unlock()
	if a.sso.key != nil {
		return a.sso.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	k, err := a.svc.Store.Secret(ctx, flowKeyName, fresh)
	if err != nil {
		return nil, fmt.Errorf("sso flow key: %w", err)
	}
	a.sso.key = k
	return k, nil
}

// origin is the site's own origin as the browser reached it.
func (a *api) origin(r *http.Request) string {
	scheme := "http"
	if a.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + a.site.host(r)
}

// ssoStart leaves for the provider with the school and the mode chosen.
func (a *api) ssoStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	school, mode, access := q.Get("school"), q.Get("mode"), q.Get("access")
	infoOf(r).school = school
	if access == "" {
		access = string(sesame.Modify)
	}
	if _, err := sesame.ParseMode(mode); err != nil {
		a.ssoRefuse(w, r, school, err)
		return
	}
	if _, err := sesame.ParseAccess(access); err != nil {
		a.ssoRefuse(w, r, school, err)
		return
	}
	p, err := a.svc.ProviderForSignIn(r.Context(), school, q.Get("provider"))
	if err != nil {
		a.ssoRefuse(w, r, school, err)
		return
	}
	fed, key, err := a.federation(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	data := map[string]string{"school": school, "provider": p.ID, "mode": mode, "access": access}
	redirect, sealed, err := fed.Begin(r.Context(), p, a.endpoints(r), data, key, a.svc.Clock.Now().Add(flowLifetime))
	if err != nil {
		a.ssoRefuse(w, r, school, err)
		return
	}
	a.setFlowCookie(w, r, sealed, int(flowLifetime/time.Second))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, redirect, http.StatusFound)
}

// setFlowCookie keeps the sealed flow. Over HTTPS it is SameSite=None so
// that the SAML POST, a cross-site request, carries it; over plain HTTP
// (the single server on a school's network) it is Lax, and the ACS re-posts
// the form same-site first (ssoRepost).
func (a *api) setFlowCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	c := &http.Cookie{Name: FlowCookie, Value: value, Path: Prefix + "/login/sso", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if a.secure(r) {
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// ssoCallback finishes a sign-in: the OIDC and CAS redirect (GET), the
// SAML response (POST).
func (a *api) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	}
	c, err := r.Cookie(FlowCookie)
	// ParseForm, not FormValue: a callback is never multipart, and
	// FormValue would link a multipart parser into the login function.
	if err != nil && r.Method == http.MethodPost && (r.ParseForm() != nil || r.PostForm.Get("sesame_repost") == "") {
		a.ssoRepost(w, r)
		return
	}
	if err != nil {
		a.ssoRefuse(w, r, "", sesame.SignInRefusal(sesame.CodeResponseRefused))
		return
	}
	a.setFlowCookie(w, r, "", -1) // one use
	fed, key, err := a.federation(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := a.svc.Clock.Now()
	data, err := fed.Open(key, c.Value, now)
	if err != nil {
		a.ssoRefuse(w, r, "", err)
		return
	}
	school := data["school"]
	infoOf(r).school = school
	p, err := a.svc.ProviderForSignIn(r.Context(), school, data["provider"])
	if err != nil {
		a.ssoRefuse(w, r, school, err)
		return
	}
	id, hint, err := fed.Finish(r.Context(), p, a.endpoints(r), key, c.Value, r, now)
	if err != nil {
		a.svc.RefuseIdentity(r.Context(), school, err)
		a.ssoRefuse(w, r, school, err)
		return
	}
	req := sesame.IdentityLogin{School: school, Provider: p.ID, Mode: data["mode"], Access: data["access"], Identity: id, Address: a.address(r)}
	if c, err := r.Cookie(DeviceCookie); err == nil {
		req.Device = c.Value
	}
	res, err := a.svc.LoginWithIdentity(r.Context(), req)
	if err != nil {
		a.ssoRefuse(w, r, school, err)
		return
	}
	a.setSignInCookies(w, r, res)
	if p.SingleLogout {
		a.keepLogoutHint(w, r, fed, key, school, p.ID, hint, now)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/accueil", http.StatusSeeOther)
}

// keepLogoutHint sets LogoutCookie and EntCookie for the session's life
// at most. A hint that cannot be sealed only loses the provider's logout.
func (a *api) keepLogoutHint(w http.ResponseWriter, r *http.Request, fed Federation, key []byte, school, provider string, hint map[string]string, now time.Time) {
	data := map[string]string{"school": school, "provider": provider}
	for k, v := range hint {
		if v != "" {
			data[k] = v
		}
	}
	sealed, err := fed.Seal(key, data, now.Add(a.svc.Timing.Absolute))
	if err != nil || len(sealed) > 3500 {
		a.log.Warn("sso logout hint not kept", "school", school, "provider", provider, "bytes", len(sealed), "error", err)
		return
	}
	a.setLogoutCookie(w, r, sealed, 0)
	http.SetCookie(w, &http.Cookie{Name: EntCookie, Value: "1", Path: "/", Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
}

// ssoLogout sends the browser, after Sésame's own logout (POST /logout),
// to the provider's logout, which comes back to the sign-in page; without
// a kept hint, straight to the sign-in page. A SAML IdP comes back here
// with its LogoutResponse (ssoLogoutResponse).
func (a *api) ssoLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, &http.Cookie{Name: EntCookie, Path: "/", MaxAge: -1, Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
	if r.URL.Query().Has("SAMLResponse") {
		a.ssoLogoutResponse(w, r)
		return
	}
	u, pending, err := a.ssoLogoutURL(r)
	if err != nil || u == "" {
		// Sésame's session is already over: that is what matters.
		a.log.Info("sso logout at the provider skipped", "error", err)
		a.setLogoutCookie(w, r, "", -1)
		http.Redirect(w, r, loggedOut, http.StatusSeeOther)
		return
	}
	if pending != "" {
		a.setLogoutCookie(w, r, pending, int(flowLifetime/time.Second))
	} else {
		a.setLogoutCookie(w, r, "", -1)
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// loggedOut is the sign-in page after a logout.
const loggedOut = "/?raison=logged_out"

// ssoLogoutURL is the provider's logout for the hint kept in LogoutCookie
// ("" without one, or when SingleLogout is off), and the logout pending
// its answer, if the provider sends one.
func (a *api) ssoLogoutURL(r *http.Request) (string, string, error) {
	c, err := r.Cookie(LogoutCookie)
	if err != nil || a.cfg.Federation == nil {
		return "", "", nil
	}
	fed, key, err := a.federation(r.Context())
	if err != nil {
		return "", "", err
	}
	now := a.svc.Clock.Now()
	data, err := fed.Open(key, c.Value, now)
	if err != nil {
		return "", "", err
	}
	infoOf(r).school = data["school"]
	p, err := a.svc.ProviderForSignIn(r.Context(), data["school"], data["provider"])
	if err != nil || !p.SingleLogout {
		return "", "", err
	}
	return fed.LogoutURL(r.Context(), p, a.endpoints(r), data, map[string]string{"school": data["school"], "provider": p.ID},
		key, now.Add(flowLifetime))
}

// ssoLogoutResponse checks the SAML IdP's LogoutResponse against the
// logout pending in LogoutCookie (one use). Sésame's session ended before
// the browser left: a response that fails only tells the person that the
// provider's session may live on (provider_logout_refused).
func (a *api) ssoLogoutResponse(w http.ResponseWriter, r *http.Request) {
	a.setLogoutCookie(w, r, "", -1)
	school, err := a.finishLogout(r)
	if err != nil {
		a.log.Warn("sso logout response refused", "school", school, "error", err)
		a.ssoRefuse(w, r, school, sesame.SignInRefusal(sesame.CodeProviderLogoutRefused))
		return
	}
	http.Redirect(w, r, loggedOut, http.StatusSeeOther)
}

func (a *api) finishLogout(r *http.Request) (string, error) {
	c, err := r.Cookie(LogoutCookie)
	if err != nil {
		return "", errors.New("no logout pending in this browser")
	}
	fed, key, err := a.federation(r.Context())
	if err != nil {
		return "", err
	}
	now := a.svc.Clock.Now()
	data, err := fed.Open(key, c.Value, now)
	if err != nil {
		return "", err
	}
	school := data["school"]
	infoOf(r).school = school
	p, err := a.svc.ProviderForSignIn(r.Context(), school, data["provider"])
	if err != nil {
		return school, err
	}
	return school, fed.FinishLogout(r.Context(), p, a.endpoints(r), key, c.Value, r, now)
}

// setLogoutCookie sets LogoutCookie to value for maxAge seconds (0: the
// browser's session; -1: deletes it).
func (a *api) setLogoutCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: LogoutCookie, Value: value, Path: Prefix + "/login/sso", MaxAge: maxAge, HttpOnly: true,
		Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
}

// ssoRefuse sends the browser back to the sign-in page with the code of
// err; an internal error is answered as such.
func (a *api) ssoRefuse(w http.ResponseWriter, r *http.Request, school string, err error) {
	ae := toAPIError(err)
	if ae.code == codeInternalErr {
		writeError(w, r, err)
		return
	}
	infoOf(r).code = ae.code
	q := url.Values{"raison": {ae.code}}
	if school != "" {
		q.Set("ecole", school)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
}

// repostScript submits the re-post form; the page's CSP allows it by hash.
const repostScript = `document.forms[0].submit();`

// repostCSP is the re-post page's policy. It is built per call, as the page
// itself: the other functions link none of this.
func repostCSP() string {
	h := sha256.Sum256([]byte(repostScript))
	return "default-src 'none'; form-action 'self'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// ssoRepost answers a SAML POST that came without the flow cookie (a
// cross-site POST does not carry a Lax cookie): a page that posts the same
// form to the same address from the site itself, which carries it.
func (a *api) ssoRepost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", repostCSP())
	w.Header().Set("Referrer-Policy", "no-referrer")
	var b strings.Builder
	b.WriteString(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Connexion en cours — Sésame</title></head>
<body><form method="post" action="` + Prefix + SSOACSPath + `">`)
	for _, k := range []string{"SAMLResponse", "RelayState"} {
		if v := r.PostForm.Get(k); v != "" {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, k, html.EscapeString(v))
		}
	}
	b.WriteString(`<input type="hidden" name="sesame_repost" value="1">
<p>Connexion en cours…</p><noscript><button type="submit">Continuer la connexion</button></noscript></form>
<script>` + repostScript + `</script></body></html>`)
	_, _ = io.WriteString(w, b.String())
}

// ssoExempt says whether route takes the provider's cross-site form POST.
func ssoExempt(route string, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return route == SSOACSPath && strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}
