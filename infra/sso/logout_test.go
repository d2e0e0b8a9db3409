package sso_test

import (
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/sso"
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
			u, err := c.LogoutURL(ctx, cfg, id.LogoutHint())
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
