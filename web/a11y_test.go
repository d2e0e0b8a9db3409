package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/testenv"
	"github.com/sesame-ecole/sesame/web/internal/axe"
)

// The accessibility audit: axe-core (pinned, web/internal/axe) runs in
// each page, in each state a person meets, with the rules of WCAG 2.1 A
// and AA, which RGAA 4 follows. Target: no violation of impact serious or
// critical.

// axeDisabled lists the axe rules the audit leaves out, each with its
// reason. Keep it empty unless a rule cannot apply to these pages.
var axeDisabled = map[string]string{}

var axeScript struct {
	once sync.Once
	src  string
	err  error
}

// loadAxe returns axe.min.js, installed into the cache on first use.
func loadAxe(t *testing.T) string {
	t.Helper()
	axeScript.once.Do(func() {
		b, err := axe.Script(context.Background())
		axeScript.src, axeScript.err = string(b), err
	})
	testenv.Require(t, "axe-core "+axe.Version, axeScript.err)
	return axeScript.src
}

// axeViolation is one failed rule of axe-core, with where it fails.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		Target         []any
		FailureSummary string
	}
}

// axeRun runs axe-core in the tab as it is now and returns its
// violations. axe is injected through the DevTools protocol, which the
// page's Content-Security-Policy does not govern; the page keeps its CSP.
func axeRun(t *testing.T, tab context.Context) []axeViolation {
	t.Helper()
	src := loadAxe(t)
	if !eval[bool](t, tab, `typeof window.axe === 'object'`) {
		do(t, tab, chromedp.Evaluate[chromedp.Void](src))
	}
	disabled, _ := json.Marshal(axeDisabled)
	expr := `(async () => {
		const rules = {};
		for (const id of Object.keys(` + string(disabled) + `)) rules[id] = { enabled: false };
		const r = await axe.run(document, {
			runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
			rules, resultTypes: ['violations'],
		});
		return r.violations.map(v => ({ ID: v.id, Impact: v.impact || '', Help: v.help,
			Nodes: v.nodes.map(n => ({ Target: n.target, FailureSummary: n.failureSummary })) }));
	})()`
	vs, err := chromedp.Run(tab, chromedp.Evaluate[[]axeViolation](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	return vs
}

// audit runs axe-core in the tab (the state is named for the report) and
// fails the test for each violation of impact serious or critical.
func audit(t *testing.T, tab context.Context, state string) {
	t.Helper()
	for _, v := range axeRun(t, tab) {
		if v.Impact != "serious" && v.Impact != "critical" {
			t.Logf("%s: axe %s (%s, tolerated): %s", state, v.ID, v.Impact, v.Help)
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			b, _ := json.Marshal(n.Target)
			where = append(where, string(b)+" — "+strings.ReplaceAll(n.FailureSummary, "\n", " "))
		}
		t.Errorf("%s: axe %s (%s): %s\n\t%s", state, v.ID, v.Impact, v.Help, strings.Join(where, "\n\t"))
	}
}

// TestAccessibilityAudit walks the pages as the SPR and a teacher meet
// them, and audits each state.
func TestAccessibilityAudit(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	s.addUser(t, "secretaire", "staff", "Sophie Leroy", "Modification")
	tab := newBrowser(t)
	loadAxe(t)

	// The audit sees what it must: a field without a label, and text
	// too pale to read, added to the sign-in page for a moment.
	do(t, tab, chromedp.Navigate(s.url+"/"))
	waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
	do(t, tab, chromedp.Evaluate[chromedp.Void](`(() => { const p = document.createElement('p'); p.id = 'pale';
		p.style.color = '#ddd'; p.textContent = 'Texte pâle'; const i = document.createElement('input'); i.id = 'nolabel';
		document.querySelector('main').append(p, i); })()`))
	found := map[string]bool{}
	for _, v := range axeRun(t, tab) {
		found[v.ID+"/"+v.Impact] = true
	}
	if !found["label/critical"] || !found["color-contrast/serious"] {
		t.Fatalf("axe missed a planted label/critical or color-contrast/serious violation: %v", found)
	}

	// The sign-in page: empty, with a refusal, and with the reason of an
	// automatic disconnection.
	do(t, tab, chromedp.Navigate(s.url+"/"))
	waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
	audit(t, tab, "sign-in")
	signInError(t, s, tab, "mdurand", "mauvais-mot-de-passe", "teacher")
	audit(t, tab, "sign-in, refused")
	do(t, tab, chromedp.Navigate(s.url+"/?raison=idle_timeout&duree=1800"))
	waitFor(t, tab, `document.getElementById('raison-message')`)
	audit(t, tab, "sign-in, after an automatic disconnection")

	// A teacher's home page.
	signIn(t, s, tab, uai, "mdurand", userPass, "teacher", "")
	waitHome(t, tab)
	audit(t, tab, "home, teacher")
	do(t, tab, chromedp.Click(chromedp.ID("logout")))
	waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
	audit(t, tab, "sign-in, logged out")

	// The SPR's home and administration pages.
	signIn(t, s, tab, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, tab)
	audit(t, tab, "home, SPR")

	t.Run("Connexions", func(t *testing.T) {
		s.apiLogin(t, "mdurand", userPass, "teacher", "")
		do(t, tab, chromedp.Navigate(s.url+"/connexions"))
		waitPage(t, tab, "/connexions")
		waitFor(t, tab, `document.querySelector('#connections tbody [data-action="disconnect"]')`)
		audit(t, tab, "connexions")
		// A forced disconnection, to confirm.
		click(t, tab, `#connections tbody [data-action="disconnect"]`)
		waitFor(t, tab, `document.querySelector('#connections [data-action="confirm"]')`)
		audit(t, tab, "connexions, disconnection to confirm")
	})

	t.Run("Utilisateurs", func(t *testing.T) {
		do(t, tab, chromedp.Navigate(s.url+"/utilisateurs"))
		waitPage(t, tab, "/utilisateurs")
		waitFor(t, tab, `document.querySelector('#users tr[data-login="mdurand"]')`)
		audit(t, tab, "utilisateurs")
		// The creation form, refused: the login is taken.
		typeIn(t, tab, "#c-login", "mdurand")
		typeIn(t, tab, "#c-name", "Marie Durand")
		choose(t, tab, "#c-kind", "teacher")
		click(t, tab, "#creer")
		waitFor(t, tab, `document.querySelector('#erreur .alert')`)
		audit(t, tab, "utilisateurs, creation refused")
		// The creation form, with invalid fields marked.
		typeIn(t, tab, "#c-login", "")
		typeIn(t, tab, "#c-name", "")
		click(t, tab, "#creer")
		waitFor(t, tab, `document.querySelector('#creation-card [aria-invalid="true"]')`)
		audit(t, tab, "utilisateurs, creation form invalid")
		// The edition form, open.
		click(t, tab, `#users tr[data-login="mdurand"] button[data-action="edit"]`)
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
		audit(t, tab, "utilisateurs, edition")
	})

	t.Run("Groupes et profils", func(t *testing.T) {
		do(t, tab, chromedp.Navigate(s.url+"/profils"))
		waitPage(t, tab, "/profils")
		audit(t, tab, "profils")
		openEditor(t, tab, sesame.AdministrationID)
		openEditor(t, tab, sesame.StaffID)
		audit(t, tab, "profils, editors open")
		// A refusal: a duration out of bounds.
		typeIn(t, tab, "#pa-min-"+sesame.StaffID, "0")
		click(t, tab, item(sesame.StaffID)+` [data-action="save"]`)
		waitFor(t, tab, `!document.getElementById('pa-err-`+sesame.StaffID+`').hidden || document.querySelector('#erreur .alert')`)
		audit(t, tab, "profils, duration refused")
		// A refusal from the API: a group with members is not deleted.
		gid := "modification"
		openEditor(t, tab, gid)
		click(t, tab, item(gid)+` [data-action="delete"]`)
		waitFor(t, tab, `document.activeElement && document.activeElement.dataset.action === 'confirm-delete'`)
		audit(t, tab, "profils, deletion to confirm")
		click(t, tab, item(gid)+` [data-action="confirm-delete"]`)
		waitFor(t, tab, `document.querySelector('#erreur .alert')`)
		audit(t, tab, "profils, deletion refused")
	})

	t.Run("Journal", func(t *testing.T) {
		do(t, tab, chromedp.Navigate(s.url+"/journal"))
		waitPage(t, tab, "/journal")
		waitFor(t, tab, `document.querySelector('#journal tbody tr')`)
		audit(t, tab, "journal")
		// A refusal: the end before the start.
		do(t, tab, chromedp.Evaluate[chromedp.Void](`document.getElementById('from').value = '2026-06-10';
			document.getElementById('to').value = '2026-06-01'`))
		click(t, tab, "#afficher")
		waitFor(t, tab, `document.querySelector('#erreur .alert')`)
		audit(t, tab, "journal, dates refused")
	})

	t.Run("Récupérer les utilisateurs", func(t *testing.T) {
		do(t, tab, chromedp.Navigate(s.url+"/recuperation"))
		waitRecovery(t, tab)
		audit(t, tab, "recuperation")
		// A refusal: no option chosen.
		click(t, tab, "#opt-add")
		click(t, tab, "#preview")
		waitFor(t, tab, `document.querySelector('#erreur .alert')`)
		audit(t, tab, "recuperation, no option")
		// A refusal from the API: there is no base of last year.
		click(t, tab, "#opt-add")
		click(t, tab, "#preview")
		waitFor(t, tab, `document.querySelector('#erreur .alert') && !document.getElementById('preview').disabled`)
		audit(t, tab, "recuperation, refused")
		// The preview of a recovery from last year's base.
		ctx := context.Background()
		if _, err := s.svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: schoolName, Year: lastYear, SPRPassword: sprPass}); err != nil {
			t.Fatal(err)
		}
		if err := s.svc.UseYear(ctx, uai, year); err != nil {
			t.Fatal(err)
		}
		click(t, tab, "#preview")
		waitReport(t, tab, "preview")
		audit(t, tab, "recuperation, preview")
	})

	t.Run("Connexion via l'ENT", func(t *testing.T) {
		do(t, tab, chromedp.Navigate(s.url+"/ent"))
		waitPage(t, tab, "/ent")
		audit(t, tab, "ent, no provider")
		click(t, tab, "#ajouter")
		waitFor(t, tab, `!document.getElementById('edition').hidden`)
		audit(t, tab, "ent, form")
		// A refusal from the API, beside the form: nothing typed.
		click(t, tab, "#enregistrer")
		waitFor(t, tab, `document.querySelector('#form-erreur .alert')`)
		audit(t, tab, "ent, refused")
		// The OpenID Connect settings, then a provider in the list.
		click(t, tab, "#p-protocol-oidc")
		audit(t, tab, "ent, form, OpenID Connect")
		click(t, tab, "#p-protocol-saml")
		audit(t, tab, "ent, form, SAML")
		addCAS(t, tab, "ent", "ENT du collège")
		audit(t, tab, "ent, one provider")
		click(t, tab, `#providers tr[data-id="ent"] [data-action="delete"]`)
		waitFor(t, tab, `document.querySelector('#providers [data-action="confirm-delete"]')`)
		audit(t, tab, "ent, deletion to confirm")
		keys(t, tab, kb.Escape)
		waitFor(t, tab, `!document.querySelector('#providers [data-action="confirm-delete"]')`)
	})

	// The same pages in the dark colour scheme that a person's system
	// may ask for (sesame.css follows prefers-color-scheme).
	t.Run("dark", func(t *testing.T) {
		if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/accueil", "/connexions", "/utilisateurs", "/profils", "/journal", "/recuperation", "/ent"} {
			do(t, tab, chromedp.Navigate(s.url+path))
			waitPage(t, tab, path)
			if !eval[bool](t, tab, `matchMedia('(prefers-color-scheme: dark)').matches`) {
				t.Fatal("the dark scheme is not emulated")
			}
			audit(t, tab, path+", dark")
			if path == "/profils" {
				openEditor(t, tab, sesame.StaffID)
				audit(t, tab, "profils, editor open, dark")
			}
			if path == "/ent" {
				click(t, tab, `#providers tr[data-id="ent"] [data-action="edit"]`)
				waitFor(t, tab, `!document.getElementById('edition').hidden`)
				audit(t, tab, "ent, form open, dark")
			}
		}
		click(t, tab, "#logout")
		waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
		audit(t, tab, "sign-in, logged out, dark")
		signInError(t, s, tab, "mdurand", "mauvais-mot-de-passe", "teacher")
		audit(t, tab, "sign-in, refused, dark")
	})
}

// TestTopBarOneLine: at 1280 pixels wide, the SPR's top bar (the brand,
// the school, the seven links of the full navigation and Se déconnecter)
// holds on one line, on each page, even with a long school name, which
// is cut short (and whole in its title).
func TestTopBarOneLine(t *testing.T) {
	t.Parallel()
	const long = "Lycée polyvalent régional Jean-Baptiste de La Salle"
	s := newStackWith(t, stackOptions{name: long})
	tab := newBrowser(t) // 1280 × 900
	signIn(t, s, tab, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, tab)
	if w := eval[int](t, tab, `document.documentElement.clientWidth`); w > 1280 || w < 1200 {
		t.Fatalf("viewport %d px wide, want about 1280", w)
	}
	type box struct {
		Name          string
		Top, Bottom   float64
		Lines, Hidden int
	}
	for _, path := range []string{"/accueil", "/connexions", "/utilisateurs", "/profils", "/journal", "/recuperation", "/ent"} {
		do(t, tab, chromedp.Navigate(s.url+path))
		waitPage(t, tab, path)
		boxes := eval[[]box](t, tab, `(() => {
			const bar = document.querySelector('.topbar-inner');
			const items = [bar.querySelector('.brand'), bar.querySelector('.topbar-school'),
				...bar.querySelectorAll('nav li'), bar.querySelector('#logout')];
			return items.map(e => { const r = e.getBoundingClientRect();
				// The lines its text takes: the distinct tops of its text's boxes.
				const tops = new Set();
				const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
				for (let n = walk.nextNode(); n; n = walk.nextNode()) {
					const rg = document.createRange(); rg.selectNodeContents(n);
					for (const x of rg.getClientRects()) if (x.width > 0) tops.add(Math.round(x.top));
				}
				return { Name: e.innerText.trim() || e.id || e.className, Top: r.top, Bottom: r.bottom,
					Lines: tops.size, Hidden: e.hidden ? 1 : 0 }; });
		})()`)
		if len(boxes) != 10 {
			t.Fatalf("%s: %d items in the top bar, want 10", path, len(boxes))
		}
		var names []string
		for _, b := range boxes {
			names = append(names, b.Name)
			if b.Hidden != 0 {
				t.Errorf("%s: %q hidden from the SPR", path, b.Name)
			}
		}
		for _, b := range boxes[1:] {
			// One line: every item's box overlaps the brand's vertically.
			if b.Top >= boxes[0].Bottom || b.Bottom <= boxes[0].Top || b.Lines > 1 {
				t.Errorf("%s: %q (%.0f–%.0f px, %d lines) is not on the brand's line (%.0f–%.0f px)", path, b.Name, b.Top, b.Bottom, b.Lines, boxes[0].Top, boxes[0].Bottom)
			}
		}
		if got := eval[string](t, tab, `document.getElementById('topbar-school').title`); !strings.HasPrefix(got, long) {
			t.Errorf("%s: the school's title is %q, want its whole name", path, got)
		}
		if path == "/accueil" {
			screenshot(t, tab, "barre-1280")
			t.Logf("top bar: %s", strings.Join(names, " | "))
		}
	}
}
