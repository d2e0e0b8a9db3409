package sesame

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Administration of accounts: list, search, create, edit, deactivate,
// reset a password. Who may do what is decided in manage.go.

// Users returns a page of the caller's base's users.
func (s *Service) Users(ctx context.Context, token string, q UserQuery) (UserPage, error) {
	cur, err := s.requireAny(ctx, token, ActionEditResources, ActionSPRUsers)
	if err != nil {
		return UserPage{}, err
	}
	if q.Kind != "" {
		if _, err := ParseKind(string(q.Kind)); err != nil {
			return UserPage{}, err
		}
	}
	if len(q.Search) > 200 {
		return UserPage{}, Invalid("q", "La recherche est trop longue (200 caractères au plus).")
	}
	page, err := s.Store.ListUsers(ctx, cur.Session.Base(), q)
	if err != nil {
		return UserPage{}, fmt.Errorf("users: %w", err)
	}
	return page, nil
}

// GetUser returns one user of the caller's base.
func (s *Service) GetUser(ctx context.Context, token, login string) (User, error) {
	cur, err := s.requireAny(ctx, token, ActionEditResources, ActionSPRUsers)
	if err != nil {
		return User{}, err
	}
	return s.user(ctx, cur.Session.Base(), login)
}

func (s *Service) user(ctx context.Context, k BaseKey, login string) (User, error) {
	u, err := s.Store.GetUser(ctx, k, login)
	if errors.Is(err, ErrNotFound) {
		return User{}, NotFound("L'utilisateur « " + login + " »")
	} else if err != nil {
		return User{}, fmt.Errorf("user %s: %w", login, err)
	}
	return u, nil
}

// mayManage checks that p may change account u (as it is, or as it
// would become with adminGroup): administrative users and the SPR are the
// SPR's; the SPR's own account only the SPR's.
func mayManage(p Principal, u User, adminGroup string) error {
	if u.Supervisor && LoginKey(p.User.Login) != u.Key() && p.User.Login != OperatorLogin {
		return &Error{Code: CodeProtected, Message: "Le compte du superviseur (SPR) ne peut être modifié que par lui-même."}
	}
	if u.AdminGroup != "" || adminGroup != "" || u.Supervisor {
		return forbid(p, ActionSPRUsers)
	}
	return forbid(p, ActionEditResources, ActionSPRUsers)
}

// CreateUser creates an account in the caller's base. n.UAI and n.Year
// are ignored. Without a password, one is generated: it is returned, to
// show once.
func (s *Service) CreateUser(ctx context.Context, token string, n NewUser) (User, string, error) {
	cur, err := s.requireAny(ctx, token, ActionEditResources, ActionSPRUsers)
	if err != nil {
		return User{}, "", err
	}
	if err := mayManage(cur.Principal, User{}, n.AdminGroup); err != nil {
		return User{}, "", err
	}
	k := cur.Session.Base()
	n.UAI, n.Year = string(k.UAI), string(k.Year)
	pw := n.Password
	if pw == "" {
		if pw, err = GeneratePassword(); err != nil {
			return User{}, "", err
		}
		n.Password = pw
	}
	u, err := s.AddUser(WithActor(ctx, cur.User.Login), n)
	if err != nil {
		return User{}, "", err
	}
	return u, pw, nil
}

// membership names u's group and profile among ps, for the journal.
func membership(u User, ps []Profile) string {
	name := func(id string) string {
		for _, p := range ps {
			if p.ID == id {
				return p.Name
			}
		}
		return id
	}
	var parts []string
	if u.AdminGroup != "" {
		parts = append(parts, "groupe « "+name(u.AdminGroup)+" »")
	}
	if u.Profile != "" {
		parts = append(parts, "profil « "+name(u.Profile)+" »")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// UserEdit changes some fields of an account; nil fields stay. Version is
// the one read before: a concurrent change is a conflict.
type UserEdit struct {
	DisplayName *string
	AdminGroup  *string // "" takes the user out of admin groups
	Profile     *string
	Enabled     *bool
	ENTID       *string // the « identifiant ENT »; "" unlinks
	Version     int64
}

// UpdateUser changes an account of the caller's base. Deactivating it, or
// changing its admin group, ends its sessions (all of them, or those in
// admin mode) and frees their seats at once.
func (s *Service) UpdateUser(ctx context.Context, token, login string, e UserEdit) (User, error) {
	cur, err := s.requireAny(ctx, token, ActionEditResources, ActionSPRUsers)
	if err != nil {
		return User{}, err
	}
	k := cur.Session.Base()
	u, err := s.user(ctx, k, login)
	if err != nil {
		return User{}, err
	}
	group := u.AdminGroup
	if e.AdminGroup != nil {
		group = *e.AdminGroup
	}
	if err := mayManage(cur.Principal, u, group); err != nil {
		return User{}, err
	}
	if e.Version != 0 && e.Version != u.Version {
		return User{}, Conflict("L'utilisateur « " + u.Login + " »")
	}
	before := u
	var profiles []Profile
	if (e.AdminGroup != nil && *e.AdminGroup != "" && *e.AdminGroup != u.AdminGroup) || (e.Profile != nil && *e.Profile != u.Profile) {
		if profiles, err = s.Store.ListProfiles(ctx, k); err != nil {
			return User{}, fmt.Errorf("update user: %w", err)
		}
	}
	u, changes, err := editUser(u, e, profiles)
	if err != nil {
		return User{}, err
	}
	if u == before {
		return u, nil
	}
	if err := CheckUserEdit(&before, u, profiles); err != nil {
		return User{}, err
	}
	if u.ENTID != before.ENTID {
		if err := s.checkENTIDFree(ctx, k, u); err != nil {
			return User{}, err
		}
	}
	u.UpdatedAt = s.now()
	saved, err := s.Store.UpdateUser(ctx, k, u)
	if errors.Is(err, ErrConflict) {
		return User{}, Conflict("L'utilisateur « " + u.Login + " »")
	} else if err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	end, m := SessionsToEnd(before, saved)
	if end {
		if err := s.endSessionsOf(ctx, k, saved.Login, m); err != nil {
			return saved, err
		}
	}
	if !end || m != "" { // every session ended: none is left to unstamp
		if err := s.unstampUser(ctx, k, before, saved); err != nil {
			return saved, err
		}
	}
	event, detail := EventUserUpdated, strings.Join(changes, ", ")
	switch {
	case !saved.Enabled && before.Enabled:
		event = EventUserDisabled
		detail = strings.TrimPrefix(strings.Join(append([]string{"compte désactivé ; ses connexions sont fermées"}, changes...), ", "), ", ")
	case saved.Enabled && !before.Enabled:
		event = EventUserEnabled
		detail = strings.Join(append([]string{"compte réactivé"}, changes...), ", ")
	}
	s.journal(ctx, k, JournalEntry{Event: event, Actor: cur.User.Login, Subject: saved.Login, Detail: upperFirst(detail) + "."})
	return saved, nil
}

// editUser applies e to u, the groups and profiles it names found among
// profiles, and returns the result with the changes in French (an
// activation change is said by the caller).
func editUser(u User, e UserEdit, profiles []Profile) (User, []string, error) {
	var changes []string
	if e.DisplayName != nil && strings.TrimSpace(*e.DisplayName) != u.DisplayName {
		u.DisplayName = strings.TrimSpace(*e.DisplayName)
		changes = append(changes, "nom « "+u.DisplayName+" »")
	}
	if e.AdminGroup != nil && *e.AdminGroup != u.AdminGroup {
		u.AdminGroup = ""
		if *e.AdminGroup != "" {
			g, err := FindProfile(profiles, *e.AdminGroup, ModeAdmin)
			if err != nil {
				return u, nil, err
			}
			u.AdminGroup = g.ID
			changes = append(changes, "groupe « "+g.Name+" »")
		} else {
			changes = append(changes, "retiré des utilisateurs administratifs")
		}
	}
	if e.Profile != nil && *e.Profile != u.Profile {
		m := u.Kind.ProfileMode()
		if m == "" {
			return u, nil, errNoProfileForKind
		}
		p, err := FindProfile(profiles, *e.Profile, m)
		if err != nil {
			return u, nil, err
		}
		u.Profile = p.ID
		changes = append(changes, "profil « "+p.Name+" »")
	}
	if e.Enabled != nil {
		u.Enabled = *e.Enabled
	}
	if e.ENTID != nil && strings.TrimSpace(*e.ENTID) != u.ENTID {
		if u.ENTID = strings.TrimSpace(*e.ENTID); u.ENTID == "" {
			changes = append(changes, "identifiant ENT retiré")
		} else {
			changes = append(changes, "identifiant ENT « "+clip(u.ENTID, 64)+" »")
		}
	}
	return u, changes, nil
}

// ResetPassword sets a new password on an account of the caller's base
// (one is generated when password is empty) and returns it, to show once,
// with the account's new version. The account's open sessions end.
func (s *Service) ResetPassword(ctx context.Context, token, login, password string) (string, int64, error) {
	cur, err := s.requireAny(ctx, token, ActionEditResources, ActionSPRUsers)
	if err != nil {
		return "", 0, err
	}
	k := cur.Session.Base()
	u, err := s.user(ctx, k, login)
	if err != nil {
		return "", 0, err
	}
	if err := mayManage(cur.Principal, u, u.AdminGroup); err != nil {
		return "", 0, err
	}
	if password == "" {
		if password, err = GeneratePassword(); err != nil {
			return "", 0, err
		}
	} else if err := CheckPassword(password); err != nil {
		return "", 0, err
	}
	before := u
	if u.PasswordHash, err = s.Hasher.Hash(password); err != nil {
		return "", 0, err
	}
	u.UpdatedAt = s.now()
	saved, err := s.Store.UpdateUser(ctx, k, u)
	if errors.Is(err, ErrConflict) {
		return "", 0, Conflict("L'utilisateur « " + u.Login + " »")
	} else if err != nil {
		return "", 0, fmt.Errorf("reset password: %w", err)
	}
	// Whoever knew the old password is shown the door.
	if end, m := SessionsToEnd(before, saved); end {
		if err := s.endSessionsOf(ctx, k, u.Login, m); err != nil {
			return "", 0, err
		}
	}
	s.journal(ctx, k, JournalEntry{Event: EventPasswordReset, Actor: cur.User.Login, Subject: u.Login,
		Detail: "Mot de passe réinitialisé ; les connexions ouvertes du compte sont fermées."})
	return password, saved.Version, nil
}
