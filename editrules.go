package sesame

import (
	"slices"
	"time"
)

// The edit rules: what a change to an account, a group, a profile or a
// space setting must respect, and which sessions it ends, whoever makes it.
// The administration use cases (AddUser, UpdateUser, ResetPassword,
// CreateProfile, UpdateProfile) and the recovery's plan and apply all call
// these functions; none of them decides these things on its own. Who may
// make a change is another matter, decided in manage.go.

// DefaultIdle is the automatic-disconnection setting of a new group,
// profile or space, and the one that applies to a session whose profile
// cannot be found.
var DefaultIdle = AutoDisconnect{Enabled: true, After: DefaultAutoDisconnect}

// WithDefaultProfile returns u with the default profile of its kind when it
// names none (Professeurs for teachers, Personnels for staff): an account
// of those kinds always has a profile.
func WithDefaultProfile(u User) User {
	if u.Profile == "" {
		u.Profile = DefaultProfileFor(u.Kind)
	}
	return u
}

// errAdministrationIsSPRs refuses to put anyone but the SPR in the
// Administration group.
var errAdministrationIsSPRs = &Error{Code: CodeProtected, Field: "adminGroup",
	Message: "Le groupe Administration est celui du superviseur : choisissez un autre groupe."}

// errNoProfileForKind refuses a profile on an account whose kind has none.
var errNoProfileForKind = Invalid("profile", "Seuls les personnels et les professeurs ont un profil d'autorisation.")

// CheckUserEdit checks account after, as a change would leave it, against
// before (nil for a new account) and the base's groups and profiles:
//   - the SPR stays in the Administration group and stays enabled;
//   - nobody else enters the Administration group;
//   - the admin group is an admin group of the base;
//   - only staff and teachers have a profile, one of their kind's mode
//     (see Kind.ProfileMode);
//
// The group and the profile are looked up in profiles only when they
// change, so an edit of other fields may pass nil.
//   - and the account's own validity (User.Validate).
func CheckUserEdit(before *User, after User, profiles []Profile) error {
	if before != nil && before.Supervisor {
		if after.AdminGroup != before.AdminGroup {
			return &Error{Code: CodeProtected, Field: "adminGroup", Message: "Le superviseur (SPR) reste dans le groupe Administration."}
		}
		if !after.Enabled {
			return &Error{Code: CodeProtected, Field: "enabled", Message: "Le compte du superviseur (SPR) ne peut pas être désactivé."}
		}
	}
	if after.AdminGroup != "" && !after.Supervisor && (before == nil || before.AdminGroup != after.AdminGroup) {
		i := slices.IndexFunc(profiles, func(p Profile) bool { return p.ID == after.AdminGroup && p.Mode == ModeAdmin })
		if i < 0 {
			return NotFound("Le groupe d'utilisateurs « " + after.AdminGroup + " »")
		}
		if profiles[i].Group == GroupAdmin {
			return errAdministrationIsSPRs
		}
	}
	if after.Profile != "" && (before == nil || before.Profile != after.Profile || before.Kind != after.Kind) {
		m := after.Kind.ProfileMode()
		if m == "" {
			return errNoProfileForKind
		}
		if !slices.ContainsFunc(profiles, func(p Profile) bool { return p.ID == after.Profile && p.Mode == m }) {
			return NotFound("Le profil d'autorisation « " + after.Profile + " »")
		}
	}
	return after.Validate()
}

// SessionsToEnd says which sessions of an account a change from before to
// after ends at once, freeing their seats: all of them when it is
// disabled or its password changes (end, ""), its admin-mode sessions
// when its admin group changes (end, ModeAdmin), none otherwise. Other
// changes reach live sessions at their next request or heartbeat.
func SessionsToEnd(before, after User) (end bool, m Mode) {
	switch {
	case before.Enabled && !after.Enabled, before.PasswordHash != after.PasswordHash:
		return true, ""
	case before.AdminGroup != after.AdminGroup:
		return true, ModeAdmin
	}
	return false, ""
}

// CheckProfileEdit checks group, profile or space setting after, as a
// change would leave it, against before (nil for a new one) and the
// base's licence:
//   - the Administration group keeps its name, its type and all its
//     rights; no other group has its type;
//   - a space keeps its name;
//   - a group becomes consult only with the consultation licence;
//   - and the profile's own validity (Profile.Validate), grants within
//     the mode's ceiling and a disconnection of at least minIdle among it.
func CheckProfileEdit(before *Profile, after Profile, lic License, minIdle time.Duration) error {
	if before != nil {
		if err := checkProtected(*before, after); err != nil {
			return err
		}
	}
	if after.Mode == ModeAdmin && after.Group == GroupAdmin && after.ID != AdministrationID {
		return &Error{Code: CodeProtected, Field: "type", Message: "Seul le groupe Administration est de type « admin »."}
	}
	if after.Group == GroupConsult && (before == nil || before.Group != GroupConsult) && !lic.Consultation {
		return &Error{Code: CodeUnlicensed, Field: "type", Message: "Un groupe de type « consult » demande la licence de consultation, que l'établissement n'a pas."}
	}
	return after.Validate(minIdle)
}

// checkProtected refuses a change to the protected properties of the
// built-ins: the Administration group's name, type and rights, and a
// space's name.
func checkProtected(before, after Profile) error {
	switch {
	case before.ID == AdministrationID && after.Name != before.Name, before.Mode.IsSpace() && after.Name != before.Name:
		return &Error{Code: CodeProtected, Field: "name", Message: "Le nom de « " + before.Name + " » ne peut pas être changé."}
	case before.ID == AdministrationID && after.Group != before.Group:
		return &Error{Code: CodeProtected, Field: "type", Message: "Le type du groupe Administration ne peut pas être changé."}
	case before.ID == AdministrationID && !slices.Equal(NewActionSet(after.Grants).Slugs(), NewActionSet(before.Grants).Slugs()):
		return &Error{Code: CodeProtected, Field: "grants", Message: "Le groupe Administration a toujours tous les droits : ses autorisations ne se modifient pas."}
	}
	return nil
}

// WithoutProtected returns after with the protected properties of before
// kept (see checkProtected): what a bulk change such as a recovery may
// change of a built-in.
func WithoutProtected(before, after Profile) Profile {
	if before.ID == AdministrationID || before.Mode.IsSpace() {
		after.Name = before.Name
	}
	if before.ID == AdministrationID {
		after.Group, after.Grants = before.Group, before.Grants
	}
	return after
}

// EndsModification reports whether a change from before to after ends the
// admin-mode sessions in modification of the group's members: a group
// turned consult works in consultation only.
func EndsModification(before, after Profile) bool {
	return after.Group == GroupConsult && before.Group != GroupConsult
}
