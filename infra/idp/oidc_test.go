package idp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const flowTimeout = 10 * time.Second

// oidcSignIn runs the authorization code flow with PKCE, state and nonce up
// to the callback, and returns the code, the verifier and the nonce.
func oidcSignIn(t *testing.T, ctx context.Context, srv *Server, conf *oauth2.Config) (code, verifier, nonce string) {
	t.Helper()
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	b := NewBrowser(srv.Config.SPURL, flowTimeout)
	arr, err := b.SignIn(ctx, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), User, UserPassword)
	if err != nil {
		t.Fatal(err)
	}
	if arr.Method != "GET" || arr.URL.String()[:len(srv.Config.OIDCRedirectURI)] != srv.Config.OIDCRedirectURI {
		t.Fatalf("arrived by %s at %s, want a redirect to %s", arr.Method, arr.URL, srv.Config.OIDCRedirectURI)
	}
	if got := arr.URL.Query().Get("state"); got != state {
		t.Fatalf("state = %q, want %q", got, state)
	}
	code = arr.URL.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", arr.URL)
	}
	return code, verifier, nonce
}

func oidcSetup(t *testing.T) (context.Context, *Server, *oidc.Provider, *oauth2.Config) {
	srv := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	provider, err := oidc.NewProvider(ctx, srv.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: ClientID, ClientSecret: ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: srv.Config.OIDCRedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email", "ent"}}
	return ctx, srv, provider, conf
}

func TestOIDCAuthorizationCodeWithPKCE(t *testing.T) {
	ctx, srv, provider, conf := oidcSetup(t)
	t0 := time.Now()
	code, verifier, nonce := oidcSignIn(t, ctx, srv, conf)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: ClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("OIDC flow (sign-in, exchange, verification) in %v", time.Since(t0).Round(time.Millisecond))
	if idt.Nonce != nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	var claims struct {
		Sub, PreferredUsername, EntProfile, UAI string
	}
	var m map[string]any
	if err := idt.Claims(&m); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	t.Logf("ID token claims: %s", b)
	claims.Sub, _ = m["sub"].(string)
	claims.PreferredUsername, _ = m["preferred_username"].(string)
	claims.EntProfile, _ = m["ent_profile"].(string)
	claims.UAI, _ = m["uai"].(string)
	if claims.Sub != User || claims.PreferredUsername != User || claims.EntProfile != "National_ENS" || claims.UAI != "0750001A" {
		t.Fatalf("claims = %+v", claims)
	}

	// The same code a second time is refused (single use).
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code exchanged twice was accepted")
	}

	// What the relying party must refuse, each from the genuine token.
	refused := map[string]*oidc.IDTokenVerifier{
		"another audience": provider.Verifier(&oidc.Config{ClientID: "not-sesame"}),
		"expired":          provider.Verifier(&oidc.Config{ClientID: ClientID, Now: func() time.Time { return time.Now().Add(24 * time.Hour) }}),
		"another issuer":   oidc.NewVerifier("http://127.0.0.1:1", oidc.NewRemoteKeySet(ctx, srv.Issuer()+"/oauth2/jwks"), &oidc.Config{ClientID: ClientID}),
	}
	for name, v := range refused {
		if _, err := v.Verify(ctx, raw); err == nil {
			t.Errorf("%s: token accepted", name)
		} else {
			t.Logf("%s: refused: %v", name, err)
		}
	}
	verifier2 := provider.Verifier(&oidc.Config{ClientID: ClientID})
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), User, OtherUser, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	if _, err := verifier2.Verify(ctx, tampered); err == nil {
		t.Error("a token with a changed payload was accepted")
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	if _, err := verifier2.Verify(ctx, none); err == nil {
		t.Error(`a token with "alg": "none" was accepted`)
	} else {
		t.Logf(`alg none: refused: %v`, err)
	}
}

func TestOIDCRefusesAWrongPKCEVerifier(t *testing.T) {
	ctx, srv, _, conf := oidcSetup(t)
	code, _, _ := oidcSignIn(t, ctx, srv, conf)
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("the provider exchanged a code for a wrong PKCE verifier")
	} else {
		t.Logf("refused: %v", err)
	}
}
