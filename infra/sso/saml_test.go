package sso_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/sso"
)

func TestSAMLSignIn(t *testing.T) {
	ctx, srv := setup(t)
	guard := newGuard()
	c, cfg := &sso.Client{HTTP: &http.Client{Timeout: flowTimeout}, Replay: guard}, samlConfig(srv)
	t0 := time.Now()
	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	if arr.Method != http.MethodPost || arr.URL.String() != cfg.CallbackURL {
		t.Fatalf("arrived by %s at %s, want a POST to %s", arr.Method, arr.URL, cfg.CallbackURL)
	}
	id, err := finish(t, ctx, c, cfg, flow, arr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SAML Begin, sign-in, Finish in %v", time.Since(t0).Round(time.Millisecond))
	if id.Protocol != sso.SAML || id.Subject != idp.User || first(id, "uai") != "0750001A" || id.AssertionID == "" ||
		id.NameID == "" || id.SessionIndex == "" || !id.NotOnOrAfter.After(time.Now()) {
		t.Fatalf("identity = %+v", id)
	}

	// The same response again, even through another process sharing the
	// store: every signature and condition still holds, the recorded
	// assertion ID refuses it.
	other := &sso.Client{HTTP: &http.Client{Timeout: flowTimeout}, Replay: guard}
	_, err = finish(t, ctx, other, cfg, flow, arr)
	wantKind(t, err, sso.Replayed)
}

var signatureRE = regexp.MustCompile(`(?s)<(ds:)?Signature\b.*?</(ds:)?Signature>`)

// changeResponse returns arr with its SAMLResponse decoded, changed by f
// and encoded again.
func changeResponse(t *testing.T, arr *idp.Arrival, f func([]byte) []byte) *idp.Arrival {
	t.Helper()
	doc, err := base64.StdEncoding.DecodeString(arr.Form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	changed := f(doc)
	if bytes.Equal(changed, doc) {
		t.Fatalf("the change left the response as it was:\n%s", doc)
	}
	return withForm(arr, "SAMLResponse", base64.StdEncoding.EncodeToString(changed))
}

func TestSAMLRefusals(t *testing.T) {
	ctx, srv := setup(t)
	cfg := samlConfig(srv)
	otherAudience := cfg
	otherAudience.SPEntityID = srv.Config.SPURL + "/another-school/saml/metadata"
	otherACS := cfg
	otherACS.CallbackURL = srv.Config.SPURL + "/another-school/saml/acs"

	cases := []refusal{
		{name: "tampered attribute", reason: "signature", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival {
			return changeResponse(t, a, func(d []byte) []byte {
				return bytes.ReplaceAll(d, []byte(">"+idp.User+"<"), []byte(">"+idp.OtherUser+"<"))
			})
		}},
		{name: "signatures removed", reason: "signature", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival {
			return changeResponse(t, a, func(d []byte) []byte { return signatureRE.ReplaceAll(d, nil) })
		}},
		{name: "wrong audience", reason: "AudienceRestriction", cfg: &otherAudience, sameFlow: true},
		{name: "wrong recipient", reason: "Recipient", cfg: &otherACS, sameFlow: true},
		// crewjam refuses a response more than 90 s after its IssueInstant,
		// so a late one is refused as expired before its NotOnOrAfter (20 h
		// at this provider) is reached; 21 h later both have passed
		{name: "late response", reason: "expired", now: 5 * time.Minute},
		{name: "past NotOnOrAfter", reason: "expired", now: 21 * time.Hour},
		{name: "wrong InResponseTo", reason: "InResponseTo", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival { f.RequestID = "id-of-another-request"; return a }},
		{name: "unsolicited", reason: "no request ID", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival { f.RequestID = ""; return a }},
		{name: "wrong RelayState", reason: "RelayState", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival { return withForm(a, "RelayState", "forged") }},
		{name: "sent by GET", reason: "posted", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival {
			return &idp.Arrival{Method: http.MethodGet, URL: a.URL}
		}},
	}
	refuse(t, ctx, srv, cfg, cases)
}

// With the IdP's metadata given as XML, the callback needs nothing from the
// provider; and a replay guard that cannot answer refuses the sign-in as an
// internal error, of no kind.
func TestSAMLMetadataXMLAndBrokenGuard(t *testing.T) {
	ctx, srv := setup(t)
	resp, err := (&http.Client{Timeout: flowTimeout}).Get(srv.SAMLMetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	md, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := samlConfig(srv)
	cfg.SAMLMetadataURL, cfg.SAMLMetadataXML = "", string(md)
	c := newClient()
	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	broken := &sso.Client{HTTP: &http.Client{Timeout: flowTimeout}, Replay: brokenGuard{}}
	if _, err := finish(t, ctx, broken, cfg, flow, arr); !errors.Is(err, errStoreDown) || sso.KindOf(err) != "" {
		t.Fatalf("with a broken guard: err = %v (kind %q), want the store's error and no kind", err, sso.KindOf(err))
	}
	id, err := finish(t, ctx, c, cfg, flow, arr)
	if err != nil || id.Subject != idp.User {
		t.Fatalf("subject %q, %v", id.Subject, err)
	}
}
