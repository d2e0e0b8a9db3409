package idp

import (
	"context"
	"net/http"
	"time"

	"github.com/sesame-ecole/sesame/infra/sso"
)

// The CAS flows themselves (ticket, single use, exact service) are tested
// through the product's client in infra/sso. Here the provider's CAS server
// only has to be reachable, or not, for the stop tests.

// casValidate validates ticket server to server through the product's CAS
// client, with client's timeout.
func casValidate(ctx context.Context, client *http.Client, srv *Server, ticket string) error {
	c := &sso.Client{HTTP: client, Replay: firstTime{}}
	cfg := sso.Config{Protocol: sso.CAS, CASBaseURL: srv.CASURL(), CallbackURL: srv.Config.SPURL + "/cas/callback"}
	_, flow, err := c.Begin(ctx, cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, flow.Service+"&ticket="+ticket, nil)
	if err != nil {
		return err
	}
	_, err = c.Finish(ctx, cfg, flow, req)
	return err
}

// firstTime is a ReplayGuard that has never seen anything.
type firstTime struct{}

func (firstTime) Seen(context.Context, string, time.Time) (bool, error) { return true, nil }
