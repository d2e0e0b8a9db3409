package sesame

import (
	"context"
	"errors"
	"time"
)

// Store keeps Sésame's data. There are two implementations, both
// first-class: infra/bolt (an embedded bbolt file) and infra/dynamo (one
// DynamoDB table). infra/storetest holds the conformance suite both pass.
//
// Errors: every method returns errors that match the sentinels of this
// package with errors.Is (ErrNotFound, ErrExists, ErrConflict,
// ErrSeatsExhausted, ErrSeatLost, ErrSessionEnded), wrapped with context;
// other errors are failures of the backend. A "not found" is always an
// error, never a zero value. Logins are compared by LoginKey.
//
// Writes that change a user or a profile are conditional on the Version
// read before (optimistic concurrency): a concurrent edit is never
// overwritten silently. A write bumps Version by one.
//
// Time is always passed in (now): stores never read a clock, and expiry is
// decided against now at the moment of the write, never by a TTL sweep.
type Store interface {
	ProviderStore

	// CreateBase creates base b with its initial content (see
	// NewBaseContent) in one step, and the school s when it does not exist
	// yet (b.Year then becomes its current year). An existing school keeps
	// its name and current year.
	// Returns ErrExists if the base exists, ErrInvalid if b and s disagree.
	CreateBase(ctx context.Context, s School, b Base, c BaseContent) error
	// GetSchool returns the school. Returns ErrNotFound if it does not exist.
	GetSchool(ctx context.Context, uai UAI) (School, error)
	// SetCurrentYear makes the base of that year the school's current one.
	// Returns ErrNotFound if the base does not exist.
	SetCurrentYear(ctx context.Context, k BaseKey) error
	// GetBase returns a base. Returns ErrNotFound if it does not exist.
	GetBase(ctx context.Context, k BaseKey) (Base, error)
	// ListBases returns the school's bases, oldest year first (an empty
	// list for an unknown school).
	ListBases(ctx context.Context, uai UAI) ([]Base, error)
	// SetLicense replaces the base's licence and returns the base as
	// written. It takes effect for the next seat decision; live holders are
	// never evicted. Returns ErrNotFound if the base does not exist.
	SetLicense(ctx context.Context, k BaseKey, l License, now time.Time) (Base, error)

	// MarkLegacyHashes sets the base's LegacyHashes (it stays set) and
	// raises its LegacyCost to cost when it is lower. It does not change
	// the base's Version. Returns ErrNotFound if the base does not exist.
	MarkLegacyHashes(ctx context.Context, k BaseKey, cost int) error

	// CreateUser adds u (Version 1) to the base. Returns ErrNotFound if the
	// base does not exist, ErrExists if a user has the same login key.
	CreateUser(ctx context.Context, k BaseKey, u User) error
	// GetUser returns the user with this login (any case). Returns
	// ErrNotFound if there is none.
	GetUser(ctx context.Context, k BaseKey, login string) (User, error)
	// UpdateUser writes u over the stored user with the same login key,
	// provided the stored Version equals u.Version, and returns it with
	// Version+1. Returns ErrNotFound if it does not exist, ErrConflict if
	// the version differs.
	UpdateUser(ctx context.Context, k BaseKey, u User) (User, error)
	// ListUsers returns a page of the base's users in login-key order.
	ListUsers(ctx context.Context, k BaseKey, q UserQuery) (UserPage, error)

	// CreateProfile adds p (an admin group, a teacher or staff profile, or
	// a space's setting) with Version 1. Returns ErrNotFound if the base
	// does not exist, ErrExists if a profile has the same ID.
	CreateProfile(ctx context.Context, k BaseKey, p Profile) error
	// GetProfile returns the profile with this ID. Returns ErrNotFound if
	// there is none.
	GetProfile(ctx context.Context, k BaseKey, id string) (Profile, error)
	// UpdateProfile writes p over the stored profile with the same ID,
	// provided the stored Version equals p.Version, and returns it with
	// Version+1. Returns ErrNotFound or ErrConflict.
	UpdateProfile(ctx context.Context, k BaseKey, p Profile) (Profile, error)
	// ListProfiles returns all the base's profiles, groups and space
	// settings, ordered as SortProfiles does.
	ListProfiles(ctx context.Context, k BaseKey) ([]Profile, error)
	// DeleteProfile removes the profile id, provided its stored Version
	// equals version. Returns ErrNotFound or ErrConflict. (Whether users
	// still name it is the service's business.)
	DeleteProfile(ctx context.Context, k BaseKey, id string, version int64) error

	// AppendJournal adds e to the base's journal. Entries are never
	// changed: returns ErrExists if an entry has the same ID.
	AppendJournal(ctx context.Context, k BaseKey, e JournalEntry) error
	// ListJournal returns a page of the base's journal, newest first (by
	// ID), within q's time range and passing its filters (see
	// JournalEntry.Matches). Entries past their ExpiresAt may still show
	// until Collect (or DynamoDB's TTL) removes them.
	ListJournal(ctx context.Context, k BaseKey, q JournalQuery) (JournalPage, error)
	// CountJournal counts one more occurrence in the summary entry e.ID of
	// the base's journal, atomically: the first call stores e with Count
	// 1, the next ones add 1 to its Count and change nothing else. Returns
	// ErrNotFound if the base does not exist.
	CountJournal(ctx context.Context, k BaseKey, e JournalEntry) error
	// NoteUsage adds n to the seat usage of its day and pool, atomically:
	// the peak becomes max(peak, n.Held), n.Refused is added to the
	// refusals and n.SignIns to the sign-ins. A backend may spread the
	// sign-ins over several records (no hot item); ListUsage sums them.
	NoteUsage(ctx context.Context, k BaseKey, n UsageNote) error
	// ListUsage returns the usage of the days from..to (YYYY-MM-DD, both
	// included), by day then in the order of Pools. Days and pools with
	// no note are absent.
	ListUsage(ctx context.Context, k BaseKey, from, to string) ([]UsageDay, error)

	// OpenSession stores the new session s and, when s.Pool is set, gives
	// it the seat of s.Login in that pool under policy p, in one atomic
	// step:
	//   - if the user holds a live lease in the pool, the lease moves to s
	//     and the session that held it ends with ReasonReplaced;
	//   - otherwise the user is admitted only if the live holders of the
	//     pool, counted at that instant, are fewer than p.Limit.
	// It returns the lease (zero when s.Pool is empty). Returns a
	// *SeatsExhaustedError (ErrSeatsExhausted) when the pool is full, with
	// nothing stored; ErrExists if a session has the same ID; ErrConflict
	// (ErrLicenseChanged) when an admission finds the base no longer at
	// p.LicenseVersion, with nothing stored.
	OpenSession(ctx context.Context, s Session, p SeatPolicy, now time.Time) (Lease, error)
	// AdmitSession is OpenSession(s, p, now) that also writes w in the
	// same atomic step: a sign-in's admission with what it leaves behind
	// (see AdmissionWrites). It returns what OpenSession returns, with the same
	// errors; when it fails, nothing of w is written either.
	AdmitSession(ctx context.Context, s Session, p SeatPolicy, w AdmissionWrites, now time.Time) (Lease, error)
	// ReadSignIn reads what a sign-in needs before it verifies a password
	// (see SignInQuery), in as few round trips as the backend allows. What
	// does not exist is left nil; a missing counter comes back with its Key
	// and Version 0. It returns only the backend's failures.
	ReadSignIn(ctx context.Context, q SignInQuery) (SignInRead, error)
	// GetSession returns the session with this ID, open or ended. Returns
	// ErrNotFound if there is none (or it was collected).
	GetSession(ctx context.Context, id string) (Session, error)
	// ReadSession returns session id, open or ended, and, when it is open,
	// what a request under it reads next (see SessionRead), in as few
	// round trips as the backend allows: near, when set, says where its
	// items likely lie, so that a backend may read them with the session
	// (it checks them against the session read). Returns ErrNotFound if the
	// session does not exist (or was collected), or if its base does not.
	ReadSession(ctx context.Context, id string, near SessionNear) (SessionRead, error)
	// TouchSession stores s.LastActivity, s.LastSeen and the stamp of its
	// idle setting (s.Idle, s.IdleUntil) on the open session s.ID. Returns
	// ErrNotFound, or ErrSessionEnded if it has ended.
	TouchSession(ctx context.Context, s Session) error
	// RenewSeat extends the lease of open session id to now + p.Lease.
	// When the lease has lapsed (a laptop slept), the session takes a seat
	// again if the pool admits it under p.Limit, counting the other live
	// holders; that holds whether the store still keeps the lapsed lease
	// or cleared it to make room. Returns ErrSeatLost, ending the session
	// with ReasonSeatLost, when the lease lapsed and the pool is full;
	// ErrConflict (ErrLicenseChanged) when taking a lapsed seat again finds
	// the base no longer at p.LicenseVersion, with nothing changed;
	// ErrSessionEnded if the session has ended (its seat moved to a newer
	// session of the same user, among others); ErrNotFound.
	RenewSeat(ctx context.Context, id string, p SeatPolicy, now time.Time) (Lease, error)
	// BeatSession is a heartbeat's writes: TouchSession(s), then, when the
	// session holds a seat, RenewSeat(s.ID, p, now), with the same errors
	// (ErrNotFound, ErrSessionEnded before anything is stored; then those
	// of RenewSeat). A store may do both in one write; the activity stored
	// before a failed renewal may stay.
	BeatSession(ctx context.Context, s Session, p SeatPolicy, now time.Time) (Lease, error)
	// BeatStamped is a heartbeat's fast path: the report of idle at now
	// applied to open session id under the idle setting stamped on it
	// (Session.Idle), without reading its user, base or profile. When the
	// stamp stands at now (Session.Stamped) and Session.Heartbeat under it
	// would go on, and, for a session holding a seat, its lease is live, it
	// stores what Heartbeat stores (LastSeen, LastActivity), extends the
	// lease to now + p.Lease, and returns the session as stored. In every
	// other case (no such session, ended, no stamp, an end the rule would
	// decide, a lapsed or lost seat) it returns ErrNotStamped and the
	// caller takes the full path (ReadSession, Heartbeat, BeatSession);
	// the activity stored before a failed extension may stay, as with
	// BeatSession. A store does it in one write where it can.
	BeatStamped(ctx context.Context, id string, idle time.Duration, p SeatPolicy, now time.Time) (Session, error)
	// UnstampSession removes the stamp of session id's idle setting, so
	// that its next heartbeat takes the full path. A session without a
	// stamp, or ended, is no error. Returns ErrNotFound.
	UnstampSession(ctx context.Context, id string) error
	// EndSession ends open session id with reason r and frees its seat at
	// once, in one step, and returns the ended session. Ending an ended
	// session changes nothing and returns it as it is, with
	// ErrSessionEnded. Returns ErrNotFound.
	EndSession(ctx context.Context, id string, r EndReason, now time.Time) (Session, error)
	// ListSessions returns the base's open sessions, oldest first.
	ListSessions(ctx context.Context, k BaseKey) ([]Session, error)
	// ListLeases returns the base's leases that are live at now, by pool
	// then login.
	ListLeases(ctx context.Context, k BaseKey, now time.Time) ([]Lease, error)

	// CreateImport records a new import job. Returns ErrExists if a job
	// with the same ID exists for the base (the same file, or the same S3
	// object version, was already taken in), ErrNotFound if the base does
	// not exist.
	CreateImport(ctx context.Context, k BaseKey, j ImportJob) error
	// GetImport returns an import job. Returns ErrNotFound.
	GetImport(ctx context.Context, k BaseKey, id string) (ImportJob, error)
	// UpdateImport writes j provided the stored Version equals j.Version,
	// and returns it with Version+1. Returns ErrNotFound or ErrConflict.
	UpdateImport(ctx context.Context, k BaseKey, j ImportJob) (ImportJob, error)

	// WriteImport applies the writes of one step of a recovery and the
	// job's progress j in one atomic step: each write creates a user or a
	// profile (it must not exist) or replaces one (its stored Version must
	// equal the one given; the stored Version becomes one more), and j
	// replaces the stored job on the same condition (Version 0: the job
	// must not exist yet). It returns j as stored. If any condition fails,
	// nothing is written and the error is a *WriteConflict naming the
	// failed writes (ErrConflict). At most MaxImportWrites writes.
	WriteImport(ctx context.Context, k BaseKey, ws []ImportWrite, j ImportJob) (ImportJob, error)

	// Collect removes what no rule needs any more: sessions that ended,
	// or reached their absolute end, more than keep before now (with a
	// lapsed lease they still name), throttling counters whose window
	// started and lock ended more than keep before now, and journal
	// entries whose ExpiresAt is before now (keep does not apply: the
	// retention is the promise). It returns how many records went.
	// A store whose backend collects garbage itself (DynamoDB's TTL) may do
	// nothing and return 0.
	Collect(ctx context.Context, now time.Time, keep time.Duration) (int, error)

	// Close releases the store's resources.
	Close() error
}

// ErrNotStamped says that Store.BeatStamped did not apply: the caller
// takes a heartbeat's full path. The service never answers it.
var ErrNotStamped = errors.New("sesame: the heartbeat needs the full path")

// SessionRead is what a request under a session reads: the session and,
// when it is open, its user, its base, and a profile read along: the one
// the session names (Session.Profile), or else the one IdleProfileFor
// names without knowing the user (a space's setting), when there is one.
type SessionRead struct {
	Session Session
	User    *User    // nil when the account no longer exists (or the session has ended)
	Base    Base     // zero when the session has ended
	Profile *Profile // nil when none, or when missing
}

// AdmissionWrites is what a sign-in writes with its session (Store.AdmitSession).
type AdmissionWrites struct {
	// Forget names the throttling counters the right password starts
	// again: they are deleted (a missing one is no error).
	Forget []string
	// Journal, when set, is the sign-in's journal entry (its ID set), added
	// to the session's base journal as AppendJournal would.
	Journal *JournalEntry
	// UsageDay, when set, notes the admission in the usage of that day,
	// as NoteUsage would: for a session that holds a seat, the seats it
	// counts (Lease.Held) in its pool's peak; for one that takes none
	// (Pool ""), one sign-in in its EntryPool (never ""), without a
	// pool-wide hot item.
	UsageDay string
	// Seat is the pool as ReadSignIn found it, when it did: a read that
	// may guide the admission's first try, never decide it.
	Seat *SeatHint
}

// SeatHint is a pool as a sign-in read it before verifying the password.
type SeatHint struct {
	Holder *Lease // the user's lease, live or lapsed; nil when none (ExpiresAt zero when the backend keeps its end elsewhere)
	Count  int    // the pool's leases, as the backend counts them
	Peak   int    // the day's usage peak (SignInQuery.Day); 0 when none
}

// SignInQuery names what a sign-in reads before it verifies a password.
type SignInQuery struct {
	UAI UAI
	// Year is the base asked for; when empty, the school's current base is
	// read, and Guess is the year it most likely is (SchoolYearOf now): a
	// backend may read it along with the school, and read again only when
	// the school names another.
	Year, Guess Year
	Login       string   // the login key
	Counters    []string // throttling counters' keys (AttemptStore)
	// Profile, when set, is a profile of the base read along (the space's
	// setting of a space: IdleProfileFor without the user).
	Profile string
	// Seat, when set, is the leased pool the sign-in asks for, and Day the
	// day of its usage: a backend may read them along (SignInRead.Seat).
	Seat Pool
	Day  string
}

// SignInRead is what ReadSignIn found. Base, User and Profile are those of
// the base read: Year, or else the school's current year (nil without a
// school).
type SignInRead struct {
	School   *School
	Base     *Base
	User     *User
	Profile  *Profile
	Counters []Attempts // in the order of SignInQuery.Counters
	Seat     *SeatHint  // nil when not read (a backend that has no use for it)
}

// SessionNear is where a session's items likely lie, as its token says
// (SessionNearOf): its base, its user's login key and the profile it names.
// It is no authority: a store checks it against the session it reads.
type SessionNear struct {
	Base    BaseKey
	Login   string
	Profile string
}

// ProviderStore keeps the schools' identity providers, finds the account
// an identity is linked to, and remembers the single-use proofs of
// identity already taken (SAML assertion IDs, CAS tickets).
type ProviderStore interface {
	// CreateProvider adds p (Version 1) to school uai. Returns ErrNotFound
	// if the school does not exist, ErrExists if a provider has the same
	// ID.
	CreateProvider(ctx context.Context, uai UAI, p IdentityProvider) error
	// GetProvider returns the provider. Returns ErrNotFound if there is
	// none.
	GetProvider(ctx context.Context, k ProviderKey) (IdentityProvider, error)
	// UpdateProvider writes p over the stored provider with the same ID,
	// provided the stored Version equals p.Version, and returns it with
	// Version+1. Returns ErrNotFound or ErrConflict.
	UpdateProvider(ctx context.Context, uai UAI, p IdentityProvider) (IdentityProvider, error)
	// ListProviders returns the school's providers by ID (an empty list
	// for an unknown school).
	ListProviders(ctx context.Context, uai UAI) ([]IdentityProvider, error)
	// DeleteProvider removes the provider, provided its stored Version
	// equals version. Returns ErrNotFound or ErrConflict.
	DeleteProvider(ctx context.Context, k ProviderKey, version int64) error

	// FindUsersByENTID returns the users of the base whose ENTID equals
	// entID exactly (case matters), by login key: none, one, or more when
	// a link was given twice (the service refuses that identity). A store
	// may find them through an index that lags a write by a moment, but
	// every user it returns is read consistently and has that ENTID.
	FindUsersByENTID(ctx context.Context, k BaseKey, entID string) ([]User, error)

	// UseAssertion records that the single-use proof id (a SAML assertion
	// ID, a CAS ticket) of provider k was taken, until expires, in one
	// conditional write: put if absent or expired at now. Returns
	// ErrExists when it is already recorded and not expired (a replay).
	UseAssertion(ctx context.Context, k ProviderKey, id string, expires, now time.Time) error
}

// UserQuery selects a page of users.
type UserQuery struct {
	// Prefix keeps users whose login key starts with it (lower case).
	Prefix string
	// Kind keeps users of that kind (all kinds when empty).
	Kind Kind
	// Member keeps users whose admin group or profile has this ID.
	Member string
	// Search keeps users whose folded login and display name (see
	// User.SearchText) contain every word of Search, folded.
	Search string
	// After is the cursor: the page starts after this login key.
	After string
	// Limit is the page size: 1 to 1000, 100 when 0.
	Limit int
}

// PageSize returns q.Limit clamped to [1, 1000], 100 when unset.
func (q UserQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return 100
	case q.Limit > 1000:
		return 1000
	}
	return q.Limit
}

// UserPage is a page of users. Next is the cursor of the following page,
// empty on the last one.
type UserPage struct {
	Users []User
	Next  string
}

// ImportState is where an import job stands.
type ImportState string

const (
	ImportPlanned  ImportState = "planned"  // a dry run: the plan waits to be applied
	ImportApplying ImportState = "applying" // applying; Step says how far it got
	ImportDone     ImportState = "done"     // applied whole
	ImportFailed   ImportState = "failed"   // refused as a whole; nothing applied
)

// ImportJob records one recovery: what it was fed, where it stands, and its
// report. Its ID is the content digest of the file, or the bucket, key and
// version of an S3 object, so the same input is taken in once.
type ImportJob struct {
	ID        string
	Source    string // what it came from, for people ("rentree.zip", "2025-2026"…)
	State     ImportState
	Step      int    // entries of the plan applied so far
	Plan      []byte // the plan, encoded by the recovery engine
	Report    []byte // the report, encoded by the recovery engine
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// AttemptStore keeps the failed sign-in counters of throttling.
type AttemptStore interface {
	// GetAttempts returns the counter under key. Returns ErrNotFound if
	// there is none.
	GetAttempts(ctx context.Context, key string) (Attempts, error)
	// PutAttempts writes a provided the stored version equals a.Version
	// (0: none is stored), and returns it with Version+1. Returns
	// ErrConflict otherwise.
	PutAttempts(ctx context.Context, a Attempts) (Attempts, error)
	// DeleteAttempts forgets the counter under key; a missing one is no
	// error.
	DeleteAttempts(ctx context.Context, key string) error
}

// SecretStore keeps the deployment's secrets (the key that signs device
// cookies), made once and shared by every server of the deployment.
type SecretStore interface {
	// Secret returns the secret named name, storing fresh as its value if
	// there is none yet: every caller gets the same bytes, whoever came
	// first.
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
}

// MaxImportWrites is the most writes one WriteImport takes (DynamoDB's
// transactions hold 100 items, the job among them).
const MaxImportWrites = 90

// ImportWrite is one write of a recovery: exactly one of User and Profile.
type ImportWrite struct {
	User    *User
	Profile *Profile
	// Create: the item must not exist. Otherwise its stored Version must
	// equal the item's Version.
	Create bool
}
