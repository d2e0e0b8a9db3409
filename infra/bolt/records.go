package bolt

import (
	"time"

	"github.com/sesame-ecole/sesame"
)

// The records below are the JSON form of the domain types in the file. They
// keep storage tags out of the domain. Times are written in UTC with
// nanoseconds (RFC 3339), durations in nanoseconds.

type schoolRec struct {
	UAI         string `json:"uai"`
	Name        string `json:"name"`
	CurrentYear string `json:"currentYear"`
}

func toSchoolRec(s sesame.School) schoolRec {
	return schoolRec{UAI: string(s.UAI), Name: s.Name, CurrentYear: string(s.CurrentYear)}
}

func (r schoolRec) domain() sesame.School {
	return sesame.School{UAI: sesame.UAI(r.UAI), Name: r.Name, CurrentYear: sesame.Year(r.CurrentYear)}
}

type licenseRec struct {
	AdminSeats   int  `json:"adminSeats"`
	TeacherSeats int  `json:"teacherSeats"`
	Consultation bool `json:"consultation"`
}

type baseRec struct {
	UAI        string     `json:"uai"`
	Year       string     `json:"year"`
	License    licenseRec `json:"license"`
	Legacy     bool       `json:"legacyHashes,omitempty"`
	LegacyCost int        `json:"legacyCost,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	Version    int64      `json:"version"`
}

func toBaseRec(b sesame.Base) baseRec {
	return baseRec{UAI: string(b.UAI), Year: string(b.Year),
		License: licenseRec{AdminSeats: int(b.License.AdminSeats), TeacherSeats: int(b.License.TeacherSeats),
			Consultation: b.License.Consultation},
		Legacy: b.LegacyHashes, LegacyCost: b.LegacyCost, CreatedAt: b.CreatedAt.UTC(), Version: b.Version}
}

func (r baseRec) domain() sesame.Base {
	return sesame.Base{BaseKey: sesame.BaseKey{UAI: sesame.UAI(r.UAI), Year: sesame.Year(r.Year)},
		License: sesame.License{AdminSeats: sesame.Limit(r.License.AdminSeats), TeacherSeats: sesame.Limit(r.License.TeacherSeats),
			Consultation: r.License.Consultation},
		LegacyHashes: r.Legacy, LegacyCost: r.LegacyCost, CreatedAt: r.CreatedAt, Version: r.Version}
}

type userRec struct {
	Login        string    `json:"login"`
	DisplayName  string    `json:"displayName"`
	Kind         string    `json:"kind"`
	Supervisor   bool      `json:"supervisor,omitempty"`
	Enabled      bool      `json:"enabled"`
	PasswordHash string    `json:"passwordHash,omitempty"`
	AdminGroup   string    `json:"adminGroup,omitempty"`
	Profile      string    `json:"profile,omitempty"`
	ENTID        string    `json:"entId,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Version      int64     `json:"version"`
}

func toUserRec(u sesame.User) userRec {
	return userRec{Login: u.Login, DisplayName: u.DisplayName, Kind: string(u.Kind), Supervisor: u.Supervisor,
		Enabled: u.Enabled, PasswordHash: u.PasswordHash, AdminGroup: u.AdminGroup, Profile: u.Profile, ENTID: u.ENTID,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(), Version: u.Version}
}

func (r userRec) domain() sesame.User {
	return sesame.User{Login: r.Login, DisplayName: r.DisplayName, Kind: sesame.Kind(r.Kind), Supervisor: r.Supervisor,
		Enabled: r.Enabled, PasswordHash: r.PasswordHash, AdminGroup: r.AdminGroup, Profile: r.Profile, ENTID: r.ENTID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

type profileRec struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Mode  string `json:"mode"`
	Group string `json:"group,omitempty"`
	// Grants keeps nil and empty apart (no omitempty).
	Grants      []string      `json:"grants"`
	IdleEnabled bool          `json:"idleEnabled"`
	IdleAfter   time.Duration `json:"idleAfterNs"`
	UpdatedAt   time.Time     `json:"updatedAt"`
	Version     int64         `json:"version"`
}

func toProfileRec(p sesame.Profile) profileRec {
	return profileRec{ID: p.ID, Name: p.Name, Mode: string(p.Mode), Group: string(p.Group), Grants: p.Grants,
		IdleEnabled: p.AutoDisconnect.Enabled, IdleAfter: p.AutoDisconnect.After,
		UpdatedAt: p.UpdatedAt.UTC(), Version: p.Version}
}

func (r profileRec) domain() sesame.Profile {
	return sesame.Profile{ID: r.ID, Name: r.Name, Mode: sesame.Mode(r.Mode), Group: sesame.GroupType(r.Group), Grants: r.Grants,
		AutoDisconnect: sesame.AutoDisconnect{Enabled: r.IdleEnabled, After: r.IdleAfter},
		UpdatedAt:      r.UpdatedAt, Version: r.Version}
}

type sessionRec struct {
	ID           string    `json:"id"`
	UAI          string    `json:"uai"`
	Year         string    `json:"year"`
	Login        string    `json:"login"`
	DisplayName  string    `json:"displayName"`
	Kind         string    `json:"kind"`
	Supervisor   bool      `json:"supervisor,omitempty"`
	Mode         string    `json:"mode"`
	Access       string    `json:"access"`
	Pool         string    `json:"pool,omitempty"`
	Profile      string    `json:"profile,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	ExpiresAt    time.Time `json:"expiresAt"`
	LastActivity time.Time `json:"lastActivity"`
	LastSeen     time.Time `json:"lastSeen"`
	EndedAt      time.Time `json:"endedAt"`
	EndReason    string    `json:"endReason,omitempty"`
	// The stamp of the idle setting (sesame.Session.Idle, IdleUntil).
	IdleOn    bool          `json:"idleOn,omitempty"`
	IdleAfter time.Duration `json:"idleAfter,omitempty"`
	IdleUntil time.Time     `json:"idleUntil,omitzero"`
}

func toSessionRec(s sesame.Session) sessionRec {
	return sessionRec{ID: s.ID, UAI: string(s.UAI), Year: string(s.Year), Login: s.Login, DisplayName: s.DisplayName,
		Kind: string(s.Kind), Supervisor: s.Supervisor, Mode: string(s.Mode), Access: string(s.Access), Pool: string(s.Pool),
		Profile: s.Profile, CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(), LastActivity: s.LastActivity.UTC(),
		LastSeen: s.LastSeen.UTC(), EndedAt: s.EndedAt.UTC(), EndReason: string(s.EndReason),
		IdleOn: s.Idle.Enabled, IdleAfter: s.Idle.After, IdleUntil: s.IdleUntil.UTC()}
}

func (r sessionRec) domain() sesame.Session {
	return sesame.Session{ID: r.ID, UAI: sesame.UAI(r.UAI), Year: sesame.Year(r.Year), Login: r.Login,
		DisplayName: r.DisplayName, Kind: sesame.Kind(r.Kind), Supervisor: r.Supervisor, Mode: sesame.Mode(r.Mode),
		Access: sesame.Access(r.Access), Pool: sesame.Pool(r.Pool), Profile: r.Profile, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		LastActivity: r.LastActivity, LastSeen: r.LastSeen, EndedAt: r.EndedAt, EndReason: sesame.EndReason(r.EndReason),
		Idle: sesame.AutoDisconnect{Enabled: r.IdleOn, After: r.IdleAfter}, IdleUntil: r.IdleUntil}
}

type leaseRec struct {
	UAI        string    `json:"uai"`
	Year       string    `json:"year"`
	Pool       string    `json:"pool"`
	Login      string    `json:"login"`
	Session    string    `json:"session"`
	AcquiredAt time.Time `json:"acquiredAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

func toLeaseRec(l sesame.Lease) leaseRec {
	return leaseRec{UAI: string(l.UAI), Year: string(l.Year), Pool: string(l.Pool), Login: l.Login, Session: l.Session,
		AcquiredAt: l.AcquiredAt.UTC(), ExpiresAt: l.ExpiresAt.UTC()}
}

func (r leaseRec) domain() sesame.Lease {
	return sesame.Lease{SeatKey: sesame.SeatKey{UAI: sesame.UAI(r.UAI), Year: sesame.Year(r.Year), Pool: sesame.Pool(r.Pool)},
		Login: r.Login, Session: r.Session, AcquiredAt: r.AcquiredAt, ExpiresAt: r.ExpiresAt}
}

type importRec struct {
	ID        string    `json:"id"`
	Source    string    `json:"source"`
	State     string    `json:"state"`
	Step      int       `json:"step"`
	Plan      []byte    `json:"plan"`
	Report    []byte    `json:"report"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"`
}

func toImportRec(j sesame.ImportJob) importRec {
	return importRec{ID: j.ID, Source: j.Source, State: string(j.State), Step: j.Step, Plan: j.Plan, Report: j.Report,
		CreatedAt: j.CreatedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC(), Version: j.Version}
}

func (r importRec) domain() sesame.ImportJob {
	return sesame.ImportJob{ID: r.ID, Source: r.Source, State: sesame.ImportState(r.State), Step: r.Step, Plan: r.Plan,
		Report: r.Report, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}
