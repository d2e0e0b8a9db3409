package sso_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/sso"
)

func TestOIDCSignIn(t *testing.T) {
	ctx, srv := setup(t)
	c, cfg := newClient(), oidcConfig(srv)
	t0 := time.Now()
	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	id, err := finish(t, ctx, c, cfg, flow, arr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("OIDC Begin, sign-in, Finish in %v", time.Since(t0).Round(time.Millisecond))
	if id.Protocol != sso.OIDC || id.Subject != idp.User || first(id, "uai") != "0750001A" || first(id, "ent_profile") != "National_ENS" ||
		id.IDToken == "" || !id.NotOnOrAfter.After(time.Now()) {
		t.Fatalf("identity = %+v", id)
	}

	// The identifying claim is the Config's.
	cfg2 := cfg
	cfg2.IdentityAttribute = "email"
	flow, arr = signIn(t, ctx, c, cfg2, browser(srv), idp.User, idp.UserPassword)
	if id, err := finish(t, ctx, c, cfg2, flow, arr); err != nil || id.Subject != "paul.martin@ent.test" {
		t.Fatalf("subject by email: %q, %v", id.Subject, err)
	}
	// A code is single use: the provider refuses it the second time.
	_, err = finish(t, ctx, c, cfg2, flow, arr)
	wantKind(t, err, sso.Refused)
}

func first(id sso.Identity, name string) string {
	if v := id.Attributes[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// tokenRewriter changes the ID token of the provider's token response, as
// a forger between the relying party and a careless provider would.
type tokenRewriter struct {
	idToken func(string) string
}

func (rw tokenRewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth2/token") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	raw, _ := body["id_token"].(string)
	body["id_token"] = rw.idToken(raw)
	b, _ := json.Marshal(body)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func rewritingClient(f func(string) string) *sso.Client {
	return &sso.Client{HTTP: &http.Client{Timeout: flowTimeout, Transport: tokenRewriter{f}}, Replay: newGuard()}
}

func jwtPart(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jwtEncode(m map[string]any) string {
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestOIDCRefusals(t *testing.T) {
	ctx, srv := setup(t)
	cfg := oidcConfig(srv)
	other := cfg
	other.ClientID, other.ClientSecret = idp.OtherClientID, idp.OtherClientSecret

	// A genuine ID token signed by the same provider for another client
	// (another school's relying party).
	c := newClient()
	flow, arr := signIn(t, ctx, c, other, browser(srv), idp.User, idp.UserPassword)
	otherID, err := finish(t, ctx, c, other, flow, arr)
	if err != nil {
		t.Fatal(err)
	}

	cases := []refusal{
		{reason: `state does not match`, name: "state", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival { return withQuery(a, "state", "forged") }},
		{reason: `state does not match`, name: "state missing", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival { return withQuery(a, "state", "") }},
		{reason: `nonce does not match`, name: "nonce", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival { f.Nonce = "another-nonce"; return a }},
		{reason: `invalid_grant`, name: "PKCE verifier", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival { f.Verifier = strings.Repeat("v", 43); return a }},
		{reason: `no PKCE verifier`, name: "PKCE verifier missing", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival { f.Verifier = ""; return a }},
		{reason: `nonce does not match`, name: "nonce missing", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival { f.Nonce = ""; return a }},
		{reason: `expired`, name: "expired ID token", now: 24 * time.Hour},
		{reason: `audience`, name: "another audience", client: rewritingClient(func(string) string { return otherID.IDToken })},
		{reason: `signature`, name: "tampered payload", client: rewritingClient(func(raw string) string {
			p := strings.Split(raw, ".")
			claims := jwtPart(t, raw, 1)
			claims["sub"] = idp.OtherUser
			return p[0] + "." + jwtEncode(claims) + "." + p[2]
		})},
		{reason: `"none"`, name: "alg none", client: rewritingClient(func(raw string) string {
			return jwtEncode(map[string]any{"alg": "none", "typ": "JWT"}) + "." + strings.Split(raw, ".")[1] + "."
		})},
		{reason: `"HS256"`, name: "HS256 keyed by the client secret", client: rewritingClient(func(raw string) string {
			h := jwtPart(t, raw, 0)
			h["alg"] = "HS256"
			return jwtEncode(h) + "." + strings.Join(strings.Split(raw, ".")[1:], ".")
		})},
		{reason: `another provider`, name: "flow of another provider", cfg: &other},
	}
	refuse(t, ctx, srv, cfg, cases)
}

func TestOIDCCancelledAtTheProvider(t *testing.T) {
	ctx, srv := setup(t)
	c, cfg := newClient(), oidcConfig(srv)
	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	cancelled := withQuery(withQuery(arr, "code", ""), "error", "access_denied")
	_, err := finish(t, ctx, c, cfg, flow, cancelled)
	wantKind(t, err, sso.Cancelled)
	// Another error from the provider is a refusal, not a cancellation.
	_, err = finish(t, ctx, c, cfg, flow, withQuery(cancelled, "error", "server_error"))
	wantKind(t, err, sso.Refused)
}
