package sso_test

import (
	"testing"

	"github.com/sesame-ecole/sesame/infra/idp"
)

// BenchmarkSignIn measures a whole sign-in against LemonLDAP::NG: Begin,
// the sealed flow, the provider's login form (a fresh browser each time),
// and Finish with all its checks and calls to the provider.
func BenchmarkSignIn(b *testing.B) {
	ctx, srv := setup(b)
	for _, cfg := range allProtocols(srv) {
		b.Run(string(cfg.Protocol), func(b *testing.B) {
			c := newClient()
			for b.Loop() {
				flow, arr := signIn(b, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
				if _, err := finish(b, ctx, c, cfg, flow, arr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
