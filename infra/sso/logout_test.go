package sso_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/sso"
	"github.com/sesame-ecole/sesame/infra/ssotest"
)

// The logout URL of each protocol ends the provider's session and brings
// the browser back to the Config's PostLogoutURL. Whether the session lives
// is seen at the next sign-in: with it, the provider answers without
// showing its login form (so a wrong password is never asked for).
func TestLogoutEndsTheProviderSession(t *testing.T) {
	ctx, srv := setup(t)
	for _, cfg := range allProtocols(srv) {
		t.Run(string(cfg.Protocol), func(t *testing.T) {
			c, b := newClient(), browser(srv)
			flow, arr := signIn(t, ctx, c, cfg, b, idp.User, idp.UserPassword)
			id, err := finish(t, ctx, c, cfg, flow, arr)
			if err != nil {
				t.Fatal(err)
			}
			if !sessionAlive(t, c, cfg, b) {
				t.Fatal("no provider session after signing in")
			}
			u, lflow, err := c.LogoutURL(ctx, cfg, id.LogoutHint())
			if err != nil {
				t.Fatal(err)
			}
			back, err := b.SignIn(ctx, u, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(back.URL.String(), cfg.PostLogoutURL) {
				t.Fatalf("came back to %s, want %s", back.URL, cfg.PostLogoutURL)
			}
			t.Logf("logout: %s %s", back.Method, back.URL.Redacted())
			if cfg.Protocol == sso.SAML {
				checkLogoutResponse(t, c, cfg, lflow, back)
			}
			if sessionAlive(t, c, cfg, b) {
				t.Fatal("the provider session outlived the logout")
			}
		})
	}
}

// sessionAlive begins a sign-in in browser b and reports whether the
// provider let it through without its login form.
func sessionAlive(t *testing.T, c *sso.Client, cfg sso.Config, b *idp.Browser) bool {
	t.Helper()
	start, _, err := c.Begin(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.SignIn(t.Context(), start, idp.User, "not-the-password")
	t.Logf("sign-in without the login form: %v", err == nil)
	return err == nil
}

// checkLogoutResponse: the IdP's SAML LogoutResponse (back) is accepted
// for the LogoutRequest it answers, and refused when its XML was changed
// (the signature no longer holds), or when it answers another request.
func checkLogoutResponse(t *testing.T, c *sso.Client, cfg sso.Config, flow sso.Flow, back *idp.Arrival) {
	t.Helper()
	if back.Method != http.MethodGet || back.URL.Query().Get("SAMLResponse") == "" || back.URL.Query().Get("Signature") == "" {
		t.Fatalf("the logout response came back as %s %s, want a signed HTTP-Redirect", back.Method, back.URL.Redacted())
	}
	request := func(a *idp.Arrival) *http.Request {
		r, err := a.Request(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	other := flow
	other.RequestID = "_" + strings.Repeat("0", 40)
	for name, tc := range map[string]struct {
		flow sso.Flow
		back *idp.Arrival
	}{"tampered": {flow, ssotest.TamperLogoutResponse(t, back)}, "another request": {other, back}} {
		err := c.FinishLogout(t.Context(), cfg, tc.flow, request(tc.back))
		var se *sso.Error
		if !errors.As(err, &se) || se.Kind != sso.Refused {
			t.Errorf("%s logout response: %v, want Refused", name, err)
		}
		t.Logf("%s logout response: %v", name, err)
	}
	if err := c.FinishLogout(t.Context(), cfg, flow, request(back)); err != nil {
		t.Fatalf("the IdP's logout response: %v", err)
	}
}
