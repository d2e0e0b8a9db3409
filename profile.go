package sesame

import (
	"slices"
	"strings"
	"time"
)

// AutoDisconnect is the automatic-disconnection setting of the brief: a
// checkbox, then a duration.
type AutoDisconnect struct {
	Enabled bool
	After   time.Duration
}

// Limits of the automatic-disconnection duration.
const (
	MinAutoDisconnect = 1 * time.Minute
	MaxAutoDisconnect = 12 * time.Hour
	// DefaultAutoDisconnect follows OWASP's 15–30 minutes for ordinary risk.
	DefaultAutoDisconnect = 30 * time.Minute
)

// Validate checks the duration of an enabled setting against
// [MinAutoDisconnect, MaxAutoDisconnect]. Tests and demos may go below
// the minimum with ValidateWithin.
func (a AutoDisconnect) Validate() error { return a.ValidateWithin(MinAutoDisconnect) }

// ValidateWithin checks the setting with a custom lower bound.
func (a AutoDisconnect) ValidateWithin(min time.Duration) error {
	if !a.Enabled {
		return nil
	}
	if a.After < min || a.After > MaxAutoDisconnect {
		return Invalid("autoDisconnect", "La durée de déconnexion automatique doit être comprise entre %s et %s.",
			FrenchDuration(min), FrenchDuration(MaxAutoDisconnect))
	}
	return nil
}

// GroupType is the type of an admin group.
type GroupType string

const (
	// GroupAdmin is the type of the built-in Administration group, the
	// SPR's. It cannot be changed, and no other group has it.
	GroupAdmin GroupType = "admin"
	// GroupModif is the default type: admin mode in modification.
	GroupModif GroupType = "modif"
	// GroupConsult: admin mode in consultation only; needs the consultation
	// licence.
	GroupConsult GroupType = "consult"
)

// Built-in IDs of a new base's groups and profiles.
const (
	AdministrationID = "administration"
	ModificationID   = "modification"
	ConsultationID   = "consultation"
	TeachersID       = "professeurs"
	StaffID          = "personnels"
)

// Profile carries rights for one mode. It stands for all the places where
// the brief sets rights and automatic disconnection:
//   - Mode ModeAdmin: an admin group (groupe d'utilisateurs administratifs),
//     with its GroupType;
//   - Mode ModeTeacher: a teacher profile (profil d'autorisation des
//     professeurs);
//   - Mode ModeVieScolaire: a staff profile (profil d'autorisation des
//     personnels), for vie scolaire mode;
//   - a space (SpaceParent…): the space's one setting; its ID is the mode
//     and it has no grants.
type Profile struct {
	ID    string
	Name  string
	Mode  Mode
	Group GroupType // admin groups only
	// Grants are the slugs of the catalogue actions granted, within the
	// mode's ceiling.
	Grants         []string
	AutoDisconnect AutoDisconnect
	UpdatedAt      time.Time
	// Version grows by one at every write; updates are conditional on it.
	Version int64
}

// Kind returns the French name of what the profile is.
func (p Profile) Kind() string {
	switch {
	case p.Mode == ModeAdmin:
		return "groupe d'utilisateurs"
	case p.Mode == ModeTeacher:
		return "profil d'autorisation des professeurs"
	case p.Mode == ModeVieScolaire:
		return "profil d'autorisation des personnels"
	}
	return "réglage de l'" + p.Mode.Label()
}

// Validate checks a profile: its name, its mode and type, grants within the
// ceiling of its mode, and the automatic-disconnection duration (with the
// given lower bound; see AutoDisconnect.ValidateWithin).
func (p Profile) Validate(minIdle time.Duration) error {
	n := len([]rune(strings.TrimSpace(p.Name)))
	if n == 0 || n > 100 {
		return Invalid("name", "Le nom doit compter de 1 à 100 caractères.")
	}
	if p.ID == "" || len(p.ID) > 64 {
		return Invalid("id", "L'identifiant interne est manquant ou trop long.")
	}
	if _, err := ParseMode(string(p.Mode)); err != nil {
		return err
	}
	switch {
	case p.Mode == ModeAdmin:
		switch p.Group {
		case GroupAdmin:
			if p.ID != AdministrationID {
				return Invalid("type", "Seul le groupe Administration est de type « admin ».")
			}
		case GroupModif, GroupConsult:
			if p.ID == AdministrationID {
				return &Error{Code: CodeProtected, Field: "type", Message: "Le type du groupe Administration ne peut pas être changé."}
			}
		default:
			return Invalid("type", "Le type de groupe « %s » n'existe pas : choisissez modif ou consult.", p.Group)
		}
	case p.Group != "":
		return Invalid("type", "Seuls les groupes d'utilisateurs administratifs ont un type.")
	case p.Mode.IsSpace():
		if p.ID != string(p.Mode) {
			return Invalid("id", "Le réglage d'un espace porte le nom de l'espace.")
		}
		if len(p.Grants) > 0 {
			return Invalid("grants", "Les espaces n'ont pas d'autorisations à accorder.")
		}
	}
	ceiling := Ceiling(p.Mode, p.access())
	for _, g := range p.Grants {
		if err := CheckAction("grants", g); err != nil {
			return err
		}
		a, _ := LookupAction(g)
		if !ceiling.Has(a) {
			return Invalid("grants", "L'action « %s » n'est pas permise en %s : elle ne peut pas être accordée.", a.Label, p.Mode.Label())
		}
	}
	return p.AutoDisconnect.ValidateWithin(minIdle)
}

// access is the access whose ceiling bounds the grants: consultation for
// consult groups, modification otherwise.
func (p Profile) access() Access {
	if p.Group == GroupConsult {
		return Consult
	}
	return Modify
}

// BaseContent is what a base holds at creation: its groups, profiles,
// space settings and first users (the SPR among them).
type BaseContent struct {
	Profiles []Profile
	Users    []User
}

// NewBaseContent returns the defaults of a new base, with spr as its SPR:
//   - the Administration group (type admin, the SPR's), a Modification group
//     (modif) and a Consultation group (consult);
//   - the teacher profile Professeurs and the staff profile Personnels;
//   - one setting per space.
//
// Each is granted its mode's ceiling, with automatic disconnection enabled
// at 30 minutes. spr is completed: staff, supervisor, enabled, member of
// Administration, with the Personnels staff profile.
func NewBaseContent(spr User, now time.Time) BaseContent {
	ad := DefaultIdle
	mk := func(id, name string, m Mode, t GroupType) Profile {
		a := Modify
		if t == GroupConsult {
			a = Consult
		}
		var grants []string
		if !m.IsSpace() {
			grants = Ceiling(m, a).Slugs()
		}
		return Profile{ID: id, Name: name, Mode: m, Group: t, Grants: grants, AutoDisconnect: ad, UpdatedAt: now, Version: 1}
	}
	c := BaseContent{Profiles: []Profile{
		mk(AdministrationID, "Administration", ModeAdmin, GroupAdmin),
		mk(ModificationID, "Modification", ModeAdmin, GroupModif),
		mk(ConsultationID, "Consultation", ModeAdmin, GroupConsult),
		mk(TeachersID, "Professeurs", ModeTeacher, ""),
		mk(StaffID, "Personnels", ModeVieScolaire, ""),
	}}
	for _, s := range Spaces {
		c.Profiles = append(c.Profiles, mk(string(s), s.Label(), s, ""))
	}
	spr.Kind = KindStaff
	spr.Supervisor = true
	spr.Enabled = true
	spr.AdminGroup = AdministrationID
	if spr.Profile == "" {
		spr.Profile = StaffID
	}
	spr.CreatedAt, spr.UpdatedAt, spr.Version = now, now, 1
	c.Users = []User{spr}
	return c
}

// DefaultProfileFor returns the ID of the profile a new user of kind k gets
// when none is named: Professeurs for teachers, Personnels for staff.
func DefaultProfileFor(k Kind) string {
	switch k {
	case KindTeacher:
		return TeachersID
	case KindStaff:
		return StaffID
	}
	return ""
}

// IdleProfileFor returns the ID of the profile whose automatic
// disconnection applies to user u in mode m: the admin group in admin mode,
// the staff or teacher profile in those modes, the space's setting in a
// space. It returns "" when the user has none; DefaultIdle then applies,
// as it does when the profile named cannot be found.
func IdleProfileFor(u User, m Mode) string {
	switch {
	case m == ModeAdmin:
		return u.AdminGroup
	case m == ModeTeacher, m == ModeVieScolaire:
		return u.Profile
	case m.IsSpace():
		return string(m)
	}
	return ""
}

// SortProfiles orders profiles by mode (as in Modes), then by name.
func SortProfiles(ps []Profile) {
	rank := func(m Mode) int { return slices.Index(Modes, m) }
	slices.SortFunc(ps, func(a, b Profile) int {
		if d := rank(a.Mode) - rank(b.Mode); d != 0 {
			return d
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
}
