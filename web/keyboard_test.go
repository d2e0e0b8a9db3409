package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sesame-ecole/sesame"
)

// countPointer counts, in the tab's sessionStorage, every pointer, mouse
// and touch event the pages receive, from each page's first script on.
const countPointer = `for (const type of ['pointerdown', 'pointerup', 'pointermove', 'mousedown', 'mouseup', 'mousemove', 'touchstart', 'wheel']) {
	addEventListener(type, () => {
		const n = Number((sessionStorage.getItem('pointer-events') || '0').split(' ')[0]) + 1;
		sessionStorage.setItem('pointer-events', n + ', the last: ' + type);
	}, true);
}`

// focusState says which element has the focus (its id, else its
// data-action, else its class) and whether a person sees it: a focus ring
// (:focus-visible with an outline or a shadow) on an element on screen.
type focusState struct {
	Name    string
	Visible bool
}

const readFocus = `(() => {
	const e = document.activeElement;
	if (!e || e === document.body) return { Name: 'body', Visible: false };
	const cs = getComputedStyle(e), r = e.getBoundingClientRect();
	const ring = e.matches(':focus-visible') && ((cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== 'none');
	const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
	return { Name: e.id || e.dataset.action || e.className || e.tagName.toLowerCase(), Visible: ring && onScreen };
})()`

// focusOn checks that the focus is on the element named want, visibly.
func focusOn(t *testing.T, tab context.Context, step, want string) {
	t.Helper()
	f := eval[focusState](t, tab, readFocus)
	if f.Name != want || !f.Visible {
		t.Errorf("%s: focus on %q (visible: %v), want %q, visible", step, f.Name, f.Visible, want)
	}
}

// keys presses keys (kb.Tab, kb.Enter…) or types text, as a keyboard.
func keys(t *testing.T, tab context.Context, ks ...string) {
	t.Helper()
	for _, k := range ks {
		do(t, tab, chromedp.KeyEvent(k))
	}
}

// TestKeyboardJourney: a teacher signs in, answers the inactivity warning
// with Rester connecté, and logs out, with the keyboard alone; at each
// step the focus is visible and where a person expects it. No pointer
// event reaches the pages. The warning dialog is audited with axe-core
// while it is open.
func TestKeyboardJourney(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, stackOptions{agent: true, minIdle: 3 * time.Second,
		// A long warning, so that the audit runs while the dialog is open,
		// and 12 idle seconds before it, so that a slow machine signs in
		// and takes its first step before the warning comes.
		timing: sesame.Timing{Heartbeat: testHeartbeat, Lease: 3 * time.Second, Absolute: time.Hour, Warning: 8 * time.Second}})
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	ctx := context.Background()
	k := sesame.BaseKey{UAI: uai, Year: year}
	p, err := s.svc.Store.GetProfile(ctx, k, sesame.TeachersID)
	if err != nil {
		t.Fatal(err)
	}
	p.AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: 20 * time.Second}
	if _, err := s.svc.Store.UpdateProfile(ctx, k, p); err != nil {
		t.Fatal(err)
	}
	tab := newBrowser(t)
	axeSrc := loadAxe(t)
	// A headless window never has the system's focus; a person's browser
	// window has it, and the pages' own focus shows only then.
	if _, err := chromedp.Call(tab, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	onEveryPage(t, tab, countPointer)

	// The sign-in page puts the focus in its first field.
	do(t, tab, chromedp.Navigate(s.url+"/"))
	waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
	focusOn(t, tab, "sign-in page", "school")
	keys(t, tab, uai, kb.Tab)
	focusOn(t, tab, "Tab after the school", "login")
	keys(t, tab, "mdurand", kb.Tab)
	focusOn(t, tab, "Tab after the login", "password")
	keys(t, tab, userPass, kb.Tab)
	focusOn(t, tab, "Tab after the password", "show-password")
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab after Afficher", "mode")
	if got := eval[string](t, tab, `document.getElementById('mode').value`); got != "teacher" {
		t.Fatalf("mode %q, want teacher by default", got)
	}
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab after the mode", "summary")
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab after Autre année", "submit")
	keys(t, tab, kb.Enter) // sends the form
	waitHome(t, tab)
	waitAgent(t, tab)

	// The first Tab of the home page reaches "Aller au contenu", shown.
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "first Tab of the home page", "skip-link")
	if got := text(t, tab, ":focus"); got != "Aller au contenu" {
		t.Errorf("skip link reads %q", got)
	}
	if eval[string](t, tab, `typeof window.axe`) != "object" {
		do(t, tab, chromedp.Evaluate[chromedp.Void](axeSrc))
	}

	// The warning takes the focus on Rester connecté; Enter answers it
	// and gives the focus back where it was.
	waitFor(t, tab, dialogOpen)
	focusOn(t, tab, "warning dialog", "rester")
	audit(t, tab, "warning dialog open")
	if !eval[bool](t, tab, dialogOpen) {
		t.Fatal("the dialog closed during the audit: the warning is too short for this machine")
	}
	keys(t, tab, kb.Enter)
	waitFor(t, tab, `!`+dialogOpen)
	focusOn(t, tab, "after Rester connecté", "skip-link")
	if got := eval[string](t, tab, `location.pathname`); got != "/accueil" {
		t.Fatalf("after Rester connecté, on %s", got)
	}

	// Then the top bar in order, to Se déconnecter.
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab after the skip link", "brand")
	keys(t, tab, kb.Tab)
	if got := eval[string](t, tab, `document.activeElement.getAttribute('href')`); got != "/accueil" {
		t.Errorf("second Tab on %q, want the Accueil link", got)
	}
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab to the logout button", "logout")
	keys(t, tab, kb.Enter)
	waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
	if got := text(t, tab, "#raison-message"); got != "Vous êtes déconnecté." {
		t.Errorf("after logout: %q", got)
	}
	// The school is remembered: the focus goes to the login.
	focusOn(t, tab, "sign-in page after logout", "login")

	if got := eval[string](t, tab, `sessionStorage.getItem('pointer-events') || ''`); got != "" {
		t.Errorf("pointer events reached the pages: %s", got)
	}
}

// tabTo presses Tab until the focus is on the element named want (at most
// max times), each stop's focus visible.
func tabTo(t *testing.T, tab context.Context, want string, max int) {
	t.Helper()
	var seen []string
	for range max {
		keys(t, tab, kb.Tab)
		f := eval[focusState](t, tab, readFocus)
		if !f.Visible {
			t.Errorf("Tab towards %q: the focus on %q does not show", want, f.Name)
		}
		if f.Name == want {
			return
		}
		seen = append(seen, f.Name)
	}
	t.Fatalf("%d Tabs did not reach %q: %v", max, want, seen)
}

// TestKeyboardENTPage: the SPR adds an identity provider on Connexion via
// l'ENT, then deletes it, with the keyboard alone: the focus is visible
// at each stop and goes where a person expects it (the form's title, the
// new row, the confirmation, back to Supprimer on Escape). No pointer
// event reaches the page.
func TestKeyboardENTPage(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tab := newBrowser(t)
	if _, err := chromedp.Call(tab, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	spr := signInSPR(t, s, tab)
	onEveryPage(t, tab, countPointer)
	do(t, tab, chromedp.Navigate(s.url+"/ent"))
	waitPage(t, tab, "/ent")

	tabTo(t, tab, "ajouter", 20)
	keys(t, tab, kb.Enter)
	waitFor(t, tab, `!document.getElementById('edition').hidden`)
	if got := eval[string](t, tab, `document.activeElement.id`); got != "h-edition" {
		t.Errorf("the form opens with the focus on %q, want its title", got)
	}
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab into the form", "p-name")
	keys(t, tab, "ENT du collège", kb.Tab)
	focusOn(t, tab, "Tab after the name", "p-id")
	keys(t, tab, "ent", kb.Tab)
	focusOn(t, tab, "Tab after the identifier", "p-protocol-cas")
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab after the protocol", "p-cas")
	keys(t, tab, "https://ent.exemple.fr/cas", kb.Tab)
	focusOn(t, tab, "Tab after the CAS address", "p-claim")
	keys(t, tab, "uid")
	tabTo(t, tab, "p-kind-teacher", 3)
	keys(t, tab, " ")
	tabTo(t, tab, "enregistrer", 12)
	keys(t, tab, kb.Enter)
	waitFor(t, tab, `document.querySelector('#providers tr[data-id="ent"]') && document.getElementById('edition').hidden`)
	focusOn(t, tab, "after adding", "edit")
	var p providerAnswer
	if code, e := s.callJSON(t, "GET", "/providers/ent", nil, spr, &p); code != 200 || p.DisplayName != "ENT du collège" || len(p.Kinds) != 1 || p.Kinds[0] != "teacher" {
		t.Fatalf("GET /providers/ent: %d %s %+v", code, e.Error.Message, p)
	}

	// Supprimer asks first; Escape gives up and comes back to it.
	keys(t, tab, kb.Tab)
	focusOn(t, tab, "Tab after Modifier", "delete")
	keys(t, tab, kb.Enter)
	focusOn(t, tab, "the deletion to confirm", "confirm-delete")
	keys(t, tab, kb.Escape)
	focusOn(t, tab, "Escape from the confirmation", "delete")
	keys(t, tab, kb.Enter)
	focusOn(t, tab, "the deletion to confirm again", "confirm-delete")
	keys(t, tab, kb.Enter)
	waitFor(t, tab, `!document.querySelector('#providers tr[data-id="ent"]')`)
	if got := eval[string](t, tab, `document.activeElement.id`); got != "h-liste" {
		t.Errorf("after the deletion the focus is on %q, want the list's title", got)
	}
	if code, _ := s.callJSON(t, "GET", "/providers/ent", nil, spr, nil); code != 404 {
		t.Errorf("GET /providers/ent after its deletion: %d", code)
	}
	if got := eval[string](t, tab, `sessionStorage.getItem('pointer-events') || ''`); got != "" {
		t.Errorf("pointer events reached the page: %s", got)
	}
}
