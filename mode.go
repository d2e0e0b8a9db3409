package sesame

// Mode is the way a user enters the base. The names are part of the public
// contract.
type Mode string

const (
	ModeAdmin       Mode = "admin"
	ModeVieScolaire Mode = "vie-scolaire"
	ModeTeacher     Mode = "teacher"
	SpaceParent     Mode = "parent"
	SpaceStudent    Mode = "student"
	SpaceCompany    Mode = "company"
	SpaceAcademy    Mode = "academy"
)

// Modes lists every mode.
var Modes = []Mode{ModeAdmin, ModeVieScolaire, ModeTeacher, SpaceParent, SpaceStudent, SpaceCompany, SpaceAcademy}

// Spaces lists the modes that are spaces: unlimited, none of the catalogue's
// actions, one automatic-disconnection setting each.
var Spaces = []Mode{SpaceParent, SpaceStudent, SpaceCompany, SpaceAcademy}

// ParseMode validates s as a mode.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", Invalid("mode", "Le mode « %s » n'existe pas. Modes possibles : admin, vie-scolaire, teacher, parent, student, company, academy.", s)
}

// IsSpace reports whether m is one of the Spaces.
func (m Mode) IsSpace() bool {
	switch m {
	case SpaceParent, SpaceStudent, SpaceCompany, SpaceAcademy:
		return true
	}
	return false
}

// Label is the mode's French name.
func (m Mode) Label() string {
	switch m {
	case ModeAdmin:
		return "mode administratif"
	case ModeVieScolaire:
		return "mode vie scolaire"
	case ModeTeacher:
		return "mode enseignant"
	case SpaceParent:
		return "Espace Parents"
	case SpaceStudent:
		return "Espace Élèves"
	case SpaceCompany:
		return "Espace Entreprise"
	case SpaceAcademy:
		return "Espace Académie"
	}
	return string(m)
}

// Access is how a user works in admin mode: in modification (the default)
// or in consultation (read-only). Other modes are always Modify.
type Access string

const (
	Modify  Access = "modify"
	Consult Access = "consult"
)

// Accesses lists the accesses.
var Accesses = []Access{Modify, Consult}

// Label is the access's French name.
func (a Access) Label() string {
	if a == Consult {
		return "consultation"
	}
	return "modification"
}

// ParseAccess validates s as an access; the empty string means Modify.
func ParseAccess(s string) (Access, error) {
	switch Access(s) {
	case "", Modify:
		return Modify, nil
	case Consult:
		return Consult, nil
	}
	return "", Invalid("access", "L'accès « %s » n'existe pas : choisissez modify (modification) ou consult (consultation).", s)
}

// PoolFor returns the seat pool of a mode and access.
func PoolFor(m Mode, a Access) Pool {
	switch m {
	case ModeAdmin:
		if a == Consult {
			return PoolAdminConsult
		}
		return PoolAdminModify
	case ModeTeacher:
		return PoolTeacher
	case ModeVieScolaire:
		return PoolVieScolaire
	}
	return Pool(m)
}

// Entry is the outcome of a successful admission check: the pool whose seat
// the session takes, or none.
type Entry struct {
	Mode   Mode
	Access Access
	// Pool is the seat pool; empty when the session takes no seat (the SPR
	// in admin mode).
	Pool Pool
	// Limit is the pool's limit under the licence (Unlimited when Pool is
	// empty).
	Limit Limit
}

// Enter decides whether user u may enter mode m with access a, given the
// admin group g that u belongs to (nil when none) and the base's licence.
// It returns the pool to take a seat from, or an ErrModeForbidden,
// ErrAccountDisabled or CodeUnlicensed error with a French message.
//
// The rules of the brief:
//   - only members of an admin group (staff created as administrative users)
//     may use admin mode; members of a consult group only in consultation;
//     members of a modif or admin group may choose consultation when the
//     licence includes it;
//   - all staff may use vie scolaire mode; teacher mode is for teachers;
//   - each space is for its kind of user;
//   - the SPR never takes a seat from a limited pool.
func Enter(u User, g *Profile, m Mode, a Access, lic License) (Entry, error) {
	if !u.Enabled {
		return Entry{}, ErrAccountDisabled
	}
	if a == "" {
		a = Modify
	}
	if a == Consult && m != ModeAdmin {
		return Entry{}, &Error{Code: CodeModeForbidden, Field: "access",
			Message: "La consultation n'existe qu'en mode administratif."}
	}
	forbid := func(msg string) (Entry, error) {
		return Entry{}, &Error{Code: CodeModeForbidden, Field: "mode", Message: msg}
	}
	switch m {
	case ModeAdmin:
		if u.Kind != KindStaff || (!u.Supervisor && (g == nil || g.Mode != ModeAdmin)) {
			return forbid("Seuls les personnels créés comme utilisateurs administratifs peuvent utiliser le mode administratif.")
		}
		if u.Supervisor {
			// The SPR takes no seat, so four users can never lock it out.
			return Entry{Mode: m, Access: Modify, Limit: Unlimited}, nil
		}
		if g.Group == GroupConsult && a == Modify {
			return forbid("Votre groupe d'utilisateurs ne permet que la consultation : choisissez « consultation ».")
		}
		if a == Consult && !lic.Consultation {
			return Entry{}, &Error{Code: CodeUnlicensed, Field: "access",
				Message: "La consultation en mode administratif nécessite la licence de consultation, que l'établissement n'a pas."}
		}
	case ModeVieScolaire:
		if u.Kind != KindStaff {
			return forbid("Le mode vie scolaire est réservé aux personnels de l'établissement.")
		}
	case ModeTeacher:
		if u.Kind != KindTeacher {
			return forbid("Le mode enseignant est réservé aux professeurs.")
		}
	case SpaceParent, SpaceStudent, SpaceCompany, SpaceAcademy:
		if u.Kind.Space() != m {
			return forbid("L'" + m.Label() + " n'est pas ouvert à votre compte.")
		}
	default:
		return forbid("Ce mode n'existe pas.")
	}
	p := PoolFor(m, a)
	return Entry{Mode: m, Access: a, Pool: p, Limit: lic.Limit(p)}, nil
}
