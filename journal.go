package sesame

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // UsageZone everywhere, Lambda included
	"unicode"
)

// Event is the type of a journal entry. The names are part of the public
// contract (the journal's filter and its CSV export).
type Event string

const (
	EventLogin          Event = "login"           // a sign-in
	EventLoginRefused   Event = "login_refused"   // a refused sign-in; Reason says why (seats_exhausted names its Pool)
	EventLogout         Event = "logout"          // the user logged out
	EventIdleTimeout    Event = "idle_timeout"    // automatic disconnection after inactivity
	EventDisconnected   Event = "disconnected"    // forced: by the SPR, or the account was deactivated
	EventSeatLost       Event = "seat_lost"       // the lease lapsed and the pool was full
	EventUserCreated    Event = "user_created"    // an account was created
	EventUserUpdated    Event = "user_updated"    // an account changed (name, group, profile)
	EventUserDisabled   Event = "user_disabled"   // an account was deactivated
	EventUserEnabled    Event = "user_enabled"    // an account was reactivated
	EventPasswordReset  Event = "password_reset"  // a password was reset
	EventProfileCreated Event = "profile_created" // a group or a profile was created
	EventProfileUpdated Event = "profile_updated" // a group, a profile or a space setting changed
	EventProfileDeleted Event = "profile_deleted" // a group or a profile was removed
	EventRecovery       Event = "recovery"        // users were recovered
	EventProviderEdited Event = "provider_edited" // an identity provider was added, changed or removed
)

// Events lists every event type.
var Events = []Event{EventLogin, EventLoginRefused, EventLogout, EventIdleTimeout, EventDisconnected, EventSeatLost,
	EventUserCreated, EventUserUpdated, EventUserDisabled, EventUserEnabled, EventPasswordReset,
	EventProfileCreated, EventProfileUpdated, EventProfileDeleted, EventRecovery, EventProviderEdited}

// Label is the event's French name.
func (e Event) Label() string {
	switch e {
	case EventLogin:
		return "Connexion"
	case EventLoginRefused:
		return "Connexion refusée"
	case EventLogout:
		return "Déconnexion"
	case EventIdleTimeout:
		return "Déconnexion automatique"
	case EventDisconnected:
		return "Déconnexion forcée"
	case EventSeatLost:
		return "Connexion perdue"
	case EventUserCreated:
		return "Utilisateur créé"
	case EventUserUpdated:
		return "Utilisateur modifié"
	case EventUserDisabled:
		return "Utilisateur désactivé"
	case EventUserEnabled:
		return "Utilisateur réactivé"
	case EventPasswordReset:
		return "Mot de passe réinitialisé"
	case EventProfileCreated:
		return "Groupe ou profil créé"
	case EventProfileUpdated:
		return "Groupe, profil ou réglage modifié"
	case EventProfileDeleted:
		return "Groupe ou profil supprimé"
	case EventRecovery:
		return "Récupération des utilisateurs"
	case EventProviderEdited:
		return "Connexion via l'ENT modifiée"
	}
	return string(e)
}

// ParseEvent validates s as an event type.
func ParseEvent(s string) (Event, error) {
	for _, e := range Events {
		if string(e) == s {
			return e, nil
		}
	}
	names := make([]string, len(Events))
	for i, e := range Events {
		names[i] = string(e)
	}
	return "", Invalid("event", "Le type d'événement « %s » n'existe pas. Types possibles : %s.", s, strings.Join(names, ", "))
}

// Journal retention: six months by default, the CNIL's guidance for
// connection logs.
const (
	DefaultJournalRetention = 183 * 24 * time.Hour
	MinJournalRetention     = 24 * time.Hour
	MaxJournalRetention     = 3 * 366 * 24 * time.Hour
)

// JournalEntry is one record of the journal: append-only, never changed.
type JournalEntry struct {
	// ID orders the journal: JournalID of At, then a random suffix.
	ID    string
	At    time.Time
	Event Event
	// Actor is the login of who did it; empty for the system (an idle
	// timeout, a lapsed seat) and for refused sign-ins of unknown logins.
	Actor string
	// Subject is the login, group or profile concerned.
	Subject string
	Mode    Mode
	Pool    Pool
	// Reason is a stable code: the refusal's error code, the session's end
	// reason.
	Reason string
	// Detail says what happened, in French.
	Detail  string
	Address string
	// ExpiresAt is when the entry may go (At + the retention).
	ExpiresAt time.Time
	// Count, in a summary entry (see Store.CountJournal), is how many
	// occurrences it stands for; 0 in an entry of one event.
	Count int
}

// Lengths of journal fields: whatever a stranger typed is journalled, but
// never at any length.
const (
	MaxJournalName   = 64  // Actor, Subject, Address, Reason
	MaxJournalDetail = 500 // Detail
)

// Clipped returns e with every field within its length limit.
func (e JournalEntry) Clipped() JournalEntry {
	e.Actor, e.Subject = clip(e.Actor, MaxJournalName), clip(e.Subject, MaxJournalName)
	e.Address, e.Reason = clip(e.Address, MaxJournalName), clip(e.Reason, MaxJournalName)
	e.Detail = clip(e.Detail, MaxJournalDetail)
	return e
}

// RefusalSummary is the journal's summary entry of the sign-ins refused
// before any password was found right (wrong credentials, throttled) in
// base k during the hour of at, for one reason: unauthenticated requests
// add to a count instead of appending entries, so they cannot grow the
// journal beyond one entry per hour and reason.
func RefusalSummary(at time.Time, reason string, retention time.Duration) JournalEntry {
	hour := at.UTC().Truncate(time.Hour)
	return JournalEntry{ID: JournalID(hour) + "-refus-" + reason, At: hour, Event: EventLoginRefused, Reason: reason,
		ExpiresAt: hour.Add(time.Hour).Add(retention), Count: 1}
}

// Summarised returns e with its Detail saying what a summary entry counts.
func (e JournalEntry) Summarised() JournalEntry {
	if e.Count == 0 {
		return e
	}
	why := map[string]string{CodeInvalidCredentials: "identifiants incorrects", CodeTooManyAttempts: "trop de tentatives",
		CodeIdentityUnknown: "identité ENT non reliée", CodeAssertionReplayed: "réponse de l'ENT rejouée",
		CodeProviderUnavailable: "service de connexion indisponible"}[e.Reason]
	if why == "" {
		why = e.Reason
	}
	from := e.At.In(UsageZone())
	e.Detail = fmt.Sprintf("%d connexion(s) refusée(s) (%s) entre %d h et %d h.", e.Count, why, from.Hour(), from.Add(time.Hour).Hour())
	return e
}

// JournalID returns the start of the ID of an entry written at t: IDs sort
// as their times do.
func JournalID(t time.Time) string { return fmt.Sprintf("%016x", t.UnixNano()) }

// Matches reports whether e passes the filters of q (not its cursor, page
// size or time range).
func (e JournalEntry) Matches(q JournalQuery) bool {
	if len(q.Events) > 0 {
		ok := false
		for _, ev := range q.Events {
			ok = ok || ev == e.Event
		}
		if !ok {
			return false
		}
	}
	if q.Login != "" {
		l := LoginKey(q.Login)
		if LoginKey(e.Actor) != l && LoginKey(e.Subject) != l {
			return false
		}
	}
	return true
}

// JournalQuery selects a page of the journal, newest first.
type JournalQuery struct {
	// From and To bound At: From ≤ At < To. Zero: no bound.
	From, To time.Time
	// Events keeps entries of these types (all when empty).
	Events []Event
	// Login keeps entries whose actor or subject is this login (any case).
	Login string
	// Before is the cursor: the page starts after (older than) this ID.
	Before string
	// Limit is the page size: 1 to 1000, 100 when 0.
	Limit int
}

// PageSize returns q.Limit clamped to [1, 1000], 100 when unset.
func (q JournalQuery) PageSize() int { return UserQuery{Limit: q.Limit}.PageSize() }

// Range returns the IDs that bound the query's time range: entries with
// lo ≤ ID < hi ("" when unbounded).
func (q JournalQuery) Range() (lo, hi string) {
	if !q.From.IsZero() {
		lo = JournalID(q.From)
	}
	if !q.To.IsZero() {
		hi = JournalID(q.To)
	}
	return lo, hi
}

// ParseDay reads a day written YYYY-MM-DD; its error, in French, names
// field.
func ParseDay(field, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, Invalid(field, "La date « %s » n'est pas au format AAAA-MM-JJ.", s)
	}
	return t, nil
}

// ParseJournalFilter reads the journal's filters as people write them:
// from and to as YYYY-MM-DD (a day given as to is included) or RFC 3339,
// events as comma-separated names, and a login.
func ParseJournalFilter(from, to, events, login string) (JournalQuery, error) {
	day := func(field, s string, end bool) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		t, err := ParseDay(field, s)
		if err != nil {
			return t, err
		}
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	q := JournalQuery{Login: strings.TrimSpace(login)}
	var err error
	if q.From, err = day("from", from, false); err != nil {
		return q, err
	}
	if q.To, err = day("to", to, true); err != nil {
		return q, err
	}
	for _, name := range strings.Split(events, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		e, err := ParseEvent(name)
		if err != nil {
			return q, err
		}
		q.Events = append(q.Events, e)
	}
	return q, nil
}

// JournalPage is a page of the journal. Next is the cursor of the
// following (older) page, empty on the last one.
type JournalPage struct {
	Entries []JournalEntry
	Next    string
}

// UsageNote is what one sign-in tells the seat usage of its day: the
// number of seats held in the pool just after it was admitted, one
// refusal because the pool was full, or, for a session that takes no
// seat, one sign-in.
type UsageNote struct {
	Day     string // YYYY-MM-DD, in UsageZone
	Pool    Pool
	Held    int // raises the day's peak when higher
	Refused int // added to the day's refusals
	SignIns int // added to the day's sign-ins without a seat
}

// Validate checks the day, the pool and the counts of a usage note.
func (n UsageNote) Validate() error {
	if _, err := ParseDay("day", n.Day); err != nil {
		return err
	}
	if !n.Pool.Valid() {
		return Invalid("pool", "Le groupe de places « %s » n'existe pas.", n.Pool)
	}
	if n.Held < 0 || n.Refused < 0 || n.SignIns < 0 {
		return Invalid("usage", "Les places occupées, les refus et les connexions ne peuvent pas être négatifs.")
	}
	return nil
}

// UsageDay is the seat usage of one pool on one day.
type UsageDay struct {
	Day     string
	Pool    Pool
	Peak    int // most seats held at once (as seen at admissions)
	Refused int // sign-ins refused because the pool was full
	// SignIns counts the day's sign-ins into the pool of sessions that
	// take no seat (an unlimited pool, consultation, the SPR): they hold
	// no lease, so they leave no peak.
	SignIns int
}

// UsageZone is where usage days begin and end: the schools' time in
// metropolitan France (UTC when the time-zone database is missing). It is
// read from the database at the first call, not at start: a function's
// cold start would pay the file's reading and parsing.
var UsageZone = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/Paris"); err == nil {
		return l
	}
	return time.UTC
})

// Day returns the usage day of t, in UsageZone.
func Day(t time.Time) string { return t.In(UsageZone()).Format(time.DateOnly) }

// Fold returns s as searches compare it: lower case, without accents, with
// runs of spaces made one.
func Fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining accent typed apart from its letter
		}
		if f, ok := unaccent[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var unaccent = map[rune]string{
	'à': "a", 'â': "a", 'ä': "a", 'á': "a", 'ã': "a", 'å': "a",
	'ç': "c", 'é': "e", 'è': "e", 'ê': "e", 'ë': "e",
	'î': "i", 'ï': "i", 'í': "i", 'ì': "i", 'ñ': "n",
	'ô': "o", 'ö': "o", 'ó': "o", 'ò': "o", 'õ': "o",
	'ù': "u", 'û': "u", 'ü': "u", 'ú': "u", 'ÿ': "y", 'ý': "y",
	'œ': "oe", 'æ': "ae", 'ß': "ss",
}

// SearchText is what a user search looks in: the folded login and display
// name. Stores may keep it beside the user.
func (u User) SearchText() string { return Fold(u.Login + " " + u.DisplayName) }

// Matches reports whether u passes the filters of q (not its cursor or
// page size): its login prefix, kind, membership and search words.
func (u User) Matches(q UserQuery) bool {
	if q.Prefix != "" && !strings.HasPrefix(u.Key(), strings.ToLower(q.Prefix)) {
		return false
	}
	if q.Kind != "" && u.Kind != q.Kind {
		return false
	}
	if q.Member != "" && u.AdminGroup != q.Member && u.Profile != q.Member {
		return false
	}
	if q.Search != "" {
		text := u.SearchText()
		for _, w := range strings.Fields(Fold(q.Search)) {
			if !strings.Contains(text, w) {
				return false
			}
		}
	}
	return true
}

// journal appends an entry to base k's journal at now. The journal must
// not stop the product: a failure to write it is logged at error level.
func (s *Service) journal(ctx context.Context, k BaseKey, e JournalEntry) {
	e = s.stamp(e)
	if err := s.Store.AppendJournal(ctx, k, e); err != nil {
		s.logger().Error("journal", "event", string(e.Event), "school", string(k.UAI), "error", err.Error())
	}
}

// stamp gives e its time, ID and expiry, now, and clips its fields.
func (s *Service) stamp(e JournalEntry) JournalEntry {
	now := s.now()
	var b [4]byte
	_, _ = rand.Read(b[:])
	// Entries of one instant keep the order this process wrote them in;
	// the random part keeps IDs of several servers apart.
	e.At, e.ID = now, fmt.Sprintf("%s-%08x-%s", JournalID(now), journalSeq.Add(1), hex.EncodeToString(b[:]))
	e.ExpiresAt = now.Add(s.JournalRetention())
	return e.Clipped()
}

// JournalRetention is how long journal entries are kept.
func (s *Service) JournalRetention() time.Duration {
	if s.Retention > 0 {
		return s.Retention
	}
	return DefaultJournalRetention
}

var journalSeq atomic.Uint32

// Journal returns a page of the caller's base's journal (spr.journal).
func (s *Service) Journal(ctx context.Context, token string, q JournalQuery) (JournalPage, error) {
	cur, err := s.requireAny(ctx, token, ActionSPRJournal)
	if err != nil {
		return JournalPage{}, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return JournalPage{}, Invalid("from", "La date de début doit précéder la date de fin.")
	}
	page, err := s.Store.ListJournal(ctx, cur.Session.Base(), q)
	if err != nil {
		return JournalPage{}, fmt.Errorf("journal: %w", err)
	}
	page.Entries = unexpired(page.Entries, s.now())
	return page, nil
}

// unexpired drops the entries past their retention, which the store may
// still hold until it collects them, and words the summaries.
func unexpired(es []JournalEntry, now time.Time) []JournalEntry {
	es = slices.DeleteFunc(es, func(e JournalEntry) bool { return !e.ExpiresAt.IsZero() && e.ExpiresAt.Before(now) })
	for i := range es {
		es[i] = es[i].Summarised()
	}
	return es
}
