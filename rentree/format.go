package rentree

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	sesame "github.com/sesame-ecole/sesame"
)

// Formats and version written in the manifest (.zip) or header (.profils).
const (
	FormatRentree = "sesame-rentree"
	FormatProfils = "sesame-profils"
	Version       = 1
)

// Names of the entries of the .zip, in their order, and the entry named in
// errors and RentreeUser.Entry for a .profils file.
const (
	EntryManifest = "manifest.json"
	EntryGroups   = "groups.jsonl"
	EntryProfiles = "profiles.jsonl"
	EntrySpaces   = "spaces.jsonl"
	EntryUsers    = "users.jsonl"
	EntryProfils  = ".profils"
)

var entryOrder = []string{EntryManifest, EntryGroups, EntryProfiles, EntrySpaces, EntryUsers}

// Reasons of a refusal (sesame.ImportError.Reason).
const (
	reasonNotAZip        = "not_a_zip"
	reasonTooManyEntries = "too_many_entries"
	reasonTooLarge       = "too_large"
	reasonRatio          = "compression_ratio"
	reasonUnsafePath     = "unsafe_path"
	reasonSymlink        = "symlink"
	reasonUnknownEntry   = "unknown_entry"
	reasonDuplicateEntry = "duplicate_entry"
	reasonMissingEntry   = "missing_entry"
	reasonBadManifest    = "bad_manifest"
	reasonWrongFormat    = "wrong_format"
	reasonWrongVersion   = "wrong_version"
	reasonSchema         = "schema"
	reasonDuplicateLogin = "duplicate_login"
	reasonDuplicateName  = "duplicate_name"
	reasonBadHash        = "bad_hash"
	reasonTooManyUsers   = "too_many_users"
	reasonLineTooLong    = "line_too_long"
	reasonTruncated      = "truncated"
)

// Bounds of values.
const (
	maxNameRunes        = 100 // groups and profiles
	maxDisplayNameRunes = 200 // users and the school
)

// refuse builds the refusal of a file.
func refuse(reason, entry string, line int, field, format string, args ...any) *sesame.ImportError {
	return &sesame.ImportError{
		Reason:   reason,
		Entry:    entry,
		Line:     line,
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
		TooLarge: reason == reasonTooLarge || reason == reasonTooManyUsers,
	}
}

// The lines of the format, as JSON.

type autoJSON struct {
	Enabled bool  `json:"enabled"`
	Seconds int64 `json:"seconds"`
}

type groupJSON struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	Grants         []string `json:"grants"`
	AutoDisconnect autoJSON `json:"autoDisconnect"`
}

type profileJSON struct {
	Name           string   `json:"name"`
	Mode           string   `json:"mode"`
	Grants         []string `json:"grants"`
	AutoDisconnect autoJSON `json:"autoDisconnect"`
}

type spaceJSON struct {
	Space          string   `json:"space"`
	AutoDisconnect autoJSON `json:"autoDisconnect"`
}

type userJSON struct {
	Login        string `json:"login"`
	DisplayName  string `json:"displayName"`
	Kind         string `json:"kind"`
	Enabled      bool   `json:"enabled"`
	Supervisor   bool   `json:"supervisor"`
	PasswordHash string `json:"passwordHash,omitempty"`
	AdminGroup   string `json:"adminGroup,omitempty"`
	Profile      string `json:"profile,omitempty"`
	ENTID        string `json:"entId,omitempty"`
}

type schoolJSON struct {
	UAI  string `json:"uai"`
	Name string `json:"name"`
}

type countsJSON struct {
	Groups   int `json:"groups"`
	Profiles int `json:"profiles"`
	Spaces   int `json:"spaces"`
	Users    int `json:"users"`
}

type manifestJSON struct {
	Format    string     `json:"format"`
	Version   int        `json:"version"`
	School    schoolJSON `json:"school"`
	Year      string     `json:"year"`
	CreatedAt string     `json:"createdAt"`
	Counts    countsJSON `json:"counts"`
}

type headerJSON struct {
	Format    string     `json:"format"`
	Version   int        `json:"version"`
	School    schoolJSON `json:"school"`
	Year      string     `json:"year"`
	CreatedAt string     `json:"createdAt"`
}

// profilsLine is a .profils line after the header: exactly one field set.
type profilsLine struct {
	Group   *groupJSON   `json:"group,omitempty"`
	Profile *profileJSON `json:"profile,omitempty"`
	User    *userJSON    `json:"user,omitempty"`
}

// shape is the exact set of fields of one JSON object of the format: their
// names (case matters), which are required, and the shape of the objects
// nested in them. encoding/json matches names without regard to case and
// keeps the last of duplicate names; scanObject refuses both before the
// object is decoded.
type shape struct {
	names    []string
	subs     []*shape
	required uint32
}

type fieldSpec struct {
	name     string
	sub      *shape
	optional bool
}

func newShape(fs ...fieldSpec) *shape {
	sh := &shape{}
	for i, f := range fs {
		sh.names = append(sh.names, f.name)
		sh.subs = append(sh.subs, f.sub)
		if !f.optional {
			sh.required |= 1 << i
		}
	}
	return sh
}

func (sh *shape) index(key []byte) int {
	for i, n := range sh.names {
		if string(key) == n {
			return i
		}
	}
	return -1
}

// formatShapes are the shapes of the format's objects.
type formatShapes struct {
	group, profile, space, user, manifest, header *shape
	// profilsLine is a .profils line after the header: exactly one of
	// its fields.
	profilsLine *shape
}

var (
	shapesOnce  sync.Once
	shapesBuilt formatShapes
)

// shapes returns the format's shapes, built at the first read rather than
// at start: every Lambda function links this package (through the API),
// only recover reads a file, and the others then link none of this.
func shapes() *formatShapes {
	shapesOnce.Do(buildShapes)
	return &shapesBuilt
}

func buildShapes() {
	autoShape := newShape(fieldSpec{name: "enabled"}, fieldSpec{name: "seconds"})
	schoolShape := newShape(fieldSpec{name: "uai"}, fieldSpec{name: "name"})
	countsShape := newShape(fieldSpec{name: "groups"}, fieldSpec{name: "profiles"}, fieldSpec{name: "spaces"}, fieldSpec{name: "users"})
	groupShape := newShape(fieldSpec{name: "name"}, fieldSpec{name: "type"}, fieldSpec{name: "grants"},
		fieldSpec{name: "autoDisconnect", sub: autoShape})
	profileShape := newShape(fieldSpec{name: "name"}, fieldSpec{name: "mode"}, fieldSpec{name: "grants"},
		fieldSpec{name: "autoDisconnect", sub: autoShape})
	userShape := newShape(fieldSpec{name: "login"}, fieldSpec{name: "displayName"}, fieldSpec{name: "kind"},
		fieldSpec{name: "enabled"}, fieldSpec{name: "supervisor", optional: true},
		fieldSpec{name: "passwordHash", optional: true}, fieldSpec{name: "adminGroup", optional: true},
		fieldSpec{name: "profile", optional: true}, fieldSpec{name: "entId", optional: true})
	shapesBuilt = formatShapes{
		group:   groupShape,
		profile: profileShape,
		space:   newShape(fieldSpec{name: "space"}, fieldSpec{name: "autoDisconnect", sub: autoShape}),
		user:    userShape,
		manifest: newShape(fieldSpec{name: "format"}, fieldSpec{name: "version"},
			fieldSpec{name: "school", sub: schoolShape}, fieldSpec{name: "year"}, fieldSpec{name: "createdAt"},
			fieldSpec{name: "counts", sub: countsShape}),
		header: newShape(fieldSpec{name: "format"}, fieldSpec{name: "version"},
			fieldSpec{name: "school", sub: schoolShape}, fieldSpec{name: "year"}, fieldSpec{name: "createdAt"}),
		profilsLine: newShape(fieldSpec{name: "group", sub: groupShape, optional: true},
			fieldSpec{name: "profile", sub: profileShape, optional: true},
			fieldSpec{name: "user", sub: userShape, optional: true}),
	}
}

// A scanProblem is what scanObject found wrong with an object's fields.
type scanProblem int

const (
	scanSyntax scanProblem = iota + 1
	scanNotObject
	scanUnknown
	scanDuplicate
	scanNull
	scanMissing
)

type scanError struct {
	problem scanProblem
	field   string // path, "autoDisconnect.seconds"
	key     []byte // the unknown field, as written
	shape   *shape // the object's, for an unknown field
}

// scanObject checks the fields of the JSON object that starts at b[i]
// (after spaces) against sh and returns the index after it and the set of
// fields present. b must be valid JSON (json.Unmarshal has accepted it);
// scanObject never panics on any input all the same.
func scanObject(b []byte, i int, sh *shape, prefix string) (int, uint32, *scanError) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, 0, &scanError{problem: scanNotObject, field: strings.TrimSuffix(prefix, ".")}
	}
	i++
	var present uint32
	i = skipSpace(b, i)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != '"' {
				return 0, 0, &scanError{problem: scanSyntax}
			}
			end := skipString(b, i)
			if end < 0 {
				return 0, 0, &scanError{problem: scanSyntax}
			}
			key := b[i+1 : end-1]
			k := sh.index(key)
			if k < 0 {
				return 0, 0, &scanError{problem: scanUnknown, field: prefix + shortKey(key), key: key, shape: sh}
			}
			name := prefix + sh.names[k]
			if present&(1<<k) != 0 {
				return 0, 0, &scanError{problem: scanDuplicate, field: name}
			}
			present |= 1 << k
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, 0, &scanError{problem: scanSyntax}
			}
			i = skipSpace(b, i+1)
			if i >= len(b) {
				return 0, 0, &scanError{problem: scanSyntax}
			}
			if b[i] == 'n' {
				return 0, 0, &scanError{problem: scanNull, field: name}
			}
			if sub := sh.subs[k]; sub != nil {
				var err *scanError
				if i, _, err = scanObject(b, i, sub, name+"."); err != nil {
					return 0, 0, err
				}
			} else if i = skipValue(b, i); i < 0 {
				return 0, 0, &scanError{problem: scanSyntax}
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, 0, &scanError{problem: scanSyntax}
			}
			if b[i] == ',' {
				i++
				continue
			}
			if b[i] == '}' {
				i++
				break
			}
			return 0, 0, &scanError{problem: scanSyntax}
		}
	}
	if missing := sh.required &^ present; missing != 0 {
		return 0, 0, &scanError{problem: scanMissing, field: prefix + sh.names[bits.TrailingZeros32(missing)]}
	}
	return i, present, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value that starts at b[i], or
// -1. It does not recurse, however deep the value.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				e := skipString(b, i)
				if e < 0 {
					return -1
				}
				i = e
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

// shortKey is a field name fit for a message: at most 40 characters,
// printable.
func shortKey(key []byte) string { return printable(string(key), 40) }

// printable returns s valid, without control characters, cut to n runes.
func printable(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for i, r := range []rune(s) {
		if i == n {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// problemError turns a scanError into a refusal.
func problemError(e *scanError, reason, entry string, line int) *sesame.ImportError {
	switch e.problem {
	case scanNotObject:
		if e.field == "" {
			return refuse(reason, entry, line, "", "La ligne doit être un objet JSON ({…}).")
		}
		return refuse(reason, entry, line, e.field, "Ce champ doit être un objet JSON ({…}).")
	case scanUnknown:
		k := string(e.key)
		lower := strings.ToLower(k)
		switch {
		case lower != "passwordhash" && (strings.Contains(lower, "password") || strings.Contains(lower, "passwd") ||
			strings.Contains(lower, "motdepasse") || strings.Contains(lower, "mot_de_passe") || lower == "mdp" || lower == "pwd"):
			return refuse(reason, entry, line, e.field, "Un mot de passe en clair est refusé : le fichier ne doit porter que des hachages (champ « passwordHash »).")
		}
		for _, n := range e.shape.names {
			if strings.EqualFold(n, k) {
				return refuse(reason, entry, line, e.field, "Champ inconnu : les noms de champs respectent les majuscules (voulez-vous dire « %s » ?).", n)
			}
		}
		return refuse(reason, entry, line, e.field, "Champ inconnu : le format de rentrée version %d ne le connaît pas.", Version)
	case scanDuplicate:
		return refuse(reason, entry, line, e.field, "Ce champ figure deux fois.")
	case scanNull:
		return refuse(reason, entry, line, e.field, "La valeur null n'est pas acceptée : donnez une valeur ou omettez le champ s'il est facultatif.")
	case scanMissing:
		return refuse(reason, entry, line, e.field, "Ce champ obligatoire manque.")
	}
	return refuse(reason, entry, line, "", "La ligne n'est pas du JSON valide.")
}

// typeError turns a json decoding error into a refusal; err is not nil.
func typeError(err error, reason, entry string, line int) *sesame.ImportError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return refuse(reason, entry, line, te.Field, "Ce champ doit être %s.", kindOf(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return refuse(reason, entry, line, "", "La ligne n'est pas du JSON valide (erreur vers l'octet %d) : il faut exactement un objet JSON par ligne.", se.Offset)
	}
	return refuse(reason, entry, line, "", "La ligne n'est pas du JSON valide : il faut exactement un objet JSON par ligne.")
}

// kindOf names a Go type as JSON, in French.
func kindOf(t reflect.Type) string {
	if t == nil {
		return "d'un autre type"
	}
	switch t.Kind() {
	case reflect.String:
		return "une chaîne de caractères"
	case reflect.Bool:
		return "true ou false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "un nombre entier"
	case reflect.Slice:
		return "une liste de chaînes de caractères"
	case reflect.Struct, reflect.Pointer, reflect.Map:
		return "un objet JSON ({…})"
	}
	return "d'un autre type"
}

// Checks of values, shared by the reader and the writer.

// checkText checks a name: 1 to max characters once trimmed, no control
// characters.
func checkText(s string, max int) string {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	if n == 0 {
		return "Ce champ ne doit pas être vide."
	}
	if n > max {
		return fmt.Sprintf("Ce champ dépasse %d caractères.", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "Ce champ contient un caractère de contrôle (saut de ligne, tabulation…)."
		}
	}
	return ""
}

// checkName checks the name of a group or profile, or the name a user gives
// of one (optional: "" means none).
func checkName(entry string, line int, field, s string, optional bool) *sesame.ImportError {
	if optional && s == "" {
		return nil
	}
	if msg := checkText(s, maxNameRunes); msg != "" {
		return refuse(reasonSchema, entry, line, field, "%s", msg)
	}
	return nil
}

// checkAuto reads a disconnection setting. Its bounds are the domain's
// (sesame.AutoDisconnect.Validate), checked on any duration given, even
// for a setting turned off, which keeps its duration for when it is
// turned on again.
func checkAuto(entry string, line int, a autoJSON) (sesame.AutoDisconnect, *sesame.ImportError) {
	ad := sesame.AutoDisconnect{Enabled: a.Enabled, After: time.Duration(min(max(a.Seconds, -1), math.MaxInt64/int64(time.Second))) * time.Second}
	check := ad
	check.Enabled = ad.Enabled || a.Seconds != 0
	if err := check.Validate(); err != nil {
		return sesame.AutoDisconnect{}, refuse(reasonSchema, entry, line, "autoDisconnect.seconds",
			"%s Elle vaut %d secondes.", sesame.ErrorMessage(err), a.Seconds)
	}
	return ad, nil
}

func checkGrants(entry string, line int, grants []string) *sesame.ImportError {
	for i, g := range grants {
		a, ok := sesame.LookupAction(g)
		if !ok {
			return refuse(reasonSchema, entry, line, "grants", "L'action « %s » n'existe pas dans le catalogue des autorisations.", printable(g, 80))
		}
		if a.SPROnly() {
			return refuse(reasonSchema, entry, line, "grants", "L'action « %s » est réservée au superviseur (SPR) : elle ne peut pas être accordée.", g)
		}
		for _, h := range grants[:i] {
			if h == g {
				return refuse(reasonSchema, entry, line, "grants", "L'action « %s » figure deux fois.", g)
			}
		}
	}
	return nil
}

// groupProfile validates a group line and returns it as a Profile.
func groupProfile(entry string, line int, g *groupJSON) (sesame.Profile, *sesame.ImportError) {
	if err := checkName(entry, line, "name", g.Name, false); err != nil {
		return sesame.Profile{}, err
	}
	t := sesame.GroupType(g.Type)
	switch t {
	case sesame.GroupAdmin, sesame.GroupModif, sesame.GroupConsult:
	default:
		return sesame.Profile{}, refuse(reasonSchema, entry, line, "type", "Le type de groupe « %s » n'existe pas : admin, modif ou consult.", printable(g.Type, 40))
	}
	if err := checkGrants(entry, line, g.Grants); err != nil {
		return sesame.Profile{}, err
	}
	a, err := checkAuto(entry, line, g.AutoDisconnect)
	if err != nil {
		return sesame.Profile{}, err
	}
	return sesame.Profile{Name: g.Name, Mode: sesame.ModeAdmin, Group: t, Grants: grantsCopy(g.Grants), AutoDisconnect: a}, nil
}

// profileProfile validates a profile line and returns it as a Profile.
func profileProfile(entry string, line int, p *profileJSON) (sesame.Profile, *sesame.ImportError) {
	if err := checkName(entry, line, "name", p.Name, false); err != nil {
		return sesame.Profile{}, err
	}
	m := sesame.Mode(p.Mode)
	if m != sesame.ModeTeacher && m != sesame.ModeVieScolaire {
		return sesame.Profile{}, refuse(reasonSchema, entry, line, "mode", "Le mode « %s » n'a pas de profils d'autorisation : teacher ou vie-scolaire.", printable(p.Mode, 40))
	}
	if err := checkGrants(entry, line, p.Grants); err != nil {
		return sesame.Profile{}, err
	}
	a, err := checkAuto(entry, line, p.AutoDisconnect)
	if err != nil {
		return sesame.Profile{}, err
	}
	return sesame.Profile{Name: p.Name, Mode: m, Grants: grantsCopy(p.Grants), AutoDisconnect: a}, nil
}

// spaceProfile validates a space line and returns it as a Profile.
func spaceProfile(entry string, line int, s *spaceJSON) (sesame.Profile, *sesame.ImportError) {
	m := sesame.Mode(s.Space)
	if !m.IsSpace() {
		return sesame.Profile{}, refuse(reasonSchema, entry, line, "space", "L'espace « %s » n'existe pas : parent, student, company ou academy.", printable(s.Space, 40))
	}
	a, err := checkAuto(entry, line, s.AutoDisconnect)
	if err != nil {
		return sesame.Profile{}, err
	}
	return sesame.Profile{ID: string(m), Name: m.Label(), Mode: m, AutoDisconnect: a}, nil
}

func grantsCopy(g []string) []string {
	if g == nil {
		return []string{}
	}
	return append(make([]string, 0, len(g)), g...)
}

// checkUser validates a user line. An empty passwordHash is the same as
// none: the account has no password.
func checkUser(entry string, line int, u *userJSON, profils bool) (sesame.RentreeUser, *sesame.ImportError) {
	if err := sesame.ValidateLogin(u.Login); err != nil {
		return sesame.RentreeUser{}, refuse(reasonSchema, entry, line, "login", "%s", domainMessage(err))
	}
	k, err := sesame.ParseKind(u.Kind)
	if err != nil {
		return sesame.RentreeUser{}, refuse(reasonSchema, entry, line, "kind", "Le type d'utilisateur « %s » n'existe pas : staff, teacher, parent, student, mentor ou inspector.", printable(u.Kind, 40))
	}
	if profils && k.ProfileMode() == "" {
		return sesame.RentreeUser{}, refuse(reasonSchema, entry, line, "kind", "Un fichier .profils ne contient que des personnels (staff) et des professeurs (teacher), pas de %s.", k.Label())
	}
	if msg := checkText(u.DisplayName, maxDisplayNameRunes); msg != "" {
		return sesame.RentreeUser{}, refuse(reasonSchema, entry, line, "displayName", "%s", msg)
	}
	if u.PasswordHash != "" {
		if _, err := sesame.ParseHashFormat(u.PasswordHash); err != nil {
			return sesame.RentreeUser{}, refuse(reasonBadHash, entry, line, "passwordHash", "%s", domainMessage(err))
		}
	}
	if err := checkName(entry, line, "adminGroup", u.AdminGroup, true); err != nil {
		return sesame.RentreeUser{}, err
	}
	if err := checkName(entry, line, "profile", u.Profile, true); err != nil {
		return sesame.RentreeUser{}, err
	}
	if err := sesame.ValidateENTID(u.ENTID); err != nil {
		return sesame.RentreeUser{}, refuse(reasonSchema, entry, line, "entId", "%s", domainMessage(err))
	}
	return sesame.RentreeUser{
		Login: u.Login, DisplayName: u.DisplayName, Kind: k, Enabled: u.Enabled, Supervisor: u.Supervisor,
		PasswordHash: u.PasswordHash, AdminGroup: u.AdminGroup, Profile: u.Profile, ENTID: u.ENTID, Entry: entry, Line: line,
	}, nil
}

func domainMessage(err error) string {
	var e *sesame.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Valeur incorrecte."
}

// checkHeader validates the school, year and time of a manifest or header.
func checkHeader(entry string, line int, s schoolJSON, year, createdAt string) (sesame.RentreeHeader, *sesame.ImportError) {
	uai, err := sesame.ParseUAI(s.UAI)
	if err != nil {
		return sesame.RentreeHeader{}, refuse(reasonBadManifest, entry, line, "school.uai", "%s", domainMessage(err))
	}
	if msg := checkText(s.Name, maxDisplayNameRunes); msg != "" {
		return sesame.RentreeHeader{}, refuse(reasonBadManifest, entry, line, "school.name", "Nom de l'établissement : %s", msg)
	}
	y, err := sesame.ParseYear(year)
	if err != nil {
		return sesame.RentreeHeader{}, refuse(reasonBadManifest, entry, line, "year", "%s", domainMessage(err))
	}
	t, err := time.Parse(time.RFC3339, createdAt)
	if err != nil {
		return sesame.RentreeHeader{}, refuse(reasonBadManifest, entry, line, "createdAt", "La date de création « %s » doit être écrite en RFC 3339, par exemple 2026-06-30T18:00:00Z.", printable(createdAt, 40))
	}
	return sesame.RentreeHeader{UAI: uai, SchoolName: s.Name, Year: y, CreatedAt: t.UTC()}, nil
}

// decodeLine decodes the JSON object b into v, a pointer to a zero record,
// after checking its fields against sh, and returns the fields present.
func decodeLine(b []byte, v any, sh *shape, reason, entry string, line int) (uint32, *sesame.ImportError) {
	jerr := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if jerr != nil && !errors.As(jerr, &te) {
		return 0, typeError(jerr, reason, entry, line)
	}
	// b is valid JSON now: Unmarshal checks the syntax of the whole input
	// before it decodes anything.
	_, present, serr := scanObject(b, 0, sh, "")
	if serr != nil {
		return 0, problemError(serr, reason, entry, line)
	}
	if jerr != nil {
		return 0, typeError(jerr, reason, entry, line)
	}
	return present, nil
}
