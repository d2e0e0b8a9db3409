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

// Login signs a user in, in three steps: throttle, authenticate, admit.
// It returns ErrInvalidCredentials (the same for an unknown school, an
// unknown login and a wrong password, at the same cost), a
// *ThrottledError, a *BusyError, a mode_forbidden or account_disabled
// error, or a *SeatsExhaustedError. A full pool is not a failed attempt.
// Nothing is written before the request is found well-formed, and a
// request whose caller has gone writes nothing more.
func (s *Service) Login(ctx context.Context, r LoginRequest) (LoginResult, error) {
	a := &attempt{r: r}
	res, err := s.login(ctx, a)
	s.journalLogin(ctx, a, res, err)
	return res, err
}

// attempt is one sign-in as its steps find it out.
type attempt struct {
	r      LoginRequest
	uai    UAI
	mode   Mode
	access Access
	year   Year   // the base asked for; "" for the current one
	login  string // the login key
	now    time.Time

	school  *School  // nil: unknown school
	base    *Base    // nil: unknown base
	user    *User    // nil: unknown login
	profile *Profile // the space's setting of a space, read with the user (nil otherwise or when missing)
	seat    *SeatHint

	device   string        // the nonce of a valid device cookie; "" for an unknown device
	keys     []throttleKey // the counters the attempt answers to (see throttle)
	counters []Attempts    // those counters as read, in the order of keys
	reserved []reservation // the account's counters, each with a slot taken
	address  *reservation  // the address's counter (unknown devices), checked but not taken
	rehash   bool          // the hash is to be replaced by a fresh one
	ticket   *Ticket       // its place in the hashing gate
	via      string        // the identity provider's name, for a sign-in through one
	// journaled: the sign-in's journal entry was written with its
	// admission (see open).
	journaled bool
}

// reservation is a throttling counter as read, and its budget.
type reservation struct {
	at     Attempts
	budget Budget
}

func (s *Service) login(ctx context.Context, a *attempt) (LoginResult, error) {
	if err := a.parse(s.now()); err != nil {
		return LoginResult{}, err
	}
	// A place in the hashing gate first: when sign-in is saturated, the
	// answer (busy) comes at once, before anything is read.
	var err error
	if a.ticket, err = s.hashing().Enter(); err != nil {
		return LoginResult{}, err
	}
	defer a.ticket.Leave()
	if err := s.find(ctx, a); err != nil {
		return LoginResult{}, err
	}
	if err := s.throttle(ctx, a); err != nil {
		return LoginResult{}, err
	}
	if err := s.authenticate(ctx, a); err != nil {
		return LoginResult{}, err
	}
	res, err := s.admit(ctx, a)
	if err != nil {
		// The password was right: the account's counters start again,
		// even when the admission refuses (a full pool is no failure).
		s.forget(ctx, a)
	}
	return res, err
}

// MaxLoginLength bounds the login a sign-in may name.
const MaxLoginLength = 200

// parse validates the request before anything is read or written.
func (a *attempt) parse(now time.Time) error {
	r := a.r
	var err error
	if a.mode, err = ParseMode(r.Mode); err != nil {
		return err
	}
	if a.access, err = ParseAccess(r.Access); err != nil {
		return err
	}
	if r.Login == "" || r.Password == "" || r.School == "" {
		return Invalid("login", "Indiquez le code établissement, l'identifiant et le mot de passe.")
	}
	if len(r.Password) > 1024 {
		return Invalid("password", "Le mot de passe est trop long (1024 caractères au plus).")
	}
	if len(r.Login) > MaxLoginLength {
		return Invalid("login", "L'identifiant est trop long (%d caractères au plus).", MaxLoginLength)
	}
	if a.uai, err = ParseUAI(r.School); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Field = "school"
		}
		return err
	}
	if r.Year != "" {
		if a.year, err = ParseYear(r.Year); err != nil {
			return Invalid("year", "L'année demandée n'est pas de la forme 2026-2027.")
		}
	}
	a.login, a.now = LoginKey(r.Login), now
	return nil
}

// find reads, at once (Store.ReadSignIn), the school, the base and the
// account the attempt names, the space's setting of a space, and the
// throttling counters it answers to: a known device answers to its own
// counter only; an unknown one to the account's and the address's (see
// the budgets in throttle.go). What does not exist stays nil.
func (s *Service) find(ctx context.Context, a *attempt) error {
	device, known := s.checkDevice(ctx, a.r.Device, a.uai, a.login)
	a.keys = []throttleKey{{"acct:" + string(a.uai) + "/" + a.login, UnknownDevices}, {AddressKey(a.uai, a.r.Address), Address}}
	if known {
		a.device = device
		a.keys = []throttleKey{{"dev:" + string(a.uai) + "/" + a.login + "/" + device, KnownDevice}}
	}
	q := SignInQuery{UAI: a.uai, Year: a.year, Login: a.login, Profile: IdleProfileFor(User{}, a.mode), Day: Day(a.now)}
	if p := PoolFor(a.mode, a.access); p.Leased() {
		q.Seat = p
	}
	if a.year == "" {
		q.Guess = SchoolYearOf(a.now)
	}
	for _, k := range a.keys {
		q.Counters = append(q.Counters, k.key)
	}
	r, err := s.Store.ReadSignIn(ctx, q)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	a.school, a.base, a.user, a.profile, a.counters, a.seat = r.School, r.Base, r.User, r.Profile, r.Counters, r.Seat
	if a.school != nil && a.year == "" {
		a.year = a.school.CurrentYear
	}
	return nil
}

// throttle refuses the attempt while one of the counters it answers to
// must wait (see the budgets in throttle.go), and keeps them, as find read
// them, for the reservation.
func (s *Service) throttle(ctx context.Context, a *attempt) error {
	if a.school == nil {
		return nil // nothing to protect; the attempt still costs a hashing
	}
	var wait time.Duration
	for i, k := range a.keys {
		at := a.counters[i]
		wait = max(wait, k.budget.Wait(at, a.now))
		if k.budget == Address {
			a.address = &reservation{at, k.budget}
		} else {
			a.reserved = append(a.reserved, reservation{at, k.budget})
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// authenticate verifies the password under the hashing gate, after
// taking a slot of each of the account's counters by a conditional write,
// so that parallel guesses never verify more than the budget. The work is
// the same whether the school, the base or the login exist or not.
func (s *Service) authenticate(ctx context.Context, a *attempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.reserve(ctx, a); err != nil {
		return err
	}
	var ok bool
	if err := a.ticket.Run(ctx, func() { ok = s.verify(a) }); err != nil {
		return err
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // the caller has gone: nothing more is written
	case !ok:
		s.countAddressFailure(ctx, a)
		return ErrInvalidCredentials
	}
	// The password is right: the account's counters start again, with the
	// admission (see open) or, when it refuses, after it (forget).
	return nil
}

// forget deletes the account's counters after a right password whose
// admission was refused. A failure only leaves a counted failure.
func (s *Service) forget(ctx context.Context, a *attempt) {
	for _, r := range a.reserved {
		if err := s.Store.DeleteAttempts(ctx, r.at.Key); err != nil {
			s.logger().Error("login", "school", string(a.uai), "error", err.Error())
		}
	}
}

// reserve takes a slot of each of the account's counters: it counts the
// attempt as a failure in advance, conditionally on the version read. A
// lost race means another attempt took the slot: 429, never 5xx.
func (s *Service) reserve(ctx context.Context, a *attempt) error {
	for i, r := range a.reserved {
		next, err := s.Store.PutAttempts(ctx, r.budget.Fail(r.at, a.now))
		if errors.Is(err, ErrConflict) {
			return &ThrottledError{RetryAfter: time.Second}
		} else if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		a.reserved[i].at = next
	}
	return nil
}

// verify checks the password, padding the work to the slowest format and
// cost the base holds; an unknown school, base or login costs the same.
func (s *Service) verify(a *attempt) bool {
	legacy, cost := a.base != nil && a.base.LegacyHashes, 0
	if legacy {
		cost = a.base.LegacyCost
	}
	if a.user == nil {
		s.Hasher.Burn(a.r.Password, HashArgon2id, 0)
		if legacy {
			s.Hasher.Burn(a.r.Password, HashBcrypt, cost)
		}
		return false
	}
	ok, rehash, err := s.Hasher.Verify(a.user.PasswordHash, a.r.Password)
	if legacy {
		// Pad to the work of both formats, whichever this hash is.
		if f, _ := ParseHashFormat(a.user.PasswordHash); f == HashBcrypt {
			s.Hasher.Burn(a.r.Password, HashArgon2id, 0)
		} else {
			s.Hasher.Burn(a.r.Password, HashBcrypt, cost)
		}
	}
	a.rehash = rehash
	return err == nil && ok
}

// countAddressFailure counts a failure of an unknown device against its
// address. It only slows later attempts: contention drops it.
func (s *Service) countAddressFailure(ctx context.Context, a *attempt) {
	if a.address == nil {
		return
	}
	at := a.address.at
	for range 3 {
		if _, err := s.Store.PutAttempts(ctx, a.address.budget.Fail(at, a.now)); !errors.Is(err, ErrConflict) {
			return
		}
		var err error
		if at, err = s.Store.GetAttempts(ctx, at.Key); err != nil {
			return
		}
	}
}

// admit lets the authenticated user into the mode asked for and, in a
// limited pool, a seat, opening the session.
func (s *Service) admit(ctx context.Context, a *attempt) (LoginResult, error) {
	u, base, school := *a.user, *a.base, *a.school
	key := BaseKey{a.uai, a.year}
	if a.year != school.CurrentYear && !u.Supervisor {
		return LoginResult{}, &Error{Code: CodeModeForbidden, Field: "year",
			Message: "Seul le superviseur (SPR) peut se connecter à une autre année que l'année en cours (" + string(school.CurrentYear) + ")."}
	}
	var group *Profile
	if a.mode == ModeAdmin && u.AdminGroup != "" {
		g, err := s.Store.GetProfile(ctx, key, u.AdminGroup)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
		if err == nil {
			group = &g
		}
	}
	token, err := s.newSessionToken(key, u, IdleProfileFor(u, a.mode))
	if err != nil {
		return LoginResult{}, err
	}
	read := group // an admin group, read once, or a space's setting
	if read == nil {
		read = a.profile
	}
	// The session is stamped with its setting from the start, so that its
	// first heartbeat takes the fast path (Store.BeatStamped).
	idle, grants, err := s.setting(ctx, key, u, a.mode, read)
	if err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	sess, _, base, err := s.open(ctx, key, u, group, a, base, token, idle)
	if err != nil {
		return LoginResult{}, err
	}
	if a.rehash {
		s.rehash(ctx, key, u, a.r.Password)
	}
	cookie := a.r.Device
	if a.device == "" {
		if cookie, err = s.newDevice(ctx, a.uai, a.login); err != nil {
			return LoginResult{}, err
		}
	}
	return LoginResult{Token: token, Device: cookie, View: s.view(currentOf(sess, u, base, idle, grants), school)}, nil
}

// open decides the entry and opens the session, stamped with setting
// idle, in one atomic write with its seat; when the licence changed
// meanwhile, it decides again under the new one. It returns the lease
// (zero without a pool) and the base as last read.
func (s *Service) open(ctx context.Context, key BaseKey, u User, group *Profile, a *attempt, base Base, token string, idle AutoDisconnect) (Session, Lease, Base, error) {
	for try := 0; ; try++ {
		entry, err := Enter(u, group, a.mode, a.access, base.License)
		if err != nil {
			return Session{}, Lease{}, base, err
		}
		sess := NewSession(TokenID(token), key, u, entry, s.Timing, a.now)
		sess.Stamp(idle, a.now)
		p := SeatPolicy{Limit: entry.Limit, Lease: s.Timing.Lease, LicenseVersion: base.Version}
		lease, err := s.Store.AdmitSession(ctx, sess, p, s.admission(a, u, sess), a.now)
		if err == nil {
			a.journaled = true
			return sess, lease, base, nil
		}
		if !errors.Is(err, ErrConflict) || try == 3 {
			return Session{}, Lease{}, base, fmt.Errorf("login: %w", err)
		}
		if base, err = s.Store.GetBase(ctx, key); err != nil {
			return Session{}, Lease{}, base, fmt.Errorf("login: %w", err)
		}
	}
}

// admission is what the admission of sess writes with it: the account's
// counters deleted (the password was right) and the sign-in's journal
// entry, and the seats it counts (or, without a seat, the sign-in), for
// the pool's usage of the day.
func (s *Service) admission(a *attempt, u User, sess Session) AdmissionWrites {
	w := AdmissionWrites{Seat: a.seat}
	if sess.EntryPool() != "" { // the SPR counts in no pool
		w.UsageDay = Day(a.now)
	}
	for _, r := range a.reserved {
		w.Forget = append(w.Forget, r.at.Key)
	}
	detail := "Connexion en " + sess.Mode.Label()
	if sess.Access == Consult {
		detail += " (consultation)"
	}
	if a.via != "" {
		detail += " via « " + a.via + " »"
	}
	e := s.stamp(JournalEntry{Event: EventLogin, Actor: u.Login, Subject: u.Login,
		Mode: sess.Mode, Pool: sess.EntryPool(), Detail: detail + ".", Address: a.r.Address})
	w.Journal = &e
	return w
}

// journalLogin writes a sign-in, or its refusal, to the journal of the
// base it aimed at (when that base exists), and counts it in the seat
// usage. A refusal before any password was found right only adds to the
// hour's summary (RefusalSummary): unauthenticated requests cannot grow
// the journal. Malformed, canceled and busy requests (nobody's attempt:
// the server had no room to check them) are not journalled.
func (s *Service) journalLogin(ctx context.Context, a *attempt, res LoginResult, err error) {
	if err == nil || a.journaled {
		return // written with the admission (see open)
	}
	if a.school == nil || a.base == nil {
		return
	}
	k := BaseKey{a.uai, a.year}
	switch code := ErrorCode(err); code {
	case CodeInvalidCredentials, CodeTooManyAttempts, CodeIdentityUnknown, CodeAssertionReplayed, CodeProviderUnavailable:
		if cerr := s.Store.CountJournal(ctx, k, RefusalSummary(s.now(), code, s.JournalRetention())); cerr != nil {
			s.logger().Error("journal", "event", string(EventLoginRefused), "school", string(k.UAI), "error", cerr.Error())
		}
	case CodeModeForbidden, CodeAccountDisabled, CodeSeatsExhausted, CodeProviderForbidden:
		e := JournalEntry{Event: EventLoginRefused, Subject: strings.TrimSpace(a.r.Login), Mode: a.mode,
			Reason: code, Detail: ErrorMessage(err), Address: a.r.Address}
		var se *SeatsExhaustedError
		if errors.As(err, &se) {
			e.Pool = se.Pool
			if nerr := s.Store.NoteUsage(ctx, k, UsageNote{Day: Day(s.now()), Pool: se.Pool, Refused: 1}); nerr != nil {
				s.logger().Error("usage", "school", string(k.UAI), "error", nerr.Error())
			}
		}
		s.journal(ctx, k, e)
	}
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
