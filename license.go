package sesame

import (
	"strconv"
	"strings"
)

// Limit is how many seats a pool offers at once: a positive number,
// Unlimited, or Closed (nobody may enter).
type Limit int

const (
	// Unlimited: the pool admits everyone.
	Unlimited Limit = -1
	// Closed: the pool admits nobody (consultation without its licence).
	Closed Limit = 0
)

// Admits reports whether a pool with this limit admits one more holder when
// live holders are already connected.
func (l Limit) Admits(live int) bool {
	return l == Unlimited || live < int(l)
}

// String writes the limit as the command line takes it: a number or
// "unlimited".
func (l Limit) String() string {
	switch {
	case l == Unlimited:
		return "unlimited"
	case l <= 0:
		return "0"
	}
	return strconv.Itoa(int(l))
}

// ParseSeats reads a number of seats from the command line or the API: a
// positive whole number, or "unlimited" when allowUnlimited.
func ParseSeats(field, s string, allowUnlimited bool) (Limit, error) {
	s = strings.TrimSpace(s)
	if allowUnlimited && (strings.EqualFold(s, "unlimited") || strings.EqualFold(s, "illimité") || strings.EqualFold(s, "illimite")) {
		return Unlimited, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100000 {
		if allowUnlimited {
			return 0, Invalid(field, "Le nombre de connexions « %s » est incorrect : donnez un nombre entier positif (30, 50, 80…) ou « unlimited ».", s)
		}
		return 0, Invalid(field, "Le nombre de connexions « %s » est incorrect : donnez un nombre entier positif.", s)
	}
	return Limit(n), nil
}

// Pool is a seat pool of a base. The names are part of the public contract.
type Pool string

const (
	PoolAdminModify  Pool = "admin-modify"
	PoolAdminConsult Pool = "admin-consult"
	PoolTeacher      Pool = "teacher"
	PoolVieScolaire  Pool = "vie-scolaire"
	PoolParent       Pool = "parent"
	PoolStudent      Pool = "student"
	PoolCompany      Pool = "company"
	PoolAcademy      Pool = "academy"
)

// Pools lists every pool, in the order pages show them.
var Pools = []Pool{PoolAdminModify, PoolAdminConsult, PoolTeacher, PoolVieScolaire,
	PoolParent, PoolStudent, PoolCompany, PoolAcademy}

// Label is the pool's French name, as it appears in messages.
func (p Pool) Label() string {
	switch p {
	case PoolAdminModify:
		return "mode administratif (modification)"
	case PoolAdminConsult:
		return "mode administratif (consultation)"
	case PoolTeacher:
		return "mode enseignant"
	case PoolVieScolaire:
		return "mode vie scolaire"
	case PoolParent:
		return "Espace Parents"
	case PoolStudent:
		return "Espace Élèves"
	case PoolCompany:
		return "Espace Entreprise"
	case PoolAcademy:
		return "Espace Académie"
	}
	return string(p)
}

// Valid reports whether p is one of Pools.
func (p Pool) Valid() bool {
	for _, q := range Pools {
		if p == q {
			return true
		}
	}
	return false
}

// License is what the school bought: the seats of the limited pools and the
// consultation licence.
type License struct {
	// AdminSeats is the size of the admin-modify pool: 4 by default, any
	// positive number.
	AdminSeats Limit
	// TeacherSeats is the size of the teacher pool: a positive number
	// (usually 30, 50 or 80) or Unlimited.
	TeacherSeats Limit
	// Consultation opens the admin-consult pool, unlimited.
	Consultation bool
}

// DefaultLicense is the standard licence: 4 admin seats in modification,
// 30 teacher seats, no consultation licence.
var DefaultLicense = License{AdminSeats: 4, TeacherSeats: 30}

// Validate checks the licence's numbers.
func (l License) Validate() error {
	if l.AdminSeats < 1 {
		return Invalid("adminSeats", "Le nombre de connexions en mode administratif doit être un entier positif.")
	}
	if l.TeacherSeats < 1 && l.TeacherSeats != Unlimited {
		return Invalid("teacherSeats", "Le nombre de connexions en mode enseignant doit être un entier positif ou « illimité ».")
	}
	return nil
}

// Limit returns how many seats pool p offers under this licence.
func (l License) Limit(p Pool) Limit {
	switch p {
	case PoolAdminModify:
		return l.AdminSeats
	case PoolAdminConsult:
		if l.Consultation {
			return Unlimited
		}
		return Closed
	case PoolTeacher:
		return l.TeacherSeats
	}
	return Unlimited
}
