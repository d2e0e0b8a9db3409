package sesame

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sign-in through an identity provider (the school's ENT, EduConnect).
// The protocol layer (OIDC, SAML, CAS) proves who the person is; this
// maps that identity to an account of the school's current base, then
// admits it exactly as a password sign-in does (admit, open): mode
// eligibility, seats, replaced sessions, the journal.

// Identity is a person as an identity provider vouched for them, already
// verified by the protocol layer (signature, issuer, audience, expiry).
type Identity struct {
	// Subject is the OIDC sub, the SAML NameID, the CAS user.
	Subject string
	// Attributes are the other claims or attributes, by name.
	Attributes map[string][]string
	// AssertionID is a single-use proof to record against replay (a SAML
	// assertion's ID, a CAS service ticket); "" when the protocol has its
	// own (OIDC's nonce).
	AssertionID string
	// AssertionExpires is until when that proof could be presented again
	// (a SAML assertion's NotOnOrAfter); zero: DefaultAssertionWindow.
	AssertionExpires time.Time
}

// Value returns the identity's value of claim: the subject for
// ClaimSubject, otherwise the first value of the attribute ("" when it has
// none).
func (id Identity) Value(claim string) string {
	if claim == ClaimSubject {
		return id.Subject
	}
	if v := id.Attributes[claim]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// How long a single-use proof is remembered: by default, and at most.
const (
	DefaultAssertionWindow = 10 * time.Minute
	MaxAssertionWindow     = 24 * time.Hour
	MaxAssertionID         = 256
)

// IdentityLogin is a sign-in through identity provider Provider of
// School, in the mode chosen before leaving for the provider.
type IdentityLogin struct {
	School   string
	Provider string
	Mode     string
	Access   string
	Identity Identity
	// Device is the device cookie the browser sent, if any.
	Device string
	// Address is the client's address, for the journal.
	Address string
}

// LoginWithIdentity signs in the person r.Identity names, through
// provider r.Provider of school r.School, into the school's current base.
// The identity is the account whose ENTID equals the provider's Claim
// value, or, when the provider allows it and no account has that ENTID,
// the account with that login. It returns ErrIdentityUnknown (unknown,
// unlinked or ambiguous identity), ErrAssertionReplayed (a proof used
// twice), a provider_forbidden error (the account's kind may not use this
// provider), a not_found error (no such provider), then what admission
// returns: account_disabled, mode_forbidden, a *SeatsExhaustedError.
// Refusals are journalled within the bounds of RefusalSummary.
func (s *Service) LoginWithIdentity(ctx context.Context, r IdentityLogin) (LoginResult, error) {
	a := &attempt{r: LoginRequest{School: r.School, Mode: r.Mode, Access: r.Access, Device: r.Device, Address: r.Address}}
	res, err := s.loginWithIdentity(ctx, a, r)
	s.journalLogin(ctx, a, res, err)
	return res, err
}

func (s *Service) loginWithIdentity(ctx context.Context, a *attempt, r IdentityLogin) (LoginResult, error) {
	if err := a.parseIdentity(r, s.now()); err != nil {
		return LoginResult{}, err
	}
	p, err := s.provider(ctx, ProviderKey{a.uai, r.Provider})
	if err != nil {
		return LoginResult{}, err
	}
	a.via = p.DisplayName
	value := r.Identity.Value(p.Claim)
	a.login = LoginKey(value) // the login match, read with the school and base
	if len(value) > MaxENTID {
		a.login = ""
	}
	if err := s.find(ctx, a); err != nil {
		return LoginResult{}, err
	}
	if a.school == nil || a.base == nil {
		return LoginResult{}, ErrIdentityUnknown
	}
	if err := s.useAssertion(ctx, a, p, r.Identity); err != nil {
		return LoginResult{}, err
	}
	if err := s.identify(ctx, a, p, value); err != nil {
		return LoginResult{}, err
	}
	if !p.Serves(a.user.Kind) {
		return LoginResult{}, &Error{Code: CodeProviderForbidden, Field: "provider",
			Message: fmt.Sprintf("Les comptes de type « %s » ne peuvent pas se connecter avec « %s ». Utilisez votre identifiant et votre mot de passe Sésame.", a.user.Kind.Label(), p.DisplayName)}
	}
	if device, ok := s.checkDevice(ctx, a.r.Device, a.uai, a.login); ok {
		a.device = device
	}
	return s.admit(ctx, a)
}

// parseIdentity validates the request before anything is read or
// written, as parse does for a password sign-in.
func (a *attempt) parseIdentity(r IdentityLogin, now time.Time) error {
	var err error
	if a.mode, err = ParseMode(r.Mode); err != nil {
		return err
	}
	if a.access, err = ParseAccess(r.Access); err != nil {
		return err
	}
	if a.uai, err = ParseUAI(r.School); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Field = "school"
		}
		return err
	}
	if err := validateProviderID(r.Provider); err != nil {
		return err
	}
	if r.Identity.Subject == "" {
		return Invalid("subject", "Le service de connexion n'a pas dit qui vous êtes.")
	}
	if len(r.Identity.AssertionID) > MaxAssertionID {
		return Invalid("assertion", "La réponse du service de connexion porte un identifiant trop long.")
	}
	a.now = now
	return nil
}

// useAssertion records the identity's single-use proof; a second use is
// a replay.
func (s *Service) useAssertion(ctx context.Context, a *attempt, p IdentityProvider, id Identity) error {
	if id.AssertionID == "" {
		return nil
	}
	until := id.AssertionExpires
	if !until.After(a.now) {
		until = a.now.Add(DefaultAssertionWindow)
	}
	if longest := a.now.Add(MaxAssertionWindow); until.After(longest) {
		until = longest
	}
	err := s.Store.UseAssertion(ctx, ProviderKey{a.uai, p.ID}, id.AssertionID, until, a.now)
	if errors.Is(err, ErrExists) {
		return ErrAssertionReplayed
	} else if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	return nil
}

// identify sets a.user to the account the identity value is linked to in
// the base: by ENTID, else by login when p allows it (find read that
// account). Two accounts with the same ENTID link nobody.
func (s *Service) identify(ctx context.Context, a *attempt, p IdentityProvider, value string) error {
	byLogin := a.user
	a.user = nil
	if value == "" || len(value) > MaxENTID {
		return ErrIdentityUnknown
	}
	us, err := s.Store.FindUsersByENTID(ctx, a.base.BaseKey, value)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	switch {
	case len(us) > 1:
		return &Error{Code: CodeIdentityUnknown, Message: "Votre identifiant ENT est relié à plusieurs comptes Sésame de l'établissement. Demandez au superviseur (SPR) de corriger les identifiants ENT."}
	case len(us) == 1:
		a.user = &us[0]
	case p.MatchLogin && byLogin != nil:
		a.user = byLogin
	default:
		return ErrIdentityUnknown
	}
	a.login, a.r.Login = a.user.Key(), a.user.Login
	return nil
}

// ProviderForSignIn returns provider id of school, secret included, to
// the protocol layer that talks to it. Nothing it returns may be shown or
// logged (IdentityProvider.View is what may be shown).
func (s *Service) ProviderForSignIn(ctx context.Context, school, id string) (IdentityProvider, error) {
	uai, err := ParseUAI(school)
	if err != nil {
		return IdentityProvider{}, err
	}
	if err := validateProviderID(id); err != nil {
		return IdentityProvider{}, err
	}
	return s.provider(ctx, ProviderKey{uai, id})
}

// RefuseIdentity journals a sign-in through a provider that the protocol
// layer refused before any identity was known (the provider down, a
// tampered or replayed response): it adds to the hour's summary of
// refusals of the school's current base, like every unauthenticated
// refusal.
func (s *Service) RefuseIdentity(ctx context.Context, school string, err error) {
	uai, perr := ParseUAI(school)
	if perr != nil {
		return
	}
	sc, gerr := s.Store.GetSchool(ctx, uai)
	if gerr != nil {
		return
	}
	// journalLogin needs the base only to be known; CountJournal answers
	// not found for a missing one.
	a := &attempt{uai: uai, year: sc.CurrentYear, school: &sc, base: &Base{BaseKey: BaseKey{uai, sc.CurrentYear}}}
	s.journalLogin(ctx, a, LoginResult{}, err)
}

// checkENTIDFree refuses u's ENTID when another account of the base has
// it: a person links to one account.
func (s *Service) checkENTIDFree(ctx context.Context, k BaseKey, u User) error {
	if u.ENTID == "" {
		return nil
	}
	us, err := s.Store.FindUsersByENTID(ctx, k, u.ENTID)
	if err != nil {
		return fmt.Errorf("ent id: %w", err)
	}
	for _, o := range us {
		if o.Key() != u.Key() {
			return &Error{Code: CodeExists, Field: "entId", Message: entIDTaken(u.ENTID, o.Login)}
		}
	}
	return nil
}

// entIDTaken says that identifiant ENT id is already account login's.
func entIDTaken(id, login string) string {
	return fmt.Sprintf("L'identifiant ENT « %s » est déjà celui du compte « %s ».", clip(id, 64), login)
}

// ENTLink links the account Login to the identifier ENTID ("" unlinks);
// Line is its line in the file it came from, for the report.
type ENTLink struct {
	Line         int
	Login, ENTID string
}

// LinkReport says what LinkENT did: accounts linked (or unlinked), left
// as they were, and the lines refused with their code and French message.
type LinkReport struct {
	Linked, Unchanged int
	Rejected          []LinkRejection
}

// LinkRejection is a refused line of a bulk link.
type LinkRejection struct {
	Line          int
	Login         string
	Code, Message string
}

// LinkENT sets the ENT identifiers of many accounts of the caller's base
// (the CSV of `sesame users link-ent`), each as UpdateUser would, under
// the same rights. A line naming an identifier another line of the batch
// gives is refused, as is one whose identifier another account holds.
// It stops at the first failure that is not a refusal of a line.
func (s *Service) LinkENT(ctx context.Context, token string, links []ENTLink) (LinkReport, error) {
	cur, err := s.requireAny(ctx, token, ActionEditResources, ActionSPRUsers)
	if err != nil {
		return LinkReport{}, err
	}
	var rep LinkReport
	seen := map[string]string{} // ENTID → login key of its first line
	for _, l := range links {
		id := strings.TrimSpace(l.ENTID)
		reject := func(err error) {
			rep.Rejected = append(rep.Rejected, LinkRejection{Line: l.Line, Login: clip(l.Login, 64), Code: ErrorCode(err), Message: ErrorMessage(err)})
		}
		if first, dup := seen[id]; id != "" && dup && first != LoginKey(l.Login) {
			reject(&Error{Code: CodeExists, Field: "entId", Message: fmt.Sprintf("L'identifiant ENT « %s » est donné à deux comptes dans le fichier.", clip(id, 64))})
			continue
		}
		seen[id] = LoginKey(l.Login)
		if before, err := s.Store.GetUser(ctx, cur.Session.Base(), l.Login); err == nil && before.ENTID == id {
			rep.Unchanged++
			continue
		}
		_, err := s.UpdateUser(ctx, token, l.Login, UserEdit{ENTID: &id})
		if err == nil {
			rep.Linked++
			continue
		}
		if code := ErrorCode(err); code == CodeInternal || code == CodeUnavailable || code == CodeCanceled {
			return rep, err
		}
		reject(err)
	}
	return rep, nil
}
