package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// TestAgentSeatless: a parent holds no seat. The agent reports at the
// long interval (here 3 s against a heartbeat a second) and before the
// server could judge the active user idle, so that the user, active
// for twice the idle limit, is never warned nor logged out; idle, the
// user is warned, then logged out on time by the server's own rule.
func TestAgentSeatless(t *testing.T) {
	t.Parallel()
	s := newAgentStack(t)
	ctx := context.Background()
	k := sesame.BaseKey{UAI: uai, Year: year}
	ps, err := s.svc.Store.ListProfiles(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Mode == sesame.SpaceParent {
			p.AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: testIdle}
			if _, err := s.svc.Store.UpdateProfile(ctx, k, p); err != nil {
				t.Fatalf("UpdateProfile: %v", err)
			}
		}
	}
	if _, err := s.svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: year, Login: "pmartin", Kind: "parent",
		DisplayName: "Paul Martin", Password: userPass}); err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	tab := newBrowser(t)
	signIn(t, s.stack, tab, uai, "pmartin", userPass, "parent", "")
	waitHome(t, tab)
	waitAgent(t, tab)

	from := time.Now()
	for i := 0; time.Since(from) < 2*testIdle; i++ {
		moveMouse(t, tab, i)
		if eval[bool](t, tab, dialogOpen) {
			t.Fatalf("warned after %v of steady activity", time.Since(from).Round(time.Millisecond))
		}
		time.Sleep(400 * time.Millisecond)
	}
	to := time.Now()
	if p := eval[string](t, tab, `location.pathname`); p != "/accueil" {
		t.Fatalf("an active user left for %s", p)
	}
	cookie := sessionCookie(t, s, tab)
	if res, e := s.call(t, http.MethodGet, "/session", nil, cookie); res.StatusCode != http.StatusOK {
		t.Fatalf("an active user's session: %d %q", res.StatusCode, e.Error.Reason)
	}
	n, every := s.beatsBetween(from, to), int(to.Sub(from)/testHeartbeat)
	t.Logf("%d reports in %v of activity (a seat holder's heartbeats: %d)", n, to.Sub(from).Round(time.Millisecond), every)
	if n < 2 || n > int(to.Sub(from)/testReport)+2 {
		t.Errorf("%d reports in %v, want about one each %v", n, to.Sub(from).Round(time.Second), testReport)
	}

	waitFor(t, tab, dialogOpen)
	warned := time.Now()
	waitIdleSignIn(t, tab, int(testIdle/time.Second))
	t.Logf("warned %v after the last activity, logged out %v after the warning",
		warned.Sub(to).Round(10*time.Millisecond), time.Since(warned).Round(10*time.Millisecond))
	if res, e := s.call(t, http.MethodGet, "/session", nil, cookie); res.StatusCode != http.StatusUnauthorized || e.Error.Reason != "idle_timeout" {
		t.Errorf("GET /session after: %d %q, want idle_timeout", res.StatusCode, e.Error.Reason)
	}
}
