package sesame

import (
	"strconv"
	"strings"
	"time"
)

// UAI identifies a school: seven digits and a letter, e.g. "0751234A".
type UAI string

// ParseUAI validates s as a UAI. Surrounding spaces are trimmed and the
// letter may be given in lower case.
func ParseUAI(s string) (UAI, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 8 {
		return "", Invalid("uai", "Le code établissement (UAI) « %s » est incorrect : il faut 7 chiffres puis une lettre, par exemple 0751234A.", s)
	}
	for i := 0; i < 7; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", Invalid("uai", "Le code établissement (UAI) « %s » est incorrect : il faut 7 chiffres puis une lettre, par exemple 0751234A.", s)
		}
	}
	if s[7] < 'A' || s[7] > 'Z' {
		return "", Invalid("uai", "Le code établissement (UAI) « %s » est incorrect : il faut 7 chiffres puis une lettre, par exemple 0751234A.", s)
	}
	return UAI(s), nil
}

// Year is a school year, written "2026-2027".
type Year string

// ParseYear validates s as a school year: two consecutive years joined by
// a hyphen, between 2000 and 2999.
func ParseYear(s string) (Year, error) {
	s = strings.TrimSpace(s)
	bad := Invalid("year", "L'année scolaire « %s » est incorrecte : écrivez-la comme 2026-2027.", s)
	first, second, ok := strings.Cut(s, "-")
	if !ok || len(first) != 4 || len(second) != 4 {
		return "", bad
	}
	a, err1 := strconv.Atoi(first)
	b, err2 := strconv.Atoi(second)
	if err1 != nil || err2 != nil || a < 2000 || a > 2998 || b != a+1 {
		return "", bad
	}
	return Year(s), nil
}

// Start returns the first calendar year of y (2026 for "2026-2027").
func (y Year) Start() int {
	n, _ := strconv.Atoi(string(y)[:min(4, len(y))])
	return n
}

// Next returns the following school year ("2027-2028" for "2026-2027").
func (y Year) Next() Year {
	s := y.Start()
	return Year(strconv.Itoa(s+1) + "-" + strconv.Itoa(s+2))
}

// Previous returns the school year before y.
func (y Year) Previous() Year {
	s := y.Start()
	return Year(strconv.Itoa(s-1) + "-" + strconv.Itoa(s))
}

// SchoolYearOf returns the school year that t falls in: a school year runs
// from the 1st of August to the 31st of July.
func SchoolYearOf(t time.Time) Year {
	y := t.Year()
	if t.Month() < time.August {
		y--
	}
	return Year(strconv.Itoa(y) + "-" + strconv.Itoa(y+1))
}

// School is an établissement. Its bases, one per school year, live beside
// it; CurrentYear names the base that sign-in goes to.
type School struct {
	UAI         UAI
	Name        string
	CurrentYear Year
}

// ValidateSchoolName checks a school's name: 1 to 200 characters.
func ValidateSchoolName(name string) error {
	n := len([]rune(strings.TrimSpace(name)))
	if n == 0 || n > 200 {
		return Invalid("name", "Le nom de l'établissement doit compter de 1 à 200 caractères.")
	}
	return nil
}

// BaseKey names one school's base for one school year.
type BaseKey struct {
	UAI  UAI
	Year Year
}

func (k BaseKey) String() string { return string(k.UAI) + "/" + string(k.Year) }

// Base is one school's data for one school year: its licence, and, in the
// store beside it, its users, admin groups, profiles and sessions.
type Base struct {
	BaseKey
	License License
	// LegacyHashes is set once recovery brings in imported bcrypt hashes:
	// from then on every sign-in to the base does the work of both formats,
	// so that timing tells nothing of an account's hash or existence.
	LegacyHashes bool
	// LegacyCost is the highest bcrypt cost among the imported hashes: the
	// padding does the work of a bcrypt hash of that cost.
	LegacyCost int
	CreatedAt  time.Time
	// Version grows by one at every change of the base record (the licence).
	Version int64
}
