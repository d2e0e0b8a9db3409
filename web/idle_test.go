package web_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// TestStaffProfileIdleLogout: the SPR sets the staff profile Personnels'
// automatic disconnection to 6 seconds on /profils; a member of the staff
// signed in in vie scolaire mode is warned, then logged out with the
// reason shown. Before that, an unticked "Déconnexion automatique" box
// keeps the duration disabled, and saving stores enabled=false.
func TestStaffProfileIdleLogout(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, stackOptions{timing: testTiming, minIdle: 3 * time.Second, agent: true})
	s.addUser(t, "cpe.martin", "staff", "Claire Martin", "")
	browser := newBrowser(t)
	spr := newTab(t, browser)
	staff := newTab(t, browser)

	signIn(t, s, spr, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, spr)
	click(t, spr, "#lien-profils")
	waitPage(t, spr, "/profils")
	sprCookie := tabCookie(t, s, spr)

	t.Run("unticked box", func(t *testing.T) {
		id := sesame.TeachersID
		openEditor(t, spr, id)
		on, minutes := "#pa-on-"+id, "#pa-min-"+id
		if ed := readEditor(t, spr, id); !ed.AutoOn || !ed.AutoMinutes {
			t.Fatalf("Professeurs' editor before: %+v", ed)
		}
		click(t, spr, on)
		if ed := readEditor(t, spr, id); !ed.AutoOn || ed.AutoMinutes {
			t.Errorf("unticked: the duration can still be changed: %+v", ed)
		}
		click(t, spr, item(id)+` [data-action="save"]`)
		waitFor(t, spr, `document.querySelector('#annonce').innerText.includes('enregistré')`)
		var p profileJSON
		if code, e := s.callJSON(t, http.MethodGet, "/profiles/"+id, nil, sprCookie, &p); code != http.StatusOK {
			t.Fatalf("GET /profiles/%s: %d %s", id, code, e.Error.Message)
		}
		if p.AutoDisconnect.Enabled {
			t.Errorf("stored after saving an unticked box: %+v", p.AutoDisconnect)
		}
		// As the page shows it again: unticked, the duration disabled.
		openEditor(t, spr, id)
		if got := eval[string](t, spr, `[document.querySelector('`+on+`').checked, document.querySelector('`+minutes+`').disabled].join('|')`); got != "false|true" {
			t.Errorf("after saving, checked|duration disabled = %q, want false|true", got)
		}
		click(t, spr, on)
		if ed := readEditor(t, spr, id); !ed.AutoMinutes {
			t.Errorf("ticked again: the duration stays disabled: %+v", ed)
		}
	})

	// 0,1 minute: 6 seconds for the staff profile.
	id := sesame.StaffID
	openEditor(t, spr, id)
	typeIn(t, spr, "#pa-min-"+id, "0,1")
	click(t, spr, item(id)+` [data-action="save"]`)
	waitFor(t, spr, `document.querySelector('#annonce').innerText.includes('Personnels')`)
	contains(t, "saved", text(t, spr, "#annonce"), "« Personnels » est enregistré", "Déconnexion automatique après 6 secondes d'inactivité")

	signIn(t, s, staff, uai, "cpe.martin", userPass, "vie-scolaire", "")
	waitHome(t, staff)
	if got := text(t, staff, "#f-idle"); got != "Déconnexion automatique après 6 secondes d'inactivité" {
		t.Errorf("staff member's idle = %q: the profile's setting", got)
	}
	waitAgent(t, staff)
	cookie := tabCookie(t, s, staff)
	waitFor(t, staff, dialogOpen)
	contains(t, "dialog", norm(eval[string](t, staff, `document.getElementById('sesame-inactivite').innerText`)), "Êtes-vous toujours là ?")
	waitIdleSignIn(t, staff, 6)
	res, e := s.call(t, http.MethodGet, "/session", nil, cookie)
	if res.StatusCode != http.StatusUnauthorized || e.Error.Reason != "idle_timeout" {
		t.Errorf("GET /session after: %d %q, want 401 idle_timeout", res.StatusCode, e.Error.Reason)
	}
}

// waitIdleSignIn waits for the tab to reach the sign-in page after an
// automatic disconnection of the given seconds, and checks that the page
// says so.
func waitIdleSignIn(t *testing.T, tab context.Context, seconds int) {
	t.Helper()
	waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
	n := strconv.Itoa(seconds)
	if got := eval[string](t, tab, `location.search`); got != "?raison=idle_timeout&duree="+n {
		t.Errorf("sent to %q, want ?raison=idle_timeout&duree=%s", got, n)
	}
	if got, want := text(t, tab, "#raison-message"), "Vous avez été déconnecté automatiquement après "+n+" secondes d'inactivité. Reconnectez-vous pour continuer."; got != want {
		t.Errorf("sign-in message = %q, want %q", got, want)
	}
}
