package sesame_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/rentree"
)

// Recovery goes through the same edit rules and effects as the ordinary
// edits: each case below is a change a hand edit refuses or follows with
// ending sessions, made through a rentrée instead.

// editY1 changes last year's base behind the edit rules' back, as an old
// file or an old version of the product could have left it.
func editY1(t *testing.T, st sesame.Backend, f func(ps map[string]*sesame.Profile, us map[string]*sesame.User)) {
	t.Helper()
	ctx := context.Background()
	k1 := sesame.BaseKey{UAI: uai, Year: y1}
	ps, err := st.ListProfiles(ctx, k1)
	if err != nil {
		t.Fatal(err)
	}
	pm := map[string]*sesame.Profile{}
	for i := range ps {
		pm[ps[i].Name] = &ps[i]
	}
	um := map[string]*sesame.User{}
	for _, login := range []string{"secretaire", "cpe", "gestion", "prof000", "parent.durand"} {
		u, err := st.GetUser(ctx, k1, login)
		if err != nil {
			t.Fatal(err)
		}
		um[login] = &u
	}
	beforeP := map[string]sesame.Profile{}
	for n, p := range pm {
		beforeP[n] = *p
	}
	beforeU := map[string]sesame.User{}
	for n, u := range um {
		beforeU[n] = *u
	}
	f(pm, um)
	for n, p := range pm {
		if b := beforeP[n]; !profilesEqual(b, *p) {
			if _, err := st.UpdateProfile(ctx, k1, *p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n, u := range um {
		if *u != beforeU[n] {
			if _, err := st.UpdateUser(ctx, k1, *u); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func profilesEqual(a, b sesame.Profile) bool {
	return a.Name == b.Name && a.Group == b.Group && a.AutoDisconnect == b.AutoDisconnect && slices.Equal(a.Grants, b.Grants)
}

func profileChange(t *testing.T, r sesame.RecoveryReport, name string) sesame.ProfileChange {
	t.Helper()
	for _, p := range r.Profiles {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no line for %q in %+v", name, r.Profiles)
	return sesame.ProfileChange{}
}

func rejection(t *testing.T, r sesame.RecoveryReport, login string) sesame.Rejection {
	t.Helper()
	for _, x := range r.Rejected {
		if x.Login == login {
			return x
		}
	}
	t.Fatalf("%s is not rejected: %+v", login, r.Rejected)
	return sesame.Rejection{}
}

func recoverY1(t *testing.T, svc *sesame.Service, opts sesame.RecoverOptions) sesame.RecoveryReport {
	t.Helper()
	ctx := context.Background()
	src, err := svc.BaseSource(ctx, sesame.BaseKey{UAI: uai, Year: y1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Recover(ctx, sesame.BaseKey{UAI: uai, Year: y2}, src, sesame.FromYear(y1), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRecoveryFollowsTheEditRules(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		k2 := sesame.BaseKey{UAI: uai, Year: y2}
		svc := lastYear(t, st, 1)
		no := false
		if _, err := svc.SetLicense(ctx, uai, y2, sesame.LicenseChange{Consultation: &no}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateProfile(ctx, sesame.BaseKey{UAI: uai, Year: y1}, sesame.Profile{ID: "lecture", Name: "Lecture", Mode: sesame.ModeAdmin,
			Group: sesame.GroupConsult, AutoDisconnect: sesame.DefaultIdle}); err != nil {
			t.Fatal(err)
		}
		editY1(t, st, func(ps map[string]*sesame.Profile, us map[string]*sesame.User) {
			// Zero-second disconnection, which no edit accepts.
			ps["Professeurs"].AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: 0}
			// A staff member in the SPR's own group.
			us["cpe"].AdminGroup = sesame.AdministrationID
			// In a consult group, which the new base's licence does not allow.
			us["gestion"].AdminGroup = "lecture"
			// A teacher without a profile.
			us["prof000"].Profile = ""
		})
		rep := recoverY1(t, svc, sesame.RecoverOptions{Add: true, Update: true, DryRun: true})

		if p := profileChange(t, rep, "Professeurs"); p.Action != "rejected" || p.Code != sesame.CodeInvalid || !strings.Contains(p.Message, "1 minute") {
			t.Errorf("zero-second disconnection: %+v", p)
		}
		if p := profileChange(t, rep, "Lecture"); p.Action != "rejected" || p.Code != sesame.CodeUnlicensed {
			t.Errorf("consult group without the licence: %+v", p)
		}
		if r := rejection(t, rep, "gestion"); r.Code != sesame.RejectUnknownGroup || !strings.Contains(r.Message, "licence de consultation") {
			t.Errorf("member of a refused group: %+v", r)
		}
		if r := rejection(t, rep, "cpe"); r.Code != sesame.CodeProtected || !strings.Contains(r.Message, "Administration") {
			t.Errorf("into Administration: %+v", r)
		}

		// Applied: nothing refused lands, and the profile-less teacher gets
		// the default profile of its kind, as a hand-made account does.
		done := recoverY1(t, svc, sesame.RecoverOptions{Add: true, Update: true})
		if len(done.Rejected) != len(rep.Rejected) {
			t.Fatalf("apply rejected %d, the dry run %d", len(done.Rejected), len(rep.Rejected))
		}
		prof, err := st.GetProfile(ctx, k2, sesame.TeachersID)
		if err != nil || prof.AutoDisconnect != sesame.DefaultIdle {
			t.Fatalf("Professeurs in the new base: %+v %v", prof.AutoDisconnect, err)
		}
		if _, err := st.GetUser(ctx, k2, "cpe"); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("cpe landed: %v", err)
		}
		if u, err := st.GetUser(ctx, k2, "prof000"); err != nil || u.Profile != sesame.TeachersID {
			t.Fatalf("prof000: profile %q, %v", u.Profile, err)
		}
		if ps, _ := st.ListProfiles(ctx, k2); slices.ContainsFunc(ps, func(p sesame.Profile) bool { return p.Name == "Lecture" }) {
			t.Fatal("the consult group landed without the licence")
		}
	})
}

func TestRecoveryEndsSessionsAsEditsDo(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		k2 := sesame.BaseKey{UAI: uai, Year: y2}
		svc := lastYear(t, st, 1)
		if _, err := svc.Recover(ctx, k2, mustSource(t, svc), sesame.FromYear(y1), sesame.RecoverOptions{Add: true}); err != nil {
			t.Fatal(err)
		}
		if err := svc.UseYear(ctx, uai, y2); err != nil {
			t.Fatal(err)
		}
		// This year, two passwords were changed; people are signed in.
		const thisYear = "mot-de-passe-de-cette-annee"
		for _, login := range []string{"prof000", "parent.durand"} {
			if _, _, err := svc.ResetPassword(sesame.AsOperator(ctx, k2), "", login, thisYear); err != nil {
				t.Fatal(err)
			}
		}
		login := func(login, mode string) string {
			t.Helper()
			pw := thisYear
			if login == "secretaire" {
				pw = pass
			}
			res, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: login, Password: pw, Mode: mode, Address: "127.0.0.1"})
			if err != nil {
				t.Fatalf("%s in %s: %v", login, mode, err)
			}
			return res.Token
		}
		prof, secr, parent := login("prof000", "teacher"), login("secretaire", "admin"), login("parent.durand", "parent")
		secrVS := login("secretaire", "vie-scolaire")

		// Last year's file has Secrétariat as a consult group.
		editY1(t, st, func(ps map[string]*sesame.Profile, us map[string]*sesame.User) {
			ps["Secrétariat"].Group, ps["Secrétariat"].Grants = sesame.GroupConsult, []string{}
		})
		rep := recoverY1(t, svc, sesame.RecoverOptions{Update: true})
		if p := profileChange(t, rep, "Secrétariat"); rep.Updated != 2 || p.Action != "update" {
			t.Fatalf("updated %d: %+v", rep.Updated, rep)
		}
		ended := func(token string) bool {
			_, err := svc.Session(ctx, token)
			var ue *sesame.UnauthenticatedError
			return errors.As(err, &ue) && ue.Reason == sesame.ReasonDisconnected
		}
		// A new password hash ends every session of the account, as a reset does.
		if !ended(prof) || !ended(parent) {
			t.Error("a recovered password left sessions open")
		}
		// A group turned consult ends its members' sessions in modification.
		if !ended(secr) {
			t.Error("a group turned consult left a session in modification open")
		}
		// Other sessions stay.
		if ended(secrVS) {
			t.Error("a group turned consult ended a session in vie scolaire mode")
		}
	})
}

// mustSource is last year's base as a rentrée source.
func mustSource(t *testing.T, svc *sesame.Service) sesame.RentreeSource {
	t.Helper()
	src, err := svc.BaseSource(context.Background(), sesame.BaseKey{UAI: uai, Year: y1})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestRentreeReaderTakesTheDomainsDisconnectionBounds(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		svc := lastYear(t, st, 1)
		var buf bytes.Buffer
		if err := rentree.WriteZip(&buf, mustSource(t, svc), time.Now()); err != nil {
			t.Fatal(err)
		}
		// The same file, with 30 s of disconnection for a profile, as no
		// edit (and no writer) allows.
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		changed := false
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if f.Name == rentree.EntryProfiles {
				b2 := bytes.Replace(b, []byte(`"seconds":1800`), []byte(`"seconds":30`), 1)
				changed = !bytes.Equal(b, b2)
				b = b2
			}
			w, err := zw.Create(f.Name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b)
		}
		zw.Close()
		if !changed {
			t.Fatal("the test file has no 1800-second setting to change")
		}
		_, err = rentree.Open(bytes.NewReader(out.Bytes()), int64(out.Len()), sesame.DefaultRentreeLimits)
		var ie *sesame.ImportError
		if !errors.As(err, &ie) || ie.Field != "autoDisconnect.seconds" ||
			!strings.Contains(ie.Message, sesame.ErrorMessage(sesame.AutoDisconnect{Enabled: true}.Validate())) {
			t.Fatalf("30 s in a file: %v", err)
		}
	})
}
