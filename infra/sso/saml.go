package sso

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// serviceProvider builds crewjam/saml's service provider for cfg: the IdP's
// metadata (fetched when given by URL), Sésame's entity ID as the audience,
// CallbackURL as the ACS. crewjam checks the signature (of the response or
// of every assertion), issuer, destination, recipient, audience, validity
// and InResponseTo; guard, when set, records the assertion's ID.
func (c *Client) serviceProvider(ctx context.Context, cfg Config, op string, guard *replayCache) (*saml.ServiceProvider, error) {
	md, err := c.samlMetadata(ctx, cfg, op)
	if err != nil {
		return nil, err
	}
	acs, _ := url.Parse(cfg.CallbackURL) // checked by Validate
	sp := &saml.ServiceProvider{
		EntityID:    cfg.SPEntityID,
		AcsURL:      *acs,
		IDPMetadata: md,
		// ask for no NameID format: identities come from an attribute, and
		// IdPs (LemonLDAP::NG among them) refuse a format they do not serve
		SendUnspecifiedNameIDFormat:      true,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		RejectSHA1Signatures:             true,
	}
	if cfg.PostLogoutURL != "" {
		slo, _ := url.Parse(cfg.PostLogoutURL)
		sp.SloURL = *slo
	}
	if cfg.SPKey != nil {
		sp.Key, sp.Certificate = cfg.SPKey, cfg.SPCertificate
		switch cfg.SPKey.Public().(type) {
		case *rsa.PublicKey:
			sp.SignatureMethod = dsig.RSASHA256SignatureMethod
		case *ecdsa.PublicKey:
			sp.SignatureMethod = dsig.ECDSASHA256SignatureMethod
		default:
			return nil, failf(Misconfigured, SAML, op, "SPKey: an RSA or ECDSA key is needed, not %T", cfg.SPKey.Public())
		}
	}
	if c.Now != nil {
		sp.Clock = dsig.NewFakeClockAt(c.Now())
	}
	if guard != nil {
		sp.ReplayCache = guard
	}
	return sp, nil
}

func (c *Client) samlMetadata(ctx context.Context, cfg Config, op string) (*saml.EntityDescriptor, error) {
	if cfg.SAMLMetadataXML != "" {
		md, err := parseMetadata([]byte(cfg.SAMLMetadataXML))
		if err != nil {
			return nil, fail(Misconfigured, SAML, op, fmt.Errorf("IdP metadata: %w", err))
		}
		return md, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.SAMLMetadataURL, nil)
	if err != nil {
		return nil, fail(Misconfigured, SAML, op, err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, reachErr(ctx, SAML, op, "IdP metadata", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProviderBytes))
	if err != nil {
		return nil, reachErr(ctx, SAML, op, "IdP metadata", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, failf(Unavailable, SAML, op, "IdP metadata: status %d", resp.StatusCode)
	}
	md, err := parseMetadata(body)
	if err != nil {
		return nil, fail(Unavailable, SAML, op, fmt.Errorf("IdP metadata: %w", err))
	}
	return md, nil
}

func (c *Client) beginSAML(ctx context.Context, cfg Config) (string, Flow, error) {
	sp, err := c.serviceProvider(ctx, cfg, "begin", nil)
	if err != nil {
		return "", Flow{}, err
	}
	sso := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if sso == "" {
		return "", Flow{}, failf(Misconfigured, SAML, "begin", "the IdP has no HTTP-Redirect single sign-on service")
	}
	req, err := sp.MakeAuthenticationRequest(sso, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", Flow{}, fail(Misconfigured, SAML, "begin", err)
	}
	f := Flow{State: rand.Text(), RequestID: req.ID}
	u, err := req.Redirect(f.State, sp)
	if err != nil {
		return "", Flow{}, fail(Misconfigured, SAML, "begin", err)
	}
	return u.String(), f, nil
}

func (c *Client) finishSAML(ctx context.Context, cfg Config, f Flow, r *http.Request) (Identity, error) {
	if r.Method != http.MethodPost {
		return Identity{}, failf(Refused, SAML, "finish", "the response must be posted, not sent by %s", r.Method)
	}
	form, err := callbackValues(r) // crewjam reads r.PostForm, it does not parse it
	if err != nil {
		return Identity{}, fail(Refused, SAML, "finish", err)
	}
	if f.RequestID == "" { // never an unsolicited (IdP-initiated) response
		return Identity{}, failf(Refused, SAML, "finish", "the flow has no request ID")
	}
	if !same(form.Get("RelayState"), f.State) {
		return Identity{}, failf(Refused, SAML, "finish", "RelayState does not match the flow")
	}
	guard := &replayCache{ctx: ctx, guard: c.Replay}
	sp, err := c.serviceProvider(ctx, cfg, "finish", guard)
	if err != nil {
		return Identity{}, err
	}
	a, err := sp.ParseResponse(r, []string{f.RequestID})
	if err != nil {
		if guard.err != nil {
			return Identity{}, fmt.Errorf("sso: saml finish: replay guard: %w", guard.err)
		}
		return Identity{}, samlErr(err, form.Get("SAMLResponse"))
	}
	return samlIdentity(cfg, a), nil
}

// samlErr classifies a refused response, with crewjam's private reason.
func samlErr(err error, response string) error {
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		err = ire.PrivateErr
	}
	var bad saml.ErrBadStatus
	switch {
	case errors.Is(err, saml.ErrAssertionReplayed):
		return fail(Replayed, SAML, "finish", err)
	case errors.As(err, &bad):
		kind := Refused
		sub := secondLevelStatus(response)
		if sub == saml.StatusAuthnFailed || sub == saml.StatusRequestDenied {
			kind = Cancelled
		}
		return failf(kind, SAML, "finish", "the IdP answered %.200q %.200q", bad.Status, sub)
	}
	return fail(Refused, SAML, "finish", err)
}

// secondLevelStatus reads the nested StatusCode of a response that failed
// (unsigned: it only chooses between two refusals).
func secondLevelStatus(response string) string {
	doc, err := base64.StdEncoding.DecodeString(response)
	if err != nil {
		return ""
	}
	var r struct {
		Status struct {
			StatusCode struct {
				StatusCode struct {
					Value string `xml:",attr"`
				}
			}
		}
	}
	if xml.Unmarshal(doc, &r) != nil {
		return ""
	}
	return r.Status.StatusCode.StatusCode.Value
}

func samlIdentity(cfg Config, a *saml.Assertion) Identity {
	id := Identity{AssertionID: a.ID, Attributes: map[string][]string{}}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			for _, v := range at.Values {
				id.Attributes[at.Name] = append(id.Attributes[at.Name], v.Value)
				if at.FriendlyName != "" && at.FriendlyName != at.Name {
					id.Attributes[at.FriendlyName] = append(id.Attributes[at.FriendlyName], v.Value)
				}
			}
		}
	}
	id.Subject = first(id.Attributes, cfg.identityAttribute())
	if a.Conditions != nil {
		id.NotOnOrAfter = a.Conditions.NotOnOrAfter
	}
	if s := a.Subject; s != nil {
		if s.NameID != nil {
			n := s.NameID
			id.NameID, id.NameIDFormat, id.NameQualifier, id.SPNameQualifier = n.Value, n.Format, n.NameQualifier, n.SPNameQualifier
		}
		for _, sc := range s.SubjectConfirmations {
			if d := sc.SubjectConfirmationData; d != nil && !d.NotOnOrAfter.IsZero() && (id.NotOnOrAfter.IsZero() || d.NotOnOrAfter.Before(id.NotOnOrAfter)) {
				id.NotOnOrAfter = d.NotOnOrAfter
			}
		}
	}
	for _, st := range a.AuthnStatements {
		if st.SessionIndex != "" {
			id.SessionIndex = st.SessionIndex
			break
		}
	}
	return id
}

// replayCache lets crewjam record assertion IDs in the ReplayGuard.
type replayCache struct {
	ctx   context.Context
	guard ReplayGuard
	err   error // the guard's own failure
}

func (rc *replayCache) Consume(id string, until time.Time) error {
	firstTime, err := rc.guard.Seen(rc.ctx, "saml:"+id, until)
	if err != nil {
		rc.err = err
		return err
	}
	if !firstTime {
		return saml.ErrAssertionReplayed
	}
	return nil
}

func (c *Client) logoutSAML(ctx context.Context, cfg Config, hint LogoutHint) (string, string, error) {
	if hint.NameID == "" {
		return "", "", failf(Misconfigured, SAML, "logout", "no NameID to log out")
	}
	sp, err := c.serviceProvider(ctx, cfg, "logout", nil)
	if err != nil {
		return "", "", err
	}
	slo := sp.GetSLOBindingLocation(saml.HTTPRedirectBinding)
	if slo == "" {
		return "", "", failf(Misconfigured, SAML, "logout", "the IdP has no HTTP-Redirect single logout service")
	}
	req, err := sp.MakeLogoutRequest(slo, hint.NameID, saml.WithSessionIndex(hint.SessionIndex), func(r *saml.LogoutRequest) {
		if r.NameID != nil { // as the assertion named the subject
			r.NameID.Format, r.NameID.NameQualifier, r.NameID.SPNameQualifier = hint.NameIDFormat, hint.NameQualifier, hint.SPNameQualifier
		}
	})
	if err != nil {
		return "", "", fail(Misconfigured, SAML, "logout", err)
	}
	u, err := sp.RedirectLogoutRequestURL(req, "")
	if err != nil {
		return "", "", fail(Misconfigured, SAML, "logout", err)
	}
	return u.String(), req.ID, nil
}

// finishLogoutSAML checks the IdP's LogoutResponse (HTTP-Redirect, or a
// posted form) with crewjam: its signature, Destination (the SP's single
// logout service, cfg.PostLogoutURL), IssueInstant, Issuer, status, and
// InResponseTo the LogoutRequest of flow.
func (c *Client) finishLogoutSAML(ctx context.Context, cfg Config, flow Flow, r *http.Request) error {
	if cfg.PostLogoutURL == "" {
		return failf(Misconfigured, SAML, "logout", "no single logout service (PostLogoutURL) to receive the response")
	}
	sp, err := c.serviceProvider(ctx, cfg, "logout", nil)
	if err != nil {
		return err
	}
	if _, err := sp.ParseLogoutResponse(r, []string{flow.RequestID}); err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) && ire.PrivateErr != nil {
			err = ire.PrivateErr
		}
		return fail(Refused, SAML, "logout", err)
	}
	return nil
}

// parseMetadata reads an IdP's metadata: one EntityDescriptor, or an
// EntitiesDescriptor holding exactly one entity with an IDPSSODescriptor.
func parseMetadata(data []byte) (*saml.EntityDescriptor, error) {
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if root.XMLName.Local != "EntitiesDescriptor" {
		md := &saml.EntityDescriptor{}
		if err := xml.Unmarshal(data, md); err != nil {
			return nil, err
		}
		return md, nil
	}
	var all saml.EntitiesDescriptor
	if err := xml.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	var idp *saml.EntityDescriptor
	for i := range all.EntityDescriptors {
		if len(all.EntityDescriptors[i].IDPSSODescriptors) > 0 {
			if idp != nil {
				return nil, errors.New("more than one identity provider in the metadata")
			}
			idp = &all.EntityDescriptors[i]
		}
	}
	if idp == nil {
		return nil, errors.New("no identity provider in the metadata")
	}
	return idp, nil
}
