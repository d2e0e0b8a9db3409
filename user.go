package sesame

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Kind is the kind of a user account.
type Kind string

const (
	KindStaff     Kind = "staff"     // personnel
	KindTeacher   Kind = "teacher"   // professeur
	KindParent    Kind = "parent"    // parent / responsable
	KindStudent   Kind = "student"   // élève
	KindMentor    Kind = "mentor"    // maître de stage (Espace Entreprise)
	KindInspector Kind = "inspector" // inspecteur (Espace Académie)
)

// Kinds lists every kind.
var Kinds = []Kind{KindStaff, KindTeacher, KindParent, KindStudent, KindMentor, KindInspector}

// ParseKind validates s as a kind.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Invalid("kind", "Le type d'utilisateur « %s » n'existe pas. Types possibles : staff, teacher, parent, student, mentor, inspector.", s)
}

// Space returns the space that users of this kind enter ("" for staff and
// teachers, who work in the modes).
func (k Kind) Space() Mode {
	switch k {
	case KindParent:
		return SpaceParent
	case KindStudent:
		return SpaceStudent
	case KindMentor:
		return SpaceCompany
	case KindInspector:
		return SpaceAcademy
	}
	return ""
}

// ProfileMode returns the mode whose profiles users of this kind belong to:
// teacher mode for teachers, vie scolaire mode for staff, "" for the kinds
// that enter a space and have no profile. It is the one place that says it.
func (k Kind) ProfileMode() Mode {
	switch k {
	case KindTeacher:
		return ModeTeacher
	case KindStaff:
		return ModeVieScolaire
	}
	return ""
}

// Label is the kind's French name.
func (k Kind) Label() string {
	switch k {
	case KindStaff:
		return "personnel"
	case KindTeacher:
		return "professeur"
	case KindParent:
		return "parent"
	case KindStudent:
		return "élève"
	case KindMentor:
		return "maître de stage"
	case KindInspector:
		return "inspecteur"
	}
	return string(k)
}

// User is an account of a base. Logins are unique per base, compared
// case-insensitively (see LoginKey).
type User struct {
	Login       string
	DisplayName string
	Kind        Kind
	// Supervisor marks the SPR: exactly one per base, a staff member of the
	// Administration group.
	Supervisor bool
	Enabled    bool
	// PasswordHash is a PHC string (argon2id, or an imported bcrypt hash);
	// never a clear password.
	PasswordHash string
	// AdminGroup is the ID of the user's admin group (staff only; empty when
	// the user is not an administrative user).
	AdminGroup string
	// Profile is the ID of the user's teacher profile (teachers) or staff
	// profile (staff, for vie scolaire mode).
	Profile string
	// ENTID is the account's identifier at the school's identity
	// providers (the « identifiant ENT »): sign-in through a provider
	// finds the account by it. Empty: not linked.
	ENTID     string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version grows by one at every write; updates are conditional on it.
	Version int64
}

// Key returns the user's login key (see LoginKey).
func (u User) Key() string { return LoginKey(u.Login) }

// LoginKey returns the form under which a login is unique: trimmed and in
// lower case.
func LoginKey(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

// ValidateLogin checks a login: 1 to 64 characters, letters, digits and
// . - _ @ only.
func ValidateLogin(login string) error {
	r := []rune(login)
	if len(r) == 0 || len(r) > 64 {
		return Invalid("login", "L'identifiant doit compter de 1 à 64 caractères.")
	}
	for _, c := range r {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(".-_@", c) {
			return Invalid("login", "L'identifiant « %s » contient un caractère interdit : seuls les lettres, les chiffres et . - _ @ sont permis.", login)
		}
	}
	return nil
}

// Validate checks the user's own fields (not its references to groups and
// profiles, which need the store).
func (u User) Validate() error {
	if err := ValidateLogin(u.Login); err != nil {
		return err
	}
	n := len([]rune(strings.TrimSpace(u.DisplayName)))
	if n == 0 || n > 200 {
		return Invalid("displayName", "Le nom affiché de « %s » doit compter de 1 à 200 caractères.", u.Login)
	}
	if _, err := ParseKind(string(u.Kind)); err != nil {
		return err
	}
	if u.AdminGroup != "" && u.Kind != KindStaff {
		return Invalid("adminGroup", "Seuls les personnels peuvent appartenir à un groupe d'utilisateurs administratifs.")
	}
	if u.Profile != "" && u.Kind.ProfileMode() == "" {
		return Invalid("profile", "Seuls les personnels et les professeurs ont un profil d'autorisation.")
	}
	if u.Supervisor && (u.Kind != KindStaff || u.AdminGroup != AdministrationID) {
		return Invalid("supervisor", "Le superviseur (SPR) est un personnel du groupe Administration.")
	}
	if err := ValidateENTID(u.ENTID); err != nil {
		return err
	}
	if u.PasswordHash != "" {
		if _, err := ParseHashFormat(u.PasswordHash); err != nil {
			return err
		}
		if err := CheckHashCost(u.PasswordHash); err != nil {
			return err
		}
	}
	return nil
}

// The costliest password hashes a base accepts: what the product itself
// produces (argon2id, 19 MiB, t=2, p=1; bcrypt 10 in the files of other
// software), with a little headroom. A heavier hash would let one ordinary
// sign-in pin a CPU or run a function out of memory.
const (
	MaxBcryptCost     = 12
	MaxArgon2MemoryKi = 64 * 1024 // KiB
	MaxArgon2Time     = 4
	MaxArgon2Threads  = 4
)

// BcryptCost returns the cost of a bcrypt hash, or 0 for another format.
func BcryptCost(h string) int {
	if f, err := ParseHashFormat(h); err != nil || f != HashBcrypt {
		return 0
	}
	return int(h[4]-'0')*10 + int(h[5]-'0')
}

// CheckHashCost refuses a well-formed hash whose cost exceeds the caps
// above: the account must then be given a new password.
func CheckHashCost(h string) error {
	tooCostly := func(what string) error {
		return Invalid("passwordHash", "Le mot de passe de ce compte est haché avec un coût trop élevé (%s) : le compte est refusé et devra recevoir un nouveau mot de passe.", what)
	}
	f, err := ParseHashFormat(h)
	if err != nil {
		return err
	}
	if f == HashBcrypt {
		if cost := BcryptCost(h); cost > MaxBcryptCost {
			return tooCostly(fmt.Sprintf("bcrypt de coût %d, au plus %d", cost, MaxBcryptCost))
		}
		return nil
	}
	var m, t, p int
	if parts := strings.Split(h, "$"); len(parts) != 6 {
		return Invalid("passwordHash", "Ce hachage argon2id est mal formé.")
	} else if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return Invalid("passwordHash", "Ce hachage argon2id est mal formé.")
	}
	if m > MaxArgon2MemoryKi || t > MaxArgon2Time || p > MaxArgon2Threads {
		return tooCostly(fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d ; au plus %d KiB, t=%d, p=%d",
			m, t, p, MaxArgon2MemoryKi, MaxArgon2Time, MaxArgon2Threads))
	}
	return nil
}

// HashFormat names a password-hash format that a base may hold.
type HashFormat string

const (
	HashArgon2id HashFormat = "argon2id"
	HashBcrypt   HashFormat = "bcrypt"
)

// ParseHashFormat recognises the format of a PHC-style hash: argon2id
// ("$argon2id$v=19$m=…"), or bcrypt ("$2a$", "$2b$", "$2y$") of cost 10 or
// more. Any other format is refused.
func ParseHashFormat(h string) (HashFormat, error) {
	switch {
	case strings.HasPrefix(h, "$argon2id$"):
		if strings.Count(h, "$") != 5 {
			break
		}
		return HashArgon2id, nil
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if len(h) != 60 || h[6] != '$' {
			break
		}
		cost := int(h[4]-'0')*10 + int(h[5]-'0')
		if h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || cost < 10 || cost > 31 {
			return "", Invalid("passwordHash", "Ce hachage bcrypt a un coût inférieur à 10 : il est trop faible pour être accepté.")
		}
		return HashBcrypt, nil
	}
	return "", Invalid("passwordHash", "Le format de ce hachage de mot de passe n'est pas accepté (seuls argon2id et bcrypt de coût 10 ou plus le sont).")
}
