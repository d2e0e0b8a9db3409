package dynamo

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"time"

	"github.com/sesame-ecole/sesame"
)

// The records below are the items of the table. Domain types carry no
// tags: each record converts to and from its domain type.

type schoolRecord struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	UAI         string `dynamodbav:"uai"`
	Name        string `dynamodbav:"name"`
	CurrentYear string `dynamodbav:"currentYear"`
}

func newSchoolRecord(s sesame.School) schoolRecord {
	return schoolRecord{PK: schoolPK(s.UAI), SK: skSchool, UAI: string(s.UAI), Name: s.Name, CurrentYear: string(s.CurrentYear)}
}

func (r schoolRecord) domain() sesame.School {
	return sesame.School{UAI: sesame.UAI(r.UAI), Name: r.Name, CurrentYear: sesame.Year(r.CurrentYear)}
}

type licenseRecord struct {
	AdminSeats   int  `dynamodbav:"adminSeats"`
	TeacherSeats int  `dynamodbav:"teacherSeats"`
	Consultation bool `dynamodbav:"consultation"`
}

func newLicenseRecord(l sesame.License) licenseRecord {
	return licenseRecord{AdminSeats: int(l.AdminSeats), TeacherSeats: int(l.TeacherSeats), Consultation: l.Consultation}
}

func (r licenseRecord) domain() sesame.License {
	return sesame.License{AdminSeats: sesame.Limit(r.AdminSeats), TeacherSeats: sesame.Limit(r.TeacherSeats), Consultation: r.Consultation}
}

type baseRecord struct {
	PK         string        `dynamodbav:"PK"`
	SK         string        `dynamodbav:"SK"`
	UAI        string        `dynamodbav:"uai"`
	Year       string        `dynamodbav:"year"`
	License    licenseRecord `dynamodbav:"license"`
	Legacy     bool          `dynamodbav:"legacyHashes,omitempty"`
	LegacyCost int           `dynamodbav:"legacyCost,omitempty"`
	CreatedAt  string        `dynamodbav:"createdAt"`
	UpdatedAt  string        `dynamodbav:"updatedAt,omitempty"`
	Version    int64         `dynamodbav:"version"`
	// LicenseBy is the token of the call that last set the licence: how
	// that call, sent again after a lost answer, recognises its own write.
	LicenseBy string `dynamodbav:"licenseBy,omitempty"`
}

func newBaseRecord(b sesame.Base) baseRecord {
	return baseRecord{PK: schoolPK(b.UAI), SK: baseSK(b.Year), UAI: string(b.UAI), Year: string(b.Year),
		License: newLicenseRecord(b.License), Legacy: b.LegacyHashes, LegacyCost: b.LegacyCost, CreatedAt: fmtTime(b.CreatedAt), Version: b.Version}
}

func (r baseRecord) domain() (sesame.Base, error) {
	created, err := parseTime(r.CreatedAt)
	if err != nil {
		return sesame.Base{}, err
	}
	return sesame.Base{BaseKey: sesame.BaseKey{UAI: sesame.UAI(r.UAI), Year: sesame.Year(r.Year)},
		License: r.License.domain(), LegacyHashes: r.Legacy, LegacyCost: r.LegacyCost, CreatedAt: created, Version: r.Version}, nil
}

type userRecord struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	Login        string `dynamodbav:"login"`
	DisplayName  string `dynamodbav:"displayName"`
	Kind         string `dynamodbav:"kind"`
	Supervisor   bool   `dynamodbav:"supervisor"`
	Enabled      bool   `dynamodbav:"enabled"`
	PasswordHash string `dynamodbav:"passwordHash"`
	AdminGroup   string `dynamodbav:"adminGroup"`
	Profile      string `dynamodbav:"profile"`
	CreatedAt    string `dynamodbav:"createdAt"`
	UpdatedAt    string `dynamodbav:"updatedAt"`
	Version      int64  `dynamodbav:"version"`
	// Search is u.SearchText(), which ListUsers' search filters with
	// contains(); every write of the user rewrites it.
	Search string `dynamodbav:"search"`
	// ENTID, when set, also keys the user in GSI1 (see entGSI1).
	ENTID  string `dynamodbav:"entId,omitempty"`
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK string `dynamodbav:"GSI1SK,omitempty"`
}

func newUserRecord(k sesame.BaseKey, u sesame.User) userRecord {
	return userRecord{PK: contentPK(k), SK: prefixUser + u.Key(), Login: u.Login, DisplayName: u.DisplayName,
		Kind: string(u.Kind), Supervisor: u.Supervisor, Enabled: u.Enabled, PasswordHash: u.PasswordHash,
		AdminGroup: u.AdminGroup, Profile: u.Profile, CreatedAt: fmtTime(u.CreatedAt), UpdatedAt: fmtTime(u.UpdatedAt),
		Version: u.Version, Search: u.SearchText(), ENTID: u.ENTID, GSI1PK: entGSI1PK(k, u.ENTID), GSI1SK: entGSI1SK(u)}
}

func (r userRecord) domain() (sesame.User, error) {
	created, err := parseTime(r.CreatedAt)
	if err != nil {
		return sesame.User{}, err
	}
	updated, err := parseTime(r.UpdatedAt)
	if err != nil {
		return sesame.User{}, err
	}
	return sesame.User{Login: r.Login, DisplayName: r.DisplayName, Kind: sesame.Kind(r.Kind), Supervisor: r.Supervisor,
		Enabled: r.Enabled, PasswordHash: r.PasswordHash, AdminGroup: r.AdminGroup, Profile: r.Profile, ENTID: r.ENTID,
		CreatedAt: created, UpdatedAt: updated, Version: r.Version}, nil
}

type autoDisconnectRecord struct {
	Enabled bool  `dynamodbav:"enabled"`
	AfterNs int64 `dynamodbav:"afterNs"` // a duration in nanoseconds
}

type profileRecord struct {
	PK             string               `dynamodbav:"PK"`
	SK             string               `dynamodbav:"SK"`
	ID             string               `dynamodbav:"id"`
	Name           string               `dynamodbav:"name"`
	Mode           string               `dynamodbav:"mode"`
	Group          string               `dynamodbav:"group"`
	Grants         []string             `dynamodbav:"grants"` // nil is stored as NULL, empty as an empty list
	AutoDisconnect autoDisconnectRecord `dynamodbav:"autoDisconnect"`
	UpdatedAt      string               `dynamodbav:"updatedAt"`
	Version        int64                `dynamodbav:"version"`
}

func newProfileRecord(k sesame.BaseKey, p sesame.Profile) profileRecord {
	return profileRecord{PK: contentPK(k), SK: prefixProfile + p.ID, ID: p.ID, Name: p.Name, Mode: string(p.Mode),
		Group: string(p.Group), Grants: p.Grants,
		AutoDisconnect: autoDisconnectRecord{Enabled: p.AutoDisconnect.Enabled, AfterNs: int64(p.AutoDisconnect.After)},
		UpdatedAt:      fmtTime(p.UpdatedAt), Version: p.Version}
}

func (r profileRecord) domain() (sesame.Profile, error) {
	updated, err := parseTime(r.UpdatedAt)
	if err != nil {
		return sesame.Profile{}, err
	}
	return sesame.Profile{ID: r.ID, Name: r.Name, Mode: sesame.Mode(r.Mode), Group: sesame.GroupType(r.Group),
		Grants:         r.Grants,
		AutoDisconnect: sesame.AutoDisconnect{Enabled: r.AutoDisconnect.Enabled, After: time.Duration(r.AutoDisconnect.AfterNs)},
		UpdatedAt:      updated, Version: r.Version}, nil
}

// Blobs (an import's plan and report) larger than gzipFrom are stored
// gzipped, to stay under DynamoDB's 400 KB per item.
const gzipFrom = 16 << 10

type importRecord struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	ID         string `dynamodbav:"id"`
	Source     string `dynamodbav:"source"`
	State      string `dynamodbav:"state"`
	Step       int    `dynamodbav:"step"`
	Plan       []byte `dynamodbav:"plan,omitempty"`
	PlanGzip   bool   `dynamodbav:"planGzip,omitempty"`
	Report     []byte `dynamodbav:"report,omitempty"`
	ReportGzip bool   `dynamodbav:"reportGzip,omitempty"`
	CreatedAt  string `dynamodbav:"createdAt"`
	UpdatedAt  string `dynamodbav:"updatedAt"`
	Version    int64  `dynamodbav:"version"`
}

func newImportRecord(k sesame.BaseKey, j sesame.ImportJob) (importRecord, error) {
	r := importRecord{PK: contentPK(k), SK: prefixImport + j.ID, ID: j.ID, Source: j.Source, State: string(j.State),
		Step: j.Step, CreatedAt: fmtTime(j.CreatedAt), UpdatedAt: fmtTime(j.UpdatedAt), Version: j.Version}
	var err error
	if r.Plan, r.PlanGzip, err = packBlob(j.Plan); err != nil {
		return r, err
	}
	if r.Report, r.ReportGzip, err = packBlob(j.Report); err != nil {
		return r, err
	}
	return r, nil
}

func (r importRecord) domain() (sesame.ImportJob, error) {
	created, err := parseTime(r.CreatedAt)
	if err != nil {
		return sesame.ImportJob{}, err
	}
	updated, err := parseTime(r.UpdatedAt)
	if err != nil {
		return sesame.ImportJob{}, err
	}
	plan, err := unpackBlob(r.Plan, r.PlanGzip)
	if err != nil {
		return sesame.ImportJob{}, err
	}
	report, err := unpackBlob(r.Report, r.ReportGzip)
	if err != nil {
		return sesame.ImportJob{}, err
	}
	return sesame.ImportJob{ID: r.ID, Source: r.Source, State: sesame.ImportState(r.State), Step: r.Step,
		Plan: plan, Report: report, CreatedAt: created, UpdatedAt: updated, Version: r.Version}, nil
}

func packBlob(b []byte) ([]byte, bool, error) {
	if len(b) < gzipFrom {
		return b, false, nil
	}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, false, fmt.Errorf("dynamo: compressing: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, false, fmt.Errorf("dynamo: compressing: %w", err)
	}
	return buf.Bytes(), true, nil
}

func unpackBlob(b []byte, gz bool) ([]byte, error) {
	if !gz {
		return b, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("dynamo: decompressing: %w", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("dynamo: decompressing: %w", err)
	}
	return out, nil
}

// sessionRecord is a session. While it is open it carries GSI1PK/GSI1SK,
// which put it in its base's listing; ending it removes them.
type sessionRecord struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	ID           string `dynamodbav:"id"`
	UAI          string `dynamodbav:"uai"`
	Year         string `dynamodbav:"year"`
	Login        string `dynamodbav:"login"`
	DisplayName  string `dynamodbav:"displayName"`
	Kind         string `dynamodbav:"kind"`
	Supervisor   bool   `dynamodbav:"supervisor"`
	Mode         string `dynamodbav:"mode"`
	Access       string `dynamodbav:"access"`
	Pool         string `dynamodbav:"pool"`
	Profile      string `dynamodbav:"profile,omitempty"`
	CreatedAt    string `dynamodbav:"createdAt"`
	ExpiresAt    string `dynamodbav:"expiresAt"`
	LastActivity string `dynamodbav:"lastActivity"`
	LastSeen     string `dynamodbav:"lastSeen"`
	EndedAt      string `dynamodbav:"endedAt,omitempty"`
	EndReason    string `dynamodbav:"endReason,omitempty"`
	// CreatedBy and EndedBy are the tokens of the calls that created and
	// ended the session: how a call that tries again after a lost answer
	// (its own, or one the SDK sent again) recognises its own write.
	CreatedBy string `dynamodbav:"createdBy,omitempty"`
	EndedBy   string `dynamodbav:"endedBy,omitempty"`
	GSI1PK    string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK    string `dynamodbav:"GSI1SK,omitempty"`
	TTL       int64  `dynamodbav:"ttl"`
	// LeaseUntil is the end of the lease of a session that holds a seat
	// (unix ns): the one authority on whether its seat is live. The HOLDER
	// item names the session; every heartbeat moves this. 0 once the seat
	// was reclaimed after a lapse; absent on a session without a seat.
	LeaseUntil int64 `dynamodbav:"leaseUntil,omitempty"`
	// RenewedBy is the token of the last call that extended or took again
	// the lease, or stored a heartbeat: how that call, trying again after a
	// lost answer, recognises its own landed write once the session has
	// changed since (ended, say).
	RenewedBy string `dynamodbav:"renewedBy,omitempty"`
	idleStamp
}

// holdsLease reports whether session record r, found or not, holds a live
// lease at now: open, and its LeaseUntil not past.
func (r sessionRecord) holdsLease(found bool, now time.Time) bool {
	return found && r.EndReason == "" && r.LeaseUntil >= nanos(now)
}

// idleStamp is the stamp of a session's idle setting (sesame.Session.Idle
// until IdleUntil) with what BeatStamped's condition compares, in unix
// nanoseconds: DynamoDB's conditions do no arithmetic, so the idle
// deadline (last activity + limit) is kept by every write of the last
// activity, and the absolute end is kept as a number beside its string.
type idleStamp struct {
	IdleOn    bool  `dynamodbav:"idleOn,omitempty"`
	IdleAfter int64 `dynamodbav:"idleAfter,omitempty"` // the setting's duration
	// IdleLimit is the duration the rule applies: IdleAfter, or noLimit
	// when the setting is off; IdleDeadline is lastActivity + IdleLimit.
	IdleLimit    int64 `dynamodbav:"idleLimit,omitempty"`
	IdleDeadline int64 `dynamodbav:"idleDeadline,omitempty"`
	IdleUntil    int64 `dynamodbav:"idleUntil,omitempty"`
	ExpiresAtNs  int64 `dynamodbav:"expiresAtNs,omitempty"`
}

// noLimit is the idle limit of a setting that is off: about 146 years, so
// that the last activity plus it still fits an int64.
const noLimit = int64(1) << 62

// stampOf is the stamp of session x (all zero without one).
func stampOf(x sesame.Session) idleStamp {
	if x.IdleUntil.IsZero() {
		return idleStamp{}
	}
	limit := noLimit
	if x.Idle.Enabled {
		limit = int64(x.Idle.After)
	}
	return idleStamp{IdleOn: x.Idle.Enabled, IdleAfter: int64(x.Idle.After), IdleLimit: limit,
		IdleDeadline: nanos(x.LastActivity) + limit, IdleUntil: nanos(x.IdleUntil), ExpiresAtNs: nanos(x.ExpiresAt)}
}

// newSessionRecord returns the item of the open session x, created by
// the call whose token is by.
func (s *Store) newSessionRecord(x sesame.Session, by string) sessionRecord {
	return sessionRecord{CreatedBy: by, PK: sessionPK(x.ID), SK: skSession, ID: x.ID, UAI: string(x.UAI), Year: string(x.Year),
		Login: x.Login, DisplayName: x.DisplayName, Kind: string(x.Kind), Supervisor: x.Supervisor,
		Mode: string(x.Mode), Access: string(x.Access), Pool: string(x.Pool), Profile: x.Profile,
		CreatedAt: fmtTime(x.CreatedAt), ExpiresAt: fmtTime(x.ExpiresAt),
		LastActivity: fmtTime(x.LastActivity), LastSeen: fmtTime(x.LastSeen),
		GSI1PK: sessionsGSI1PK(x.Base()), GSI1SK: sortableTime(x.CreatedAt) + "#" + x.ID,
		TTL: s.ttlAt(x.ExpiresAt, s.sessionKeep), idleStamp: stampOf(x)}
}

func (r sessionRecord) domain() (sesame.Session, error) {
	var ts [5]time.Time
	for i, v := range []string{r.CreatedAt, r.ExpiresAt, r.LastActivity, r.LastSeen, r.EndedAt} {
		t, err := parseTime(v)
		if err != nil {
			return sesame.Session{}, err
		}
		ts[i] = t
	}
	return sesame.Session{ID: r.ID, UAI: sesame.UAI(r.UAI), Year: sesame.Year(r.Year), Login: r.Login,
		DisplayName: r.DisplayName, Kind: sesame.Kind(r.Kind), Supervisor: r.Supervisor, Mode: sesame.Mode(r.Mode),
		Access: sesame.Access(r.Access), Pool: sesame.Pool(r.Pool), Profile: r.Profile, CreatedAt: ts[0], ExpiresAt: ts[1],
		LastActivity: ts[2], LastSeen: ts[3], EndedAt: ts[4], EndReason: sesame.EndReason(r.EndReason),
		Idle: sesame.AutoDisconnect{Enabled: r.IdleOn, After: time.Duration(r.IdleAfter)}, IdleUntil: fromNanos(r.IdleUntil)}, nil
}

// holderRecord is one seat: which session of one login holds it in one
// pool, since when (unix ns). Whether it is live is its session's
// (sessionRecord.LeaseUntil).
type holderRecord struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	UAI        string `dynamodbav:"uai"`
	Year       string `dynamodbav:"year"`
	Pool       string `dynamodbav:"pool"`
	Login      string `dynamodbav:"login"`
	Session    string `dynamodbav:"session"`
	AcquiredAt int64  `dynamodbav:"acquiredAt"`
	TTL        int64  `dynamodbav:"ttl"`
}

// newHolderRecord is the HOLDER of lease l, taken by a session whose
// absolute end is end: heartbeats do not write it, so its ttl counts from
// the latest its session may live.
func (s *Store) newHolderRecord(l sesame.Lease, end time.Time) holderRecord {
	return holderRecord{PK: seatsPK(l.SeatKey), SK: prefixHolder + l.Login, UAI: string(l.UAI), Year: string(l.Year),
		Pool: string(l.Pool), Login: l.Login, Session: l.Session, AcquiredAt: nanos(l.AcquiredAt),
		TTL: s.holderTTL(l, end)}
}

// holderTTL is the ttl of the HOLDER of lease l, taken by a session whose
// absolute end is end.
func (s *Store) holderTTL(l sesame.Lease, end time.Time) int64 {
	if end.Before(l.ExpiresAt) {
		end = l.ExpiresAt
	}
	return s.ttlAt(end.Add(l.ExpiresAt.Sub(l.AcquiredAt)), s.holderKeep)
}

// domain is the lease of the HOLDER, whose session r (found or not) says
// until when it is live (the zero time when its session is gone or ended).
func (h holderRecord) domain(r sessionRecord, found bool) sesame.Lease {
	l := sesame.Lease{SeatKey: sesame.SeatKey{UAI: sesame.UAI(h.UAI), Year: sesame.Year(h.Year), Pool: sesame.Pool(h.Pool)},
		Login: h.Login, Session: h.Session, AcquiredAt: fromNanos(h.AcquiredAt)}
	if found && r.EndReason == "" {
		l.ExpiresAt = fromNanos(r.LeaseUntil)
	}
	return l
}

// countRecord is a pool's COUNT item: N is the number of HOLDER items in
// the partition, live or lapsed; V grows at every change of N, so that a
// repair can tell that nothing moved since it looked.
type countRecord struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	N  int64  `dynamodbav:"n"`
	V  int64  `dynamodbav:"v"`
}
