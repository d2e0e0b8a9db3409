package sso

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// signingAlgs are the ID token algorithms accepted: asymmetric only, so
// neither "none" nor an HMAC keyed by the client secret.
var signingAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// oidcProvider is what discovery gives.
type oidcProvider struct {
	*oidc.Provider
	JWKSURL    string
	EndSession string
}

func (c *Client) discover(ctx context.Context, cfg Config, op string) (*oidcProvider, error) {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.http()), cfg.Issuer)
	if err != nil {
		// a transport error, a server error, or a document that does not
		// name this issuer: no sign-in is possible either way
		return nil, reachErr(ctx, OIDC, op, "discovery", err)
	}
	var extra struct {
		JWKSURL    string `json:"jwks_uri"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, fail(Unavailable, OIDC, op, fmt.Errorf("discovery: %w", err))
	}
	return &oidcProvider{Provider: p, JWKSURL: extra.JWKSURL, EndSession: extra.EndSession}, nil
}

func oauthConfig(cfg Config, p *oidcProvider) *oauth2.Config {
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: cfg.CallbackURL, Scopes: scopes}
}

func (c *Client) beginOIDC(ctx context.Context, cfg Config) (string, Flow, error) {
	p, err := c.discover(ctx, cfg, "begin")
	if err != nil {
		return "", Flow{}, err
	}
	f := Flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	u := oauthConfig(cfg, p).AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce))
	return u, f, nil
}

func (c *Client) finishOIDC(ctx context.Context, cfg Config, f Flow, r *http.Request) (Identity, error) {
	q, err := callbackValues(r)
	if err != nil {
		return Identity{}, fail(Refused, OIDC, "finish", err)
	}
	if !same(q.Get("state"), f.State) {
		return Identity{}, failf(Refused, OIDC, "finish", "state does not match the flow")
	}
	if e := q.Get("error"); e != "" {
		kind := Refused
		if e == "access_denied" {
			kind = Cancelled
		}
		return Identity{}, failf(kind, OIDC, "finish", "the provider answered %.64q: %.200q", e, q.Get("error_description"))
	}
	code := q.Get("code")
	if f.Verifier == "" {
		return Identity{}, failf(Refused, OIDC, "finish", "the flow has no PKCE verifier")
	}
	if code == "" {
		return Identity{}, failf(Refused, OIDC, "finish", "no code in the callback")
	}
	p, err := c.discover(ctx, cfg, "finish")
	if err != nil {
		return Identity{}, err
	}
	cctx := oidc.ClientContext(ctx, c.http())
	tok, err := oauthConfig(cfg, p).Exchange(cctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, exchangeErr(ctx, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, failf(Refused, OIDC, "finish", "no ID token in the token response")
	}
	keys := &keySet{inner: oidc.NewRemoteKeySet(cctx, p.JWKSURL)}
	v := oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: signingAlgs, Now: c.now})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		if ferr := keys.fetchErr(); ferr != nil {
			return Identity{}, reachErr(ctx, OIDC, "finish", "signing keys", ferr)
		}
		return Identity{}, fail(Refused, OIDC, "finish", err)
	}
	if !same(idt.Nonce, f.Nonce) {
		return Identity{}, failf(Refused, OIDC, "finish", "nonce does not match the flow")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fail(Refused, OIDC, "finish", err)
	}
	id := Identity{Attributes: flatten(claims), NotOnOrAfter: idt.Expiry, IDToken: raw}
	if _, ok := id.Attributes[cfg.identityAttribute()]; !ok && p.UserInfoEndpoint() != "" {
		if err := c.mergeUserInfo(cctx, p, tok, idt.Subject, id.Attributes); err != nil {
			return Identity{}, err
		}
	}
	id.Subject = first(id.Attributes, cfg.identityAttribute())
	id.AssertionID = first(id.Attributes, "jti")
	id.SessionIndex = first(id.Attributes, "sid")
	return id, nil
}

// mergeUserInfo adds the userinfo claims the ID token lacks, when they are
// about the same subject.
func (c *Client) mergeUserInfo(ctx context.Context, p *oidcProvider, tok *oauth2.Token, sub string, into map[string][]string) error {
	ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return reachErr(ctx, OIDC, "finish", "userinfo", err)
	}
	if ui.Subject != sub {
		return failf(Refused, OIDC, "finish", "userinfo is about another subject")
	}
	var claims map[string]any
	if err := ui.Claims(&claims); err != nil {
		return fail(Refused, OIDC, "finish", err)
	}
	for k, v := range flatten(claims) {
		if _, ok := into[k]; !ok {
			into[k] = v
		}
	}
	return nil
}

// exchangeErr classifies a failed token exchange: the provider refusing the
// code (a reused code, a wrong PKCE verifier, another client) is Refused;
// not reaching it, or a server error, is Unavailable.
func exchangeErr(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		return fail(Refused, OIDC, "finish", fmt.Errorf("token exchange: %w", err))
	}
	return reachErr(ctx, OIDC, "finish", "token exchange", err)
}

// keySet wraps the provider's remote key set to remember a failure to fetch
// the keys, which go-oidc reports as a mere verification failure.
type keySet struct {
	inner *oidc.RemoteKeySet
	mu    sync.Mutex
	err   error
}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	if err != nil && isTransport(err) {
		k.mu.Lock()
		k.err = err
		k.mu.Unlock()
	}
	return payload, err
}

func (k *keySet) fetchErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

func (c *Client) logoutOIDC(ctx context.Context, cfg Config, hint LogoutHint) (string, error) {
	p, err := c.discover(ctx, cfg, "logout")
	if err != nil {
		return "", err
	}
	if p.EndSession == "" {
		return "", failf(Misconfigured, OIDC, "logout", "the provider has no end_session_endpoint")
	}
	u, err := url.Parse(p.EndSession)
	if err != nil {
		return "", fail(Misconfigured, OIDC, "logout", err)
	}
	q := u.Query()
	q.Set("client_id", cfg.ClientID)
	if hint.IDToken != "" {
		q.Set("id_token_hint", hint.IDToken)
	}
	if cfg.PostLogoutURL != "" {
		q.Set("post_logout_redirect_uri", cfg.PostLogoutURL)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// flatten turns JSON claims into attribute lists: strings as they are,
// numbers and booleans in their JSON form, arrays element by element.
// Objects are left out.
func flatten(claims map[string]any) map[string][]string {
	out := make(map[string][]string, len(claims))
	for k, v := range claims {
		var vals []string
		for _, e := range asList(v) {
			switch e := e.(type) {
			case string:
				vals = append(vals, e)
			case float64:
				vals = append(vals, strconv.FormatFloat(e, 'f', -1, 64))
			case bool:
				vals = append(vals, strconv.FormatBool(e))
			}
		}
		if len(vals) > 0 {
			out[k] = vals
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func first(attrs map[string][]string, name string) string {
	if v := attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
