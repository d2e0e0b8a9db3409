package sesame

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// Clock tells the time. Every rule that depends on time takes it from a
// Clock, so tests can drive it.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Timing holds the durations of sessions and seats.
type Timing struct {
	// Heartbeat is how often the agent reports (default 60 s).
	Heartbeat time.Duration
	// Lease is how long a seat stays held without a heartbeat (default
	// 180 s: a hidden tab's timers may fire a minute late).
	Lease time.Duration
	// Absolute is the longest a session may last, active or not (12 h).
	Absolute time.Duration
	// Warning is how long before an idle logout the agent warns (60 s, or
	// half the idle limit when that is shorter).
	Warning time.Duration
	// Report is how often the agent of a session holding no seat's lease
	// (vie scolaire, the spaces, consultation, the SPR) reports when
	// nothing else makes it: it reports anyway before the server could
	// judge an active user idle, when the user comes back after the
	// warning, and at logout (default 10 min; Heartbeat when shorter).
	Report time.Duration
}

// DefaultTiming are the product's defaults.
var DefaultTiming = Timing{Heartbeat: 60 * time.Second, Lease: 180 * time.Second, Absolute: 12 * time.Hour, Warning: 60 * time.Second,
	Report: 10 * time.Minute}

// ReportEvery is how often, at the least, the agent of a session reports:
// every heartbeat for a session holding a seat's lease (leased), every
// Report otherwise (never more often than the heartbeat).
func (t Timing) ReportEvery(leased bool) time.Duration {
	if leased {
		return t.Heartbeat
	}
	return max(t.Report, t.Heartbeat)
}

// Silence is how long a session may go without reporting and still be
// connected: the interval its agent reports at, plus the margin a seat's
// lease gives a hidden tab whose timers fire late.
func (t Timing) Silence(leased bool) time.Duration {
	return t.ReportEvery(leased) + t.Lease - t.Heartbeat
}

// Validate checks that the durations are positive and that the lease
// outlasts at least two heartbeats.
func (t Timing) Validate() error {
	if t.Heartbeat <= 0 || t.Absolute <= 0 || t.Warning < 0 || t.Report < 0 {
		return Invalid("timing", "Les durées de session doivent être positives.")
	}
	if t.Lease < 2*t.Heartbeat {
		return Invalid("timing", "La durée d'une connexion sans signal doit couvrir au moins deux signaux de présence.")
	}
	return nil
}

// EndReason says why a session ended. The names are part of the public
// contract (the 401 reasons).
type EndReason string

const (
	ReasonExpired      EndReason = "expired"      // absolute lifetime reached
	ReasonIdleTimeout  EndReason = "idle_timeout" // automatic disconnection
	ReasonDisconnected EndReason = "disconnected" // by the SPR, or the account was deactivated
	ReasonReplaced     EndReason = "replaced"     // the user signed in again in the same pool
	ReasonSeatLost     EndReason = "seat_lost"    // the lease lapsed and the pool was full
	ReasonLoggedOut    EndReason = "logged_out"   // the user logged out
)

// Message is the French explanation shown on the sign-in page.
func (r EndReason) Message() string {
	switch r {
	case ReasonExpired:
		return "Votre session a expiré. Reconnectez-vous."
	case ReasonIdleTimeout:
		return "Vous avez été déconnecté après une période d'inactivité."
	case ReasonDisconnected:
		return "Votre session a été fermée par l'établissement : déconnexion forcée ou compte désactivé."
	case ReasonReplaced:
		return "Vous vous êtes connecté ailleurs avec le même identifiant dans ce mode : cette session a été fermée."
	case ReasonSeatLost:
		return "Votre connexion a été perdue (pas de signal pendant trop longtemps) et toutes les places sont occupées."
	case ReasonLoggedOut:
		return "Vous êtes déconnecté."
	case ReasonMissing:
		return "Connectez-vous pour accéder à cette page."
	}
	return "Votre session est terminée."
}

// EndReasons lists every 401 reason, in the order above, then
// ReasonMissing.
var EndReasons = []EndReason{ReasonExpired, ReasonIdleTimeout, ReasonDisconnected, ReasonReplaced, ReasonSeatLost,
	ReasonLoggedOut, ReasonMissing}

// TokenID returns the ID under which a session is stored: the hex SHA-256
// of its token. The token itself is never stored.
func TokenID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Session is a signed-in browser session.
type Session struct {
	// ID is TokenID(token).
	ID          string
	UAI         UAI
	Year        Year
	Login       string // the user's login key
	DisplayName string
	Kind        Kind
	Supervisor  bool
	Mode        Mode
	Access      Access
	// Pool is the seat pool the session holds a lease in; empty when it
	// takes no seat (see Pool.Leased).
	Pool Pool
	// Profile is the profile that IdleProfileFor named for the user and
	// mode at sign-in (empty for none): a store may read it along with the
	// session's user (Store.ReadSession); the user's own is authoritative.
	Profile      string
	CreatedAt    time.Time
	ExpiresAt    time.Time // absolute end
	LastActivity time.Time // last activity of the user, as reported
	LastSeen     time.Time // last request or heartbeat
	EndedAt      time.Time // zero while open
	EndReason    EndReason
	// Idle is the automatic-disconnection setting the session was last
	// judged under, stamped by Stamp; it stands in for reading the user
	// and the profile again until IdleUntil (zero: no stamp). See
	// Store.BeatStamped.
	Idle      AutoDisconnect
	IdleUntil time.Time
}

// IdleStampLife is how long a session's stamp of its idle setting
// stands. Every change that could change the setting a session is judged
// under removes the stamps concerned at once (Service.unstamp); the life
// bounds what a change racing with a stamp (a request that read the old
// setting and wrote its stamp after the removal) can leave behind.
const IdleStampLife = time.Hour

// Stamp records on s the setting ad that applies to it, as read at now.
func (s *Session) Stamp(ad AutoDisconnect, now time.Time) {
	s.Idle, s.IdleUntil = ad, now.Add(IdleStampLife)
}

// Stamped reports whether s's stamp of its idle setting stands at now.
func (s Session) Stamped(now time.Time) bool { return now.Before(s.IdleUntil) }

// Base returns the session's base.
func (s Session) Base() BaseKey { return BaseKey{s.UAI, s.Year} }

// Open reports whether the session has not been ended.
func (s Session) Open() bool { return s.EndReason == "" }

// NewSession prepares a session for user u entering with entry e at now.
// It holds a lease only in a pool that a licence limits (Pool.Leased).
func NewSession(id string, base BaseKey, u User, e Entry, t Timing, now time.Time) Session {
	pool := e.Pool
	if !pool.Leased() {
		pool = ""
	}
	return Session{ID: id, UAI: base.UAI, Year: base.Year, Login: u.Key(), DisplayName: u.DisplayName,
		Kind: u.Kind, Supervisor: u.Supervisor, Mode: e.Mode, Access: e.Access, Pool: pool, Profile: IdleProfileFor(u, e.Mode),
		CreatedAt: now, ExpiresAt: now.Add(t.Absolute), LastActivity: now, LastSeen: now}
}

// Leased reports whether sessions of pool p hold a lease. Only the pools
// whose limit a licence sets (admin mode in modification, teacher mode)
// do, even while their licence is unlimited, so that a licence going from
// unlimited to a number counts their live sessions exactly. The other
// pools never limit anyone (consultation is unlimited or closed, and
// closing it evicts nobody): their sessions hold no lease, write no
// pool-wide item, and, having no seat to move, are never replaced by the
// same user's next sign-in (a parent on a phone and a computer keeps
// both). The SPR holds none either.
func (p Pool) Leased() bool { return p == PoolAdminModify || p == PoolTeacher }

// EntryPool returns the pool a session counts in for people (the
// session object's seat, Connexions): its leased pool, or for a session
// without a lease the pool of its mode and access; empty for the SPR.
func (s Session) EntryPool() Pool {
	if s.Pool != "" || s.Supervisor {
		return s.Pool
	}
	return PoolFor(s.Mode, s.Access)
}

// IdleState is what the agent needs to know of automatic disconnection.
type IdleState struct {
	Enabled bool
	Timeout time.Duration
	Warning time.Duration
}

// IdleFor returns the idle settings the agent applies for setting ad.
func IdleFor(ad AutoDisconnect, t Timing) IdleState {
	if !ad.Enabled {
		return IdleState{}
	}
	return IdleState{Enabled: true, Timeout: ad.After, Warning: min(t.Warning, ad.After/2)}
}

// Check applies the absolute lifetime and, when ad is enabled, the idle
// limit to an open session at now, without changing it: it returns the
// reason the session is over, or "".
func (s Session) Check(now time.Time, ad AutoDisconnect) EndReason {
	if !now.Before(s.ExpiresAt) {
		return ReasonExpired
	}
	if ad.Enabled && now.Sub(s.LastActivity) >= ad.After {
		return ReasonIdleTimeout
	}
	return ""
}

// Heartbeat applies the three steps of an agent's report to the session:
//  1. if the stored last activity is already past the idle limit, the
//     session is over;
//  2. otherwise last activity becomes now − idle (idle clamped at 0);
//  3. if that puts it past the limit, the session is over too.
//
// It updates s (LastSeen, LastActivity) and returns the reason the session
// is over, or "". A report can end a session but never revive one, and it
// can move last activity back (the user was idle longer), never forward
// past now.
func (s *Session) Heartbeat(now time.Time, idle time.Duration, ad AutoDisconnect) EndReason {
	if r := s.Check(now, ad); r != "" {
		return r
	}
	s.LastSeen = now
	s.LastActivity = ReportedActivity(now, idle)
	return s.Check(now, ad)
}

// ReportedActivity is the last activity that step 2 of Heartbeat stores
// for a report of idle at now: now − idle, idle clamped at 0.
func ReportedActivity(now time.Time, idle time.Duration) time.Time { return now.Add(-max(idle, 0)) }

// Touch records a request the user made (activity) at now, after the same
// check as Heartbeat's first step. It returns the reason the session is
// over, or "".
func (s *Session) Touch(now time.Time, ad AutoDisconnect) EndReason {
	if r := s.Check(now, ad); r != "" {
		return r
	}
	s.LastSeen, s.LastActivity = now, now
	return ""
}

// IdleRemaining is how long the session has before its idle limit.
func (s Session) IdleRemaining(now time.Time, ad AutoDisconnect) time.Duration {
	if !ad.Enabled {
		return 0
	}
	return max(ad.After-now.Sub(s.LastActivity), 0)
}

// SeatKey names a seat pool of a base.
type SeatKey struct {
	UAI  UAI
	Year Year
	Pool Pool
}

// Lease is a seat held by a session. A lease is live while now ≤
// ExpiresAt; an expired lease holds nothing, whatever the store still
// shows.
type Lease struct {
	SeatKey
	Login      string // user's login key: one lease per user per pool
	Session    string // the session ID holding it
	AcquiredAt time.Time
	ExpiresAt  time.Time
	// Held is set on the lease OpenSession returns, for the seat usage:
	// how many seats the pool held just after this admission, as the
	// admission's atomic step counted them (a store may count lapsed
	// leases it has not cleared yet, and a DynamoDB admission counts from
	// the pool's COUNT read just before it). 0 when unknown.
	Held int
}

// Live reports whether the lease still holds its seat at now.
func (l Lease) Live(now time.Time) bool { return !l.ExpiresAt.Before(now) }

// SeatPolicy is how a pool admits at one instant: its limit under the
// current licence, and the lease given to a holder.
type SeatPolicy struct {
	Limit Limit
	Lease time.Duration
	// LicenseVersion, when not zero, is the Version of the base record the
	// limit was read from: a store admits a newcomer only if the base is
	// still at that version in the same atomic step, so a licence lowered
	// meanwhile is never overtaken. Moving or renewing a live lease admits
	// nobody and does not check it.
	LicenseVersion int64
}

// ErrLicenseChanged says that the licence changed between reading it and
// taking a seat: read it again and retry. It matches ErrConflict.
var ErrLicenseChanged = &Error{Code: CodeConflict, Message: "La licence de l'établissement vient de changer ; réessayez."}

// CountLive returns how many leases are live at now.
func CountLive(ls []Lease, now time.Time) int {
	n := 0
	for _, l := range ls {
		if l.Live(now) {
			n++
		}
	}
	return n
}

// Exhausted builds the error for a full pool from its leases: RetryAfter is
// the time until the earliest live lease ends (at least one second).
func Exhausted(p Pool, limit Limit, ls []Lease, now time.Time) *SeatsExhaustedError {
	e := &SeatsExhaustedError{Pool: p, Limit: limit, RetryAfter: time.Second}
	var ends []time.Time
	for _, l := range ls {
		if l.Live(now) {
			ends = append(ends, l.ExpiresAt)
		}
	}
	if len(ends) > 0 && limit != Closed {
		e.RetryAfter = max(slices.MinFunc(ends, time.Time.Compare).Sub(now), time.Second).Round(time.Second)
	}
	return e
}

// Admission decides, from every lease of a pool read in one consistent
// view, what taking a seat for login at now means:
//   - move: the user holds a live lease, which moves to the new session
//     (the old session, named by the returned lease, ends as replaced);
//   - admit: the user holds no live lease and the live holders are fewer
//     than the limit;
//   - otherwise the pool is full.
//
// Stores that hold a pool's leases in one transaction use it as is; others
// implement the same rule in their conditions.
func Admission(ls []Lease, login string, limit Limit, now time.Time) (own *Lease, admit bool) {
	live := 0
	for i := range ls {
		if ls[i].Login == login && ls[i].Live(now) {
			return &ls[i], true
		}
		if ls[i].Live(now) {
			live++
		}
	}
	return nil, limit.Admits(live)
}

// ReasonMissing is the 401 reason of a request that carries no session at
// all (never signed in, or its cookie was cleared).
const ReasonMissing EndReason = "missing"
