package sso

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Protocol is how Sésame talks to an identity provider.
type Protocol string

const (
	OIDC Protocol = "oidc" // OpenID Connect, authorization code flow with PKCE
	SAML Protocol = "saml" // SAML 2.0 Web Browser SSO, HTTP-Redirect out, HTTP-POST back
	CAS  Protocol = "cas"  // CAS protocol 3
)

// Config is one identity provider as one school uses it. The domain stores
// it (the client secret write-only) and builds this value for each call.
type Config struct {
	Protocol Protocol

	// IdentityAttribute names the claim (OIDC) or attribute (SAML, CAS)
	// whose value is [Identity.Subject]. Defaults: "sub" for OIDC, "uid"
	// for SAML, and for CAS the authenticated user (cas:user).
	IdentityAttribute string
	// CallbackURL is where the provider sends the browser back: the OIDC
	// redirect URI, the SAML assertion consumer service (HTTP-POST, also
	// the Recipient and Destination checked), or the CAS service (Begin
	// adds a state parameter to it). It must be absolute.
	CallbackURL string
	// PostLogoutURL is where the provider sends the browser after its own
	// logout (OIDC post_logout_redirect_uri, the SAML SP's single logout
	// service, CAS logout's service). Optional.
	PostLogoutURL string

	// OpenID Connect.
	Issuer       string   // discovery at Issuer + "/.well-known/openid-configuration"
	ClientID     string   // also the audience required of the ID token
	ClientSecret string   // never logged, never in a Flow
	Scopes       []string // default: openid profile email

	// SAML 2.0: the IdP's metadata, by URL (fetched at each call) or as XML.
	SAMLMetadataURL string
	SAMLMetadataXML string
	// SPEntityID is Sésame's entity ID for this school: the audience
	// required of assertions.
	SPEntityID string
	// SPKey and SPCertificate, when both are set, sign the AuthnRequests
	// and LogoutRequests (RSA-SHA256, or ECDSA-SHA256). Optional.
	SPKey         crypto.Signer
	SPCertificate *x509.Certificate

	// CAS: the server's base URL (/login, /p3/serviceValidate and /logout
	// below it).
	CASBaseURL string
}

func (c Config) identityAttribute() string {
	if c.IdentityAttribute != "" {
		return c.IdentityAttribute
	}
	switch c.Protocol {
	case OIDC:
		return "sub"
	case SAML:
		return "uid"
	}
	return ""
}

// Validate reports a missing or malformed setting as a Misconfigured error.
func (c Config) Validate() error {
	need := map[string]string{"CallbackURL": c.CallbackURL}
	switch c.Protocol {
	case OIDC:
		need["Issuer"], need["ClientID"], need["ClientSecret"] = c.Issuer, c.ClientID, c.ClientSecret
	case SAML:
		need["SPEntityID"] = c.SPEntityID
		if c.SAMLMetadataURL == "" && c.SAMLMetadataXML == "" {
			return failf(Misconfigured, c.Protocol, "config", "SAMLMetadataURL or SAMLMetadataXML is required")
		}
		if (c.SPKey == nil) != (c.SPCertificate == nil) {
			return failf(Misconfigured, c.Protocol, "config", "SPKey and SPCertificate go together")
		}
	case CAS:
		need["CASBaseURL"] = c.CASBaseURL
	default:
		return failf(Misconfigured, c.Protocol, "config", "unknown protocol %q", c.Protocol)
	}
	for name, v := range need {
		if v == "" {
			return failf(Misconfigured, c.Protocol, "config", "%s is required", name)
		}
	}
	for name, v := range map[string]string{"CallbackURL": c.CallbackURL, "PostLogoutURL": c.PostLogoutURL,
		"Issuer": c.Issuer, "SAMLMetadataURL": c.SAMLMetadataURL, "CASBaseURL": c.CASBaseURL} {
		if u, err := url.Parse(v); v != "" && (err != nil || !u.IsAbs() || u.Host == "") {
			return failf(Misconfigured, c.Protocol, "config", "%s %q is not an absolute URL", name, v)
		}
	}
	return nil
}

// fingerprint names the provider and relying party a flow belongs to, so
// that a flow begun with one school's provider cannot be finished with
// another's configuration.
func (c Config) fingerprint() string {
	h := sha256.New()
	for _, s := range []string{string(c.Protocol), c.Issuer, c.ClientID, c.SAMLMetadataURL, c.SPEntityID, c.CASBaseURL, c.CallbackURL} {
		fmt.Fprintf(h, "%d:%s|", len(s), s)
	}
	if c.SAMLMetadataURL == "" {
		h.Write([]byte(c.SAMLMetadataXML))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// Flow is what must be kept between the redirect to the provider and the
// callback. It holds no secret of the provider's; keep it in a signed,
// short-lived cookie with [Seal] and [Open] (the browser can read it, not
// change it).
type Flow struct {
	Protocol  Protocol `json:"p"`
	Provider  string   `json:"k"`           // the Config's fingerprint
	State     string   `json:"s"`           // OIDC state, SAML RelayState, CAS state parameter
	Nonce     string   `json:"n,omitempty"` // OIDC
	Verifier  string   `json:"v,omitempty"` // OIDC PKCE code verifier
	RequestID string   `json:"r,omitempty"` // SAML AuthnRequest ID, the InResponseTo expected
	Service   string   `json:"c,omitempty"` // CAS service URL, exactly as sent to /login
	// Data is the caller's own, sealed with the flow (school, year, mode…).
	Data map[string]string `json:"d,omitempty"`
}

// Identity is the person the provider vouched for.
type Identity struct {
	Protocol Protocol
	// Subject is the value of the Config's IdentityAttribute.
	Subject string
	// Attributes are every claim or attribute received, by name.
	Attributes map[string][]string
	// AssertionID is the SAML assertion's ID, the CAS ticket, or the ID
	// token's jti when it has one.
	AssertionID string
	// NotOnOrAfter is when the assertion or ID token stops being valid
	// (zero for CAS, whose answer has no lifetime).
	NotOnOrAfter time.Time
	// SessionIndex is the provider's session: the SAML SessionIndex, or
	// the ID token's sid.
	SessionIndex string
	// NameID, NameIDFormat and the qualifiers are the SAML subject as the
	// assertion gave it: single logout must name it exactly so.
	NameID, NameIDFormat, NameQualifier, SPNameQualifier string
	// IDToken is the raw OIDC ID token, the id_token_hint of a logout.
	IDToken string
}

// LogoutHint is what [Client.LogoutURL] needs of a session; keep it with
// the Sésame session when the school ends provider sessions on logout.
type LogoutHint struct {
	NameID          string `json:"nameId,omitempty"`
	NameIDFormat    string `json:"nameIdFormat,omitempty"`
	NameQualifier   string `json:"nameQualifier,omitempty"`
	SPNameQualifier string `json:"spNameQualifier,omitempty"`
	SessionIndex    string `json:"sessionIndex,omitempty"`
	IDToken         string `json:"idToken,omitempty"`
}

// LogoutHint returns what a later logout needs of this identity.
func (id Identity) LogoutHint() LogoutHint {
	return LogoutHint{NameID: id.NameID, NameIDFormat: id.NameIDFormat, NameQualifier: id.NameQualifier,
		SPNameQualifier: id.SPNameQualifier, SessionIndex: id.SessionIndex, IDToken: id.IDToken}
}

// ReplayGuard records the identifiers of one-time proofs (SAML assertion
// IDs, CAS tickets) so that each is accepted once. The stores implement it
// with a conditional write.
type ReplayGuard interface {
	// Seen records id as used until until. It returns true the first time,
	// false when id is already recorded and not yet past its until, and an
	// error when it cannot tell (Finish then refuses, as an internal error).
	Seen(ctx context.Context, id string, until time.Time) (firstTime bool, err error)
}

// DefaultTimeout bounds each call to a provider when Client.HTTP is nil.
const DefaultTimeout = 10 * time.Second

// Client runs the flows. It holds dependencies only, no state of a flow:
// Begin and Finish may run on different processes (Lambda invocations).
type Client struct {
	// HTTP calls the providers (discovery, metadata, token, keys, CAS
	// validation). It must have a Timeout; nil means one with DefaultTimeout.
	HTTP *http.Client
	// Replay is required to finish SAML and CAS flows.
	Replay ReplayGuard
	// Now is the clock for expiry checks; nil means time.Now.
	Now func() time.Time
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Begin starts a sign-in: it returns the provider URL to redirect the
// browser to, and the Flow to keep until the callback. OIDC and SAML with a
// metadata URL call the provider (Unavailable when it does not answer).
func (c *Client) Begin(ctx context.Context, cfg Config) (redirectURL string, flow Flow, err error) {
	if err := cfg.Validate(); err != nil {
		return "", Flow{}, err
	}
	switch cfg.Protocol {
	case OIDC:
		redirectURL, flow, err = c.beginOIDC(ctx, cfg)
	case SAML:
		redirectURL, flow, err = c.beginSAML(ctx, cfg)
	default:
		redirectURL, flow, err = c.beginCAS(cfg)
	}
	flow.Protocol, flow.Provider = cfg.Protocol, cfg.fingerprint()
	return redirectURL, flow, err
}

// Finish checks the provider's callback r (the redirect's GET, or the SAML
// POST) against the flow kept since Begin, and returns who signed in. Every
// failure of a known kind is an *Error (see [Kind]); SAML assertion IDs and
// CAS tickets go through Client.Replay.
func (c *Client) Finish(ctx context.Context, cfg Config, flow Flow, r *http.Request) (Identity, error) {
	if err := cfg.Validate(); err != nil {
		return Identity{}, err
	}
	if flow.Protocol != cfg.Protocol || !same(flow.Provider, cfg.fingerprint()) {
		return Identity{}, failf(Refused, cfg.Protocol, "finish", "the flow was begun with another provider")
	}
	if cfg.Protocol != OIDC && c.Replay == nil {
		return Identity{}, failf(Misconfigured, cfg.Protocol, "finish", "Client.Replay is required")
	}
	var id Identity
	var err error
	switch cfg.Protocol {
	case OIDC:
		id, err = c.finishOIDC(ctx, cfg, flow, r)
	case SAML:
		id, err = c.finishSAML(ctx, cfg, flow, r)
	default:
		id, err = c.finishCAS(ctx, cfg, flow, r)
	}
	if err != nil {
		return Identity{}, err
	}
	id.Protocol = cfg.Protocol
	if id.Subject == "" {
		return Identity{}, failf(Refused, cfg.Protocol, "finish", "no %q in the provider's answer", cfg.identityAttribute())
	}
	return id, nil
}

// LogoutURL returns where to send the browser to end the provider's session
// too, coming back to cfg.PostLogoutURL: OIDC's end_session_endpoint
// (RP-initiated logout), the IdP's SAML single logout service
// (HTTP-Redirect), or CAS /logout. A provider that offers none gives a
// Misconfigured error. The flow is what [Client.FinishLogout] checks the
// SAML LogoutResponse against (its RequestID); OIDC and CAS send nothing
// back to check.
func (c *Client) LogoutURL(ctx context.Context, cfg Config, hint LogoutHint) (string, Flow, error) {
	if err := cfg.Validate(); err != nil {
		return "", Flow{}, err
	}
	flow := Flow{Protocol: cfg.Protocol, Provider: cfg.fingerprint()}
	var u string
	var err error
	switch cfg.Protocol {
	case OIDC:
		u, err = c.logoutOIDC(ctx, cfg, hint)
	case SAML:
		u, flow.RequestID, err = c.logoutSAML(ctx, cfg, hint)
	default:
		u = strings.TrimRight(cfg.CASBaseURL, "/") + "/logout"
		if cfg.PostLogoutURL != "" {
			u += "?" + url.Values{"service": {cfg.PostLogoutURL}}.Encode()
		}
	}
	if err != nil {
		return "", Flow{}, err
	}
	return u, flow, nil
}

// FinishLogout checks the SAML LogoutResponse r brings back to
// cfg.PostLogoutURL (the SP's single logout service) against the flow
// LogoutURL gave: signed by the IdP of the metadata, its issuer, its
// destination, and InResponseTo the LogoutRequest sent, with a success
// status. A response that fails is Refused; any other protocol's is too
// (they send none).
func (c *Client) FinishLogout(ctx context.Context, cfg Config, flow Flow, r *http.Request) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Protocol != SAML {
		return failf(Refused, cfg.Protocol, "logout", "this protocol sends no logout response")
	}
	if flow.Protocol != cfg.Protocol || !same(flow.Provider, cfg.fingerprint()) || flow.RequestID == "" {
		return failf(Refused, SAML, "logout", "no logout request of this provider awaits a response")
	}
	return c.finishLogoutSAML(ctx, cfg, flow, r)
}

// same compares two secrets in constant time.
func same(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// callbackValues returns the parameters of a callback: the query of a GET,
// the form of a POST (response_mode=form_post, the SAML HTTP-POST binding).
func callbackValues(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(nil, r.Body, maxCallbackBytes)
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	return r.URL.Query(), nil
}

// maxCallbackBytes bounds a posted callback (a SAML response is a few KB).
const maxCallbackBytes = 1 << 20

// maxProviderBytes bounds what is read of a provider's answer.
const maxProviderBytes = 1 << 20
