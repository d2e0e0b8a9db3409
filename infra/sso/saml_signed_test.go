package sso_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/idp"
)

// With an SP key, the AuthnRequest carries a redirect-binding signature
// (RSA-SHA256) that the SP's certificate verifies, and the provider still
// signs the user in.
func TestSAMLSignedAuthnRequest(t *testing.T) {
	ctx, srv := setup(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sesame-sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	cfg := samlConfig(srv)
	cfg.SPKey, cfg.SPCertificate = key, cert
	c := newClient()
	start, _, err := c.Begin(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(start)
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]string{}
	for _, p := range strings.Split(u.RawQuery, "&") {
		name, _, _ := strings.Cut(p, "=")
		raw[name] = p
	}
	q := u.Query()
	if q.Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" {
		t.Fatalf("SigAlg = %q", q.Get("SigAlg"))
	}
	sig, err := base64.StdEncoding.DecodeString(q.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(raw["SAMLRequest"] + "&" + raw["RelayState"] + "&" + raw["SigAlg"]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("the AuthnRequest's signature does not verify: %v", err)
	}

	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	if id, err := finish(t, ctx, c, cfg, flow, arr); err != nil || id.Subject != idp.User {
		t.Fatalf("subject %q, %v", id.Subject, err)
	}
}
