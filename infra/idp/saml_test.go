package idp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
)

// testSP is a SAML service provider as the product will run it: crewjam/saml
// checks the signature, audience, recipient, validity and InResponseTo; the
// assertion IDs it has accepted are recorded here, so a replay is refused
// (crewjam/saml does not record them).
type testSP struct {
	sp   *saml.ServiceProvider
	mu   sync.Mutex
	seen map[string]bool
}

func newTestSP(t *testing.T, ctx context.Context, srv *Server, entityID string) *testSP {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.SAMLMetadataURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: flowTimeout}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	md := &saml.EntityDescriptor{}
	if err := xml.NewDecoder(resp.Body).Decode(md); err != nil {
		t.Fatal(err)
	}
	return &testSP{seen: map[string]bool{}, sp: &saml.ServiceProvider{
		EntityID:    entityID,
		MetadataURL: *mustURL(t, srv.Config.SAMLEntityID),
		AcsURL:      *mustURL(t, srv.Config.SAMLACS),
		IDPMetadata: md,
		// LemonLDAP::NG answers with the unspecified NameID format it is
		// configured for; without this crewjam asks for "transient"
		SendUnspecifiedNameIDFormat: true,
	}}
}

// consume checks a posted SAMLResponse as the ACS would.
func (s *testSP) consume(form url.Values, requestIDs []string) (*saml.Assertion, error) {
	req := httptest.NewRequest(http.MethodPost, s.sp.AcsURL.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := req.ParseForm(); err != nil { // ParseResponse reads req.Form, it does not parse it
		return nil, err
	}
	a, err := s.sp.ParseResponse(req, requestIDs)
	if ire := (*saml.InvalidResponseError)(nil); errors.As(err, &ire) {
		return nil, fmt.Errorf("%w: %w", err, ire.PrivateErr) // the reason, kept from the user by crewjam/saml
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[a.ID] {
		return nil, fmt.Errorf("assertion %s replayed", a.ID)
	}
	s.seen[a.ID] = true
	return a, nil
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// samlSignIn sends an AuthnRequest by the redirect binding and returns its ID
// and the form the provider posts to the ACS.
func samlSignIn(t *testing.T, ctx context.Context, srv *Server, sp *testSP) (string, url.Values) {
	t.Helper()
	req, err := sp.sp.MakeAuthenticationRequest(sp.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	start, err := req.Redirect("relay-1", sp.sp)
	if err != nil {
		t.Fatal(err)
	}
	arr, err := NewBrowser(srv.Config.SPURL, flowTimeout).SignIn(ctx, start.String(), User, UserPassword)
	if err != nil {
		t.Fatal(err)
	}
	if arr.Method != http.MethodPost || arr.URL.String() != srv.Config.SAMLACS || arr.Form.Get("SAMLResponse") == "" {
		t.Fatalf("arrived by %s at %s with %v, want a SAMLResponse posted to %s", arr.Method, arr.URL, arr.Form, srv.Config.SAMLACS)
	}
	if got := arr.Form.Get("RelayState"); got != "relay-1" {
		t.Fatalf("RelayState = %q", got)
	}
	return req.ID, arr.Form
}

// samlFlow signs in through the shared provider for a fresh test SP and
// returns the request's ID and the form posted to the ACS.
func samlFlow(t *testing.T) (context.Context, *Server, *testSP, string, url.Values) {
	t.Helper()
	srv := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	sp := newTestSP(t, ctx, srv, srv.Config.SAMLEntityID)
	id, form := samlSignIn(t, ctx, srv, sp)
	return ctx, srv, sp, id, form
}

func attribute(a *saml.Assertion, name string) string {
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if at.Name == name && len(at.Values) > 0 {
				return at.Values[0].Value
			}
		}
	}
	return ""
}

func TestSAMLSignedAssertion(t *testing.T) {
	t0 := time.Now()
	_, _, sp, id, form := samlFlow(t)

	// InResponseTo is checked: another request's ID, or none, is refused.
	if _, err := sp.consume(form, []string{"id-of-another-request"}); err == nil {
		t.Error("a response to another request was accepted")
	}
	if _, err := sp.consume(form, nil); err == nil {
		t.Error("an unsolicited response was accepted")
	}
	a, err := sp.consume(form, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SAML flow (AuthnRequest, sign-in, ACS checks) in %v", time.Since(t0).Round(time.Millisecond))
	// The NameID is an opaque session identifier: a person is identified by
	// an attribute (uid here, a federated identifier for EduConnect).
	if a.Subject == nil || a.Subject.NameID == nil || a.Subject.NameID.Value == "" || attribute(a, "uid") != User || attribute(a, "uai") != "0750001A" || attribute(a, "ent_profile") != "National_ENS" {
		t.Fatalf("subject %+v, uid %q, uai %q, ent_profile %q", a.Subject, attribute(a, "uid"), attribute(a, "uai"), attribute(a, "ent_profile"))
	}

	// The same response again: every check of crewjam/saml passes, the
	// recorded assertion ID refuses it.
	if _, err := sp.consume(form, []string{id}); err == nil || !strings.Contains(err.Error(), "replayed") {
		t.Errorf("replayed assertion: err = %v, want a replay refusal", err)
	}
}

func TestSAMLRefusesATamperedResponse(t *testing.T) {
	_, _, sp, id, form := samlFlow(t)
	doc, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte(">"+User+"<")) {
		t.Fatalf("no %s in the response:\n%s", User, doc)
	}
	tampered := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(bytes.ReplaceAll(doc, []byte(">"+User+"<"), []byte(">"+OtherUser+"<")))}}
	if _, err := sp.consume(tampered, []string{id}); err == nil {
		t.Fatal("a tampered response was accepted")
	} else {
		t.Logf("tampered: refused: %v", err)
	}
	// The genuine one still passes: the refusal came from the change.
	if _, err := sp.consume(form, []string{id}); err != nil {
		t.Fatal(err)
	}
}

func TestSAMLRefusesAWrongAudience(t *testing.T) {
	ctx, srv, _, id, form := samlFlow(t)
	other := newTestSP(t, ctx, srv, srv.Config.SPURL+"/another-school/saml/metadata")
	if _, err := other.consume(form, []string{id}); err == nil {
		t.Fatal("an assertion for another audience was accepted")
	} else {
		t.Logf("wrong audience: refused: %v", err)
	}
}
