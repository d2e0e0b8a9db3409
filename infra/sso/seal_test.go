package sso_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/sso"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestSealOpenRoundTrip(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	f := sso.Flow{Protocol: sso.OIDC, Provider: "k", State: "s", Nonce: "n", Verifier: "v", Data: map[string]string{"uai": "0751234A"}}
	v, err := sso.Seal(testKey, f, now.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got, err := sso.Open(testKey, v, now.Add(10*time.Minute-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "s" || got.Nonce != "n" || got.Verifier != "v" || got.Provider != "k" || got.Protocol != sso.OIDC || got.Data["uai"] != "0751234A" {
		t.Fatalf("opened %+v, want %+v", got, f)
	}

	refused := map[string]struct {
		key   []byte
		value string
		at    time.Time
	}{
		"expired":           {testKey, v, now.Add(10 * time.Minute)},
		"another key":       {[]byte(strings.Repeat("k", 32)), v, now},
		"payload changed":   {testKey, flip(v, 3), now},
		"signature changed": {testKey, flip(v, len(v)-2), now},
		"signature missing": {testKey, v[:strings.IndexByte(v, '.')], now},
		"truncated":         {testKey, v[:len(v)-1], now},
		"empty":             {testKey, "", now},
		"too long":          {testKey, strings.Repeat("a", sso.MaxSealedLen+1), now},
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := sso.Open(c.key, c.value, c.at)
			if !errors.Is(err, sso.Refused) {
				t.Fatalf("err = %v, want %s", err, sso.Refused)
			}
			if name == "expired" && !errors.Is(err, sso.ErrFlowExpired) {
				t.Fatalf("err = %v, want ErrFlowExpired", err)
			}
		})
	}
}

// flip changes one character of s at i to another of the base64url alphabet.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestSealNeedsALongKey(t *testing.T) {
	if _, err := sso.Seal(testKey[:31], sso.Flow{}, time.Now().Add(time.Minute)); err == nil {
		t.Error("Seal accepted a 31-byte key")
	}
	if _, err := sso.Open(testKey[:31], "a.b", time.Now()); err == nil {
		t.Error("Open accepted a 31-byte key")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := map[string]sso.Config{
		"oidc": {Protocol: sso.OIDC, Issuer: "https://idp.test", ClientID: "c", ClientSecret: "s", CallbackURL: "https://sesame.test/cb"},
		"saml": {Protocol: sso.SAML, SAMLMetadataURL: "https://idp.test/md", SPEntityID: "https://sesame.test/saml", CallbackURL: "https://sesame.test/acs"},
		"cas":  {Protocol: sso.CAS, CASBaseURL: "https://cas.test/cas", CallbackURL: "https://sesame.test/cb"},
	}
	for name, c := range ok {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]sso.Config{
		"no protocol":       {Issuer: "https://idp.test", CallbackURL: "https://sesame.test/cb"},
		"oidc no secret":    {Protocol: sso.OIDC, Issuer: "https://idp.test", ClientID: "c", CallbackURL: "https://sesame.test/cb"},
		"saml no metadata":  {Protocol: sso.SAML, SPEntityID: "e", CallbackURL: "https://sesame.test/acs"},
		"cas relative base": {Protocol: sso.CAS, CASBaseURL: "/cas", CallbackURL: "https://sesame.test/cb"},
		"no callback":       {Protocol: sso.CAS, CASBaseURL: "https://cas.test/cas"},
	}
	for name, c := range bad {
		if err := c.Validate(); !errors.Is(err, sso.Misconfigured) {
			t.Errorf("%s: err = %v, want %s", name, err, sso.Misconfigured)
		}
	}
}
