package web_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// The tests of the administration pages: Utilisateurs, Groupes et
// profils, Journal, and their links from the home page.

// callJSON is call that gives the status.
func (s *stack) callJSON(t *testing.T, method, path string, body any, cookie *http.Cookie, out any) (int, apiError) {
	t.Helper()
	res, e := s.call(t, method, path, body, cookie, out)
	return res.StatusCode, e
}

// profileJSON is a group, a profile or a space as the API gives it.
type profileJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Class          string   `json:"class"`
	Grants         []string `json:"grants"`
	AutoDisconnect struct {
		Enabled bool `json:"enabled"`
		Seconds int  `json:"seconds"`
	} `json:"autoDisconnect"`
	Version int64 `json:"version"`
}

// tabCookie returns the session cookie of a tab.
func tabCookie(t *testing.T, s *stack, tab context.Context) *http.Cookie {
	t.Helper()
	cookies, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{s.url}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == httpapi.SessionCookie {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatal("the tab has no session cookie")
	return nil
}

// typeIn replaces the text of an input: emptied (chromedp.Clear only
// resets the value attribute, which an edited input ignores), then typed
// key by key.
func typeIn(t *testing.T, tab context.Context, sel, text string) {
	t.Helper()
	do(t, tab, chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector(`+jsString(sel)+`);
		e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); })()`))
	if text != "" {
		do(t, tab, chromedp.SendKeys(chromedp.CSS(sel), text))
	}
}

// choose selects a value in a <select>, as a change by the user.
func choose(t *testing.T, tab context.Context, sel, value string) {
	t.Helper()
	do(t, tab, chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector(`+jsString(sel)+`);
		s.value = `+jsString(value)+`; if (s.value !== `+jsString(value)+`) throw new Error('no option ' + `+jsString(value)+`);
		s.dispatchEvent(new Event('change', {bubbles: true})); })()`))
}

func click(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	do(t, tab, chromedp.Click(chromedp.CSS(sel)))
}

// waitPage waits for a signed-in page to show its view.
func waitPage(t *testing.T, tab context.Context, path string) {
	t.Helper()
	waitFor(t, tab, `location.pathname === `+jsString(path)+` && !document.getElementById('vue').hidden`)
}

// item is the selector of a group's or profile's entry on /profils.
func item(id string) string { return `article.profile[data-id="` + id + `"]` }

// openEditor opens the editor of a group or profile on /profils.
func openEditor(t *testing.T, tab context.Context, id string) {
	t.Helper()
	if eval[bool](t, tab, `!document.querySelector(`+jsString(item(id)+` form`)+`)`) {
		click(t, tab, item(id)+` [data-action="toggle"]`)
	}
	waitFor(t, tab, `document.querySelector(`+jsString(item(id)+` form.profile-editor`)+`)`)
}

// grantBox is the selector of an action's checkbox in an editor.
func grantBox(id, slug string) string {
	return item(id) + ` input[data-slug="` + slug + `"]`
}

// editorState is what an editor lets its user change.
type editorState struct {
	Name, Save, Delete, AutoOn, AutoMinutes bool
	Type                                    []bool
	GrantsEnabled, GrantsInCeiling, Outside int
	OutsideSaid                             bool
	AutoWhy, Protected                      string
}

func readEditor(t *testing.T, tab context.Context, id string) editorState {
	t.Helper()
	return eval[editorState](t, tab, `(() => {
		const a = document.querySelector(`+jsString(item(id))+`);
		const f = a.querySelector('form');
		const on = (sel) => { const e = f.querySelector(sel); return !!e && !e.disabled; };
		const boxes = [...f.querySelectorAll('input[name="grant"]')];
		const outside = boxes.filter(b => b.dataset.outside === 'true');
		const why = f.querySelector('[id^="pa-why-"]');
		const prot = a.querySelector('[data-protected]');
		return {
			Name: on('[name="name"]'), Save: on('[data-action="save"]'), Delete: on('[data-action="delete"]'),
			AutoOn: on('[name="autoDisconnect"]'), AutoMinutes: on('[name="minutes"]'),
			Type: [...f.querySelectorAll('[name="type"]')].map(r => !r.disabled),
			GrantsEnabled: boxes.filter(b => !b.disabled).length,
			GrantsInCeiling: boxes.length - outside.length,
			Outside: outside.length,
			OutsideSaid: outside.length > 0 && outside.every(b => b.disabled && b.closest('.choice').classList.contains('is-outside') &&
				document.querySelector('label[for="' + b.id + '"]').innerText.includes('non permis dans ce mode')),
			AutoWhy: why ? why.innerText : '',
			Protected: prot ? prot.innerText : '',
		};
	})()`)
}

// ---- Tests ----

// TestSPRGroupIdleSetting: the SPR creates an admin group on /profils,
// sets its automatic disconnection to 9 seconds, creates a member on
// /utilisateurs, and the member, signed in in admin mode elsewhere, is
// warned then logged out after those 9 seconds (not the default 30
// minutes).
func TestSPRGroupIdleSetting(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, stackOptions{timing: testTiming, minIdle: 3 * time.Second, agent: true})
	browser := newBrowser(t)
	spr := newTab(t, browser)
	member := newTab(t, browser)

	signIn(t, s, spr, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, spr)
	for _, id := range []string{"lien-utilisateurs", "lien-profils", "lien-journal"} {
		if eval[bool](t, spr, `document.getElementById('`+id+`').closest('li').hidden || document.getElementById('administration').hidden`) {
			t.Errorf("the SPR's home page has no %s", id)
		}
	}
	click(t, spr, "#lien-profils")
	waitPage(t, spr, "/profils")
	screenshot(t, spr, "profils")
	for _, h := range []string{"Groupes d'utilisateurs administratifs", "Profils d'autorisation des professeurs", "Profils d'autorisation des personnels", "Espaces"} {
		contains(t, "sections", text(t, spr, "main"), h)
	}

	// The built-in Administration group is protected; the SPR may only
	// set its automatic disconnection.
	openEditor(t, spr, sesame.AdministrationID)
	adm := readEditor(t, spr, sesame.AdministrationID)
	if adm.Protected != "protégé" || adm.Name || adm.Delete || adm.GrantsEnabled != 0 || !adm.AutoOn || !adm.Save {
		t.Errorf("Administration's editor: %+v", adm)
	}
	contains(t, "Administration", text(t, spr, item(sesame.AdministrationID)), "il ne peut être ni supprimé ni changé de type")

	// Create a group.
	const groupName = "Surveillance de nuit"
	typeIn(t, spr, "#cg-name", groupName)
	click(t, spr, "#cg-submit")
	waitFor(t, spr, `document.querySelector('article.profile[data-name="`+groupName+`"] form.profile-editor') && document.querySelector('#annonce .alert')`)
	contains(t, "announcement", text(t, spr, "#annonce"), "« "+groupName+" » est créé")
	gid := eval[string](t, spr, `document.querySelector('article.profile[data-name="`+groupName+`"]').dataset.id`)
	if got := eval[string](t, spr, `document.activeElement.id`); got != "ph-"+gid {
		t.Errorf("focus after the creation on %q, want the new group's heading", got)
	}
	ed := readEditor(t, spr, gid)
	if !ed.Name || !ed.Delete || !ed.AutoOn || !ed.AutoMinutes || ed.GrantsEnabled != ed.GrantsInCeiling || ed.GrantsEnabled == 0 || !slices.Equal(ed.Type, []bool{true, true}) {
		t.Errorf("the new group's editor: %+v", ed)
	}
	minutes := "#pa-min-" + gid
	if got := eval[string](t, spr, `document.querySelector('`+minutes+`').value`); got != "30" {
		t.Errorf("default duration = %q minutes, want 30", got)
	}
	contains(t, "duration hint", text(t, spr, "#pa-hint-"+gid), "Les fractions de minute sont permises")

	// 0,15 minute: 9 seconds.
	typeIn(t, spr, minutes, "0,15")
	if got := text(t, spr, "#pa-equiv-"+gid); got != "Soit 9 secondes." {
		t.Errorf("equivalent = %q", got)
	}
	screenshot(t, spr, "profils-groupe")
	click(t, spr, item(gid)+` [data-action="save"]`)
	waitFor(t, spr, `document.querySelector('#annonce').innerText.includes('enregistré')`)
	contains(t, "saved", text(t, spr, "#annonce"), "Déconnexion automatique après 9 secondes d'inactivité")
	sprCookie := tabCookie(t, s, spr)
	var g profileJSON
	if code, e := s.callJSON(t, http.MethodGet, "/groups/"+gid, nil, sprCookie, &g); code != http.StatusOK {
		t.Fatalf("GET /groups/%s: %d %s", gid, code, e.Error.Message)
	}
	if !g.AutoDisconnect.Enabled || g.AutoDisconnect.Seconds != 9 || g.Version != 2 {
		t.Errorf("stored group: %+v", g)
	}

	// A member of the group, created on /utilisateurs.
	click(t, spr, "#nav-utilisateurs a")
	waitPage(t, spr, "/utilisateurs")
	typeIn(t, spr, "#c-login", "veilleur")
	typeIn(t, spr, "#c-name", "Victor Veilleur")
	choose(t, spr, "#c-kind", "staff")
	choose(t, spr, "#c-group", gid)
	click(t, spr, "#creer")
	waitFor(t, spr, `document.querySelector('#c-password code.secret')`)
	screenshot(t, spr, "utilisateurs-creation")
	pw := eval[string](t, spr, `document.querySelector('#c-password code.secret').innerText`)
	if len(pw) < 12 {
		t.Fatalf("generated password %q", pw)
	}
	contains(t, "password box", text(t, spr, "#c-password"), "Il ne sera plus jamais affiché")
	waitFor(t, spr, `document.querySelector('#users tr[data-login="veilleur"]')`)
	contains(t, "new row", text(t, spr, `#users tr[data-login="veilleur"]`), "Victor Veilleur", "Groupe : "+groupName, "actif")
	// Shown once: "J'ai noté" removes it, and nothing shows it again.
	click(t, spr, "#c-password button")
	if eval[bool](t, spr, `!!document.querySelector('code.secret')`) {
		t.Error("the password is still shown")
	}

	// The member signs in, in admin mode, on another computer.
	signIn(t, s, member, uai, "veilleur", pw, "admin", "modify")
	waitHome(t, member)
	signedIn := time.Now()
	if got := text(t, member, "#f-idle"); got != "Déconnexion automatique après 9 secondes d'inactivité" {
		t.Errorf("member's idle = %q: the group's setting, not the default 30 minutes", got)
	}
	waitAgent(t, member)
	res, _ := s.call(t, http.MethodGet, "/session", nil, tabCookie(t, s, member))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("member's session: %d", res.StatusCode)
	}
	waitFor(t, member, dialogOpen)
	warned := time.Since(signedIn)
	contains(t, "dialog", norm(eval[string](t, member, `document.getElementById('sesame-inactivite').innerText`)), "Êtes-vous toujours là ?")
	waitIdleSignIn(t, member, 9)
	out := time.Since(signedIn)
	t.Logf("member warned %v and logged out %v after the home page showed", warned.Round(100*time.Millisecond), out.Round(100*time.Millisecond))
	// Generous bounds: well under the default 30 minutes, and not before
	// the warning.
	if out > 2*time.Minute || out < warned {
		t.Errorf("logged out %v after signing in (warned at %v)", out, warned)
	}

	// A group with members cannot be deleted: the API says why, in French.
	do(t, spr, chromedp.Navigate(s.url+"/profils"))
	waitPage(t, spr, "/profils")
	openEditor(t, spr, gid)
	click(t, spr, item(gid)+` [data-action="delete"]`)
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'confirm-delete'`)
	contains(t, "confirmation", text(t, spr, item(gid)+` .confirm`), "Supprimer « "+groupName+" » ?", "Oui, supprimer", "Annuler")
	click(t, spr, item(gid)+` [data-action="confirm-delete"]`)
	waitFor(t, spr, `document.querySelector('#erreur .alert')`)
	contains(t, "in use", text(t, spr, "#erreur"), "« "+groupName+" » n'a pas été supprimé :", "a encore des membres (veilleur)")
	if got := eval[string](t, spr, `document.querySelector('#erreur .detail').dataset.code`); got != "in_use" {
		t.Errorf("code = %q", got)
	}
}

// TestStaffProfileGrantsReachHome: the SPR unticks an action of the staff
// profile in the grants editor, and a vie scolaire member's home page no
// longer lists it; ticked again, it is back. A save made on a stale
// version is refused in French and the editor reloads.
func TestStaffProfileGrantsReachHome(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addUser(t, "cpe.martin", "staff", "Claire Martin", "")
	browser := newBrowser(t)
	staff := newTab(t, browser)
	spr := newTab(t, browser)

	const slug, label, category = "notes.saisir-appreciations-generales", "Saisir les appréciations générales", "Notes"
	homeLabels := func() []string {
		return eval[[]string](t, staff, `(() => { const g = document.querySelector('#permissions .perm-group[data-category="`+category+`"]');
			return g ? [...g.querySelectorAll('li')].map(li => li.innerText) : []; })()`)
	}
	signIn(t, s, staff, uai, "cpe.martin", userPass, "vie-scolaire", "")
	waitHome(t, staff)
	before := homeLabels()
	if !slices.Contains(before, label) {
		t.Fatalf("the staff member's home page lacks %q under %s: %v", label, category, before)
	}
	if !eval[bool](t, staff, `document.getElementById('administration').hidden && document.getElementById('nav-profils').hidden`) {
		t.Error("a vie scolaire member sees the administration links")
	}

	signIn(t, s, spr, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, spr)
	do(t, spr, chromedp.Navigate(s.url+"/profils"))
	waitPage(t, spr, "/profils")
	openEditor(t, spr, sesame.StaffID)
	ed := readEditor(t, spr, sesame.StaffID)
	if ed.GrantsEnabled != ed.GrantsInCeiling || ed.Outside == 0 || !ed.OutsideSaid || !ed.AutoOn || ed.Delete {
		t.Errorf("Personnels' editor for the SPR: %+v", ed)
	}
	// The catalogue comes as categories: a fieldset with a legend each.
	cats := eval[[]string](t, spr, `[...document.querySelectorAll('`+item(sesame.StaffID)+` fieldset.grant-cat > legend')].map(l => l.firstChild.innerText)`)
	if len(cats) < 10 || !slices.Contains(cats, category) || slices.Contains(cats, "Superviseur") {
		t.Errorf("categories %v", cats)
	}
	// Saisir des notes is outside vie scolaire mode's ceiling.
	if got := eval[string](t, spr, `(() => { const b = document.querySelector('`+grantBox(sesame.StaffID, "notes.saisir-notes")+`');
		return b.disabled + '|' + b.checked + '|' + document.querySelector('label[for="' + b.id + '"]').innerText; })()`); norm(got) != "true|false|Saisir des notes — non permis dans ce mode" {
		t.Errorf("an action outside the ceiling: %q", got)
	}

	save := func(want string) {
		t.Helper()
		do(t, spr, chromedp.Evaluate[chromedp.Void](`document.getElementById('annonce').replaceChildren()`))
		click(t, spr, item(sesame.StaffID)+` [data-action="save"]`)
		waitFor(t, spr, `document.querySelector('#annonce .alert') || document.querySelector('#erreur .alert')`)
		contains(t, "save", text(t, spr, "#annonce"), want)
	}
	click(t, spr, grantBox(sesame.StaffID, slug))
	n := len(before)
	contains(t, "category count", text(t, spr, item(sesame.StaffID)+` fieldset.grant-cat[data-category="`+category+`"] .cat-count`), fmt.Sprintf("%d sur", n-1))
	save("« Personnels » est enregistré")
	screenshot(t, spr, "profils-personnels")

	do(t, staff, chromedp.Reload())
	waitHome(t, staff)
	if after := homeLabels(); slices.Contains(after, label) || len(after) != n-1 {
		t.Errorf("after the untick, the home page lists %v", after)
	}

	click(t, spr, grantBox(sesame.StaffID, slug))
	save("« Personnels » est enregistré")
	do(t, staff, chromedp.Reload())
	waitHome(t, staff)
	if after := homeLabels(); !slices.Contains(after, label) {
		t.Errorf("ticked again, the home page lists %v", after)
	}

	// A new teacher profile, then deleted.
	typeIn(t, spr, "#cp-teacher-name", "Professeurs stagiaires")
	click(t, spr, "#cp-teacher-submit")
	waitFor(t, spr, `document.querySelector('#liste-professeurs article.profile[data-name="Professeurs stagiaires"] form')`)
	pid := eval[string](t, spr, `document.querySelector('#liste-professeurs article.profile[data-name="Professeurs stagiaires"]').dataset.id`)
	if ed := readEditor(t, spr, pid); ed.GrantsEnabled == 0 || ed.Outside == 0 || !ed.OutsideSaid || !ed.Delete || !ed.AutoOn {
		t.Errorf("the new teacher profile's editor: %+v", ed)
	}
	click(t, spr, item(pid)+` [data-action="delete"]`)
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'confirm-delete'`)
	click(t, spr, item(pid)+` [data-action="confirm-delete"]`)
	waitFor(t, spr, `!document.querySelector('`+item(pid)+`') && document.querySelector('#annonce').innerText.includes('supprimé')`)
	if code, _ := s.callJSON(t, http.MethodGet, "/profiles/"+pid, nil, tabCookie(t, s, spr), nil); code != http.StatusNotFound {
		t.Errorf("GET the deleted profile: %d", code)
	}
	if got := eval[string](t, spr, `document.activeElement.id`); got != "h-professeurs" {
		t.Errorf("focus after the deletion on %q", got)
	}

	// A stale version: someone else saved the profile meanwhile.
	var p profileJSON
	cookie := tabCookie(t, s, spr)
	if code, e := s.callJSON(t, http.MethodGet, "/profiles/"+sesame.StaffID, nil, cookie, &p); code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, e.Error.Message)
	}
	other := slices.DeleteFunc(slices.Clone(p.Grants), func(g string) bool { return g == "ressources.reserver-salles-materiels" })
	if code, e := s.callJSON(t, http.MethodPatch, "/profiles/"+sesame.StaffID, map[string]any{"grants": other, "version": p.Version}, cookie, nil); code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", code, e.Error.Message)
	}
	click(t, spr, grantBox(sesame.StaffID, slug))
	click(t, spr, item(sesame.StaffID)+` [data-action="save"]`)
	waitFor(t, spr, `document.querySelector('#erreur .alert')`)
	if got := eval[string](t, spr, `document.querySelector('#erreur .detail').dataset.code`); got != "conflict" {
		t.Errorf("code = %q", got)
	}
	contains(t, "conflict", text(t, spr, "#erreur"), "« Personnels » n'a pas été enregistré :", "a été modifié entre-temps ; rechargez puis recommencez.")
	if eval[string](t, spr, `document.getElementById('erreur').getAttribute('role')`) != "alert" {
		t.Error("the error region is not an alert")
	}
	click(t, spr, `#erreur [data-action="reload"]`)
	waitFor(t, spr, `document.querySelector('#annonce').innerText.includes('rechargé')`)
	if got := eval[string](t, spr, `[document.querySelector('`+grantBox(sesame.StaffID, "ressources.reserver-salles-materiels")+`').checked,
		document.querySelector('`+grantBox(sesame.StaffID, slug)+`').checked].join('|')`); got != "false|true" {
		t.Errorf("after the reload, reserver|appreciations = %q, want the stored false|true", got)
	}
}

// TestStaffProfilesRight: an admin user holding only "Modifier les
// profils d'autorisations des personnels" edits staff profiles' grants,
// but not their automatic disconnection, and sees groups and teacher
// profiles read-only.
func TestStaffProfilesRight(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	spr := s.apiLogin(t, sprLogin, sprPass, "admin", "modify")
	var g profileJSON
	if code, e := s.callJSON(t, http.MethodPost, "/groups", map[string]any{
		"name": "Gestion des profils", "type": "modif", "grants": []string{sesame.ActionEditStaffProfiles},
	}, spr, &g); code != http.StatusCreated {
		t.Fatalf("POST /groups: %d %s", code, e.Error.Message)
	}
	s.addUser(t, "gestion", "staff", "Gaëlle Gestion", g.ID)
	tab := newBrowser(t)

	signIn(t, s, tab, uai, "gestion", userPass, "admin", "modify")
	waitHome(t, tab)
	type links struct{ Users, Profiles, Journal, ENT, NavProfiles, NavENT, Card bool }
	if got := eval[links](t, tab, `(() => { const shown = (id) => !document.getElementById(id).closest('li').hidden;
		return {Users: shown('lien-utilisateurs'), Profiles: shown('lien-profils'), Journal: shown('lien-journal'), ENT: shown('lien-ent'),
			NavProfiles: !document.getElementById('nav-profils').hidden, NavENT: !document.getElementById('nav-ent').hidden,
			Card: !document.getElementById('administration').hidden}; })()`); got != (links{Profiles: true, NavProfiles: true, Card: true}) {
		t.Errorf("home links %+v: only Groupes et profils", got)
	}
	click(t, tab, "#lien-profils")
	waitPage(t, tab, "/profils")
	if !eval[bool](t, tab, `['creer-groupe', 'creer-professeurs', 'creer-personnels'].every(id => document.getElementById(id).hidden)`) {
		t.Error("creation forms shown without spr.utilisateurs")
	}

	openEditor(t, tab, sesame.StaffID)
	staff := readEditor(t, tab, sesame.StaffID)
	if staff.GrantsEnabled == 0 || staff.GrantsEnabled != staff.GrantsInCeiling || staff.AutoOn || staff.AutoMinutes || !staff.Save || staff.Name || staff.Delete {
		t.Errorf("Personnels' editor: %+v: grants editable, the rest not", staff)
	}
	contains(t, "why", staff.AutoWhy, "Seul le superviseur (SPR) modifie la déconnexion automatique.")
	screenshot(t, tab, "profils-droit-personnels")

	for _, id := range []string{sesame.ModificationID, g.ID, sesame.TeachersID} {
		openEditor(t, tab, id)
		ed := readEditor(t, tab, id)
		if ed.GrantsEnabled != 0 || ed.AutoOn || ed.AutoMinutes || ed.Save || ed.Name || ed.Delete || slices.Contains(ed.Type, true) {
			t.Errorf("%s's editor: %+v: nothing editable", id, ed)
		}
		if got := text(t, tab, item(id)+` [data-action="toggle"]`); got != "Fermer" {
			t.Errorf("%s's toggle = %q", id, got)
		}
	}
	if got := eval[[]string](t, tab, `[...document.querySelectorAll('#liste-groupes [data-action="toggle"]')].map(b => b.innerText)`); slices.Contains(got, "Modifier") {
		t.Errorf("group toggles %v: a group is offered for editing", got)
	}

	// The grants save; the server agrees.
	const slug = "ressources.reserver-salles-materiels"
	click(t, tab, grantBox(sesame.StaffID, slug))
	click(t, tab, item(sesame.StaffID)+` [data-action="save"]`)
	waitFor(t, tab, `document.querySelector('#annonce .alert') || document.querySelector('#erreur .alert')`)
	contains(t, "saved", text(t, tab, "#annonce"), "« Personnels » est enregistré")
	var p profileJSON
	if code, e := s.callJSON(t, http.MethodGet, "/profiles/"+sesame.StaffID, nil, spr, &p); code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, e.Error.Message)
	}
	if slices.Contains(p.Grants, slug) || p.AutoDisconnect.Seconds != 1800 || !p.AutoDisconnect.Enabled {
		t.Errorf("stored Personnels: %+v", p)
	}

	// Users are not theirs.
	do(t, tab, chromedp.Navigate(s.url+"/utilisateurs"))
	waitFor(t, tab, `document.querySelector('#erreur .alert')`)
	contains(t, "users page", text(t, tab, "#erreur"), "Cette page est réservée au superviseur (SPR)")
	if !eval[bool](t, tab, `document.getElementById('vue').hidden`) {
		t.Error("the users page shows without the right")
	}
}

// TestJournalAndUsage: the journal lists the sign-ins of the test, newest
// first, filtered and paged; its CSV export holds the same selection with
// formula cells escaped; the seat usage shows the full admin pool and its
// refusal against the licence.
func TestJournalAndUsage(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	for i := 1; i <= 5; i++ {
		s.addUser(t, fmt.Sprintf("admin%d", i), "staff", fmt.Sprintf("Admin Numéro %d", i), "Modification")
	}
	tab := newBrowser(t)

	// A refused sign-in whose login is a spreadsheet formula.
	if code, _ := signInError(t, s, tab, "=1+2", "pas-le-bon", "teacher"); code != "invalid_credentials" {
		t.Fatalf("code = %q", code)
	}
	// The admin pool filled, and one more refused.
	for i := 1; i <= 4; i++ {
		s.apiLogin(t, fmt.Sprintf("admin%d", i), userPass, "admin", "modify")
	}
	if res, e := s.call(t, http.MethodPost, "/login", map[string]string{"school": uai, "login": "admin5", "password": userPass, "mode": "admin", "access": "modify"}, nil); res.StatusCode != http.StatusConflict || e.Error.Code != "seats_exhausted" {
		t.Fatalf("admin5: %d %s", res.StatusCode, e.Error.Code)
	}
	// Enough sign-ins for more than one page.
	for range 50 {
		s.apiLogin(t, "mdurand", userPass, "teacher", "")
	}
	// A student, twice: the student space takes no seat.
	s.addUser(t, "lmartin", "student", "Léa Martin", "")
	for range 2 {
		s.apiLogin(t, "lmartin", userPass, "student", "")
	}

	signIn(t, s, tab, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, tab)
	click(t, tab, "#lien-journal")
	waitPage(t, tab, "/journal")
	waitFor(t, tab, `document.querySelectorAll('#entries tbody tr').length > 0`)
	screenshot(t, tab, "journal")
	contains(t, "retention", text(t, tab, "#conservation"), "Ils sont gardés 183 jours, puis effacés.")

	type entry struct{ At, Event, Actor, Subject string }
	rows := func() []entry {
		return eval[[]entry](t, tab, `[...document.querySelectorAll('#entries tbody tr')].map(tr => ({
			At: tr.querySelector('time').getAttribute('datetime'), Event: tr.dataset.event,
			Actor: tr.cells[2].innerText, Subject: tr.cells[3].innerText}))`)
	}
	first := rows()
	if len(first) != 50 || !eval[bool](t, tab, `!document.getElementById('plus').hidden`) {
		t.Fatalf("%d rows, Plus anciens hidden %v: want a page of 50 and more", len(first), eval[bool](t, tab, `document.getElementById('plus').hidden`))
	}
	if first[0].Event != "login" || first[0].Actor != sprLogin {
		t.Errorf("newest entry %+v, want the SPR's sign-in", first[0])
	}
	click(t, tab, "#plus")
	waitFor(t, tab, `document.querySelectorAll('#entries tbody tr').length > 50`)
	all := rows()
	if !slices.IsSortedFunc(all, func(a, b entry) int { return strings.Compare(b.At, a.At) }) {
		t.Error("the journal is not newest first")
	}
	var logins, admins int
	var refused []entry
	for _, e := range all {
		switch {
		case e.Event == "login" && e.Actor == "mdurand":
			logins++
		case e.Event == "login" && strings.HasPrefix(e.Actor, "admin"):
			admins++
		case e.Event == "login_refused":
			refused = append(refused, e)
		}
	}
	if logins != 50 || admins != 4 || len(refused) != 2 {
		t.Errorf("%d teacher sign-ins, %d admin sign-ins, refusals %v", logins, admins, refused)
	}
	if eval[bool](t, tab, `!document.getElementById('plus').hidden`) {
		t.Error("Plus anciens still offered at the oldest entry")
	}

	// Filters: refused sign-ins only.
	choose(t, tab, "#event", "login_refused")
	click(t, tab, "#afficher")
	waitFor(t, tab, `[...document.querySelectorAll('#entries tbody tr')].every(tr => tr.dataset.event === 'login_refused')`)
	got := rows()
	subjects := []string{got[0].Subject, got[len(got)-1].Subject}
	slices.Sort(subjects)
	// The full pool's refusal, and the hour's summary of wrong passwords
	// (the "=1+2" login among them), which names nobody.
	if len(got) != 2 || !slices.Equal(subjects, []string{"admin5", "—"}) {
		t.Errorf("refused sign-ins %+v", got)
	}
	href := eval[string](t, tab, `document.getElementById('export').getAttribute('href')`)
	if !strings.HasPrefix(href, "/api/v1/journal.csv?") || !strings.Contains(href, "event=login_refused") {
		t.Errorf("export href = %q", href)
	}

	// The export, fetched as the link does, holds the same selection.
	csv, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.getElementById('export').href, {credentials: 'same-origin'}).then(r => {
		if (!r.ok || !r.headers.get('Content-Type').startsWith('text/csv')) throw new Error('export: ' + r.status + ' ' + r.headers.get('Content-Type'));
		return r.text(); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetching the export: %v", err)
	}
	lines := strings.Split(strings.TrimRight(strings.TrimPrefix(csv, "\ufeff"), "\r\n"), "\r\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Date (UTC);Événement;Code;") {
		t.Fatalf("CSV %q", csv)
	}
	for _, l := range lines[1:] {
		cells := strings.Split(l, ";")
		if cells[2] != "login_refused" {
			t.Errorf("CSV row outside the selection: %q", l)
		}
		for _, c := range cells {
			if strings.HasPrefix(c, "=") || strings.HasPrefix(c, `"=`) {
				t.Errorf("CSV cell %q is a formula", c)
			}
		}
		if strings.Contains(l, "=1+2") {
			t.Errorf("an unauthenticated login reached the export: %q", l)
		}
	}

	// By login: mdurand only.
	choose(t, tab, "#event", "")
	typeIn(t, tab, "#login", "MDurand")
	click(t, tab, "#afficher")
	waitFor(t, tab, `[...document.querySelectorAll('#entries tbody tr')].every(tr => tr.cells[2].innerText === 'mdurand' || tr.cells[3].innerText === 'mdurand')`)

	// Seat usage: the admin pool was full, with one refusal; the
	// teachers' had room.
	waitFor(t, tab, `document.querySelector('#days tbody tr[data-pool="admin-modify"]')`)
	screenshot(t, tab, "journal-places")
	type day struct{ Peak, Limit, Refused, SignIns, State string }
	usage := func(pool string) day {
		d := eval[day](t, tab, `(() => { const tr = document.querySelector('#days tbody tr[data-pool="`+pool+`"]');
			return {Peak: tr.cells[2].innerText, Limit: tr.cells[3].innerText, Refused: tr.cells[4].innerText,
				SignIns: tr.cells[5].innerText, State: tr.cells[6].innerText}; })()`)
		d.State = norm(d.State)
		return d
	}
	if got := usage("admin-modify"); got != (day{"4", "4", "1", "0", "1 refus"}) {
		t.Errorf("admin-modify usage %+v", got)
	}
	if got := usage("teacher"); got != (day{"1", "30", "0", "0", "places libres"}) {
		t.Errorf("teacher usage %+v", got)
	}
	if got := usage("student"); got != (day{"0", "sans limite", "0", "2", "sans limite"}) {
		t.Errorf("student usage %+v", got)
	}
	contains(t, "verdict", text(t, tab, `#verdicts [data-pool="student"]`), "2 connexions sur la période, sans place à réserver (sans limite).")
	contains(t, "verdict", text(t, tab, `#verdicts [data-pool="admin-modify"]`), "au plus 4 connexions simultanées pour 4 places.", "1 connexion refusée faute de place, 1 jour complet : la licence est trop juste.")
	contains(t, "verdict", text(t, tab, `#verdicts [data-pool="teacher"]`), "au plus 1 connexion simultanée pour 30 places. La licence suffit.")
}

// TestUsersSearchAndDeactivate: the users page finds a user without her
// accents, pages through many accounts, deactivates a signed-in user,
// whose page is logged out at its next heartbeat, reactivates her, resets
// her password (shown once) and explains a refusal in French.
func TestUsersSearchAndDeactivate(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, stackOptions{timing: testTiming, agent: true})
	s.addUser(t, "hlefevre", "staff", "Hélène Lefèvre", "")
	s.addUser(t, "hmartin", "staff", "Héloïse Martin", "")
	s.addUser(t, "jdupont", "teacher", "Jean Dupont", "")
	for i := 1; i <= 60; i++ {
		s.addUser(t, fmt.Sprintf("eleve%03d", i), "student", fmt.Sprintf("Élève Numéro %d", i), "")
	}
	browser := newBrowser(t)
	spr := newTab(t, browser)
	user := newTab(t, browser)

	signIn(t, s, spr, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, spr)
	click(t, spr, "#lien-utilisateurs")
	waitPage(t, spr, "/utilisateurs")
	shown := func() []string {
		return eval[[]string](t, spr, `[...document.querySelectorAll('#users tbody tr')].map(tr => tr.dataset.login)`)
	}

	// Accents and case do not count; every word must match.
	typeIn(t, spr, "#q", "HELENE lefevre")
	waitFor(t, spr, `document.querySelectorAll('#users tbody tr').length === 1 && document.querySelector('#users tbody tr').dataset.login === 'hlefevre'`)
	contains(t, "result", text(t, spr, "#resultat"), "1 compte pour « HELENE lefevre ».")
	typeIn(t, spr, "#q", "hel")
	click(t, spr, "#chercher")
	waitFor(t, spr, `document.querySelectorAll('#users tbody tr').length === 2`)
	if got := shown(); !slices.Equal(got, []string{"hlefevre", "hmartin"}) {
		t.Errorf("'hel' finds %v", got)
	}
	screenshot(t, spr, "utilisateurs-recherche")

	// Thousands of users: pages of 50.
	typeIn(t, spr, "#q", "")
	choose(t, spr, "#kind", "student")
	waitFor(t, spr, `document.querySelectorAll('#users tbody tr').length === 50 && !document.getElementById('suivant').hidden`)
	page1 := shown()
	click(t, spr, "#suivant")
	waitFor(t, spr, `document.querySelectorAll('#users tbody tr').length === 10`)
	page2 := shown()
	if page1[0] != "eleve001" || page2[0] != "eleve051" || page2[9] != "eleve060" {
		t.Errorf("pages start %s and %s", page1[0], page2[0])
	}
	if !eval[bool](t, spr, `document.getElementById('suivant').hidden && !document.getElementById('precedent').hidden && document.activeElement.id === 'h-liste'`) {
		t.Error("the last page offers Suivant, or no Précédent, or the focus is lost")
	}
	click(t, spr, "#precedent")
	waitFor(t, spr, `document.querySelectorAll('#users tbody tr').length === 50`)

	// Hélène signs in on her computer.
	signIn(t, s, user, uai, "hlefevre", userPass, "vie-scolaire", "")
	waitHome(t, user)
	waitAgent(t, user)

	choose(t, spr, "#kind", "")
	typeIn(t, spr, "#q", "helene")
	waitFor(t, spr, `document.querySelectorAll('#users tbody tr').length === 1`)
	click(t, spr, `#users tr[data-login="hlefevre"] button[data-action="edit"]`)
	waitFor(t, spr, `!document.getElementById('edition').hidden && document.activeElement.id === 'h-edition'`)
	contains(t, "edit", text(t, spr, "#h-edition"), "Modifier le compte de Hélène Lefèvre")
	contains(t, "deactivation note", text(t, spr, "#e-state-note"), "Désactiver le compte ferme aussitôt toutes ses connexions en cours et libère ses places")
	click(t, spr, "#desactiver")
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'confirm'`)
	contains(t, "confirmation", text(t, spr, "#e-state-actions .confirm"), "Désactiver le compte de Hélène Lefèvre et fermer ses connexions ?", "Oui, désactiver", "Annuler")
	screenshot(t, spr, "utilisateurs-desactivation")
	click(t, spr, `#e-state-actions [data-action="confirm"]`)
	deactivated := time.Now()
	waitFor(t, spr, `document.querySelector('#annonce').innerText.includes('désactivé')`)
	contains(t, "announcement", text(t, spr, "#annonce"), "Le compte de Hélène Lefèvre (hlefevre) est désactivé : ses connexions ont été fermées et ses places libérées.")
	waitFor(t, spr, `document.querySelector('#users tr[data-login="hlefevre"]').innerText.includes('désactivé')`)

	// Her page learns it at its next heartbeat.
	waitFor(t, user, `location.pathname === '/' && document.getElementById('raison-message')`)
	t.Logf("the deactivated user's page left %v after the deactivation", time.Since(deactivated).Round(10*time.Millisecond))
	if got := eval[string](t, user, `location.search`); got != "?raison=disconnected" {
		t.Errorf("user sent to %q", got)
	}
	contains(t, "user's message", text(t, user, "#raison-message"), "fermée par l'établissement")
	if code, msg := signInError(t, s, user, "hlefevre", userPass, "vie-scolaire"); code != "account_disabled" {
		t.Errorf("a deactivated account signing in: %q %q", code, msg)
	}

	// Reactivated, with a new password shown once.
	click(t, spr, "#reactiver")
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'confirm'`)
	click(t, spr, `#e-state-actions [data-action="confirm"]`)
	waitFor(t, spr, `document.querySelector('#annonce').innerText.includes('réactivé')`)
	click(t, spr, "#reinitialiser")
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'confirm'`)
	click(t, spr, `#e-password-actions [data-action="confirm"]`)
	waitFor(t, spr, `document.querySelector('#e-password code.secret')`)
	pw := eval[string](t, spr, `document.querySelector('#e-password code.secret').innerText`)
	if res, _ := s.call(t, http.MethodPost, "/login", map[string]string{"school": uai, "login": "hlefevre", "password": userPass, "mode": "vie-scolaire"}, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password still works: %d", res.StatusCode)
	}
	s.apiLogin(t, "hlefevre", pw, "vie-scolaire", "")

	// Rename.
	typeIn(t, spr, "#e-name", "Hélène Lefèvre-Durand")
	click(t, spr, "#enregistrer")
	waitFor(t, spr, `document.querySelector('#users tr[data-login="hlefevre"]') && document.querySelector('#users tr[data-login="hlefevre"]').innerText.includes('Lefèvre-Durand')`)

	// A refusal of the API, in French, in the alert region.
	typeIn(t, spr, "#c-login", "HLefevre")
	typeIn(t, spr, "#c-name", "Homonyme")
	click(t, spr, "#creer")
	waitFor(t, spr, `document.querySelector('#erreur .alert')`)
	contains(t, "refusal", text(t, spr, "#erreur"), "Le compte n'a pas été créé :", "existe déjà")
	if got := eval[string](t, spr, `document.getElementById('c-login').getAttribute('aria-invalid') + '|' + document.activeElement.className`); got != "true|alert alert-error" {
		t.Errorf("aria-invalid|focus = %q", got)
	}
}
