package sesame

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Administration of a base: users, admin groups, teacher and staff
// profiles, space settings, the journal and seat usage. Every use case
// resolves the caller's session and decides with Decide (through
// Principal.Can); the rules of who may change what are here, once:
//   - admin groups, and any account that is or becomes an administrative
//     user (or the SPR): spr.utilisateurs, the SPR alone;
//   - other accounts: ressources.creer-modifier-ressources (or the SPR);
//   - grants of teacher profiles: the SPR; of staff profiles: the SPR, or
//     ressources.modifier-profils-autorisations-personnels;
//   - every automatic-disconnection setting: spr.securite, the SPR alone;
//   - the journal: spr.journal; seat usage: spr.connexions.

// ActionEditResources is action 4, the right to create and edit accounts
// that are not administrative users.
const ActionEditResources = "ressources.creer-modifier-ressources"

// canAny returns the first allowed decision among slugs, or the denial of
// the first one.
func canAny(p Principal, slugs ...string) (Decision, bool) {
	first := Decision{}
	for i, s := range slugs {
		d := p.Can(s)
		if d.Allowed {
			return d, true
		}
		if i == 0 {
			first = d
		}
	}
	return first, false
}

// requireAny resolves token's session as the user's activity and checks
// that it may do one of slugs.
func (s *Service) requireAny(ctx context.Context, token string, slugs ...string) (Current, error) {
	return s.require(ctx, token, true, slugs...)
}

func forbid(p Principal, slugs ...string) error {
	if d, ok := canAny(p, slugs...); !ok {
		return &ForbiddenError{Decision: d}
	}
	return nil
}

// journal appends an entry to base k's journal at now. The journal must
// not stop the product: a failure to write it is logged at error level.
func (s *Service) journal(ctx context.Context, k BaseKey, e JournalEntry) {
	now := s.now()
	var b [4]byte
	_, _ = rand.Read(b[:])
	// Entries of one instant keep the order this process wrote them in;
	// the random part keeps IDs of several servers apart.
	e.At, e.ID = now, fmt.Sprintf("%s-%08x-%s", JournalID(now), journalSeq.Add(1), hex.EncodeToString(b[:]))
	e.ExpiresAt = now.Add(s.JournalRetention())
	if err := s.Store.AppendJournal(ctx, k, e); err != nil {
		s.logger().Error("journal", "event", string(e.Event), "school", string(k.UAI), "error", err.Error())
	}
}

// JournalRetention is how long journal entries are kept.
func (s *Service) JournalRetention() time.Duration {
	if s.Retention > 0 {
		return s.Retention
	}
	return DefaultJournalRetention
}

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// MinIdleSetting is the shortest automatic disconnection an edit may set.
func (s *Service) MinIdleSetting() time.Duration {
	if s.MinIdle > 0 {
		return s.MinIdle
	}
	return MinAutoDisconnect
}

var journalSeq atomic.Uint32

type actorKey struct{}

// WithActor returns ctx naming login as who acts, for the journal of use
// cases that take no session (recovery).
func WithActor(ctx context.Context, login string) context.Context {
	return context.WithValue(ctx, actorKey{}, login)
}

func actorOf(ctx context.Context) string { a, _ := ctx.Value(actorKey{}).(string); return a }

// ---- Users ----

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
	var changes []string
	var profiles []Profile
	if (e.AdminGroup != nil && *e.AdminGroup != "" && *e.AdminGroup != u.AdminGroup) || (e.Profile != nil && *e.Profile != u.Profile) {
		if profiles, err = s.Store.ListProfiles(ctx, k); err != nil {
			return User{}, fmt.Errorf("update user: %w", err)
		}
	}
	if e.DisplayName != nil && strings.TrimSpace(*e.DisplayName) != u.DisplayName {
		u.DisplayName = strings.TrimSpace(*e.DisplayName)
		changes = append(changes, "nom « "+u.DisplayName+" »")
	}
	if e.AdminGroup != nil && *e.AdminGroup != u.AdminGroup {
		if u.Supervisor {
			return User{}, &Error{Code: CodeProtected, Field: "adminGroup", Message: "Le superviseur (SPR) reste dans le groupe Administration."}
		}
		u.AdminGroup = ""
		if *e.AdminGroup != "" {
			g, err := findProfile(profiles, *e.AdminGroup, ModeAdmin)
			if err != nil {
				return User{}, err
			}
			if g.Group == GroupAdmin {
				return User{}, &Error{Code: CodeProtected, Field: "adminGroup", Message: "Le groupe Administration est celui du superviseur : choisissez un autre groupe."}
			}
			u.AdminGroup = g.ID
			changes = append(changes, "groupe « "+g.Name+" »")
		} else {
			changes = append(changes, "retiré des utilisateurs administratifs")
		}
	}
	if e.Profile != nil && *e.Profile != u.Profile {
		m := ModeVieScolaire
		if u.Kind == KindTeacher {
			m = ModeTeacher
		}
		if u.Kind != KindTeacher && u.Kind != KindStaff {
			return User{}, Invalid("profile", "Seuls les personnels et les professeurs ont un profil d'autorisation.")
		}
		p, err := findProfile(profiles, *e.Profile, m)
		if err != nil {
			return User{}, err
		}
		u.Profile = p.ID
		changes = append(changes, "profil « "+p.Name+" »")
	}
	event := EventUserUpdated
	if e.Enabled != nil && *e.Enabled != u.Enabled {
		if u.Supervisor && !*e.Enabled {
			return User{}, &Error{Code: CodeProtected, Field: "enabled", Message: "Le compte du superviseur (SPR) ne peut pas être désactivé."}
		}
		u.Enabled = *e.Enabled
		event = EventUserEnabled
		if !u.Enabled {
			event = EventUserDisabled
		}
	}
	if u == before {
		return u, nil
	}
	if err := u.Validate(); err != nil {
		return User{}, err
	}
	u.UpdatedAt = s.now()
	saved, err := s.Store.UpdateUser(ctx, k, u)
	if errors.Is(err, ErrConflict) {
		return User{}, Conflict("L'utilisateur « " + u.Login + " »")
	} else if err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	switch {
	case !saved.Enabled && before.Enabled:
		err = s.endSessionsOf(ctx, k, saved.Login, "")
	case saved.AdminGroup != before.AdminGroup:
		err = s.endSessionsOf(ctx, k, saved.Login, ModeAdmin)
	}
	if err != nil {
		return saved, err
	}
	detail := strings.Join(changes, ", ")
	switch event {
	case EventUserDisabled:
		detail = strings.TrimPrefix(strings.Join(append([]string{"compte désactivé ; ses connexions sont fermées"}, changes...), ", "), ", ")
	case EventUserEnabled:
		detail = strings.Join(append([]string{"compte réactivé"}, changes...), ", ")
	}
	s.journal(ctx, k, JournalEntry{Event: event, Actor: cur.User.Login, Subject: saved.Login, Detail: upperFirst(detail) + "."})
	return saved, nil
}

// clip cuts s to n runes, marking the cut with "…": what a stranger typed
// (a refused login) is journalled, but not at any length.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// endSessionsOf ends the open sessions of login in base k (in mode m
// only, when set), freeing their seats at once.
func (s *Service) endSessionsOf(ctx context.Context, k BaseKey, login string, m Mode) error {
	return s.endSessions(ctx, k, func(x Session) bool {
		return LoginKey(x.Login) == LoginKey(login) && (m == "" || x.Mode == m)
	})
}

// endSessions ends the open sessions of base k that match (reason
// disconnected), freeing their seats at once.
func (s *Service) endSessions(ctx context.Context, k BaseKey, match func(Session) bool) error {
	sessions, err := s.Store.ListSessions(ctx, k)
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	now := s.now()
	for _, x := range sessions {
		if !match(x) {
			continue
		}
		if _, err := s.Store.EndSession(ctx, x.ID, ReasonDisconnected, now); err != nil &&
			!errors.Is(err, ErrSessionEnded) && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("end session of %s: %w", x.Login, err)
		}
	}
	return nil
}

// endModificationOf ends the admin-mode sessions in modification of the
// members of group id.
func (s *Service) endModificationOf(ctx context.Context, k BaseKey, id string) error {
	members := map[string]bool{}
	for q := (UserQuery{Member: id, Limit: 1000}); ; {
		page, err := s.Store.ListUsers(ctx, k, q)
		if err != nil {
			return fmt.Errorf("members of %s: %w", id, err)
		}
		for _, u := range page.Users {
			if u.AdminGroup == id {
				members[u.Key()] = true
			}
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	return s.endSessions(ctx, k, func(x Session) bool {
		return x.Mode == ModeAdmin && x.Access == Modify && members[LoginKey(x.Login)]
	})
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
	if err := s.endSessionsOf(ctx, k, u.Login, ""); err != nil {
		return "", 0, err
	}
	s.journal(ctx, k, JournalEntry{Event: EventPasswordReset, Actor: cur.User.Login, Subject: u.Login,
		Detail: "Mot de passe réinitialisé ; les connexions ouvertes du compte sont fermées."})
	return password, saved.Version, nil
}

// ---- Groups, profiles and spaces ----

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
	case n.Mode == ModeAdmin && n.Group == GroupAdmin:
		return ProfileView{}, &Error{Code: CodeProtected, Field: "type", Message: "Seul le groupe Administration est de type « admin »."}
	}
	if n.Group == GroupConsult && !cur.Base.License.Consultation {
		return ProfileView{}, &Error{Code: CodeUnlicensed, Field: "type", Message: "Un groupe de type « consult » demande la licence de consultation, que l'établissement n'a pas."}
	}
	now := s.now()
	p := Profile{Name: strings.TrimSpace(n.Name), Mode: n.Mode, Group: n.Group,
		AutoDisconnect: AutoDisconnect{Enabled: true, After: DefaultAutoDisconnect}, UpdatedAt: now}
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
	if err := p.Validate(s.MinIdleSetting()); err != nil {
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
		if _, ok := LookupAction(g); !ok {
			return &Error{Code: CodeUnknownAction, Field: "grants", Message: "L'action « " + g + " » n'existe pas."}
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
	p, err := s.profile(ctx, k, id, e.Classes)
	if err != nil {
		return ProfileView{}, err
	}
	pr := cur.Principal
	before := p
	var changes []string
	if e.Name != nil && strings.TrimSpace(*e.Name) != p.Name {
		if err := forbid(pr, ActionSPRUsers); err != nil {
			return ProfileView{}, err
		}
		if p.ID == AdministrationID || p.Mode.IsSpace() {
			return ProfileView{}, &Error{Code: CodeProtected, Field: "name", Message: "Le nom de « " + p.Name + " » ne peut pas être changé."}
		}
		p.Name = strings.TrimSpace(*e.Name)
		changes = append(changes, "nom « "+p.Name+" »")
	}
	if e.Group != nil && *e.Group != p.Group {
		if err := forbid(pr, ActionSPRUsers); err != nil {
			return ProfileView{}, err
		}
		if p.ID == AdministrationID {
			return ProfileView{}, &Error{Code: CodeProtected, Field: "type", Message: "Le type du groupe Administration ne peut pas être changé."}
		}
		if *e.Group == GroupConsult && !cur.Base.License.Consultation {
			return ProfileView{}, &Error{Code: CodeUnlicensed, Field: "type", Message: "Un groupe de type « consult » demande la licence de consultation, que l'établissement n'a pas."}
		}
		p.Group = *e.Group
		changes = append(changes, "type « "+string(p.Group)+" »")
		if e.Grants == nil {
			// The grants follow the new ceiling.
			p.Grants = NewActionSet(p.Grants).Intersect(Ceiling(p.Mode, p.access())).Slugs()
		}
	}
	if e.Grants != nil {
		if err := checkSlugs(*e.Grants); err != nil {
			return ProfileView{}, err
		}
		g := NewActionSet(*e.Grants).Slugs()
		if !slices.Equal(g, NewActionSet(p.Grants).Slugs()) {
			if err := forbid(pr, grantsRight(p)...); err != nil {
				return ProfileView{}, err
			}
			if p.ID == AdministrationID {
				return ProfileView{}, &Error{Code: CodeProtected, Field: "grants", Message: "Le groupe Administration a toujours tous les droits : ses autorisations ne se modifient pas."}
			}
			p.Grants = g
			changes = append(changes, fmt.Sprintf("%d action(s) autorisée(s)", len(g)))
		}
	}
	if e.AutoDisconnect != nil && *e.AutoDisconnect != p.AutoDisconnect {
		if err := forbid(pr, ActionSPRSecurity); err != nil {
			return ProfileView{}, err
		}
		p.AutoDisconnect = *e.AutoDisconnect
		if p.AutoDisconnect.Enabled {
			changes = append(changes, "déconnexion automatique après "+FrenchDuration(p.AutoDisconnect.After))
		} else {
			changes = append(changes, "déconnexion automatique désactivée")
		}
	}
	if len(changes) == 0 {
		return s.viewOf(pr, before), nil
	}
	if e.Version != 0 && e.Version != before.Version {
		return ProfileView{}, Conflict(upperFirst(before.Kind()) + " « " + before.Name + " »")
	}
	if err := p.Validate(s.MinIdleSetting()); err != nil {
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
	if saved.Group == GroupConsult && before.Group != GroupConsult {
		// Members of a consult group work in consultation only: their
		// sessions in modification end, and free their seats at once.
		if err := s.endModificationOf(ctx, k, saved.ID); err != nil {
			return ProfileView{}, err
		}
		changes = append(changes, "les connexions de ses membres en modification sont fermées")
	}
	s.journal(ctx, k, JournalEntry{Event: EventProfileUpdated, Actor: cur.User.Login, Subject: saved.ID, Mode: saved.Mode,
		Detail: upperFirst(saved.Kind()) + " « " + saved.Name + " » : " + strings.Join(changes, ", ") + "."})
	return s.viewOf(pr, saved), nil
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

// ---- Journal and seat usage ----

// Journal returns a page of the caller's base's journal (spr.journal).
func (s *Service) Journal(ctx context.Context, token string, q JournalQuery) (JournalPage, error) {
	cur, err := s.requireAny(ctx, token, ActionSPRJournal)
	if err != nil {
		return JournalPage{}, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return JournalPage{}, Invalid("from", "La date de début doit précéder la date de fin.")
	}
	page, err := s.Store.ListJournal(ctx, cur.Session.Base(), q)
	if err != nil {
		return JournalPage{}, fmt.Errorf("journal: %w", err)
	}
	page.Entries = unexpired(page.Entries, s.now())
	return page, nil
}

// unexpired drops the entries past their retention, which the store may
// still hold until it collects them.
func unexpired(es []JournalEntry, now time.Time) []JournalEntry {
	return slices.DeleteFunc(es, func(e JournalEntry) bool { return !e.ExpiresAt.IsZero() && e.ExpiresAt.Before(now) })
}

// UsageReport is the seat usage of a base over some days, with the
// licence's limits to compare it with.
type UsageReport struct {
	From, To string
	Limits   map[Pool]Limit
	Days     []UsageDay
}

// MaxUsageDays is the longest period a usage report covers.
const MaxUsageDays = 400

// Usage returns the seat usage of the caller's base from..to (YYYY-MM-DD;
// by default the last 30 days) (spr.connexions).
func (s *Service) Usage(ctx context.Context, token, from, to string) (UsageReport, error) {
	cur, err := s.requireAny(ctx, token, ActionSPRConnect)
	if err != nil {
		return UsageReport{}, err
	}
	now := s.now()
	if to == "" {
		to = Day(now)
	}
	var f time.Time
	if from != "" {
		if f, err = ParseDay("from", from); err != nil {
			return UsageReport{}, err
		}
	}
	t, err := ParseDay("to", to)
	if err != nil {
		return UsageReport{}, err
	}
	if from == "" {
		f = t.AddDate(0, 0, -29)
		from = f.Format(time.DateOnly)
	}
	if t.Before(f) {
		return UsageReport{}, Invalid("from", "La date de début doit précéder la date de fin.")
	}
	if t.Sub(f) > MaxUsageDays*24*time.Hour {
		return UsageReport{}, Invalid("from", "La période demandée dépasse %d jours.", MaxUsageDays)
	}
	days, err := s.Store.ListUsage(ctx, cur.Session.Base(), from, to)
	if err != nil {
		return UsageReport{}, fmt.Errorf("usage: %w", err)
	}
	r := UsageReport{From: from, To: to, Limits: map[Pool]Limit{}, Days: days}
	for _, p := range Pools {
		r.Limits[p] = cur.Base.License.Limit(p)
	}
	return r, nil
}

// noteAdmission records, for the seat usage of the day, how many seats
// pool holds just after an admission. It is a summary: a failure is
// logged, never shown.
func (s *Service) noteAdmission(ctx context.Context, k BaseKey, pool Pool, now time.Time) {
	leases, err := s.Store.ListLeases(ctx, k, now)
	if err == nil {
		n := 0
		for _, l := range leases {
			if l.Pool == pool {
				n++
			}
		}
		err = s.Store.NoteUsage(ctx, k, UsageNote{Day: Day(now), Pool: pool, Held: n})
	}
	if err != nil {
		s.logger().Error("usage", "school", string(k.UAI), "error", err.Error())
	}
}
