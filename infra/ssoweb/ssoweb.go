// Package ssoweb is the protocol layer (infra/sso) as the HTTP API uses it
// for the sign-in through a school's identity provider: it builds each
// call's sso.Config from the domain's IdentityProvider, seals the flow in
// the cookie's value, and translates the protocol's errors into the
// domain's. Only the login function and the single server link it (see
// httpapi.Federation): the other functions carry none of the SAML and
// OpenID Connect libraries.
//
//	h := httpapi.New(httpapi.Config{Service: svc, Federation: ssoweb.New(nil)})
package ssoweb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/sso"
)

// Federation implements httpapi.Federation with infra/sso.
type Federation struct {
	client *sso.Client
}

var _ httpapi.Federation = (*Federation)(nil)

// New returns the protocol layer calling providers through hc (which must
// have a Timeout; nil: one of httpapi.SSOTimeout).
func New(hc *http.Client) *Federation {
	if hc == nil {
		hc = &http.Client{Timeout: httpapi.SSOTimeout}
	}
	return &Federation{client: &sso.Client{HTTP: hc, Replay: deferredGuard{}}}
}

// deferredGuard is the sso.ReplayGuard of the callbacks. It records
// nothing itself: the proof it is shown is the Identity.AssertionID that
// LoginWithIdentity records through Store.UseAssertion, the one home of
// the single-use rule (a replay is assertion_replayed there). The CAS
// server refuses a reused ticket on its own side as well.
type deferredGuard struct{}

func (deferredGuard) Seen(context.Context, string, time.Time) (bool, error) { return true, nil }

// config is provider p as the protocol layer needs it.
func config(p sesame.IdentityProvider, e httpapi.Endpoints) sso.Config {
	cfg := sso.Config{Protocol: sso.Protocol(p.Protocol), IdentityAttribute: p.Claim, CallbackURL: e.Callback,
		PostLogoutURL: e.PostLogout, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret.Reveal(),
		SAMLMetadataURL: p.MetadataURL, SAMLMetadataXML: p.MetadataXML, SPEntityID: e.EntityID, CASBaseURL: p.CASURL}
	switch p.Protocol {
	case sesame.ProtocolSAML:
		cfg.CallbackURL, cfg.PostLogoutURL = e.ACS, e.SLO
		if p.Claim == sesame.ClaimSubject {
			cfg.IdentityAttribute = "" // the protocol layer's default, uid
		}
	case sesame.ProtocolCAS:
		if p.Claim == sesame.ClaimSubject {
			cfg.IdentityAttribute = "" // cas:user
		}
	}
	return cfg
}

// Begin implements httpapi.Federation.
func (f *Federation) Begin(ctx context.Context, p sesame.IdentityProvider, e httpapi.Endpoints, data map[string]string, key []byte, expires time.Time) (string, string, error) {
	redirect, flow, err := f.client.Begin(ctx, config(p, e))
	if err != nil {
		return "", "", translate(p, err)
	}
	flow.Data = data
	sealed, err := sso.Seal(key, flow, expires)
	if err != nil {
		return "", "", fmt.Errorf("sso start: %w", err)
	}
	return redirect, sealed, nil
}

// Open implements httpapi.Federation.
func (f *Federation) Open(key []byte, sealed string, now time.Time) (map[string]string, error) {
	flow, err := sso.Open(key, sealed, now)
	if err != nil {
		return nil, translate(sesame.IdentityProvider{}, err)
	}
	return flow.Data, nil
}

// Finish implements httpapi.Federation.
func (f *Federation) Finish(ctx context.Context, p sesame.IdentityProvider, e httpapi.Endpoints, key []byte, sealed string, r *http.Request, now time.Time) (sesame.Identity, map[string]string, error) {
	flow, err := sso.Open(key, sealed, now)
	if err != nil {
		return sesame.Identity{}, nil, translate(p, err)
	}
	c := *f.client
	c.Now = func() time.Time { return now }
	id, err := c.Finish(ctx, config(p, e), flow, r)
	if err != nil {
		return sesame.Identity{}, nil, translate(p, err)
	}
	h := id.LogoutHint()
	hint := map[string]string{"nameId": h.NameID, "nameIdFormat": h.NameIDFormat, "nameQualifier": h.NameQualifier,
		"spNameQualifier": h.SPNameQualifier, "sessionIndex": h.SessionIndex, "idToken": h.IDToken}
	return sesame.Identity{Subject: id.Subject, Attributes: id.Attributes, AssertionID: id.AssertionID, AssertionExpires: id.NotOnOrAfter}, hint, nil
}

// Seal implements httpapi.Federation.
func (f *Federation) Seal(key []byte, data map[string]string, expires time.Time) (string, error) {
	return sso.Seal(key, sso.Flow{Data: data}, expires)
}

// LogoutURL implements httpapi.Federation. For SAML the pending logout
// (the LogoutRequest's ID, and data) is sealed for FinishLogout.
func (f *Federation) LogoutURL(ctx context.Context, p sesame.IdentityProvider, e httpapi.Endpoints, hint map[string]string,
	data map[string]string, key []byte, expires time.Time) (string, string, error) {
	u, flow, err := f.client.LogoutURL(ctx, config(p, e), sso.LogoutHint{NameID: hint["nameId"], NameIDFormat: hint["nameIdFormat"],
		NameQualifier: hint["nameQualifier"], SPNameQualifier: hint["spNameQualifier"], SessionIndex: hint["sessionIndex"], IDToken: hint["idToken"]})
	if err != nil {
		return "", "", translate(p, err)
	}
	if flow.RequestID == "" {
		return u, "", nil
	}
	flow.Data = data
	sealed, err := sso.Seal(key, flow, expires)
	if err != nil {
		return "", "", fmt.Errorf("sso logout: %w", err)
	}
	return u, sealed, nil
}

// FinishLogout implements httpapi.Federation.
func (f *Federation) FinishLogout(ctx context.Context, p sesame.IdentityProvider, e httpapi.Endpoints, key []byte, sealed string, r *http.Request, now time.Time) error {
	flow, err := sso.Open(key, sealed, now)
	if err != nil {
		return translate(p, err)
	}
	c := *f.client
	c.Now = func() time.Time { return now }
	return translate(p, c.FinishLogout(ctx, config(p, e), flow, r))
}

// translate turns an error of the protocol layer into the domain's:
// provider_unavailable, assertion_replayed, or the protocol's refusals
// with their French message.
func translate(p sesame.IdentityProvider, err error) error {
	var se *sso.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Kind {
	case sso.Unavailable:
		return &sesame.ProviderUnavailableError{Provider: p.DisplayName, Err: err}
	case sso.Replayed:
		return fmt.Errorf("%w: %w", sesame.ErrAssertionReplayed, err)
	}
	return fmt.Errorf("%w: %w", sesame.SignInRefusal(string(se.Kind)), err)
}
