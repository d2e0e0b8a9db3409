package ssoweb

import (
	"errors"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/sso"
)

// TestEveryRefusalHasItsMessage: each kind of refusal of the protocol
// layer becomes a domain error whose code the sign-in page has a message
// for (sesame.SignInRefusals).
func TestEveryRefusalHasItsMessage(t *testing.T) {
	p := sesame.IdentityProvider{ID: "ent", DisplayName: "ENT du collège"}
	for _, k := range []sso.Kind{sso.Unavailable, sso.Refused, sso.Replayed, sso.Cancelled, sso.Misconfigured} {
		err := translate(p, &sso.Error{Kind: k, Err: errors.New("détail")})
		code := sesame.ErrorCode(err)
		known := false
		for _, r := range sesame.SignInRefusals {
			known = known || r.Code == code
		}
		if !known {
			t.Errorf("%s becomes %q (%v), which the sign-in page does not know", k, code, err)
		}
		if m := sesame.ErrorMessage(err); m == "" {
			t.Errorf("%s: message %q", k, m)
		}
	}
}
