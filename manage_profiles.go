package sesame

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Administration of admin groups, teacher and staff profiles and space
// settings. Who may do what is decided in manage.go; what a change must
// respect, and what it ends, in editrules.go.

// ProfileView is a group, a profile or a space setting as the caller sees
// it: with the ceiling of its mode and what the caller may change.
type ProfileView struct {
	Profile
	Ceiling ActionSet
	// Protected says why the profile cannot be removed ("" when it can).
	Protected          string
	CanRename          bool
	CanEditGrants      bool
	CanEditDisconnect  bool
	CanDelete          bool
	CanChangeGroupType bool
}

// Class is what kind of profile p is: "group", "teacher", "staff" or
// "space".
func (p Profile) Class() string {
	switch {
	case p.Mode == ModeAdmin:
		return "group"
	case p.Mode == ModeTeacher:
		return "teacher"
	case p.Mode == ModeVieScolaire:
		return "staff"
	}
	return "space"
}

// protectedReason says why p cannot be removed, or "".
func protectedReason(p Profile) string {
	switch {
	case p.ID == AdministrationID:
		return "Le groupe Administration est celui du superviseur : il ne peut être ni supprimé ni changé de type."
	case p.Mode.IsSpace():
		return "Chaque espace a un réglage, qui ne peut pas être supprimé."
	case p.ID == TeachersID, p.ID == StaffID:
		return "Le profil « " + p.Name + " » est celui que reçoivent les nouveaux comptes : il ne peut pas être supprimé."
	}
	return ""
}

// grantsRight is the actions of which one lets p's holder edit the grants
// of a profile of this class.
func grantsRight(p Profile) []string {
	if p.Mode == ModeVieScolaire {
		return []string{ActionSPRUsers, ActionEditStaffProfiles}
	}
	return []string{ActionSPRUsers}
}

func (s *Service) viewOf(pr Principal, p Profile) ProfileView {
	v := ProfileView{Profile: p, Ceiling: Ceiling(p.Mode, p.access()), Protected: protectedReason(p)}
	users := pr.Can(ActionSPRUsers).Allowed
	v.CanRename = users && !p.Mode.IsSpace() && p.ID != AdministrationID
	v.CanChangeGroupType = users && p.Mode == ModeAdmin && p.ID != AdministrationID
	_, v.CanEditGrants = canAny(pr, grantsRight(p)...)
	v.CanEditGrants = v.CanEditGrants && !p.Mode.IsSpace() && p.ID != AdministrationID
	v.CanEditDisconnect = pr.Can(ActionSPRSecurity).Allowed
	v.CanDelete = users && v.Protected == ""
	return v
}

// profileReaders may read the groups and profiles: those who manage them
// and those who put users in them.
var profileReaders = []string{ActionSPRUsers, ActionSPRSecurity, ActionEditStaffProfiles, ActionEditResources}

// Profiles returns the groups, the profiles and the space settings of the
// caller's base.
func (s *Service) Profiles(ctx context.Context, token string) ([]ProfileView, error) {
	cur, err := s.requireAny(ctx, token, profileReaders...)
	if err != nil {
		return nil, err
	}
	ps, err := s.Store.ListProfiles(ctx, cur.Session.Base())
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	out := make([]ProfileView, len(ps))
	for i, p := range ps {
		out[i] = s.viewOf(cur.Principal, p)
	}
	return out, nil
}

// GetProfile returns one group, profile or space setting; of one of
// classes (see Profile.Class) when some are given, as if other ones did
// not exist.
func (s *Service) GetProfile(ctx context.Context, token, id string, classes ...string) (ProfileView, error) {
	cur, err := s.requireAny(ctx, token, profileReaders...)
	if err != nil {
		return ProfileView{}, err
	}
	p, err := s.profile(ctx, cur.Session.Base(), id, classes)
	if err != nil {
		return ProfileView{}, err
	}
	return s.viewOf(cur.Principal, p), nil
}

// profile reads profile id, which must be of one of classes when some
// are given.
func (s *Service) profile(ctx context.Context, k BaseKey, id string, classes []string) (Profile, error) {
	p, err := s.Store.GetProfile(ctx, k, id)
	if errors.Is(err, ErrNotFound) || (err == nil && len(classes) > 0 && !slices.Contains(classes, p.Class())) {
		return Profile{}, NotFound("Le groupe ou profil « " + id + " »")
	} else if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", id, err)
	}
	return p, nil
}

// NewProfile is a new admin group, teacher profile or staff profile.
type NewProfile struct {
	Name  string
	Mode  Mode
	Group GroupType // admin groups: modif (default) or consult
	// Grants: nil gives the mode's ceiling (as new bases do).
	Grants []string
	// AutoDisconnect: nil gives the default (enabled, 30 minutes).
	AutoDisconnect *AutoDisconnect
}

// CreateProfile creates an admin group, a teacher profile or a staff
// profile in the caller's base (the SPR's: spr.utilisateurs, and
// spr.securite for a disconnection setting other than the default).
func (s *Service) CreateProfile(ctx context.Context, token string, n NewProfile) (ProfileView, error) {
	cur, err := s.requireAny(ctx, token, ActionSPRUsers)
	if err != nil {
		return ProfileView{}, err
	}
	k := cur.Session.Base()
	switch {
	case n.Mode.IsSpace():
		return ProfileView{}, Invalid("mode", "Chaque espace a déjà son réglage : modifiez-le plutôt.")
	case n.Mode == ModeAdmin && n.Group == "":
		n.Group = GroupModif
	}
	now := s.now()
	p := Profile{Name: strings.TrimSpace(n.Name), Mode: n.Mode, Group: n.Group,
		AutoDisconnect: DefaultIdle, UpdatedAt: now}
	if n.Grants == nil {
		p.Grants = Ceiling(p.Mode, p.access()).Slugs()
	} else {
		p.Grants = NewActionSet(n.Grants).Slugs()
		if err := checkSlugs(n.Grants); err != nil {
			return ProfileView{}, err
		}
	}
	if n.AutoDisconnect != nil && *n.AutoDisconnect != p.AutoDisconnect {
		if err := forbid(cur.Principal, ActionSPRSecurity); err != nil {
			return ProfileView{}, err
		}
		p.AutoDisconnect = *n.AutoDisconnect
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	p.ID = profilePrefix(p.Mode) + hex.EncodeToString(b[:])
	existing, err := s.Store.ListProfiles(ctx, k)
	if err != nil {
		return ProfileView{}, fmt.Errorf("create profile: %w", err)
	}
	for _, x := range existing {
		if x.Mode == p.Mode && strings.EqualFold(x.Name, p.Name) {
			return ProfileView{}, &Error{Code: CodeExists, Field: "name", Message: upperFirst(p.Kind()) + " « " + x.Name + " » existe déjà."}
		}
	}
	if err := CheckProfileEdit(nil, p, cur.Base.License, s.MinIdleSetting()); err != nil {
		return ProfileView{}, err
	}
	if err := s.Store.CreateProfile(ctx, k, p); err != nil {
		return ProfileView{}, fmt.Errorf("create profile: %w", err)
	}
	p.Version = 1
	s.journal(ctx, k, JournalEntry{Event: EventProfileCreated, Actor: cur.User.Login, Subject: p.ID, Mode: p.Mode,
		Detail: upperFirst(p.Kind()) + " « " + p.Name + " » créé" + describeProfile(p) + "."})
	return s.viewOf(cur.Principal, p), nil
}

func profilePrefix(m Mode) string {
	switch m {
	case ModeAdmin:
		return "groupe-"
	case ModeTeacher:
		return "prof-"
	}
	return "pers-"
}

// checkSlugs refuses unknown actions, naming the first.
func checkSlugs(slugs []string) error {
	for _, g := range slugs {
		if err := CheckAction("grants", g); err != nil {
			return err
		}
	}
	return nil
}

func describeProfile(p Profile) string {
	ad := "sans déconnexion automatique"
	if p.AutoDisconnect.Enabled {
		ad = "déconnexion automatique après " + FrenchDuration(p.AutoDisconnect.After)
	}
	if p.Mode.IsSpace() {
		return " : " + ad
	}
	return fmt.Sprintf(" : %d action(s) autorisée(s), %s", len(p.Grants), ad)
}

// ProfileEdit changes some settings of a group, a profile or a space; nil
// fields stay. Version is the one read before.
type ProfileEdit struct {
	Name           *string
	Group          *GroupType
	Grants         *[]string
	AutoDisconnect *AutoDisconnect
	Version        int64
	// Classes, when set, are the classes the profile must be of (see
	// Profile.Class): another one is not found.
	Classes []string
}

// UpdateProfile changes a group, a profile or a space setting of the
// caller's base. Sessions see the change at their next request or
// heartbeat.
func (s *Service) UpdateProfile(ctx context.Context, token, id string, e ProfileEdit) (ProfileView, error) {
	cur, err := s.requireAny(ctx, token, ActionSPRUsers, ActionSPRSecurity, ActionEditStaffProfiles)
	if err != nil {
		return ProfileView{}, err
	}
	k := cur.Session.Base()
	before, err := s.profile(ctx, k, id, e.Classes)
	if err != nil {
		return ProfileView{}, err
	}
	p, changes, err := editProfile(cur.Principal, before, e)
	if err != nil {
		return ProfileView{}, err
	}
	if len(changes) == 0 {
		return s.viewOf(cur.Principal, before), nil
	}
	if e.Version != 0 && e.Version != before.Version {
		return ProfileView{}, Conflict(upperFirst(before.Kind()) + " « " + before.Name + " »")
	}
	if err := CheckProfileEdit(&before, p, cur.Base.License, s.MinIdleSetting()); err != nil {
		return ProfileView{}, err
	}
	if p.Name != before.Name {
		ps, err := s.Store.ListProfiles(ctx, k)
		if err != nil {
			return ProfileView{}, fmt.Errorf("update profile: %w", err)
		}
		for _, x := range ps {
			if x.ID != p.ID && x.Mode == p.Mode && strings.EqualFold(x.Name, p.Name) {
				return ProfileView{}, &Error{Code: CodeExists, Field: "name", Message: upperFirst(p.Kind()) + " « " + x.Name + " » existe déjà."}
			}
		}
	}
	p.UpdatedAt = s.now()
	saved, err := s.Store.UpdateProfile(ctx, k, p)
	if errors.Is(err, ErrConflict) {
		return ProfileView{}, Conflict(upperFirst(p.Kind()) + " « " + p.Name + " »")
	} else if err != nil {
		return ProfileView{}, fmt.Errorf("update profile: %w", err)
	}
	if EndsModification(before, saved) {
		if err := s.endModificationOf(ctx, k, saved.ID); err != nil {
			return ProfileView{}, err
		}
		changes = append(changes, "les connexions de ses membres en modification sont fermées")
	}
	if err := s.unstampProfile(ctx, k, before, saved); err != nil {
		return ProfileView{}, err
	}
	s.journal(ctx, k, JournalEntry{Event: EventProfileUpdated, Actor: cur.User.Login, Subject: saved.ID, Mode: saved.Mode,
		Detail: upperFirst(saved.Kind()) + " « " + saved.Name + " » : " + strings.Join(changes, ", ") + "."})
	return s.viewOf(cur.Principal, saved), nil
}

// editProfile applies e to p for pr, checking that pr may change each
// field that changes, and returns the result with the changes in French.
func editProfile(pr Principal, p Profile, e ProfileEdit) (Profile, []string, error) {
	var changes []string
	if e.Name != nil && strings.TrimSpace(*e.Name) != p.Name {
		if err := forbid(pr, ActionSPRUsers); err != nil {
			return p, nil, err
		}
		p.Name = strings.TrimSpace(*e.Name)
		changes = append(changes, "nom « "+p.Name+" »")
	}
	if e.Group != nil && *e.Group != p.Group {
		if err := forbid(pr, ActionSPRUsers); err != nil {
			return p, nil, err
		}
		p.Group = *e.Group
		changes = append(changes, "type « "+string(p.Group)+" »")
		if e.Grants == nil && p.ID != AdministrationID {
			// The grants follow the new ceiling.
			p.Grants = NewActionSet(p.Grants).Intersect(Ceiling(p.Mode, p.access())).Slugs()
		}
	}
	if e.Grants != nil {
		if err := checkSlugs(*e.Grants); err != nil {
			return p, nil, err
		}
		g := NewActionSet(*e.Grants).Slugs()
		if !slices.Equal(g, NewActionSet(p.Grants).Slugs()) {
			if err := forbid(pr, grantsRight(p)...); err != nil {
				return p, nil, err
			}
			p.Grants = g
			changes = append(changes, fmt.Sprintf("%d action(s) autorisée(s)", len(g)))
		}
	}
	if e.AutoDisconnect != nil && *e.AutoDisconnect != p.AutoDisconnect {
		if err := forbid(pr, ActionSPRSecurity); err != nil {
			return p, nil, err
		}
		p.AutoDisconnect = *e.AutoDisconnect
		if p.AutoDisconnect.Enabled {
			changes = append(changes, "déconnexion automatique après "+FrenchDuration(p.AutoDisconnect.After))
		} else {
			changes = append(changes, "déconnexion automatique désactivée")
		}
	}
	return p, changes, nil
}

// DeleteProfile removes a group or a profile that no user names any more
// (the SPR's: spr.utilisateurs). Built-in defaults and spaces stay. When
// classes are given, a profile of another class is not found.
func (s *Service) DeleteProfile(ctx context.Context, token, id string, version int64, classes ...string) error {
	cur, err := s.requireAny(ctx, token, ActionSPRUsers)
	if err != nil {
		return err
	}
	k := cur.Session.Base()
	p, err := s.profile(ctx, k, id, classes)
	if err != nil {
		return err
	}
	if why := protectedReason(p); why != "" {
		return &Error{Code: CodeProtected, Message: why}
	}
	members, err := s.Store.ListUsers(ctx, k, UserQuery{Member: p.ID, Limit: 3})
	if err != nil {
		return fmt.Errorf("delete profile: %w", err)
	}
	if n := len(members.Users); n > 0 {
		names := make([]string, n)
		for i, u := range members.Users {
			names[i] = u.Login
		}
		more := ""
		if members.Next != "" {
			more = "…"
		}
		return &Error{Code: CodeInUse, Message: upperFirst(p.Kind()) + " « " + p.Name + " » a encore des membres (" +
			strings.Join(names, ", ") + more + ") : changez-les de groupe ou de profil avant de le supprimer."}
	}
	if version == 0 {
		version = p.Version
	}
	if err := s.Store.DeleteProfile(ctx, k, id, version); errors.Is(err, ErrConflict) {
		return Conflict(upperFirst(p.Kind()) + " « " + p.Name + " »")
	} else if errors.Is(err, ErrNotFound) {
		return NotFound("Le groupe ou profil « " + id + " »")
	} else if err != nil {
		return fmt.Errorf("delete profile: %w", err)
	}
	s.journal(ctx, k, JournalEntry{Event: EventProfileDeleted, Actor: cur.User.Login, Subject: p.ID, Mode: p.Mode,
		Detail: upperFirst(p.Kind()) + " « " + p.Name + " » supprimé."})
	return nil
}
