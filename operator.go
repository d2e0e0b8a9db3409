package sesame

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The operator's use cases: what whoever holds the store's credentials
// does from the command line (schools and bases, licences, accounts).

// NewSchool is what `sesame school create` asks for.
type NewSchool struct {
	UAI          string
	Name         string
	Year         string
	AdminSeats   Limit // 0: DefaultLicense's
	TeacherSeats Limit // 0: DefaultLicense's
	Consultation bool
	// SPRLogin defaults to "spr"; SPRPassword is generated when empty.
	SPRLogin, SPRName, SPRPassword string
}

// CreatedSchool reports a new base and its SPR's credentials.
type CreatedSchool struct {
	School   School
	Base     Base
	SPR      User
	Password string // the generated or given password, to show once
}

// CreateSchool creates a school's base for a year, with the defaults of a
// new base and its SPR. A new year of an existing school is a new base
// beside the others; the first base of a school is its current one.
func (s *Service) CreateSchool(ctx context.Context, n NewSchool) (CreatedSchool, error) {
	uai, err := ParseUAI(n.UAI)
	if err != nil {
		return CreatedSchool{}, err
	}
	year, err := ParseYear(n.Year)
	if err != nil {
		return CreatedSchool{}, err
	}
	if err := ValidateSchoolName(n.Name); err != nil {
		return CreatedSchool{}, err
	}
	lic := DefaultLicense
	if n.AdminSeats != 0 {
		lic.AdminSeats = n.AdminSeats
	}
	if n.TeacherSeats != 0 {
		lic.TeacherSeats = n.TeacherSeats
	}
	lic.Consultation = n.Consultation
	if err := lic.Validate(); err != nil {
		return CreatedSchool{}, err
	}
	login := n.SPRLogin
	if login == "" {
		login = "spr"
	}
	name := n.SPRName
	if name == "" {
		name = "Superviseur " + n.Name
	}
	pw := n.SPRPassword
	if pw == "" {
		if pw, err = GeneratePassword(); err != nil {
			return CreatedSchool{}, err
		}
	} else if err := CheckPassword(pw); err != nil {
		return CreatedSchool{}, err
	}
	hash, err := s.Hasher.Hash(pw)
	if err != nil {
		return CreatedSchool{}, err
	}
	now := s.now()
	spr := User{Login: login, DisplayName: name, PasswordHash: hash}
	c := NewBaseContent(spr, now)
	if err := c.Users[0].Validate(); err != nil {
		return CreatedSchool{}, err
	}
	k := BaseKey{uai, year}
	b := Base{BaseKey: k, License: lic, CreatedAt: now, Version: 1}
	if err := s.Store.CreateBase(ctx, School{UAI: uai, Name: strings.TrimSpace(n.Name), CurrentYear: year}, b, c); err != nil {
		if errors.Is(err, ErrExists) {
			return CreatedSchool{}, Exists("La base " + string(year) + " de l'établissement " + string(uai))
		}
		return CreatedSchool{}, fmt.Errorf("create school: %w", err)
	}
	school, err := s.Store.GetSchool(ctx, uai)
	if err != nil {
		return CreatedSchool{}, fmt.Errorf("create school: %w", err)
	}
	return CreatedSchool{School: school, Base: b, SPR: c.Users[0], Password: pw}, nil
}

// UseYear makes the base of year y the school's current one: sign-in goes
// there from now on.
func (s *Service) UseYear(ctx context.Context, uaiS, yearS string) error {
	k, err := ParseBaseKey(uaiS, yearS)
	if err != nil {
		return err
	}
	if err := s.Store.SetCurrentYear(ctx, k); err != nil {
		if errors.Is(err, ErrNotFound) {
			return NotFound("La base " + string(k.Year) + " de l'établissement " + string(k.UAI))
		}
		return fmt.Errorf("use year: %w", err)
	}
	return nil
}

// ParseBaseKey validates a UAI and a year together.
func ParseBaseKey(uai, year string) (BaseKey, error) {
	u, err := ParseUAI(uai)
	if err != nil {
		return BaseKey{}, err
	}
	y, err := ParseYear(year)
	if err != nil {
		return BaseKey{}, err
	}
	return BaseKey{u, y}, nil
}

// LicenseChange changes some terms of a licence; nil fields stay.
type LicenseChange struct {
	AdminSeats   *Limit
	TeacherSeats *Limit
	Consultation *bool
}

// SetLicense changes a base's licence, live: the next seat decision uses
// it; seats already held are kept.
func (s *Service) SetLicense(ctx context.Context, uai, year string, ch LicenseChange) (Base, error) {
	k, err := ParseBaseKey(uai, year)
	if err != nil {
		return Base{}, err
	}
	b, err := s.Store.GetBase(ctx, k)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Base{}, NotFound("La base " + string(k.Year) + " de l'établissement " + string(k.UAI))
		}
		return Base{}, fmt.Errorf("set licence: %w", err)
	}
	lic := b.License
	if ch.AdminSeats != nil {
		lic.AdminSeats = *ch.AdminSeats
	}
	if ch.TeacherSeats != nil {
		lic.TeacherSeats = *ch.TeacherSeats
	}
	if ch.Consultation != nil {
		lic.Consultation = *ch.Consultation
	}
	if err := lic.Validate(); err != nil {
		return Base{}, err
	}
	return s.Store.SetLicense(ctx, k, lic, s.now())
}

// NewUser is what `sesame users add` asks for. Groups and profiles are named
// by their name (or ID).
type NewUser struct {
	UAI, Year   string
	Login       string
	Kind        string
	DisplayName string
	AdminGroup  string
	Profile     string
	Password    string
}

// AddUser creates one account, and writes it to the journal in the name
// of the actor of ctx (see WithActor; the operator when none). Staff and teachers get the default profile
// of their kind when none is named.
func (s *Service) AddUser(ctx context.Context, n NewUser) (User, error) {
	k, err := ParseBaseKey(n.UAI, n.Year)
	if err != nil {
		return User{}, err
	}
	kind, err := ParseKind(n.Kind)
	if err != nil {
		return User{}, err
	}
	if err := CheckPassword(n.Password); err != nil {
		return User{}, err
	}
	if _, err := s.Store.GetBase(ctx, k); err != nil {
		if errors.Is(err, ErrNotFound) {
			return User{}, NotFound("La base " + string(k.Year) + " de l'établissement " + string(k.UAI))
		}
		return User{}, fmt.Errorf("add user: %w", err)
	}
	profiles, err := s.Store.ListProfiles(ctx, k)
	if err != nil {
		return User{}, fmt.Errorf("add user: %w", err)
	}
	now := s.now()
	u := User{Login: strings.TrimSpace(n.Login), DisplayName: strings.TrimSpace(n.DisplayName), Kind: kind,
		Enabled: true, CreatedAt: now, UpdatedAt: now}
	if n.AdminGroup != "" {
		g, err := FindProfile(profiles, n.AdminGroup, ModeAdmin)
		if err != nil {
			return User{}, err
		}
		u.AdminGroup = g.ID
	}
	if n.Profile != "" {
		m := kind.ProfileMode()
		if m == "" {
			return User{}, errNoProfileForKind
		}
		p, err := FindProfile(profiles, n.Profile, m)
		if err != nil {
			return User{}, err
		}
		u.Profile = p.ID
	}
	u = WithDefaultProfile(u)
	if err := CheckUserEdit(nil, u, profiles); err != nil {
		return User{}, err
	}
	if u.PasswordHash, err = s.Hasher.Hash(n.Password); err != nil {
		return User{}, err
	}
	if err := s.Store.CreateUser(ctx, k, u); err != nil {
		if errors.Is(err, ErrExists) {
			e := Exists("L'identifiant « " + u.Login + " »")
			e.Field = "login"
			return User{}, e
		}
		return User{}, fmt.Errorf("add user: %w", err)
	}
	u.Version = 1
	actor := actorOf(ctx)
	if actor == "" {
		actor = OperatorLogin
	}
	s.journal(ctx, k, JournalEntry{Event: EventUserCreated, Actor: actor, Subject: u.Login,
		Detail: fmt.Sprintf("Compte %s « %s » créé%s.", u.Kind.Label(), u.DisplayName, membership(u, profiles))})
	return u, nil
}

// FindProfile finds the group, profile or space named nameOrID (its ID, or
// its name in any case) among ps, of one of modes (any when none). It
// returns a not_found error listing the names to choose from, or an
// invalid_value error when the name is ambiguous across modes.
func FindProfile(ps []Profile, nameOrID string, modes ...Mode) (Profile, error) {
	var in []Profile
	for _, p := range ps {
		if len(modes) == 0 || slices.Contains(modes, p.Mode) {
			in = append(in, p)
		}
	}
	if i := slices.IndexFunc(in, func(p Profile) bool { return p.ID == nameOrID }); i >= 0 {
		return in[i], nil
	}
	var found, names []string
	var hit Profile
	for _, p := range in {
		names = append(names, p.Name)
		if strings.EqualFold(p.Name, strings.TrimSpace(nameOrID)) {
			found, hit = append(found, p.ID+" ("+p.Kind()+")"), p
		}
	}
	switch len(found) {
	case 1:
		return hit, nil
	case 0:
		what := "Le groupe, profil ou espace"
		switch {
		case len(modes) == 1 && modes[0] == ModeAdmin:
			what = "Le groupe d'utilisateurs"
		case len(modes) == 1:
			what = "Le profil d'autorisation"
		}
		return Profile{}, &Error{Code: CodeNotFound, Field: "profile",
			Message: fmt.Sprintf("%s « %s » n'existe pas. Choix possibles : %s.", what, nameOrID, strings.Join(names, ", "))}
	}
	return Profile{}, Invalid("profile", "« %s » désigne plusieurs éléments : %s. Donnez son identifiant.", nameOrID, strings.Join(found, ", "))
}

// CheckPassword applies the password policy: 8 to 1024 characters.
func CheckPassword(pw string) error {
	n := len([]rune(pw))
	if n < 8 {
		return Invalid("password", "Le mot de passe doit compter au moins 8 caractères.")
	}
	if len(pw) > 1024 {
		return Invalid("password", "Le mot de passe est trop long (1024 caractères au plus).")
	}
	return nil
}

// GeneratePassword returns a random password of 16 characters from an
// alphabet without look-alikes (no 0/O, 1/l/I).
func GeneratePassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	out := make([]byte, 0, 16)
	buf := make([]byte, 32)
	for len(out) < 16 {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		for _, c := range buf {
			// Bytes past the last whole multiple of the alphabet are
			// dropped, so every character is equally likely.
			if int(c) < 256-256%len(alphabet) && len(out) < 16 {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
