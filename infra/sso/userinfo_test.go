package sso_test

import (
	"testing"

	"github.com/sesame-ecole/sesame/infra/idp"
)

// A provider that keeps claims out of the ID token (LemonLDAP::NG's
// second client) gives them at its userinfo endpoint: the identifying claim
// is taken from there.
func TestOIDCIdentifyingClaimFromUserInfo(t *testing.T) {
	ctx, srv := setup(t)
	c, cfg := newClient(), oidcConfig(srv)
	cfg.ClientID, cfg.ClientSecret, cfg.IdentityAttribute = idp.OtherClientID, idp.OtherClientSecret, "email"
	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	id, err := finish(t, ctx, c, cfg, flow, arr)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := jwtPart(t, id.IDToken, 1)["email"]; ok {
		t.Fatal("the ID token carries the email claim: userinfo was not needed")
	}
	if id.Subject != "paul.martin@ent.test" {
		t.Fatalf("subject = %q", id.Subject)
	}
}
