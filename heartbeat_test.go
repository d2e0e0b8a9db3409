package sesame_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// readCounter counts the full path's reads of a session (ReadSession).
type readCounter struct {
	sesame.Backend
	reads atomic.Int64
}

func (r *readCounter) ReadSession(ctx context.Context, id string, near sesame.SessionNear) (sesame.SessionRead, error) {
	r.reads.Add(1)
	return r.Backend.ReadSession(ctx, id, near)
}

// TestHeartbeatFollowsTheSettingThatApplies checks the heartbeat's fast
// path through the service: a session is stamped at sign-in with the
// setting that applies, so that its heartbeats read nothing, from the
// first; a change of the
// profile's automatic disconnection, or of the user's profile, reaches the
// very next heartbeat; an idle session ends as idle_timeout, journalled,
// whichever path saw it first.
func TestHeartbeatFollowsTheSettingThatApplies(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		rc := &readCounter{Backend: st}
		clk := &clock{time.Now().UTC().Truncate(time.Second)}
		svc := &sesame.Service{Store: rc, Hasher: fastHash, Clock: clk, Timing: sesame.DefaultTiming}
		const code, y = "0751234A", "2026-2027"
		if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: code, Name: "Collège", Year: y, SPRPassword: pass}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []sesame.NewUser{{Login: "prof", Kind: "teacher"}, {Login: "eleve", Kind: "student"}} {
			u.UAI, u.Year, u.DisplayName, u.Password = code, y, "Compte "+u.Login, pass
			if _, err := svc.AddUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		login := func(who, mode string) string {
			t.Helper()
			res, err := svc.Login(ctx, sesame.LoginRequest{School: code, Login: who, Password: pass, Mode: mode, Address: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			return res.Token
		}
		spr, prof, eleve := login("spr", "admin"), login("prof", "teacher"), login("eleve", "student")
		// beat sends a heartbeat and says whether it read the session.
		beat := func(tok string, idle time.Duration) (sesame.HeartbeatResult, bool, error) {
			t.Helper()
			before := rc.reads.Load()
			res, err := svc.Heartbeat(ctx, tok, idle)
			return res, rc.reads.Load() != before, err
		}
		mustBeat := func(what, tok string, idle time.Duration, wantRead bool, want time.Duration) {
			t.Helper()
			res, read, err := beat(tok, idle)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if read != wantRead {
				t.Fatalf("%s: read the session %v, want %v", what, read, wantRead)
			}
			if res.Idle.Timeout != want || res.IdleRemaining != want-max(idle, 0) {
				t.Fatalf("%s: idle %+v, remaining %v; want a limit of %v", what, res.Idle, res.IdleRemaining, want)
			}
		}
		def := sesame.DefaultAutoDisconnect
		for _, tok := range []string{prof, eleve} {
			mustBeat("first heartbeat", tok, time.Second, false, def)
			clk.t = clk.t.Add(time.Minute)
			mustBeat("second heartbeat", tok, 2*time.Second, false, def)
		}

		// The SPR shortens the teachers' limit: the next heartbeat learns it.
		clk.t = clk.t.Add(time.Minute)
		short := sesame.AutoDisconnect{Enabled: true, After: 10 * time.Minute}
		if _, err := svc.UpdateProfile(ctx, spr, sesame.TeachersID, sesame.ProfileEdit{AutoDisconnect: &short}); err != nil {
			t.Fatal(err)
		}
		mustBeat("the heartbeat after the profile's change", prof, time.Second, true, short.After)
		mustBeat("the one after", prof, time.Second, false, short.After)
		mustBeat("a student's, whose space did not change", eleve, time.Second, false, def)

		// The teacher moves to another profile.
		other := sesame.AutoDisconnect{Enabled: true, After: 15 * time.Minute}
		p, err := svc.CreateProfile(ctx, spr, sesame.NewProfile{Name: "Remplaçants", Mode: sesame.ModeTeacher, AutoDisconnect: &other})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UpdateUser(ctx, spr, "prof", sesame.UserEdit{Profile: &p.ID}); err != nil {
			t.Fatal(err)
		}
		mustBeat("the heartbeat after the user's change", prof, time.Second, true, other.After)
		mustBeat("the one after", prof, time.Second, false, other.After)

		// A report at the limit ends the session: the fast path declines,
		// the full one ends it and says so in the journal.
		clk.t = clk.t.Add(time.Minute)
		_, _, err = beat(prof, other.After)
		var ue *sesame.UnauthenticatedError
		if !errors.As(err, &ue) || ue.Reason != sesame.ReasonIdleTimeout || ue.IdleTimeout != other.After {
			t.Fatalf("a report at the limit: %v, want idle_timeout after %v", err, other.After)
		}
		// A student gone quiet past the limit: the stored activity decides.
		clk.t = clk.t.Add(def)
		_, _, err = beat(eleve, 0)
		if !errors.As(err, &ue) || ue.Reason != sesame.ReasonIdleTimeout {
			t.Fatalf("a heartbeat after the limit: %v, want idle_timeout", err)
		}
		spr = login("spr", "admin") // idle too, meanwhile
		page, err := svc.Journal(ctx, spr, sesame.JournalQuery{Events: []sesame.Event{sesame.EventIdleTimeout}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 2 {
			t.Fatalf("journal: %d automatic disconnections, want 2: %+v", len(page.Entries), page.Entries)
		}

		// A disabled account's sessions end at once: no heartbeat goes on.
		eleve = login("eleve", "student")
		mustBeat("a new session's first heartbeat", eleve, 0, false, def)
		prof = login("prof", "teacher")
		mustBeat("a new session's first heartbeat, under its own profile", prof, 0, false, other.After)
		no := false
		if _, err := svc.UpdateUser(ctx, spr, "eleve", sesame.UserEdit{Enabled: &no}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := beat(eleve, 0); !errors.As(err, &ue) || ue.Reason != sesame.ReasonDisconnected {
			t.Fatalf("a heartbeat after the account's deactivation: %v, want disconnected", err)
		}
	})
}

// TestRecoveryReachesTheNextHeartbeat: a recovery into a base in use that
// changes a profile's automatic disconnection removes the stamps of the
// sessions it concerns, as the profile's edit does: the next heartbeat
// reads the new setting.
func TestRecoveryReachesTheNextHeartbeat(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		rc := &readCounter{Backend: st}
		svc := lastYear(t, rc, 1)
		k1 := sesame.BaseKey{UAI: uai, Year: y1}
		y2key := sesame.BaseKey{UAI: uai, Year: y2}
		if _, err := svc.Recover(ctx, y2key, mustSource(t, svc), sesame.FromYear(y1), sesame.RecoverOptions{Add: true, Update: true}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetCurrentYear(ctx, y2key); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "cpe", Password: pass, Mode: string(sesame.ModeVieScolaire), Year: y2, Address: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the first stamps the setting, the second runs under it
			if hb, err := svc.Heartbeat(ctx, res.Token, 0); err != nil || hb.Idle.Enabled {
				t.Fatalf("heartbeat: %+v, %v; want no automatic disconnection", hb, err)
			}
		}
		vs, err := st.GetProfile(ctx, k1, "vs")
		if err != nil {
			t.Fatal(err)
		}
		vs.AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: 15 * time.Minute}
		if _, err := st.UpdateProfile(ctx, k1, vs); err != nil {
			t.Fatal(err)
		}
		rep, err := svc.Recover(ctx, y2key, mustSource(t, svc), sesame.FromYear(y1), sesame.RecoverOptions{Update: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Profiles) == 0 {
			t.Fatalf("the recovery changed no profile: %+v", rep)
		}
		before := rc.reads.Load()
		hb, err := svc.Heartbeat(ctx, res.Token, 0)
		if err != nil || !hb.Idle.Enabled || hb.Idle.Timeout != 15*time.Minute {
			t.Fatalf("heartbeat after the recovery: %+v, %v; want the recovered 15 minutes", hb, err)
		}
		if rc.reads.Load() == before {
			t.Error("the heartbeat after the recovery did not read the session: its stamp stayed")
		}
	})
}
