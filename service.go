package sesame

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// PasswordHasher hashes and verifies passwords. infra/password implements it
// with argon2id (and verifies imported bcrypt hashes).
type PasswordHasher interface {
	// Hash returns a PHC string for password.
	Hash(password string) (string, error)
	// Verify reports whether password matches hash, and whether the hash
	// should be replaced by a fresh Hash (a legacy format or weaker
	// parameters).
	Verify(hash, password string) (ok, rehash bool, err error)
	// Burn does the work of one verification of a hash of format f
	// against no account, so that an unknown login costs the same time as
	// a wrong password.
	Burn(password string, f HashFormat)
}

// Backend is everything the service keeps: the Store and the throttling
// and secret stores that come with it.
type Backend interface {
	Store
	AttemptStore
	SecretStore
}

// Service carries out the product's use cases on a Backend: sign-in,
// sessions and heartbeats, permission checks, connected users. The HTTP
// API and the command line are thin layers over it; every rule they apply
// is here or in the functions it calls.
type Service struct {
	Store  Backend
	Hasher PasswordHasher
	Clock  Clock
	Timing Timing
	// Random is the source of tokens (crypto/rand when nil).
	Random io.Reader
	// Retention is how long journal entries are kept
	// (DefaultJournalRetention when 0).
	Retention time.Duration
	// MinIdle is the shortest automatic disconnection an edit may set
	// (MinAutoDisconnect when 0; tests and demos go lower).
	MinIdle time.Duration
	// Log receives what must not stop a request but must be seen: a
	// journal entry that could not be written (discarded when nil).
	Log *slog.Logger

	keyOnce   sync.Mutex
	deviceKey []byte
}

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

// View is what a signed-in page knows of its session.
type View struct {
	Session     Session
	User        User
	School      School
	Seat        *Entry // nil when the session takes no seat
	Idle        IdleState
	Timing      Timing
	Permissions []string
}

// Current is the resolved session of a request.
type Current struct {
	Session   Session
	User      User
	Base      Base
	Principal Principal
	Idle      AutoDisconnect // the setting that applies
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	r := s.Random
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("random: %w", err)
	}
	return b, nil
}

// NewToken returns a fresh session token: 256 random bits.
func (s *Service) NewToken() (string, error) {
	b, err := s.random(32)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
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

// Device cookies: "v1.<nonce>.<mac>", where mac signs the school, the login
// key and the nonce with the deployment's device key.
func (s *Service) key(ctx context.Context) ([]byte, error) {
	s.keyOnce.Lock()
	defer s.keyOnce.Unlock()
	if s.deviceKey != nil {
		return s.deviceKey, nil
	}
	fresh, err := s.random(32)
	if err != nil {
		return nil, err
	}
	k, err := s.Store.Secret(ctx, "device-cookie-key", fresh)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	s.deviceKey = k
	return k, nil
}

func deviceMAC(key []byte, uai UAI, login, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(string(uai) + "\x00" + login + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkDevice returns the nonce of a device cookie signed for this account.
func (s *Service) checkDevice(ctx context.Context, cookie string, uai UAI, login string) (string, bool) {
	parts := strings.Split(cookie, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return "", false
	}
	key, err := s.key(ctx)
	if err != nil {
		return "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(deviceMAC(key, uai, login, parts[1]))) {
		return "", false
	}
	return parts[1], true
}

func (s *Service) newDevice(ctx context.Context, uai UAI, login string) (string, error) {
	key, err := s.key(ctx)
	if err != nil {
		return "", err
	}
	b, err := s.random(16)
	if err != nil {
		return "", err
	}
	nonce := base64.RawURLEncoding.EncodeToString(b)
	return "v1." + nonce + "." + deviceMAC(key, uai, login, nonce), nil
}

// Resolve finds the open session of token and applies the rules every
// request goes through: the absolute lifetime, the idle limit, a disabled
// account. A session found over is ended (its seat freed) and the request
// gets an *UnauthenticatedError with the reason. When activity is true the
// request counts as the user's activity; the agent's own calls do not.
func (s *Service) Resolve(ctx context.Context, token string, activity bool) (Current, error) {
	if k, ok := ctx.Value(operatorKey{}).(BaseKey); ok && token == "" {
		return s.operator(ctx, k)
	}
	if token == "" {
		return Current{}, &UnauthenticatedError{Reason: ReasonMissing}
	}
	now := s.now()
	sess, err := s.Store.GetSession(ctx, TokenID(token))
	if errors.Is(err, ErrNotFound) {
		return Current{}, &UnauthenticatedError{Reason: ReasonExpired}
	} else if err != nil {
		return Current{}, fmt.Errorf("resolve session: %w", err)
	}
	if !sess.Open() {
		return Current{}, &UnauthenticatedError{Reason: sess.EndReason}
	}
	u, err := s.Store.GetUser(ctx, sess.Base(), sess.Login)
	if errors.Is(err, ErrNotFound) || (err == nil && !u.Enabled) {
		return Current{}, s.end(ctx, sess.ID, ReasonDisconnected, now)
	} else if err != nil {
		return Current{}, fmt.Errorf("resolve session: %w", err)
	}
	base, err := s.Store.GetBase(ctx, sess.Base())
	if err != nil {
		return Current{}, fmt.Errorf("resolve session: %w", err)
	}
	cur, err := s.current(ctx, sess, u, base)
	if err != nil {
		return Current{}, err
	}
	if r := cur.Session.Check(now, cur.Idle); r != "" {
		return Current{}, s.endIdle(ctx, sess, r, now, cur.Idle)
	}
	if activity {
		cur.Session.Touch(now, cur.Idle)
		if err := s.Store.TouchSession(ctx, cur.Session); err != nil {
			return Current{}, s.ended(ctx, sess.ID, err)
		}
	}
	return cur, nil
}

type operatorKey struct{}

// OperatorLogin names the operator in the journal: whoever runs the
// command line with the store's credentials.
const OperatorLogin = "sesame (ligne de commande)"

// AsOperator returns ctx acting as the operator of base k: the command
// line, run by whoever holds the store's credentials, administers a base
// with the SPR's rights and no session (use cases then take an empty
// token). Requests from the network never carry it.
func AsOperator(ctx context.Context, k BaseKey) context.Context {
	return context.WithValue(WithActor(ctx, OperatorLogin), operatorKey{}, k)
}

// operator is the Current of the operator of base k: the SPR's rights in
// admin mode, no session in the store.
func (s *Service) operator(ctx context.Context, k BaseKey) (Current, error) {
	base, err := s.Store.GetBase(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return Current{}, NotFound("La base " + string(k.Year) + " de l'établissement " + string(k.UAI))
	} else if err != nil {
		return Current{}, fmt.Errorf("operator: %w", err)
	}
	u := User{Login: OperatorLogin, DisplayName: OperatorLogin, Kind: KindStaff, Supervisor: true, Enabled: true, AdminGroup: AdministrationID}
	sess := Session{UAI: k.UAI, Year: k.Year, Login: u.Login, DisplayName: u.DisplayName, Kind: KindStaff, Supervisor: true, Mode: ModeAdmin, Access: Modify}
	return Current{Session: sess, User: u, Base: base, Principal: NewPrincipal(u, ModeAdmin, Modify, nil)}, nil
}

// current assembles the session's principal and idle setting.
func (s *Service) current(ctx context.Context, sess Session, u User, base Base) (Current, error) {
	cur := Current{Session: sess, User: u, Base: base,
		Idle: AutoDisconnect{Enabled: true, After: DefaultAutoDisconnect}}
	var grants []string
	if id := IdleProfileFor(u, sess.Mode); id != "" {
		p, err := s.Store.GetProfile(ctx, sess.Base(), id)
		switch {
		case err == nil:
			cur.Idle, grants = p.AutoDisconnect, p.Grants
		case !errors.Is(err, ErrNotFound):
			return Current{}, fmt.Errorf("profile %s: %w", id, err)
		}
	}
	cur.Principal = NewPrincipal(u, sess.Mode, sess.Access, grants)
	return cur, nil
}

// end ends session id for reason r and returns the 401 to answer.
func (s *Service) end(ctx context.Context, id string, r EndReason, now time.Time) error {
	e, err := s.Store.EndSession(ctx, id, r, now)
	if err != nil && !errors.Is(err, ErrSessionEnded) {
		return fmt.Errorf("end session: %w", err)
	}
	return &UnauthenticatedError{Reason: e.EndReason}
}

// endIdle is end, naming the idle limit when that is the reason, and
// writing the automatic disconnection to the journal.
func (s *Service) endIdle(ctx context.Context, sess Session, r EndReason, now time.Time, ad AutoDisconnect) error {
	e, err := s.Store.EndSession(ctx, sess.ID, r, now)
	if err != nil && !errors.Is(err, ErrSessionEnded) {
		return fmt.Errorf("end session: %w", err)
	}
	ue := &UnauthenticatedError{Reason: e.EndReason}
	if err == nil && e.EndReason == ReasonIdleTimeout {
		s.journal(ctx, sess.Base(), JournalEntry{Event: EventIdleTimeout, Subject: sess.Login, Mode: sess.Mode, Pool: sess.Pool,
			Reason: string(ReasonIdleTimeout), Detail: "Déconnexion automatique après " + FrenchDuration(ad.After) + " d'inactivité."})
	}
	if ue.Reason == ReasonIdleTimeout {
		ue.IdleTimeout = ad.After
	}
	return ue
}

// ended turns a store's ErrSessionEnded into the 401 with the stored reason.
func (s *Service) ended(ctx context.Context, id string, err error) error {
	if !errors.Is(err, ErrSessionEnded) && !errors.Is(err, ErrNotFound) {
		return err
	}
	sess, gerr := s.Store.GetSession(ctx, id)
	if gerr != nil || sess.Open() {
		return &UnauthenticatedError{Reason: ReasonExpired}
	}
	return &UnauthenticatedError{Reason: sess.EndReason}
}

func (s *Service) view(cur Current, school School) View {
	v := View{Session: cur.Session, User: cur.User, School: school, Timing: s.Timing,
		Idle: IdleFor(cur.Idle, s.Timing), Permissions: cur.Principal.Allowed()}
	v.School.CurrentYear = cur.Session.Year
	if cur.Session.Pool != "" {
		v.Seat = &Entry{Mode: cur.Session.Mode, Access: cur.Session.Access, Pool: cur.Session.Pool,
			Limit: cur.Base.License.Limit(cur.Session.Pool)}
	}
	return v
}

// Session returns the view of token's session. It is the agent's call: it
// does not count as activity.
func (s *Service) Session(ctx context.Context, token string) (View, error) {
	cur, err := s.Resolve(ctx, token, false)
	if err != nil {
		return View{}, err
	}
	school, err := s.Store.GetSchool(ctx, cur.Session.UAI)
	if err != nil {
		return View{}, fmt.Errorf("session: %w", err)
	}
	return s.view(cur, school), nil
}

// HeartbeatResult is the answer to a heartbeat.
type HeartbeatResult struct {
	Timing        Timing
	IdleRemaining time.Duration
	Idle          IdleState
}

// Heartbeat applies the agent's report (how long the user has been idle)
// with the three steps of Session.Heartbeat, then renews the seat. A
// session found over is ended, its seat freed, and the answer is an
// *UnauthenticatedError with the reason.
func (s *Service) Heartbeat(ctx context.Context, token string, idle time.Duration) (HeartbeatResult, error) {
	cur, err := s.Resolve(ctx, token, false)
	if err != nil {
		return HeartbeatResult{}, err
	}
	now := s.now()
	sess := cur.Session
	if r := sess.Heartbeat(now, idle, cur.Idle); r != "" {
		return HeartbeatResult{}, s.endIdle(ctx, sess, r, now, cur.Idle)
	}
	if err := s.Store.TouchSession(ctx, sess); err != nil {
		return HeartbeatResult{}, s.ended(ctx, sess.ID, err)
	}
	if sess.Pool != "" {
		base := cur.Base
		for try := 0; ; try++ {
			p := SeatPolicy{Limit: base.License.Limit(sess.Pool), Lease: s.Timing.Lease, LicenseVersion: base.Version}
			_, err := s.Store.RenewSeat(ctx, sess.ID, p, now)
			if err == nil {
				break
			}
			if errors.Is(err, ErrSeatLost) {
				s.journal(ctx, sess.Base(), JournalEntry{Event: EventSeatLost, Subject: sess.Login, Mode: sess.Mode, Pool: sess.Pool,
					Reason: string(ReasonSeatLost), Detail: ReasonSeatLost.Message()})
				return HeartbeatResult{}, &UnauthenticatedError{Reason: ReasonSeatLost}
			}
			if !errors.Is(err, ErrConflict) || try == 3 {
				return HeartbeatResult{}, s.ended(ctx, sess.ID, err)
			}
			// The licence changed meanwhile: decide again under the new one.
			if base, err = s.Store.GetBase(ctx, sess.Base()); err != nil {
				return HeartbeatResult{}, fmt.Errorf("heartbeat: %w", err)
			}
		}
	}
	return HeartbeatResult{Timing: s.Timing, IdleRemaining: sess.IdleRemaining(now, cur.Idle),
		Idle: IdleFor(cur.Idle, s.Timing)}, nil
}

// Logout ends token's session and frees its seat at once. Logging out of
// a session that is already over is no error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	e, err := s.Store.EndSession(ctx, TokenID(token), ReasonLoggedOut, s.now())
	if err != nil && !errors.Is(err, ErrSessionEnded) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	if err == nil {
		s.journal(ctx, e.Base(), JournalEntry{Event: EventLogout, Actor: e.Login, Subject: e.Login, Mode: e.Mode, Pool: e.Pool,
			Reason: string(ReasonLoggedOut), Detail: "Déconnexion."})
	}
	return nil
}

// Authorize decides an action for token's session. An unknown action is an
// unknown_action error.
func (s *Service) Authorize(ctx context.Context, token, action string) (Decision, error) {
	if _, ok := LookupAction(action); !ok {
		return Decision{}, &Error{Code: CodeUnknownAction, Field: "action", Message: "L'action « " + action + " » n'existe pas."}
	}
	cur, err := s.Resolve(ctx, token, false)
	if err != nil {
		return Decision{}, err
	}
	return cur.Principal.Can(action), nil
}

// Require resolves token's session as the user's own request and checks
// that it may do action; otherwise it returns a *ForbiddenError.
func (s *Service) Require(ctx context.Context, token, action string) (Current, error) {
	return s.require(ctx, token, true, action)
}

// require resolves token's session (as activity or not) and checks that
// it may do one of actions, the first one's denial being the answer
// otherwise.
func (s *Service) require(ctx context.Context, token string, activity bool, actions ...string) (Current, error) {
	cur, err := s.Resolve(ctx, token, activity)
	if err != nil {
		return Current{}, err
	}
	if err := forbid(cur.Principal, actions...); err != nil {
		return Current{}, err
	}
	return cur, nil
}

// PoolUsage is a pool's use at one instant.
type PoolUsage struct {
	Pool  Pool
	Limit Limit
	Used  int
}

// Connections lists a base's pools and connected users.
type Connections struct {
	Pools    []PoolUsage
	Sessions []Session
	// Self is the ID of the caller's own session.
	Self string
}

// Connections returns the pools and the connected users of the SPR's base
// (action spr.connexions). A session shows while its seat is live or, for
// one without a seat, while its heartbeats keep coming. Reading the list
// is not activity: the page refreshes it on its own.
func (s *Service) Connections(ctx context.Context, token string) (Connections, error) {
	cur, err := s.require(ctx, token, false, ActionSPRConnect)
	if err != nil {
		return Connections{}, err
	}
	now := s.now()
	k := cur.Session.Base()
	leases, err := s.Store.ListLeases(ctx, k, now)
	if err != nil {
		return Connections{}, fmt.Errorf("connections: %w", err)
	}
	sessions, err := s.Store.ListSessions(ctx, k)
	if err != nil {
		return Connections{}, fmt.Errorf("connections: %w", err)
	}
	used := map[Pool]int{}
	held := map[string]bool{}
	for _, l := range leases {
		used[l.Pool]++
		held[l.Session] = true
	}
	c := Connections{Self: cur.Session.ID}
	for _, p := range Pools {
		c.Pools = append(c.Pools, PoolUsage{Pool: p, Limit: cur.Base.License.Limit(p), Used: used[p]})
	}
	for _, x := range sessions {
		live := held[x.ID] || (x.Pool == "" && now.Sub(x.LastSeen) <= s.Timing.Lease)
		if live && now.Before(x.ExpiresAt) {
			c.Sessions = append(c.Sessions, x)
		}
	}
	return c, nil
}

// Disconnect ends session id of the SPR's own base (reason disconnected)
// and frees its seat at once. A session of another base is not found.
func (s *Service) Disconnect(ctx context.Context, token, id string) error {
	cur, err := s.Require(ctx, token, ActionSPRConnect)
	if err != nil {
		return err
	}
	target, err := s.Store.GetSession(ctx, id)
	if err != nil || target.Base() != cur.Session.Base() {
		return NotFound("La connexion demandée")
	}
	_, err = s.Store.EndSession(ctx, id, ReasonDisconnected, s.now())
	if err != nil && !errors.Is(err, ErrSessionEnded) {
		return fmt.Errorf("disconnect: %w", err)
	}
	if err == nil {
		s.journal(ctx, target.Base(), JournalEntry{Event: EventDisconnected, Actor: cur.User.Login, Subject: target.Login,
			Mode: target.Mode, Pool: target.Pool, Reason: string(ReasonDisconnected), Detail: "Déconnexion forcée par le superviseur (SPR)."})
	}
	return nil
}
