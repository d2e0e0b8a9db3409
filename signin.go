package sesame

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sign-in: a request is throttled, then authenticated, then admitted
// into a mode and, where the pool is limited, a seat.

// LoginRequest is a sign-in attempt.
type LoginRequest struct {
	School, Login, Password string
	Mode, Access            string
	// Year names a base other than the current one (the SPR only).
	Year string
	// Device is the device cookie the browser sent, if any.
	Device string
	// Address is the client's address, for throttling.
	Address string
}

// LoginResult is a successful sign-in.
type LoginResult struct {
	Token  string // the session token, for the cookie; never stored
	Device string // the device cookie to set
	View   View
}

// Login signs a user in: throttling, password, who may enter which mode,
// then a seat. It returns ErrInvalidCredentials (the same for an unknown
// school, an unknown login and a wrong password, at the same cost), a
// *ThrottledError, a mode_forbidden or account_disabled error, or a
// *SeatsExhaustedError. A full pool is not a failed attempt.
func (s *Service) Login(ctx context.Context, r LoginRequest) (LoginResult, error) {
	var t loginTrace
	res, err := s.login(ctx, r, &t)
	s.journalLogin(ctx, r, t, res, err)
	return res, err
}

// loginTrace is what a sign-in found out, for the journal.
type loginTrace struct {
	uai  UAI
	base *BaseKey
	mode Mode
}

// journalLogin writes a sign-in, or its refusal, to the journal of the
// base it aimed at (when that base exists), and counts it in the seat
// usage.
func (s *Service) journalLogin(ctx context.Context, r LoginRequest, t loginTrace, res LoginResult, err error) {
	if err == nil {
		sess := res.View.Session
		k := sess.Base()
		if sess.Pool != "" {
			s.noteAdmission(ctx, k, sess.Pool, sess.CreatedAt)
		}
		detail := "Connexion en " + sess.Mode.Label()
		if sess.Access == Consult {
			detail += " (consultation)"
		}
		s.journal(ctx, k, JournalEntry{Event: EventLogin, Actor: res.View.User.Login, Subject: res.View.User.Login,
			Mode: sess.Mode, Pool: sess.Pool, Detail: detail + ".", Address: r.Address})
		return
	}
	k := t.base
	if k == nil && t.uai != "" {
		// Refused before the base was looked up (throttling): the school's
		// current base.
		school, gerr := s.Store.GetSchool(ctx, t.uai)
		if gerr != nil {
			return
		}
		k = &BaseKey{t.uai, school.CurrentYear}
	}
	if k == nil {
		return
	}
	e := JournalEntry{Event: EventLoginRefused, Subject: clip(strings.TrimSpace(r.Login), 64), Mode: t.mode,
		Reason: ErrorCode(err), Detail: ErrorMessage(err), Address: r.Address}
	var se *SeatsExhaustedError
	if errors.As(err, &se) {
		e.Pool = se.Pool
		if nerr := s.Store.NoteUsage(ctx, *k, UsageNote{Day: Day(s.now()), Pool: se.Pool, Refused: 1}); nerr != nil {
			s.logger().Error("usage", "school", string(k.UAI), "error", nerr.Error())
		}
	}
	if e.Reason == CodeInternal {
		return
	}
	s.journal(ctx, *k, e)
}

func (s *Service) login(ctx context.Context, r LoginRequest, t *loginTrace) (LoginResult, error) {
	now := s.now()
	mode, err := ParseMode(r.Mode)
	if err != nil {
		return LoginResult{}, err
	}
	access, err := ParseAccess(r.Access)
	if err != nil {
		return LoginResult{}, err
	}
	if r.Login == "" || r.Password == "" || r.School == "" {
		return LoginResult{}, Invalid("login", "Indiquez le code établissement, l'identifiant et le mot de passe.")
	}
	if len(r.Password) > 1024 {
		return LoginResult{}, Invalid("password", "Le mot de passe est trop long (1024 caractères au plus).")
	}
	uai, err := ParseUAI(r.School)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Field = "school"
		}
		return LoginResult{}, err
	}
	t.uai, t.mode = uai, mode
	login := LoginKey(r.Login)
	device, known := s.checkDevice(ctx, r.Device, uai, login)
	keys := []throttleKey{{"addr:" + r.Address, Address}}
	if known {
		keys = append(keys, throttleKey{"dev:" + string(uai) + "/" + login + "/" + device, KnownDevice})
	} else {
		keys = append(keys, throttleKey{"acct:" + string(uai) + "/" + login, UnknownDevices})
	}
	var wait time.Duration
	for _, k := range keys {
		a, err := s.Store.GetAttempts(ctx, k.key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
		wait = max(wait, k.budget.Wait(a, now))
	}
	if wait > 0 {
		return LoginResult{}, &ThrottledError{RetryAfter: wait}
	}
	fail := func() (LoginResult, error) {
		for _, k := range keys {
			if err := s.recordFailure(ctx, k.key, k.budget, now); err != nil {
				return LoginResult{}, fmt.Errorf("login: %w", err)
			}
		}
		return LoginResult{}, ErrInvalidCredentials
	}

	school, err := s.Store.GetSchool(ctx, uai)
	if errors.Is(err, ErrNotFound) {
		s.Hasher.Burn(r.Password, HashArgon2id)
		return fail()
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	year := school.CurrentYear
	if r.Year != "" {
		if year, err = ParseYear(r.Year); err != nil {
			return LoginResult{}, err
		}
	}
	key := BaseKey{uai, year}
	base, err := s.Store.GetBase(ctx, key)
	if errors.Is(err, ErrNotFound) {
		s.Hasher.Burn(r.Password, HashArgon2id)
		return fail()
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	t.base = &key
	u, err := s.Store.GetUser(ctx, key, login)
	if errors.Is(err, ErrNotFound) {
		s.Hasher.Burn(r.Password, HashArgon2id)
		if base.LegacyHashes {
			s.Hasher.Burn(r.Password, HashBcrypt)
		}
		return fail()
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	ok, rehash, err := s.Hasher.Verify(u.PasswordHash, r.Password)
	if base.LegacyHashes {
		// Pad to the work of both formats, whichever this hash is.
		if f, _ := ParseHashFormat(u.PasswordHash); f == HashBcrypt {
			s.Hasher.Burn(r.Password, HashArgon2id)
		} else {
			s.Hasher.Burn(r.Password, HashBcrypt)
		}
	}
	if err != nil || !ok {
		return fail()
	}
	// The password is right: the account's counters start again.
	for _, k := range keys[1:] {
		if err := s.Store.DeleteAttempts(ctx, k.key); err != nil {
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
	}
	if year != school.CurrentYear && !u.Supervisor {
		return LoginResult{}, &Error{Code: CodeModeForbidden, Field: "year",
			Message: "Seul le superviseur (SPR) peut se connecter à une autre année que l'année en cours (" + string(school.CurrentYear) + ")."}
	}
	var group *Profile
	if mode == ModeAdmin && u.AdminGroup != "" {
		g, err := s.Store.GetProfile(ctx, key, u.AdminGroup)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
		if err == nil {
			group = &g
		}
	}
	token, err := s.NewToken()
	if err != nil {
		return LoginResult{}, err
	}
	var sess Session
	for try := 0; ; try++ {
		entry, err := Enter(u, group, mode, access, base.License)
		if err != nil {
			return LoginResult{}, err
		}
		sess = NewSession(TokenID(token), key, u, entry, s.Timing, now)
		p := SeatPolicy{Limit: entry.Limit, Lease: s.Timing.Lease, LicenseVersion: base.Version}
		_, err = s.Store.OpenSession(ctx, sess, p, now)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrConflict) || try == 3 {
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
		// The licence changed meanwhile: decide again under the new one.
		if base, err = s.Store.GetBase(ctx, key); err != nil {
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
	}
	if rehash {
		s.rehash(ctx, key, u, r.Password)
	}
	cookie := r.Device
	if !known {
		if cookie, err = s.newDevice(ctx, uai, login); err != nil {
			return LoginResult{}, err
		}
	}
	cur, err := s.current(ctx, sess, u, base)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: token, Device: cookie, View: s.view(cur, school)}, nil
}

// rehash replaces a legacy hash after a successful sign-in; a failure only
// delays it to the next sign-in.
func (s *Service) rehash(ctx context.Context, k BaseKey, u User, password string) {
	h, err := s.Hasher.Hash(password)
	if err != nil {
		return
	}
	u.PasswordHash, u.UpdatedAt = h, s.now()
	_, _ = s.Store.UpdateUser(ctx, k, u)
}

// throttleKey is a counter of failed sign-ins and its budget.
type throttleKey struct {
	key    string
	budget Budget
}

func (s *Service) recordFailure(ctx context.Context, key string, b Budget, now time.Time) error {
	for range 5 {
		a, err := s.Store.GetAttempts(ctx, key)
		if errors.Is(err, ErrNotFound) {
			a = Attempts{Key: key}
		} else if err != nil {
			return err
		}
		_, err = s.Store.PutAttempts(ctx, b.Fail(a, now))
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("record failure %s: too much contention", key)
}
