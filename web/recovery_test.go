package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// lastYear is the base recovery reads from.
const lastYear = "2025-2026"

// TestSPRRecoversUsers: the SPR previews, then applies, the recovery of
// last year's users from last year's base; previews one from a file made
// by "Préparer l'année suivante"; and sees a bad file refused in French.
func TestSPRRecoversUsers(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ctx := context.Background()
	s := newStack(t) // this year's base, 2026-2027
	if _, err := s.svc.CreateSchool(ctx, sesame.NewSchool{
		UAI: uai, Name: schoolName, Year: lastYear, SPRPassword: sprPass,
	}); err != nil {
		t.Fatalf("CreateSchool %s: %v", lastYear, err)
	}
	if err := s.svc.UseYear(ctx, uai, year); err != nil {
		t.Fatalf("UseYear: %v", err)
	}
	for _, u := range []struct{ login, kind, name, group string }{
		{"prof.martin", "teacher", "Paul Martin", ""},
		{"secretaire", "staff", "Sophie Leroy", "Modification"},
		{"parent.durand", "parent", "Jeanne Durand", ""},
	} {
		if _, err := s.svc.AddUser(ctx, sesame.NewUser{
			UAI: uai, Year: lastYear, Login: u.login, Kind: u.kind, DisplayName: u.name, AdminGroup: u.group, Password: userPass,
		}); err != nil {
			t.Fatalf("AddUser %s: %v", u.login, err)
		}
	}
	this, err := sesame.ParseBaseKey(uai, year)
	if err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	tab := newTab(t, browser)

	// The SPR of this year finds the page from the home page.
	signIn(t, s, tab, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, tab)
	if eval[bool](t, tab, `document.getElementById('nav-recuperation').hidden`) {
		t.Error("the SPR has no Récupération in the navigation")
	}
	do(t, tab, chromedp.Click(chromedp.ID("spr-recuperation")))
	waitRecovery(t, tab)
	if got := text(t, tab, "h1"); got != "Récupérer les utilisateurs" {
		t.Errorf("h1 = %q", got)
	}
	if got := eval[string](t, tab, `[document.getElementById('src-year').checked, document.getElementById('from-year').value,
		document.getElementById('opt-add').checked, document.getElementById('opt-update').checked].join('|')`); got != "true|2025-2026|true|false" {
		t.Errorf("source|year|add|update = %q", got)
	}
	for id, want := range map[string]string{"dl-zip": "/api/v1/next-year?format=zip", "dl-profils": "/api/v1/next-year?format=profils"} {
		if got := eval[string](t, tab, `document.getElementById('`+id+`').getAttribute('href')`); got != want {
			t.Errorf("%s href = %q, want %q", id, got, want)
		}
	}
	// The brief's words: "Ajouter des utilisateurs", "Mettre à jour des
	// utilisateurs", and "Valider" to apply (the preview keeps "Aperçu").
	if got := eval[string](t, tab, `[...document.querySelectorAll('#options label, #preview, #apply')].map(e => e.textContent.trim()).join('|')`); got != "Ajouter des utilisateurs|Mettre à jour des utilisateurs|Aperçu|Valider" {
		t.Errorf("options|preview|apply = %q", got)
	}
	screenshot(t, tab, "recuperation")

	t.Run("from last year's base", func(t *testing.T) {
		do(t, tab, chromedp.Click(chromedp.ID("preview")))
		waitReport(t, tab, "preview")
		screenshot(t, tab, "recuperation-apercu")
		counts := reportCounts(t, tab)
		if counts != "3|0|0|0|1" {
			t.Errorf("added|updated|unchanged|skipped|rejected = %q, want 3|0|0|0|1", counts)
		}
		// Last year's SPR is never taken: the new base has its own.
		contains(t, "rejected", text(t, tab, `#rejected li[data-login="spr"][data-code="protected"]`),
			"spr : Le superviseur (SPR) de l'année précédente n'est pas repris")
		logins := eval[[]string](t, tab, `[...document.querySelectorAll('#to-add li')].map(li => li.dataset.login).sort()`)
		if strings.Join(logins, ",") != "parent.durand,prof.martin,secretaire" {
			t.Errorf("logins to add = %q", logins)
		}
		contains(t, "summary", text(t, tab, "#resume"), "Depuis la base 2025-2026 : 3 utilisateurs à ajouter, 0 à mettre à jour, 0 inchangé, 0 ignoré, 1 rejeté.", "Rien n'est encore modifié.")
		if got := eval[string](t, tab, `document.activeElement.id`); got != "h-rapport" {
			t.Errorf("focus after the preview on %q", got)
		}
		if _, err := s.svc.Store.GetUser(ctx, this, "prof.martin"); err == nil {
			t.Fatal("the preview added a user")
		}

		do(t, tab, chromedp.Click(chromedp.ID("apply")))
		waitReport(t, tab, "applied")
		screenshot(t, tab, "recuperation-appliquee")
		if got := text(t, tab, "#h-rapport"); got != "Récupération appliquée" {
			t.Errorf("heading = %q", got)
		}
		contains(t, "applied", text(t, tab, "#resume"), "Récupération appliquée : 3 utilisateurs ajoutés")
		if !eval[bool](t, tab, `document.getElementById('apply').hidden`) {
			t.Error("Valider still offered after the apply")
		}

		for _, login := range []string{"prof.martin", "secretaire", "parent.durand"} {
			u, err := s.svc.Store.GetUser(ctx, this, login)
			if err != nil {
				t.Errorf("%s in %s: %v", login, year, err)
				continue
			}
			if login == "secretaire" && !strings.EqualFold(u.AdminGroup, "Modification") {
				t.Errorf("secretaire's group = %q", u.AdminGroup)
			}
		}
		if _, err := s.svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.martin", Password: userPass, Mode: "teacher"}); err != nil {
			t.Errorf("prof.martin signs in this year with last year's password: %v", err)
		}
	})

	t.Run("from a file, update only", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "rentree-"+uai+"-"+lastYear+".zip")
		if err := os.WriteFile(file, nextYearFile(t, s, "zip"), 0o600); err != nil {
			t.Fatal(err)
		}
		do(t, tab, chromedp.Reload())
		waitRecovery(t, tab)
		do(t, tab,
			chromedp.Click(chromedp.ID("src-file")),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
			chromedp.Click(chromedp.ID("opt-add")),
			chromedp.Click(chromedp.ID("opt-update")),
			chromedp.Click(chromedp.ID("preview")))
		waitReport(t, tab, "preview")
		screenshot(t, tab, "recuperation-fichier")
		if counts := reportCounts(t, tab); counts != "0|0|3|0|1" {
			t.Errorf("added|updated|unchanged|skipped|rejected = %q, want 0|0|3|0|1", counts)
		}
		contains(t, "summary", text(t, tab, "#resume"), "Depuis le fichier de l'année 2025-2026 : 0 utilisateur à ajouter, 0 à mettre à jour, 3 inchangés")
		if !eval[bool](t, tab, `document.getElementById('apply').hidden && !!document.getElementById('rien')`) {
			t.Error("nothing to apply, yet Valider is offered")
		}
	})

	t.Run("refusals", func(t *testing.T) {
		do(t, tab, chromedp.Reload())
		waitRecovery(t, tab)

		// No option: said before anything is sent.
		do(t, tab, chromedp.Click(chromedp.ID("opt-add")), chromedp.Click(chromedp.ID("preview")))
		waitFor(t, tab, `document.querySelector('#erreur .alert')`)
		contains(t, "no option", text(t, tab, "#erreur"), "Choisissez « Ajouter des utilisateurs » et/ou « Mettre à jour des utilisateurs ».")
		if got := eval[string](t, tab, `document.getElementById('options').getAttribute('aria-invalid') + '|' + document.activeElement.className`); got != "true|alert alert-error" {
			t.Errorf("aria-invalid|focus = %q", got)
		}

		// A file that is not a rentrée file.
		bad := filepath.Join(t.TempDir(), "pas-un-zip.zip")
		if err := os.WriteFile(bad, []byte("ceci n'est pas un zip"), 0o600); err != nil {
			t.Fatal(err)
		}
		do(t, tab,
			chromedp.Click(chromedp.ID("opt-add")),
			chromedp.Click(chromedp.ID("src-file")),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{bad}),
			chromedp.Click(chromedp.ID("preview")))
		waitFor(t, tab, `document.getElementById('refus')`)
		screenshot(t, tab, "recuperation-refus")
		msg := text(t, tab, "#erreur")
		contains(t, "refusal", msg, "Le fichier est refusé : rien n'a été modifié.")
		if detail := text(t, tab, "#refus"); detail == "" {
			t.Error("the refusal has no explanation")
		}
		if got := eval[string](t, tab, `document.activeElement.className + '|' + document.getElementById('file').getAttribute('aria-invalid')`); got != "alert alert-error|true" {
			t.Errorf("focus|aria-invalid = %q", got)
		}
		if !eval[bool](t, tab, `document.getElementById('rapport').hidden`) {
			t.Error("a report shows beside the refusal")
		}
	})

	t.Run("stale preview", func(t *testing.T) {
		rename := func(login, name string) {
			t.Helper()
			u, err := s.svc.Store.GetUser(ctx, this, login)
			if err != nil {
				t.Fatal(err)
			}
			u.DisplayName = name
			if _, err := s.svc.Store.UpdateUser(ctx, this, u); err != nil {
				t.Fatal(err)
			}
		}
		rename("prof.martin", "Changé cette année")
		do(t, tab, chromedp.Reload())
		waitRecovery(t, tab)
		do(t, tab, chromedp.Click(chromedp.ID("opt-update")), chromedp.Click(chromedp.ID("preview")))
		waitReport(t, tab, "preview")
		if counts := reportCounts(t, tab); counts != "0|1|2|0|1" {
			t.Errorf("added|updated|unchanged|skipped|rejected = %q, want 0|1|2|0|1", counts)
		}
		contains(t, "to update", text(t, tab, `#to-update li[data-login="prof.martin"]`), "prof.martin — nom")

		rename("parent.durand", "Changé entre-temps") // the base changes after the preview
		do(t, tab, chromedp.Click(chromedp.ID("apply")))
		waitFor(t, tab, `document.getElementById('redo')`)
		screenshot(t, tab, "recuperation-perime")
		contains(t, "stale", text(t, tab, "#erreur"), "La base a changé depuis l'aperçu : relancez l'aperçu avant d'appliquer.", "Refaire l'aperçu")
		if !eval[bool](t, tab, `document.getElementById('apply').hidden && document.activeElement.classList.contains('alert')`) {
			t.Error("Valider still offered, or the message not focused, after plan_stale")
		}
		do(t, tab, chromedp.Click(chromedp.ID("redo")))
		waitFor(t, tab, `!document.getElementById('redo') && !document.getElementById('apply').hidden`)
		waitReport(t, tab, "preview")
		if counts := reportCounts(t, tab); counts != "0|2|1|0|1" {
			t.Errorf("after the new preview: added|updated|unchanged|skipped|rejected = %q, want 0|2|1|0|1", counts)
		}
		do(t, tab, chromedp.Click(chromedp.ID("apply")))
		waitReport(t, tab, "applied")
		contains(t, "applied", text(t, tab, "#resume"), "Récupération appliquée : 0 utilisateur ajouté, 2 mis à jour")
		if u, err := s.svc.Store.GetUser(ctx, this, "prof.martin"); err != nil || u.DisplayName != "Paul Martin" {
			t.Errorf("prof.martin after the update: %q %v", u.DisplayName, err)
		}
	})

	t.Run("a teacher is refused", func(t *testing.T) {
		teacher := newTab(t, browser)
		signIn(t, s, teacher, uai, "prof.martin", userPass, "teacher", "")
		waitHome(t, teacher)
		if !eval[bool](t, teacher, `document.getElementById('nav-recuperation').hidden && document.getElementById('spr').hidden`) {
			t.Error("a teacher sees the link to Récupération")
		}
		do(t, teacher, chromedp.Navigate(s.url+"/recuperation"))
		waitFor(t, teacher, `document.querySelector('#erreur .alert')`)
		contains(t, "teacher", text(t, teacher, "#erreur"), "Cette page est réservée au superviseur (SPR)", "Revenir à l'accueil")
		if !eval[bool](t, teacher, `document.getElementById('vue').hidden`) {
			t.Error("a teacher sees the form")
		}
	})
	t.Logf("recovery pages tested in %v", time.Since(start).Round(time.Millisecond))
}

func waitRecovery(t *testing.T, tab context.Context) {
	t.Helper()
	waitFor(t, tab, `location.pathname === '/recuperation' && !document.getElementById('vue').hidden`)
}

// waitReport waits for the report, "preview" or "applied".
func waitReport(t *testing.T, tab context.Context, state string) {
	t.Helper()
	waitFor(t, tab, `!document.getElementById('rapport').hidden && document.getElementById('rapport').dataset.state === `+jsString(state)+
		` && !document.getElementById('preview').disabled && !document.getElementById('apply').disabled`)
}

// reportCounts returns the report's counts: added|updated|unchanged|skipped|rejected.
func reportCounts(t *testing.T, tab context.Context) string {
	t.Helper()
	return eval[string](t, tab, `['added', 'updated', 'unchanged', 'skipped', 'rejected'].map(k => document.getElementById('n-' + k).innerText).join('|')`)
}

// nextYearFile downloads "Préparer l'année suivante" of last year's base,
// as its SPR, with a plain client.
func nextYearFile(t *testing.T, s *stack, format string) []byte {
	t.Helper()
	res, e := s.call(t, http.MethodPost, "/login", map[string]string{
		"school": uai, "login": sprLogin, "password": sprPass, "mode": "admin", "access": "modify", "year": lastYear,
	}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("SPR of %s: %d %s: %s", lastYear, res.StatusCode, e.Error.Code, e.Error.Message)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == httpapi.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	req, err := http.NewRequest(http.MethodGet, s.url+"/api/v1/next-year?format="+format, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", s.url)
	req.AddCookie(cookie)
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	b, err := io.ReadAll(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "PK\x03\x04") {
		t.Fatalf("next-year %s: %d %.200q", format, got.StatusCode, b)
	}
	return b
}
