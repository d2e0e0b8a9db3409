package sesame

import (
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Identity providers: the school's ENT or EduConnect, through which its
// people sign in without a Sésame password. A provider belongs to a school
// (all its years); the person it identifies is linked to an account of the
// school's current base by the account's ENTID, or by its login when the
// provider allows it. Nothing is ever matched across schools.

// Protocol is the protocol an identity provider speaks.
type Protocol string

const (
	ProtocolOIDC Protocol = "oidc" // OpenID Connect (authorization code with PKCE)
	ProtocolSAML Protocol = "saml" // SAML 2.0 (EduConnect)
	ProtocolCAS  Protocol = "cas"  // CAS protocol 3 (most ENTs)
)

// Protocols lists every protocol.
var Protocols = []Protocol{ProtocolOIDC, ProtocolSAML, ProtocolCAS}

// Label is the protocol's name as people know it.
func (p Protocol) Label() string {
	switch p {
	case ProtocolOIDC:
		return "OpenID Connect"
	case ProtocolSAML:
		return "SAML 2.0"
	case ProtocolCAS:
		return "CAS"
	}
	return string(p)
}

// ParseProtocol validates s as a protocol.
func ParseProtocol(s string) (Protocol, error) {
	for _, p := range Protocols {
		if string(p) == s {
			return p, nil
		}
	}
	return "", Invalid("protocol", "Le protocole « %s » n'existe pas. Protocoles possibles : oidc, saml, cas.", clip(s, 20))
}

// Secret is a value that is written and never read back by people: it
// prints, logs and encodes as a mask. Reveal gives the value to the one
// code that needs it (the protocol client, the stores).
type Secret string

const secretMask = "********"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String masks the secret (fmt's %v and %s).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// GoString masks the secret (fmt's %#v).
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// LogValue masks the secret in slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText masks the secret in encodings (JSON and the like): a view or
// an export that forgot to leave it out still leaks nothing.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// IdentityProvider is an identity provider of a school.
type IdentityProvider struct {
	// ID names the provider in URLs: 1 to 32 lower-case letters, digits
	// and hyphens ("ent", "educonnect").
	ID       string
	Protocol Protocol
	// DisplayName is shown on the sign-in page: "Se connecter avec …".
	DisplayName string

	// OpenID Connect: the issuer (its discovery document is
	// Issuer/.well-known/openid-configuration), the client registered for
	// Sésame and its secret (write-only).
	Issuer       string
	ClientID     string
	ClientSecret Secret
	// SAML 2.0: the IdP's metadata, by URL or as the XML itself (one of
	// them).
	MetadataURL string
	MetadataXML string
	// CAS: the server's base URL (…/cas, where /login and
	// /p3/serviceValidate are).
	CASURL string

	// Claim is the claim (OIDC) or attribute (SAML, CAS) whose value
	// identifies a person, matched against User.ENTID: "sub", "uid",
	// "preferred_username", an EduConnect federated identifier…
	// ClaimSubject ("sub") is the subject itself for every protocol: the
	// OIDC sub, the SAML NameID, the CAS user.
	Claim string
	// Kinds are the kinds of account that may sign in through it.
	Kinds []Kind
	// MatchLogin also links a person whose identifier equals an account's
	// login, when no account has it as its ENTID.
	MatchLogin bool
	// SingleLogout: logging out of Sésame also ends the provider's session
	// (OIDC RP-initiated logout, SAML SLO, CAS logout). Ending the Sésame
	// session is always local first.
	SingleLogout bool

	UpdatedAt time.Time
	// Version grows by one at every write; updates are conditional on it.
	Version int64
}

// Limits of a provider's fields.
const (
	MaxProviderID         = 32
	MaxProviderName       = 80
	MaxProviderURL        = 2048
	MaxProviderClaim      = 128
	MaxProviderSecret     = 1024
	MaxProviderMetadata   = 48 << 10 // SAML metadata XML, bytes (larger metadata is given by URL)
	MaxProvidersPerSchool = 10       // providers per school
)

// ClaimSubject is the claim naming the subject itself (OIDC "sub", the CAS
// user, the SAML NameID).
const ClaimSubject = "sub"

// Serves reports whether accounts of kind k may sign in through p.
func (p IdentityProvider) Serves(k Kind) bool { return slices.Contains(p.Kinds, k) }

// Validate checks the provider's own fields. A client secret is required
// of an OIDC provider: the service keeps the stored one when an update
// leaves it empty, before validating.
func (p IdentityProvider) Validate() error {
	if err := validateProviderID(p.ID); err != nil {
		return err
	}
	if _, err := ParseProtocol(string(p.Protocol)); err != nil {
		return err
	}
	if n := len([]rune(strings.TrimSpace(p.DisplayName))); n == 0 || n > MaxProviderName {
		return Invalid("displayName", "Le nom affiché du service de connexion doit compter de 1 à %d caractères.", MaxProviderName)
	}
	if err := p.validateProtocol(); err != nil {
		return err
	}
	if err := validateClaim(p.Claim); err != nil {
		return err
	}
	if len(p.Kinds) == 0 {
		return Invalid("kinds", "Choisissez au moins un type de compte qui peut utiliser ce service de connexion.")
	}
	for i, k := range p.Kinds {
		if _, err := ParseKind(string(k)); err != nil {
			return Invalid("kinds", "%s", ErrorMessage(err))
		}
		if slices.Contains(p.Kinds[:i], k) {
			return Invalid("kinds", "Le type de compte « %s » est indiqué deux fois.", k.Label())
		}
	}
	return nil
}

func validateProviderID(id string) error {
	if len(id) == 0 || len(id) > MaxProviderID {
		return Invalid("id", "L'identifiant du service de connexion doit compter de 1 à %d caractères.", MaxProviderID)
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return Invalid("id", "L'identifiant du service de connexion « %s » ne peut contenir que des lettres minuscules sans accent, des chiffres et des tirets.", clip(id, MaxProviderID))
		}
	}
	return nil
}

// validateProtocol checks the settings of p's protocol, and that those of
// the other protocols are empty (a setting that does nothing misleads).
func (p IdentityProvider) validateProtocol() error {
	other := func(field string) error {
		return Invalid(field, "Ce réglage ne s'applique pas au protocole %s : laissez-le vide.", p.Protocol.Label())
	}
	set := map[string]bool{"issuer": p.Issuer != "", "clientId": p.ClientID != "", "clientSecret": p.ClientSecret != "",
		"metadataUrl": p.MetadataURL != "", "metadataXml": p.MetadataXML != "", "casUrl": p.CASURL != ""}
	own := map[Protocol][]string{ProtocolOIDC: {"issuer", "clientId", "clientSecret"},
		ProtocolSAML: {"metadataUrl", "metadataXml"}, ProtocolCAS: {"casUrl"}}[p.Protocol]
	for _, f := range []string{"issuer", "clientId", "clientSecret", "metadataUrl", "metadataXml", "casUrl"} {
		if set[f] && !slices.Contains(own, f) {
			return other(f)
		}
	}
	switch p.Protocol {
	case ProtocolOIDC:
		if err := validateProviderURL("issuer", p.Issuer); err != nil {
			return err
		}
		if n := len(p.ClientID); n == 0 || n > 256 || strings.TrimSpace(p.ClientID) != p.ClientID {
			return Invalid("clientId", "L'identifiant client (client id) doit compter de 1 à 256 caractères, sans espace autour.")
		}
		if n := len(p.ClientSecret); n == 0 || n > MaxProviderSecret {
			return Invalid("clientSecret", "Le secret client doit compter de 1 à %d caractères.", MaxProviderSecret)
		}
	case ProtocolSAML:
		switch {
		case (p.MetadataURL == "") == (p.MetadataXML == ""):
			return Invalid("metadataUrl", "Indiquez les métadonnées du fournisseur d'identité SAML : soit leur adresse, soit le XML lui-même (l'un des deux).")
		case p.MetadataURL != "":
			return validateProviderURL("metadataUrl", p.MetadataURL)
		case len(p.MetadataXML) > MaxProviderMetadata:
			return Invalid("metadataXml", "Les métadonnées SAML dépassent %d Kio.", MaxProviderMetadata>>10)
		case !strings.HasPrefix(strings.TrimSpace(p.MetadataXML), "<"):
			return Invalid("metadataXml", "Les métadonnées SAML doivent être un document XML.")
		}
	case ProtocolCAS:
		return validateProviderURL("casUrl", p.CASURL)
	}
	return nil
}

// validateProviderURL checks an address of a provider: absolute, https,
// or http on the machine itself (a provider under test).
func validateProviderURL(field, raw string) error {
	u, err := url.Parse(raw)
	bad := err != nil || len(raw) > MaxProviderURL || u.Host == "" || u.User != nil || u.Fragment != ""
	if !bad && u.Scheme != "https" {
		h := u.Hostname()
		bad = u.Scheme != "http" || (h != "localhost" && h != "127.0.0.1" && h != "::1")
	}
	if bad {
		return Invalid(field, "L'adresse « %s » n'est pas valable : elle doit commencer par https:// (http:// seulement sur cette machine).", clip(raw, 80))
	}
	return nil
}

func validateClaim(c string) error {
	if len(c) == 0 || len(c) > MaxProviderClaim {
		return Invalid("claim", "Indiquez l'attribut qui identifie une personne (1 à %d caractères), par exemple sub ou uid.", MaxProviderClaim)
	}
	for _, r := range c {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._:-/#", r)) {
			return Invalid("claim", "L'attribut « %s » contient un caractère interdit : lettres, chiffres et . _ : - / # seulement.", clip(c, 40))
		}
	}
	return nil
}

// ProviderView is what the API and the pages show of a provider: never its
// secret (ClientSecret is empty), only whether one is set.
type ProviderView struct {
	IdentityProvider
	HasSecret bool
}

// View returns what may be shown of p.
func (p IdentityProvider) View() ProviderView {
	v := ProviderView{IdentityProvider: p, HasSecret: p.ClientSecret != ""}
	v.ClientSecret, v.Kinds = "", slices.Clone(p.Kinds)
	return v
}

// KindNames returns the names of kinds, as stores keep them.
func KindNames(kinds []Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

// KindsNamed returns the kinds of names (the inverse of KindNames).
func KindsNamed(names []string) []Kind {
	out := make([]Kind, len(names))
	for i, n := range names {
		out[i] = Kind(n)
	}
	return out
}

// LogValue keeps the secret out of logs even when a whole provider is
// logged.
func (p IdentityProvider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", p.ID), slog.String("protocol", string(p.Protocol)), slog.Int64("version", p.Version))
}

// ProviderKey names a provider of a school.
type ProviderKey struct {
	UAI UAI
	ID  string
}

// MaxENTID bounds an account's ENT identifier.
const MaxENTID = 256

// ValidateENTID checks an ENT identifier: empty (no link), or 1 to
// MaxENTID printable characters without spaces around.
func ValidateENTID(id string) error {
	if id == "" {
		return nil
	}
	if len(id) > MaxENTID || strings.TrimSpace(id) != id {
		return Invalid("entId", "L'identifiant ENT doit compter au plus %d caractères, sans espace au début ni à la fin.", MaxENTID)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return Invalid("entId", "L'identifiant ENT contient un caractère non imprimable.")
		}
	}
	return nil
}
