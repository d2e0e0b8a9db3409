package sesame

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Administration of the school's identity providers (Connexion via l'ENT):
// the authentication policy, spr.securite, the SPR alone. Client secrets
// are write-only: these use cases answer views, which never hold them.

// ActionProviders is the right to manage the identity providers: part of
// the authentication policy.
const ActionProviders = ActionSPRSecurity

// Providers returns the identity providers of the caller's school.
func (s *Service) Providers(ctx context.Context, token string) ([]ProviderView, error) {
	cur, err := s.requireAny(ctx, token, ActionProviders)
	if err != nil {
		return nil, err
	}
	ps, err := s.Store.ListProviders(ctx, cur.Session.UAI)
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	out := make([]ProviderView, len(ps))
	for i, p := range ps {
		out[i] = p.View()
	}
	return out, nil
}

// Provider returns one identity provider of the caller's school.
func (s *Service) Provider(ctx context.Context, token, id string) (ProviderView, error) {
	cur, err := s.requireAny(ctx, token, ActionProviders)
	if err != nil {
		return ProviderView{}, err
	}
	p, err := s.provider(ctx, ProviderKey{cur.Session.UAI, id})
	return p.View(), err
}

// provider reads a provider, with a French "not found".
func (s *Service) provider(ctx context.Context, k ProviderKey) (IdentityProvider, error) {
	p, err := s.Store.GetProvider(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return IdentityProvider{}, NotFound("Le service de connexion « " + clip(k.ID, MaxProviderID) + " »")
	} else if err != nil {
		return IdentityProvider{}, fmt.Errorf("provider %s: %w", k.ID, err)
	}
	return p, nil
}

// CreateProvider adds an identity provider to the caller's school.
func (s *Service) CreateProvider(ctx context.Context, token string, p IdentityProvider) (ProviderView, error) {
	cur, err := s.requireAny(ctx, token, ActionProviders)
	if err != nil {
		return ProviderView{}, err
	}
	p = normalProvider(p)
	if err := p.Validate(); err != nil {
		return ProviderView{}, err
	}
	uai := cur.Session.UAI
	existing, err := s.Store.ListProviders(ctx, uai)
	if err != nil {
		return ProviderView{}, fmt.Errorf("create provider: %w", err)
	}
	if len(existing) >= MaxProvidersPerSchool {
		return ProviderView{}, Invalid("id", "Un établissement a au plus %d services de connexion.", MaxProvidersPerSchool)
	}
	p.UpdatedAt, p.Version = s.now(), 1
	err = s.Store.CreateProvider(ctx, uai, p)
	if errors.Is(err, ErrExists) {
		return ProviderView{}, Exists("Le service de connexion « " + p.ID + " »")
	} else if err != nil {
		return ProviderView{}, fmt.Errorf("create provider: %w", err)
	}
	s.journalProvider(ctx, cur, p, "ajouté")
	return p.View(), nil
}

// UpdateProvider replaces an identity provider of the caller's school by p
// (p.ID names it), provided p.Version is the one read before (0: no
// check). An empty
// client secret keeps the stored one (the page never had it).
func (s *Service) UpdateProvider(ctx context.Context, token string, p IdentityProvider) (ProviderView, error) {
	cur, err := s.requireAny(ctx, token, ActionProviders)
	if err != nil {
		return ProviderView{}, err
	}
	k := ProviderKey{cur.Session.UAI, p.ID}
	old, err := s.provider(ctx, k)
	if err != nil {
		return ProviderView{}, err
	}
	if p.Version == 0 {
		p.Version = old.Version
	} else if p.Version != old.Version {
		return ProviderView{}, Conflict("Le service de connexion « " + p.ID + " »")
	}
	p = normalProvider(p)
	if p.ClientSecret == "" && p.Protocol == ProtocolOIDC && old.Protocol == ProtocolOIDC {
		p.ClientSecret = old.ClientSecret
	}
	if err := p.Validate(); err != nil {
		return ProviderView{}, err
	}
	p.UpdatedAt = s.now()
	saved, err := s.Store.UpdateProvider(ctx, k.UAI, p)
	if errors.Is(err, ErrConflict) {
		return ProviderView{}, Conflict("Le service de connexion « " + p.ID + " »")
	} else if err != nil {
		return ProviderView{}, fmt.Errorf("update provider: %w", err)
	}
	s.journalProvider(ctx, cur, saved, "modifié")
	return saved.View(), nil
}

// DeleteProvider removes an identity provider of the caller's school,
// provided version is the one read before (0: no check). The links of accounts (their
// ENTID) stay: another provider may use them.
func (s *Service) DeleteProvider(ctx context.Context, token, id string, version int64) error {
	cur, err := s.requireAny(ctx, token, ActionProviders)
	if err != nil {
		return err
	}
	k := ProviderKey{cur.Session.UAI, id}
	p, err := s.provider(ctx, k)
	if err != nil {
		return err
	}
	if version == 0 {
		version = p.Version
	}
	err = s.Store.DeleteProvider(ctx, k, version)
	if errors.Is(err, ErrConflict) {
		return Conflict("Le service de connexion « " + id + " »")
	} else if errors.Is(err, ErrNotFound) {
		return NotFound("Le service de connexion « " + id + " »")
	} else if err != nil {
		return fmt.Errorf("delete provider: %w", err)
	}
	s.journalProvider(ctx, cur, p, "supprimé")
	return nil
}

// normalProvider trims what people type around names and addresses.
func normalProvider(p IdentityProvider) IdentityProvider {
	p.ID, p.DisplayName = strings.TrimSpace(p.ID), strings.TrimSpace(p.DisplayName)
	p.Issuer, p.MetadataURL, p.CASURL = strings.TrimSpace(p.Issuer), strings.TrimSpace(p.MetadataURL), strings.TrimSpace(p.CASURL)
	p.Claim = strings.TrimSpace(p.Claim)
	return p
}

// journalProvider records a change of the authentication policy (never
// the secret) in the journal of the caller's base.
func (s *Service) journalProvider(ctx context.Context, cur Current, p IdentityProvider, what string) {
	s.journal(ctx, cur.Session.Base(), JournalEntry{Event: EventProviderEdited, Actor: cur.User.Login, Subject: p.ID,
		Detail: fmt.Sprintf("Service de connexion « %s » (%s) %s.", p.DisplayName, p.Protocol.Label(), what)})
}

// ProviderChoice is what the sign-in page shows of a provider: anyone may
// read it.
type ProviderChoice struct {
	ID          string
	DisplayName string
	Protocol    Protocol
	Kinds       []Kind
}

// SignInProviders returns the identity providers a school offers on its
// sign-in page (an empty list for an unknown school: nothing tells a
// stranger which codes exist).
func (s *Service) SignInProviders(ctx context.Context, school string) ([]ProviderChoice, error) {
	uai, err := ParseUAI(school)
	if err != nil {
		return nil, err
	}
	ps, err := s.Store.ListProviders(ctx, uai)
	if err != nil {
		return nil, fmt.Errorf("sign-in providers: %w", err)
	}
	out := make([]ProviderChoice, len(ps))
	for i, p := range ps {
		out[i] = ProviderChoice{ID: p.ID, DisplayName: p.DisplayName, Protocol: p.Protocol, Kinds: p.View().Kinds}
	}
	return out, nil
}
