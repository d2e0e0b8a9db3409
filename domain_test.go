package sesame_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

func TestParseUAI(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"0751234A", "0751234A", true},
		{" 0751234a ", "0751234A", true},
		{"075123A", "", false},
		{"07512345", "", false},
		{"A751234A", "", false},
		{"0751234AB", "", false},
		{"", "", false},
	} {
		got, err := sesame.ParseUAI(c.in)
		if (err == nil) != c.ok || string(got) != c.want {
			t.Errorf("ParseUAI(%q) = %q, %v", c.in, got, err)
		}
		if err != nil && (sesame.ErrorCode(err) != sesame.CodeInvalid || !errors.Is(err, sesame.ErrInvalid)) {
			t.Errorf("ParseUAI(%q): code %s", c.in, sesame.ErrorCode(err))
		}
	}
}

func TestParseYear(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"2026-2027", true}, {"2026-2028", false}, {"2027-2026", false}, {"26-27", false},
		{"2026/2027", false}, {"1999-2000", false}, {"abcd-efgh", false},
	} {
		if _, err := sesame.ParseYear(c.in); (err == nil) != c.ok {
			t.Errorf("ParseYear(%q): %v", c.in, err)
		}
	}
	y := sesame.Year("2026-2027")
	if y.Next() != "2027-2028" || y.Previous() != "2025-2026" || y.Start() != 2026 {
		t.Errorf("Next %s, Previous %s, Start %d", y.Next(), y.Previous(), y.Start())
	}
	if got := sesame.SchoolYearOf(time.Date(2026, 7, 31, 23, 0, 0, 0, time.UTC)); got != "2025-2026" {
		t.Errorf("SchoolYearOf(31 July 2026) = %s", got)
	}
	if got := sesame.SchoolYearOf(time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)); got != "2026-2027" {
		t.Errorf("SchoolYearOf(1 August 2026) = %s", got)
	}
}

func TestLicenseLimits(t *testing.T) {
	std := sesame.DefaultLicense
	want := map[sesame.Pool]sesame.Limit{
		sesame.PoolAdminModify: 4, sesame.PoolAdminConsult: sesame.Closed, sesame.PoolTeacher: 30,
		sesame.PoolVieScolaire: sesame.Unlimited, sesame.PoolParent: sesame.Unlimited, sesame.PoolStudent: sesame.Unlimited,
		sesame.PoolCompany: sesame.Unlimited, sesame.PoolAcademy: sesame.Unlimited,
	}
	for _, p := range sesame.Pools {
		if got := std.Limit(p); got != want[p] {
			t.Errorf("standard licence: %s limit %v, want %v", p, got, want[p])
		}
	}
	full := sesame.License{AdminSeats: 6, TeacherSeats: sesame.Unlimited, Consultation: true}
	if full.Limit(sesame.PoolAdminConsult) != sesame.Unlimited || full.Limit(sesame.PoolTeacher) != sesame.Unlimited || full.Limit(sesame.PoolAdminModify) != 6 {
		t.Errorf("licence %+v gives %v %v %v", full, full.Limit(sesame.PoolAdminConsult), full.Limit(sesame.PoolTeacher), full.Limit(sesame.PoolAdminModify))
	}
	if err := (sesame.License{AdminSeats: 0, TeacherSeats: 30}).Validate(); err == nil {
		t.Error("a licence with 0 admin seats is accepted")
	}
	for _, c := range []struct {
		in   string
		unl  bool
		want sesame.Limit
		ok   bool
	}{
		{"30", true, 30, true}, {"unlimited", true, sesame.Unlimited, true}, {"illimité", true, sesame.Unlimited, true},
		{"unlimited", false, 0, false}, {"0", true, 0, false}, {"-3", false, 0, false}, {"trente", true, 0, false},
	} {
		got, err := sesame.ParseSeats("teacherSeats", c.in, c.unl)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseSeats(%q, %v) = %v, %v", c.in, c.unl, got, err)
		}
	}
	if !sesame.Unlimited.Admits(1_000_000) || sesame.Closed.Admits(0) || !sesame.Limit(4).Admits(3) || sesame.Limit(4).Admits(4) {
		t.Error("Limit.Admits is wrong")
	}
}

func TestCatalogue(t *testing.T) {
	acts := sesame.Actions()
	var brief, spr int
	cats := map[string]bool{}
	count := map[string]int{}
	slugs := map[string]bool{}
	for i, a := range acts {
		if slugs[a.Slug] || a.Label == "" || a.Category == "" {
			t.Fatalf("action %d: duplicate slug or missing text: %+v", i, a)
		}
		slugs[a.Slug] = true
		if a.SPROnly() {
			spr++
			continue
		}
		brief++
		if a.No != brief {
			t.Fatalf("action %s numbered %d, want %d", a.Slug, a.No, brief)
		}
		cats[a.Category] = true
		for col, in := range map[string]bool{
			"VS": a.AllowedIn(sesame.ModeVieScolaire, sesame.Modify), "TCH": a.AllowedIn(sesame.ModeTeacher, sesame.Modify),
			"ADM": a.AllowedIn(sesame.ModeAdmin, sesame.Modify), "CONS": a.AllowedIn(sesame.ModeAdmin, sesame.Consult),
		} {
			if in {
				count[col]++
			}
		}
		if a.AllowedIn(sesame.SpaceParent, sesame.Modify) {
			t.Fatalf("a space holds %s", a.Slug)
		}
	}
	// The totals PERMISSIONS.md states.
	if brief != 97 || len(cats) != 17 || spr != 6 {
		t.Fatalf("%d actions in %d categories, %d SPR-only; want 97, 17, 6", brief, len(cats), spr)
	}
	if want := map[string]int{"VS": 65, "TCH": 55, "ADM": 97, "CONS": 24}; !mapsEqual(count, want) {
		t.Fatalf("ceilings count %v, want %v", count, want)
	}
	a, ok := sesame.LookupAction("competences.parametrer-livret")
	if !ok || a.No != 43 || a.Label != "Paramétrer" {
		t.Fatalf("action 43 = %+v", a)
	}
	if _, ok := sesame.LookupAction("notes.inventee"); ok {
		t.Fatal("an unknown slug is found")
	}
	if got := sesame.Ceiling(sesame.ModeAdmin, sesame.Consult).Len(); got != 24 {
		t.Fatalf("consultation ceiling has %d actions", got)
	}
	if got := sesame.Ceiling(sesame.ModeVieScolaire, sesame.Consult).Len(); got != 0 {
		t.Fatalf("consultation outside admin mode has %d actions", got)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDecide(t *testing.T) {
	staff := sesame.User{Login: "cpe", DisplayName: "CPE", Kind: sesame.KindStaff, Enabled: true, AdminGroup: "modification", Profile: "personnels"}
	spr := sesame.User{Login: "spr", DisplayName: "SPR", Kind: sesame.KindStaff, Enabled: true, Supervisor: true, AdminGroup: sesame.AdministrationID}
	teacher := sesame.User{Login: "prof", DisplayName: "Prof", Kind: sesame.KindTeacher, Enabled: true}
	disabled := staff
	disabled.Enabled = false
	admCeiling := sesame.Ceiling(sesame.ModeAdmin, sesame.Modify).Slugs()
	tchCeiling := sesame.Ceiling(sesame.ModeTeacher, sesame.Modify).Slugs()
	for _, c := range []struct {
		name   string
		u      sesame.User
		mode   sesame.Mode
		access sesame.Access
		grants []string
		action string
		allow  bool
		reason string
	}{
		{"SPRHoldsSPRActions", spr, sesame.ModeAdmin, sesame.Modify, nil, sesame.ActionSPRConnect, true, sesame.ReasonSupervisor},
		{"SPRHoldsAdminActions", spr, sesame.ModeAdmin, sesame.Modify, nil, "exports.realiser-exports", true, sesame.ReasonSupervisor},
		{"SPROnlyInAdminMode", spr, sesame.ModeVieScolaire, sesame.Modify, nil, sesame.ActionSPRConnect, false, sesame.ReasonSPROnly},
		{"SPROnlyForOthers", staff, sesame.ModeAdmin, sesame.Modify, admCeiling, sesame.ActionSPRRecover, false, sesame.ReasonSPROnly},
		{"GrantedInAdmin", staff, sesame.ModeAdmin, sesame.Modify, admCeiling, "notes.cloturer-periodes", true, sesame.ReasonGranted},
		{"NotGranted", staff, sesame.ModeAdmin, sesame.Modify, []string{"notes.saisir-notes"}, "notes.cloturer-periodes", false, sesame.ReasonNotGranted},
		{"ConsultationReadOnly", staff, sesame.ModeAdmin, sesame.Consult, admCeiling, "notes.saisir-notes", false, sesame.ReasonReadOnly},
		{"ConsultationReads", staff, sesame.ModeAdmin, sesame.Consult, admCeiling, "notes.consulter-releve-notes-bulletin", true, sesame.ReasonGranted},
		{"CeilingBeatsGrant", teacher, sesame.ModeTeacher, sesame.Modify, admCeiling, "exports.realiser-exports", false, sesame.ReasonNotInMode},
		{"TeacherEntersMarks", teacher, sesame.ModeTeacher, sesame.Modify, tchCeiling, "notes.saisir-notes", true, sesame.ReasonGranted},
		{"VieScolaireNoMarks", staff, sesame.ModeVieScolaire, sesame.Modify, admCeiling, "notes.saisir-notes", false, sesame.ReasonNotInMode},
		{"SpacesHoldNothing", sesame.User{Login: "p", Kind: sesame.KindParent, Enabled: true}, sesame.SpaceParent, sesame.Modify, admCeiling, "agenda.consulter-agenda", false, sesame.ReasonNotInMode},
		{"UnknownAction", spr, sesame.ModeAdmin, sesame.Modify, nil, "notes.inventee", false, sesame.ReasonUnknownAction},
		{"Disabled", disabled, sesame.ModeAdmin, sesame.Modify, admCeiling, "notes.saisir-notes", false, sesame.ReasonDisabled},
		{"NoGrantsDenies", staff, sesame.ModeVieScolaire, sesame.Modify, nil, "agenda.consulter-agenda", false, sesame.ReasonNotGranted},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := sesame.NewPrincipal(c.u, c.mode, c.access, c.grants).Can(c.action)
			if d.Allowed != c.allow || d.Reason != c.reason || d.Action != c.action || d.Message() == "" {
				t.Fatalf("Decide = %+v (%s), want allowed %v, reason %s", d, d.Message(), c.allow, c.reason)
			}
		})
	}
	// The SPR in admin mode holds every admin action plus the six of its own.
	if got := len(sesame.NewPrincipal(spr, sesame.ModeAdmin, sesame.Modify, nil).Allowed()); got != 103 {
		t.Fatalf("the SPR holds %d actions, want 103", got)
	}
	// Anyone else holds exactly the grants within the ceiling.
	p := sesame.NewPrincipal(staff, sesame.ModeAdmin, sesame.Consult, admCeiling)
	if got := p.Allowed(); len(got) != 24 {
		t.Fatalf("consultation with every admin grant allows %d actions, want 24", len(got))
	}
}

func TestEnter(t *testing.T) {
	lic := sesame.DefaultLicense
	withCons := sesame.License{AdminSeats: 4, TeacherSeats: 50, Consultation: true}
	modif := &sesame.Profile{ID: "modification", Mode: sesame.ModeAdmin, Group: sesame.GroupModif}
	consult := &sesame.Profile{ID: "consultation", Mode: sesame.ModeAdmin, Group: sesame.GroupConsult}
	admin := &sesame.Profile{ID: sesame.AdministrationID, Mode: sesame.ModeAdmin, Group: sesame.GroupAdmin}
	staff := sesame.User{Login: "s", Kind: sesame.KindStaff, Enabled: true, AdminGroup: "modification"}
	plain := sesame.User{Login: "p", Kind: sesame.KindStaff, Enabled: true}
	spr := sesame.User{Login: "spr", Kind: sesame.KindStaff, Enabled: true, Supervisor: true, AdminGroup: sesame.AdministrationID}
	teacher := sesame.User{Login: "t", Kind: sesame.KindTeacher, Enabled: true}
	parent := sesame.User{Login: "r", Kind: sesame.KindParent, Enabled: true}
	mentor := sesame.User{Login: "m", Kind: sesame.KindMentor, Enabled: true}
	off := staff
	off.Enabled = false
	for _, c := range []struct {
		name   string
		u      sesame.User
		g      *sesame.Profile
		mode   sesame.Mode
		access sesame.Access
		lic    sesame.License
		pool   sesame.Pool
		limit  sesame.Limit
		code   string
	}{
		{"ModifMember", staff, modif, sesame.ModeAdmin, "", lic, sesame.PoolAdminModify, 4, ""},
		{"ModifChoosesConsultWithLicence", staff, modif, sesame.ModeAdmin, sesame.Consult, withCons, sesame.PoolAdminConsult, sesame.Unlimited, ""},
		{"ModifChoosesConsultWithoutLicence", staff, modif, sesame.ModeAdmin, sesame.Consult, lic, "", 0, sesame.CodeUnlicensed},
		{"ConsultMemberOnlyConsults", staff, consult, sesame.ModeAdmin, sesame.Modify, withCons, "", 0, sesame.CodeModeForbidden},
		{"ConsultMember", staff, consult, sesame.ModeAdmin, sesame.Consult, withCons, sesame.PoolAdminConsult, sesame.Unlimited, ""},
		{"ConsultMemberWithoutLicence", staff, consult, sesame.ModeAdmin, sesame.Consult, lic, "", 0, sesame.CodeUnlicensed},
		{"AdministrationMemberTakesSeat", staff, admin, sesame.ModeAdmin, sesame.Modify, lic, sesame.PoolAdminModify, 4, ""},
		{"NotAdministrative", plain, nil, sesame.ModeAdmin, sesame.Modify, lic, "", 0, sesame.CodeModeForbidden},
		{"TeacherNotAdministrative", teacher, modif, sesame.ModeAdmin, sesame.Modify, lic, "", 0, sesame.CodeModeForbidden},
		{"SPRTakesNoSeat", spr, admin, sesame.ModeAdmin, sesame.Modify, lic, "", sesame.Unlimited, ""},
		{"AllStaffInVieScolaire", plain, nil, sesame.ModeVieScolaire, "", lic, sesame.PoolVieScolaire, sesame.Unlimited, ""},
		{"TeacherNotInVieScolaire", teacher, nil, sesame.ModeVieScolaire, "", lic, "", 0, sesame.CodeModeForbidden},
		{"Teacher", teacher, nil, sesame.ModeTeacher, "", withCons, sesame.PoolTeacher, 50, ""},
		{"StaffNotTeacher", plain, nil, sesame.ModeTeacher, "", lic, "", 0, sesame.CodeModeForbidden},
		{"ConsultOutsideAdmin", teacher, nil, sesame.ModeTeacher, sesame.Consult, lic, "", 0, sesame.CodeModeForbidden},
		{"Parent", parent, nil, sesame.SpaceParent, "", lic, sesame.PoolParent, sesame.Unlimited, ""},
		{"ParentNotStudent", parent, nil, sesame.SpaceStudent, "", lic, "", 0, sesame.CodeModeForbidden},
		{"MentorInCompany", mentor, nil, sesame.SpaceCompany, "", lic, sesame.PoolCompany, sesame.Unlimited, ""},
		{"Disabled", off, modif, sesame.ModeAdmin, "", lic, "", 0, sesame.CodeAccountDisabled},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := sesame.Enter(c.u, c.g, c.mode, c.access, c.lic)
			if c.code != "" {
				if sesame.ErrorCode(err) != c.code || sesame.ErrorMessage(err) == "" {
					t.Fatalf("Enter: %v, want code %s", err, c.code)
				}
				return
			}
			if err != nil || e.Pool != c.pool || e.Limit != c.limit || e.Mode != c.mode {
				t.Fatalf("Enter = %+v, %v; want pool %q limit %v", e, err, c.pool, c.limit)
			}
		})
	}
}

func TestHeartbeatRules(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	ad := sesame.AutoDisconnect{Enabled: true, After: 30 * time.Minute}
	fresh := func() sesame.Session {
		u := sesame.User{Login: "Prof", DisplayName: "Prof", Kind: sesame.KindTeacher}
		return sesame.NewSession("id", sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}, u,
			sesame.Entry{Mode: sesame.ModeTeacher, Access: sesame.Modify, Pool: sesame.PoolTeacher}, sesame.DefaultTiming, t0)
	}
	t.Run("ActiveUserStays", func(t *testing.T) {
		s := fresh()
		for m := 1; m <= 120; m++ { // two hours of heartbeats, the user always busy
			if r := s.Heartbeat(t0.Add(time.Duration(m)*time.Minute), 5*time.Second, ad); r != "" {
				t.Fatalf("minute %d: ended %s", m, r)
			}
		}
		if s.Login != "prof" {
			t.Fatalf("session login %q, want the login key", s.Login)
		}
	})
	t.Run("IdleReportEnds", func(t *testing.T) {
		s := fresh()
		now := t0.Add(31 * time.Minute)
		if r := s.Heartbeat(now, 31*time.Minute, ad); r != sesame.ReasonIdleTimeout {
			t.Fatalf("31 idle minutes reported: %q", r)
		}
	})
	t.Run("SleepingLaptopCannotRevive", func(t *testing.T) {
		s := fresh()
		s.Heartbeat(t0.Add(time.Minute), 0, ad)
		// The laptop sleeps an hour, then wakes and claims the user just acted.
		if r := s.Heartbeat(t0.Add(61*time.Minute), 0, ad); r != sesame.ReasonIdleTimeout {
			t.Fatalf("a report on wake revived the session: %q", r)
		}
		if !s.LastActivity.Equal(t0.Add(time.Minute)) {
			t.Fatalf("a refused report changed last activity to %v", s.LastActivity)
		}
	})
	t.Run("MoreIdlenessEnds", func(t *testing.T) {
		s := fresh()
		s.Heartbeat(t0.Add(10*time.Minute), 0, ad)
		if r := s.Heartbeat(t0.Add(11*time.Minute), 40*time.Minute, ad); r != sesame.ReasonIdleTimeout {
			t.Fatalf("reporting more idleness than the limit: %q", r)
		}
	})
	t.Run("NegativeIdleClamped", func(t *testing.T) {
		s := fresh()
		s.Heartbeat(t0.Add(time.Minute), -time.Hour, ad)
		if !s.LastActivity.Equal(t0.Add(time.Minute)) {
			t.Fatalf("last activity %v after a negative report", s.LastActivity)
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		s := fresh()
		if r := s.Heartbeat(t0.Add(5*time.Hour), 5*time.Hour, sesame.AutoDisconnect{}); r != "" {
			t.Fatalf("automatic disconnection off, yet ended %s", r)
		}
	})
	t.Run("AbsoluteLifetime", func(t *testing.T) {
		s := fresh()
		if r := s.Touch(t0.Add(12*time.Hour), sesame.AutoDisconnect{}); r != sesame.ReasonExpired {
			t.Fatalf("after 12 h: %q", r)
		}
	})
	t.Run("IdleRemaining", func(t *testing.T) {
		s := fresh()
		s.Heartbeat(t0.Add(10*time.Minute), 4*time.Minute, ad)
		if got := s.IdleRemaining(t0.Add(10*time.Minute), ad); got != 26*time.Minute {
			t.Fatalf("IdleRemaining = %v", got)
		}
		idle := sesame.IdleFor(sesame.AutoDisconnect{Enabled: true, After: 40 * time.Second}, sesame.DefaultTiming)
		if idle.Warning != 20*time.Second || idle.Timeout != 40*time.Second {
			t.Fatalf("IdleFor short limit = %+v", idle)
		}
	})
}

func TestAdmission(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	l := func(login string, ends time.Duration) sesame.Lease {
		return sesame.Lease{Login: login, Session: "s-" + login, ExpiresAt: now.Add(ends)}
	}
	ls := []sesame.Lease{l("a", time.Minute), l("b", -time.Second), l("c", 2*time.Minute), l("d", 0)}
	if own, ok := sesame.Admission(ls, "a", 1, now); !ok || own == nil || own.Login != "a" {
		t.Fatalf("a live holder moves: %v %v", own, ok)
	}
	if own, ok := sesame.Admission(ls, "b", 3, now); own != nil || ok {
		t.Fatalf("a lapsed holder with 3 live others, limit 3: got move %v, admitted %v", own, ok)
	}
	if own, ok := sesame.Admission(ls, "b", 4, now); own != nil || !ok {
		t.Fatalf("a lapsed holder with 3 live others, limit 4: got move %v, admitted %v", own, ok)
	}
	if _, ok := sesame.Admission(ls, "e", 3, now); ok {
		t.Fatal("admitted into a full pool (3 live of 3: a lease ending now is still live)")
	}
	if _, ok := sesame.Admission(ls, "e", 3, now.Add(time.Second)); !ok {
		t.Fatal("refused with 2 live holders of 3")
	}
	if sesame.CountLive(ls, now) != 3 {
		t.Fatalf("CountLive = %d", sesame.CountLive(ls, now))
	}
	ex := sesame.Exhausted(sesame.PoolAdminModify, 4, ls, now)
	if ex.RetryAfter != time.Second || !errors.Is(ex, sesame.ErrSeatsExhausted) || sesame.ErrorCode(ex) != sesame.CodeSeatsExhausted {
		t.Fatalf("Exhausted = %+v", ex)
	}
	ex = sesame.Exhausted(sesame.PoolAdminModify, 2, ls[:3], now)
	if ex.RetryAfter != time.Minute {
		t.Fatalf("RetryAfter = %v, want the earliest live end", ex.RetryAfter)
	}
	if msg := ex.Message(); msg != "Les 2 connexions simultanées en mode administratif (modification) sont toutes occupées. Réessayez dans 1 minute." {
		t.Fatalf("message: %s", msg)
	}
}

func TestNewBaseContent(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	c := sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "Mme Superviseur", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}, now)
	var ids []string
	for _, p := range c.Profiles {
		if err := p.Validate(sesame.MinAutoDisconnect); err != nil {
			t.Fatalf("default %s invalid: %v", p.ID, err)
		}
		if !p.AutoDisconnect.Enabled || p.AutoDisconnect.After != 30*time.Minute {
			t.Fatalf("%s: automatic disconnection %+v", p.ID, p.AutoDisconnect)
		}
		if !p.Mode.IsSpace() && len(p.Grants) != sesame.Ceiling(p.Mode, map[bool]sesame.Access{true: sesame.Consult, false: sesame.Modify}[p.Group == sesame.GroupConsult]).Len() {
			t.Fatalf("%s is not granted its ceiling", p.ID)
		}
		ids = append(ids, p.ID)
	}
	want := []string{"administration", "modification", "consultation", "professeurs", "personnels", "parent", "student", "company", "academy"}
	if !slices.Equal(ids, want) {
		t.Fatalf("default profiles %v", ids)
	}
	if len(c.Users) != 1 {
		t.Fatalf("%d users", len(c.Users))
	}
	spr := c.Users[0]
	if err := spr.Validate(); err != nil || !spr.Supervisor || spr.AdminGroup != sesame.AdministrationID || !spr.Enabled {
		t.Fatalf("SPR %+v: %v", spr, err)
	}
}

func TestProfileValidate(t *testing.T) {
	base := sesame.Profile{ID: "g1", Name: "Secrétariat", Mode: sesame.ModeAdmin, Group: sesame.GroupModif}
	for _, c := range []struct {
		name string
		edit func(*sesame.Profile)
		code string
	}{
		{"Valid", func(*sesame.Profile) {}, ""},
		{"GrantOverCeiling", func(p *sesame.Profile) {
			p.Mode, p.Group, p.Grants = sesame.ModeTeacher, "", []string{"exports.realiser-exports"}
		}, sesame.CodeInvalid},
		{"ConsultGroupWriteGrant", func(p *sesame.Profile) { p.Group, p.Grants = sesame.GroupConsult, []string{"notes.saisir-notes"} }, sesame.CodeInvalid},
		{"SPRActionNotGrantable", func(p *sesame.Profile) { p.Grants = []string{sesame.ActionSPRConnect} }, sesame.CodeInvalid},
		{"UnknownGrant", func(p *sesame.Profile) { p.Grants = []string{"x.y"} }, sesame.CodeUnknownAction},
		{"RetypeAdministration", func(p *sesame.Profile) { p.ID = sesame.AdministrationID }, sesame.CodeProtected},
		{"SecondAdminGroup", func(p *sesame.Profile) { p.Group = sesame.GroupAdmin }, sesame.CodeInvalid},
		{"BadType", func(p *sesame.Profile) { p.Group = "super" }, sesame.CodeInvalid},
		{"TypeOnProfile", func(p *sesame.Profile) { p.Mode = sesame.ModeTeacher }, sesame.CodeInvalid},
		{"NoName", func(p *sesame.Profile) { p.Name = " " }, sesame.CodeInvalid},
		{"IdleTooShort", func(p *sesame.Profile) {
			p.AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: 10 * time.Second}
		}, sesame.CodeInvalid},
		{"IdleTooLong", func(p *sesame.Profile) {
			p.AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: 13 * time.Hour}
		}, sesame.CodeInvalid},
		{"IdleOffAnyDuration", func(p *sesame.Profile) { p.AutoDisconnect = sesame.AutoDisconnect{After: time.Second} }, ""},
		{"SpaceWithGrants", func(p *sesame.Profile) {
			p.ID, p.Mode, p.Group, p.Grants = "parent", sesame.SpaceParent, "", []string{"agenda.consulter-agenda"}
		}, sesame.CodeInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := base
			c.edit(&p)
			err := p.Validate(sesame.MinAutoDisconnect)
			if got := map[bool]string{true: "", false: sesame.ErrorCode(err)}[err == nil]; got != c.code {
				t.Fatalf("Validate = %v, want code %q", err, c.code)
			}
		})
	}
}

func TestUserValidate(t *testing.T) {
	ok := sesame.User{Login: "Élodie.Martin-2", DisplayName: "Élodie Martin", Kind: sesame.KindStaff, Enabled: true}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid user refused: %v", err)
	}
	if sesame.LoginKey(" Élodie.MARTIN ") != "élodie.martin" {
		t.Fatalf("LoginKey = %q", sesame.LoginKey(" Élodie.MARTIN "))
	}
	for name, edit := range map[string]func(*sesame.User){
		"Space":            func(u *sesame.User) { u.Login = "a b" },
		"Empty":            func(u *sesame.User) { u.Login = "" },
		"NoName":           func(u *sesame.User) { u.DisplayName = "" },
		"BadKind":          func(u *sesame.User) { u.Kind = "admin" },
		"TeacherInGroup":   func(u *sesame.User) { u.Kind, u.AdminGroup = sesame.KindTeacher, "modification" },
		"ParentProfile":    func(u *sesame.User) { u.Kind, u.Profile = sesame.KindParent, "professeurs" },
		"SPROutsideAdmin":  func(u *sesame.User) { u.Supervisor = true },
		"ClearPassword":    func(u *sesame.User) { u.PasswordHash = "motdepasse" },
		"WeakBcrypt":       func(u *sesame.User) { u.PasswordHash = "$2a$08$" + fmt.Sprintf("%053d", 0) },
		"UnknownHashCrypt": func(u *sesame.User) { u.PasswordHash = "$6$salt$hash" },
	} {
		t.Run(name, func(t *testing.T) {
			u := ok
			edit(&u)
			if err := u.Validate(); err == nil || sesame.ErrorMessage(err) == "" {
				t.Fatalf("accepted %+v", u)
			}
		})
	}
	for h, want := range map[string]sesame.HashFormat{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA": sesame.HashArgon2id,
		"$2b$10$" + fmt.Sprintf("%053d", 0):            sesame.HashBcrypt,
		"$2y$12$" + fmt.Sprintf("%053d", 0):            sesame.HashBcrypt,
	} {
		if got, err := sesame.ParseHashFormat(h); err != nil || got != want {
			t.Errorf("ParseHashFormat(%.12s…) = %s, %v", h, got, err)
		}
	}
}

func TestErrors(t *testing.T) {
	err := fmt.Errorf("get user x: %w", sesame.NotFound("L'utilisateur « x »"))
	if !errors.Is(err, sesame.ErrNotFound) || errors.Is(err, sesame.ErrExists) {
		t.Fatal("errors.Is does not follow codes")
	}
	if sesame.ErrorCode(err) != "not_found" || sesame.ErrorMessage(err) != "L'utilisateur « x » est introuvable." {
		t.Fatalf("code %s, message %s", sesame.ErrorCode(err), sesame.ErrorMessage(err))
	}
	other := errors.New("dial tcp: refused")
	if sesame.ErrorCode(other) != sesame.CodeInternal || sesame.ErrorMessage(other) == other.Error() {
		t.Fatal("a technical error leaks its text to users")
	}
	for d, want := range map[time.Duration]string{
		0: "0 seconde", 45 * time.Second: "45 secondes", time.Minute: "1 minute",
		90 * time.Minute: "1 heure 30 minutes", 2*time.Hour + time.Second: "2 heures 1 seconde",
	} {
		if got := sesame.FrenchDuration(d); got != want {
			t.Errorf("FrenchDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for _, r := range []sesame.EndReason{sesame.ReasonExpired, sesame.ReasonIdleTimeout, sesame.ReasonDisconnected, sesame.ReasonReplaced, sesame.ReasonSeatLost, sesame.ReasonLoggedOut} {
		if r.Message() == "Votre session est terminée." {
			t.Errorf("reason %s has no message of its own", r)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	u := sesame.User{Login: "cpe", Kind: sesame.KindStaff, Enabled: true, AdminGroup: "modification"}
	p := sesame.NewPrincipal(u, sesame.ModeAdmin, sesame.Modify, sesame.Ceiling(sesame.ModeAdmin, sesame.Modify).Slugs())
	slugs := []string{"notes.saisir-notes", "exports.realiser-exports", sesame.ActionSPRConnect, "agenda.consulter-agenda"}
	b.Run("Decide", func(b *testing.B) {
		n := 0
		for i := 0; b.Loop(); i++ {
			if p.Can(slugs[i%len(slugs)]).Allowed {
				n++
			}
		}
		_ = n
	})
	b.Run("MapLookup", func(b *testing.B) {
		m := map[string]bool{}
		for _, s := range p.Allowed() {
			m[s] = true
		}
		n := 0
		for i := 0; b.Loop(); i++ {
			if m[slugs[i%len(slugs)]] {
				n++
			}
		}
		_ = n
	})
}
