package sesame

import (
	"context"
	"errors"
	"fmt"
)

// baseSource reads a base of the store as a rentrée: "Préparer l'année
// suivante" writes it to a file, and recovery "from last year's base" reads
// it directly.
type baseSource struct {
	store    Store
	k        BaseKey
	header   RentreeHeader
	profiles []Profile
	names    map[string]string // profile ID → name
}

// BaseSource returns base k as a rentrée source.
func (s *Service) BaseSource(ctx context.Context, k BaseKey) (RentreeSource, error) {
	school, err := s.Store.GetSchool(ctx, k.UAI)
	if err == nil {
		_, err = s.Store.GetBase(ctx, k)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, NotFound("La base " + string(k.Year) + " de l'établissement " + string(k.UAI))
		}
		return nil, fmt.Errorf("base source: %w", err)
	}
	ps, err := s.Store.ListProfiles(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("base source: %w", err)
	}
	b := &baseSource{store: s.Store, k: k, profiles: ps, names: map[string]string{},
		header: RentreeHeader{Format: "sesame-base", Version: 1, UAI: k.UAI, SchoolName: school.Name, Year: k.Year,
			CreatedAt: s.now(), Groups: -1, Profiles: -1, Spaces: -1, Users: -1}}
	for _, p := range ps {
		b.names[p.ID] = p.Name
	}
	return b, nil
}

func (b *baseSource) Header() RentreeHeader { return b.header }
func (b *baseSource) Profiles() []Profile   { return b.profiles }

// Users pages through the base's users in login order.
func (b *baseSource) Users(ctx context.Context, f func(RentreeUser) error) error {
	q := UserQuery{Limit: 500}
	for {
		page, err := b.store.ListUsers(ctx, b.k, q)
		if err != nil {
			return fmt.Errorf("base source users: %w", err)
		}
		for _, u := range page.Users {
			ru := RentreeUser{Login: u.Login, DisplayName: u.DisplayName, Kind: u.Kind, Enabled: u.Enabled,
				Supervisor: u.Supervisor, PasswordHash: u.PasswordHash, AdminGroup: b.names[u.AdminGroup],
				Profile: b.names[u.Profile], ENTID: u.ENTID, Entry: string(b.k.Year)}
			if err := f(ru); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}
