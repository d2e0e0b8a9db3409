package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/password"
	"github.com/sesame-ecole/sesame/infra/ssoweb"
	"github.com/sesame-ecole/sesame/infra/testenv"
	"github.com/sesame-ecole/sesame/infra/uploads"
	"github.com/sesame-ecole/sesame/web"
)

// The school of every test, and its passwords.
const (
	uai        = "0751234A"
	schoolName = "Collège Jean Moulin"
	year       = "2026-2027"
	sprLogin   = "spr"
	sprPass    = "superviseur-2026"
	userPass   = "motdepasse-2026"
)

// screenshotsEnv names a directory where the browser tests save a
// screenshot of each page, to look at the layout. Unset: no screenshot.
const screenshotsEnv = "SESAME_WEB_SCREENSHOTS"

// stack is the real product in-process: a bbolt store, the service, the
// API under /api/v1/ and the pages under /.
type stack struct {
	url string
	svc *sesame.Service
	// site is the site's address as the browser reaches it, when it is not
	// url: the hosted deployment over HTTPS (stackOptions.https).
	site string
}

// browserURL is the site's address for the browser.
func (s *stack) browserURL() string {
	if s.site != "" {
		return s.site
	}
	return s.url
}

// shiftClock is the system clock moved forward by a duration the test
// sets, to make time pass for the server.
type shiftClock struct{ by atomic.Int64 }

func (c *shiftClock) Now() time.Time { return time.Now().UTC().Add(time.Duration(c.by.Load())) }

func newStack(t *testing.T) *stack { return newStackWith(t, stackOptions{}) }

func newStackWithClock(t *testing.T, clock sesame.Clock) *stack {
	return newStackWith(t, stackOptions{clock: clock})
}

// stackOptions tune newStackWith; the zero value is the product's
// defaults without the browser agent.
type stackOptions struct {
	clock  sesame.Clock  // sesame.SystemClock{} when nil
	timing sesame.Timing // sesame.DefaultTiming when zero
	// minIdle is the shortest automatic disconnection an edit may set
	// (Service.MinIdle; a minute when 0).
	minIdle time.Duration
	// agent serves the browser agent, built once for the test binary.
	agent bool
	// name is the school's name (schoolName when empty).
	name string
	// hashing is the service's hashing gate (the default one when nil).
	hashing *sesame.HashGate
	// wrap, when set, stands in front of the API (a test that watches the
	// heartbeats: agentStack.watch).
	wrap func(http.Handler) http.Handler
	// https has the browser reach the hosted deployment over HTTPS, as
	// through CloudFront (viewerTLS), where the functions tell someone
	// else the site's address (an identity provider's redirect: the
	// functions always say https). Without it, or on `sesame serve`,
	// the browser uses plain HTTP.
	https bool
}

func newStackWith(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if o.clock == nil {
		o.clock = sesame.SystemClock{}
	}
	if o.timing == (sesame.Timing{}) {
		o.timing = sesame.DefaultTiming
	}
	if o.name == "" {
		o.name = schoolName
	}
	if onHosted(t) {
		return newHostedStack(t, o)
	}
	pages := web.Handler()
	if o.agent {
		pages = web.New(web.Options{Agent: agentBuild(t)})
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "sesame.db"), bolt.WithNoSync())
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := &sesame.Service{
		Store:   st,
		Hasher:  password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}),
		Clock:   o.clock,
		Timing:  o.timing,
		MinIdle: o.minIdle,
		Hashing: o.hashing,
	}
	up, err := uploads.NewDir(t.TempDir(), 64<<20)
	if err != nil {
		t.Fatalf("uploads.NewDir: %v", err)
	}
	var api http.Handler = httpapi.New(httpapi.Config{Service: svc, Uploads: up, Federation: ssoweb.New(nil)})
	if o.wrap != nil {
		api = o.wrap(api)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api)
	mux.Handle("/", pages)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if _, err := svc.CreateSchool(context.Background(), sesame.NewSchool{
		UAI: uai, Name: o.name, Year: year, SPRPassword: sprPass,
	}); err != nil {
		t.Fatalf("CreateSchool: %v", err)
	}
	return &stack{url: srv.URL, svc: svc}
}

// addUser creates an account with userPass; group names an admin group.
func (s *stack) addUser(t *testing.T, login, kind, name, group string) {
	t.Helper()
	if _, err := s.svc.AddUser(context.Background(), sesame.NewUser{
		UAI: uai, Year: year, Login: login, Kind: kind, DisplayName: name, AdminGroup: group, Password: userPass,
	}); err != nil {
		t.Fatalf("AddUser %s: %v", login, err)
	}
}

// apiError is the error body of the API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	} `json:"error"`
}

// call sends one request to the API as a browser of the site would, with
// a plain client: the site's Origin, JSON, and the cookie if any. A
// successful answer is decoded into out when out is not nil.
func (s *stack) call(t *testing.T, method, path string, body any, cookie *http.Cookie, out ...any) (*http.Response, apiError) {
	t.Helper()
	rd := strings.NewReader("")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, s.url+"/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", s.url)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var e apiError
	if res.StatusCode >= 400 {
		if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
			t.Fatalf("%s %s: %d with an unreadable body: %v", method, path, res.StatusCode, err)
		}
		return res, e
	}
	if len(out) > 0 && out[0] != nil && res.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(res.Body).Decode(out[0]); err != nil {
			t.Fatalf("%s %s: %d, answer unreadable: %v", method, path, res.StatusCode, err)
		}
	}
	return res, e
}

// apiLogin signs in through the API and returns the session cookie.
func (s *stack) apiLogin(t *testing.T, login, pass, mode, access string) *http.Cookie {
	t.Helper()
	res, e := s.call(t, http.MethodPost, "/login", map[string]string{
		"school": uai, "login": login, "password": pass, "mode": mode, "access": access,
	}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s: %s", login, res.StatusCode, e.Error.Code, e.Error.Message)
	}
	for _, c := range res.Cookies() {
		if c.Name == httpapi.SessionCookie {
			return c
		}
	}
	t.Fatalf("login %s: no session cookie", login)
	return nil
}

// ---- The browser ----

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts one headless Chromium for the test and returns its
// first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	_, err := os.Stat(chromiumPath)
	if err == nil {
		_, err = exec.LookPath(chromiumPath)
	}
	testenv.Require(t, "Chromium", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "fr-FR"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// the viewers' TLS (viewerTLS), and nothing else
		chromedp.Flag("ignore-certificate-errors-spki-list", viewerCertSPKI()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		testenv.Require(t, "Chromium", fmt.Errorf("start: %w", err))
	}
	watchConsole(t, ctx)
	return ctx
}

// newTab opens another tab of the browser with its own cookies and
// storage, as a second computer would have.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	watchConsole(t, ctx)
	return ctx
}

// watchConsole fails the test on an uncaught exception or a refusal of
// the Content-Security-Policy in the tab, on any page but those of an
// origin the test said was not Sésame's (ignoreConsoleOf).
func watchConsole(t *testing.T, tab context.Context) {
	t.Helper()
	bad := consoleLog(tab, func(m chromedp.ConsoleMessage) bool {
		return (m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to")) &&
			!foreignPage(m.URL)
	})
	t.Cleanup(func() {
		for _, b := range bad() {
			t.Errorf("browser console: %s", b)
		}
	})
}

// foreignOrigins holds the origins of the pages that are not Sésame's
// while a test runs (an identity provider's own pages, with their own
// scripts): see ignoreConsoleOf.
var foreignOrigins sync.Map

// ignoreConsoleOf makes watchConsole ignore the messages of the pages of
// origin (scheme://host:port) until the test ends. Each origin belongs to
// one server of one test (a port is not given twice while it listens), so
// the messages of Sésame's pages are always watched.
func ignoreConsoleOf(t *testing.T, origin string) {
	t.Helper()
	foreignOrigins.Store(origin, true)
	t.Cleanup(func() { foreignOrigins.Delete(origin) })
}

// foreignPage says whether a console message of address u (the script or
// the page it came from) comes from an origin ignoreConsoleOf named.
func foreignPage(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	_, ok := foreignOrigins.Load(p.Scheme + "://" + p.Host)
	return ok
}

// consoleLog collects the tab's console messages that keep selects, from
// now on; the function returned gives those seen so far.
func consoleLog(tab context.Context, keep func(chromedp.ConsoleMessage) bool) func() []string {
	var mu sync.Mutex
	var got []string
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if keep(m) {
				mu.Lock()
				got = append(got, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// norm makes French spaces plain, so that assertions can be written simply.
func norm(s string) string {
	return strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u2019", "'").Replace(s)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text returns the visible text of the first element matching a CSS
// selector ("" when there is none), with plain spaces.
func text(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	return norm(eval[string](t, tab, `(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.innerText : ''; })()`))
}

// waitFor waits until the JavaScript condition holds in the tab, across
// page loads.
func waitFor(t *testing.T, tab context.Context, cond string) {
	t.Helper()
	waitForWithin(t, tab, cond, 15*time.Second)
}

// waitForWithin is waitFor for a condition that may take longer than 15 s.
func waitForWithin(t *testing.T, tab context.Context, cond string, within time.Duration) {
	t.Helper()
	expr := `(() => { try { return document.readyState === 'complete' && !!(` + cond + `); } catch (e) { return false; } })()`
	deadline := time.Now().Add(within)
	for {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(tab, chromedp.Location())
			body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
			t.Fatalf("waited in vain for %s (err %v)\nat %s:\n%s", cond, err, loc, norm(body))
		}
		time.Sleep(40 * time.Millisecond)
	}
}

func do(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatal(err)
	}
}

// screenshot saves the page when screenshotsEnv names a directory.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: %q does not contain %q", what, got, w)
		}
	}
}

// signIn fills the sign-in form as a person would, and sends it.
func signIn(t *testing.T, s *stack, tab context.Context, school, login, pass, mode, access string) {
	t.Helper()
	do(t, tab, chromedp.Navigate(s.url+"/"))
	waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
	fill(t, tab, school, login, pass, mode, access)
	do(t, tab, chromedp.Click(chromedp.ID("submit")))
}

func fill(t *testing.T, tab context.Context, school, login, pass, mode, access string) {
	t.Helper()
	do(t, tab,
		chromedp.Clear(chromedp.ID("school")),
		chromedp.SendKeys(chromedp.ID("school"), school),
		chromedp.Clear(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), login),
		chromedp.Clear(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), pass),
		chromedp.Evaluate[chromedp.Void](`(() => { const m = document.getElementById('mode'); m.value = `+jsString(mode)+`; m.dispatchEvent(new Event('change', {bubbles: true})); })()`),
	)
	if mode == "admin" {
		waitFor(t, tab, `!document.getElementById('access-field').hidden`)
		id := "access-modify"
		if access == "consult" {
			id = "access-consult"
		}
		do(t, tab, chromedp.Click(chromedp.ID(id)))
	}
}

// signInError signs in and returns the code and the text of the error
// the page shows.
func signInError(t *testing.T, s *stack, tab context.Context, login, pass, mode string) (code, msg string) {
	t.Helper()
	signIn(t, s, tab, uai, login, pass, mode, "")
	waitFor(t, tab, `document.getElementById('erreur-message')`)
	return eval[string](t, tab, `document.getElementById('erreur-message').dataset.code`), text(t, tab, "#erreur-message")
}

func waitHome(t *testing.T, tab context.Context) {
	t.Helper()
	waitFor(t, tab, `location.pathname === '/accueil' && !document.getElementById('vue').hidden`)
}

// ---- Tests ----

// TestTeacherHomeAndLogout: a teacher signs in, sees who and where they
// are, their seat and their permissions by category, then logs out.
func TestTeacherHomeAndLogout(t *testing.T) {
	t.Parallel()
	clock := &shiftClock{}
	s := newStackWithClock(t, clock)
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	tab := newBrowser(t)

	signIn(t, s, tab, "0751234a", "mdurand", userPass, "teacher", "")
	waitHome(t, tab)
	screenshot(t, tab, "accueil-enseignant")
	if os.Getenv(screenshotsEnv) != "" {
		do(t, tab, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		screenshot(t, tab, "accueil-enseignant-mobile")
		do(t, tab, chromedp.EmulateReset())
	}

	if got := text(t, tab, "h1"); got != "Bonjour, Marie Durand" {
		t.Errorf("h1 = %q", got)
	}
	for sel, want := range map[string]string{
		"#f-name":   "Marie Durand",
		"#f-login":  "mdurand",
		"#f-kind":   "professeur",
		"#f-school": "Collège Jean Moulin (0751234A)",
		"#f-year":   "2026-2027",
		"#f-mode":   "Mode enseignant",
		"#f-seat":   "mode enseignant — 30 connexions simultanées au plus",
		"#f-idle":   "Déconnexion automatique après 30 minutes d'inactivité",
	} {
		if got := text(t, tab, sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if title := eval[string](t, tab, `document.title`); title != "Accueil — Collège Jean Moulin — Sésame" {
		t.Errorf("title = %q", title)
	}
	if eval[bool](t, tab, `!document.getElementById('spr').hidden || !document.getElementById('nav-connexions').hidden`) {
		t.Error("a teacher sees the SPR's Connexions link")
	}

	// Permissions, grouped under their categories.
	type group struct {
		Category string   `json:"category"`
		Heading  string   `json:"heading"`
		Labels   []string `json:"labels"`
	}
	groups := eval[[]group](t, tab, `[...document.querySelectorAll('#permissions .perm-group')].map(g => ({
		category: g.dataset.category,
		heading: g.querySelector('h3').innerText,
		labels: [...g.querySelectorAll('li')].map(li => li.innerText),
	}))`)
	byCat := map[string][]string{}
	total := 0
	for _, g := range groups {
		byCat[g.Category] = g.Labels
		total += len(g.Labels)
		if !strings.HasPrefix(g.Heading, g.Category) || !strings.Contains(g.Heading, fmt.Sprint(len(g.Labels))) {
			t.Errorf("heading of %s = %q: want the category and its count", g.Category, g.Heading)
		}
	}
	has := func(cat, label string) bool {
		for _, l := range byCat[cat] {
			if l == label {
				return true
			}
		}
		return false
	}
	for cat, label := range map[string]string{
		"Notes":            "Saisir des notes",
		"Cahier de textes": "Saisir un cahier de textes",
		"Ressources":       "Consulter les listes de ressources",
	} {
		if !has(cat, label) {
			t.Errorf("permissions: %q missing under %q; got %v", label, cat, byCat)
		}
	}
	if has("Ressources", "Créer et modifier les ressources") {
		t.Error("permissions: a teacher gets an admin-mode action")
	}
	if _, ok := byCat["Superviseur"]; ok {
		t.Error("permissions: a teacher gets SPR actions")
	}
	contains(t, "summary", text(t, tab, "#perm-summary"), fmt.Sprintf("Vous avez %d autorisations dans ce mode, en %d catégories.", total, len(groups)))

	// Log out: back to the sign-in page, which says so and remembers the
	// school code, never the password.
	do(t, tab, chromedp.Click(chromedp.ID("logout")))
	waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
	screenshot(t, tab, "connexion-deconnecte")
	if got := eval[string](t, tab, `location.search`); got != "?raison=logged_out" {
		t.Errorf("after logout: search = %q", got)
	}
	if got := text(t, tab, "#raison-message"); got != "Vous êtes déconnecté." {
		t.Errorf("logged-out message = %q", got)
	}
	if got := eval[string](t, tab, `document.getElementById('school').value + '|' + document.getElementById('password').value + '|' + document.activeElement.id`); got != "0751234A||login" {
		t.Errorf("school|password|focus after logout = %q", got)
	}
	if got := eval[string](t, tab, `JSON.stringify(Object.assign({}, localStorage))`); strings.Contains(got, userPass) {
		t.Errorf("localStorage holds the password: %s", got)
	}

	// The session is over: the home page sends back to the sign-in page.
	do(t, tab, chromedp.Navigate(s.url+"/accueil"))
	waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
	if got := eval[string](t, tab, `location.search`); got != "?raison=missing" {
		t.Errorf("home page after logout went to %q", got)
	}
	if got := text(t, tab, "#raison-message"); got != "Connectez-vous pour accéder à cette page." {
		t.Errorf("signed-out message = %q", got)
	}

	// Idle for longer than the profile's 30 minutes: the server ends the
	// session, and the sign-in page says after how long.
	signIn(t, s, tab, uai, "mdurand", userPass, "teacher", "")
	waitHome(t, tab)
	clock.by.Store(int64(31 * time.Minute))
	do(t, tab, chromedp.Reload())
	waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
	if got := eval[string](t, tab, `location.search`); got != "?raison=idle_timeout&duree=1800" {
		t.Errorf("after the idle limit: search = %q", got)
	}
	if got := text(t, tab, "#raison-message"); got != "Vous avez été déconnecté automatiquement après 30 minutes d'inactivité. Reconnectez-vous pour continuer." {
		t.Errorf("idle message = %q", got)
	}
}

// TestSignInRefusals: every refusal of the API is explained in French on
// the sign-in page.
func TestSignInRefusals(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	s.addUser(t, "victime", "teacher", "Paul Victime", "")
	for i := 1; i <= 5; i++ {
		s.addUser(t, fmt.Sprintf("admin%d", i), "staff", fmt.Sprintf("Admin Numéro %d", i), "Modification")
	}
	tab := newBrowser(t)

	t.Run("wrong password", func(t *testing.T) {
		code, msg := signInError(t, s, tab, "mdurand", "pas-le-bon-mot", "teacher")
		if code != "invalid_credentials" {
			t.Errorf("code = %q", code)
		}
		contains(t, "message", msg, "Code établissement, identifiant ou mot de passe incorrect.")
		if got := eval[string](t, tab, `document.getElementById('password').value + '|' + document.activeElement.id`); got != "|password" {
			t.Errorf("password|focus = %q: the password is cleared and focused for another try", got)
		}
		screenshot(t, tab, "connexion-erreur")
	})

	t.Run("unknown login looks the same", func(t *testing.T) {
		code, msg := signInError(t, s, tab, "personne", "pas-le-bon-mot", "teacher")
		if code != "invalid_credentials" {
			t.Errorf("code = %q", code)
		}
		contains(t, "message", msg, "Code établissement, identifiant ou mot de passe incorrect.")
	})

	t.Run("mode forbidden", func(t *testing.T) {
		code, msg := signInError(t, s, tab, "mdurand", userPass, "admin")
		if code != "mode_forbidden" {
			t.Errorf("code = %q", code)
		}
		contains(t, "message", msg, "Seuls les personnels créés comme utilisateurs administratifs peuvent utiliser le mode administratif.")
		if got := eval[string](t, tab, `document.activeElement.id + '|' + document.getElementById('mode').getAttribute('aria-invalid')`); got != "mode|true" {
			t.Errorf("focus|aria-invalid = %q", got)
		}
		// The access choice shows only for admin mode.
		do(t, tab, chromedp.Evaluate[chromedp.Void](`(() => { const m = document.getElementById('mode'); m.value = 'teacher'; m.dispatchEvent(new Event('change')); })()`))
		if !eval[bool](t, tab, `document.getElementById('access-field').hidden`) {
			t.Error("the access choice shows outside admin mode")
		}
	})

	t.Run("consultation without its licence", func(t *testing.T) {
		signIn(t, s, tab, uai, "admin1", userPass, "admin", "consult")
		waitFor(t, tab, `document.getElementById('erreur-message')`)
		if code := eval[string](t, tab, `document.getElementById('erreur-message').dataset.code`); code != "consultation_unlicensed" {
			t.Errorf("code = %q", code)
		}
		contains(t, "message", text(t, tab, "#erreur-message"), "La consultation en mode administratif nécessite la licence de consultation")
	})

	t.Run("form checked before sending", func(t *testing.T) {
		signIn(t, s, tab, "12345", "", "", "teacher", "")
		waitFor(t, tab, `document.getElementById('erreur-message')`)
		msg := text(t, tab, "#erreur-message")
		contains(t, "message", msg, "Des champs sont à corriger :", "Le code établissement « 12345 » est incorrect", "Indiquez votre identifiant.", "Indiquez votre mot de passe.")
		if got := eval[string](t, tab, `document.activeElement.id + '|' + document.getElementById('school').getAttribute('aria-invalid')`); got != "school|true" {
			t.Errorf("focus|aria-invalid = %q", got)
		}
	})

	t.Run("seats exhausted", func(t *testing.T) {
		for i := 1; i <= 4; i++ {
			s.apiLogin(t, fmt.Sprintf("admin%d", i), userPass, "admin", "modify")
		}
		code, msg := signInError(t, s, tab, "admin5", userPass, "admin")
		if code != "seats_exhausted" {
			t.Errorf("code = %q", code)
		}
		contains(t, "message", msg,
			"Les 4 connexions simultanées en mode administratif (modification) sont toutes occupées.",
			"Connexions simultanées en mode administratif (modification) : 4, toutes occupées.",
			"Une place peut se libérer dans environ 3 minutes (vers ",
			"Le superviseur (SPR)")
		screenshot(t, tab, "connexion-places-occupees")
	})

	t.Run("too many attempts", func(t *testing.T) {
		// Fill the form first: the account waits two seconds only after
		// its sixth failure from unknown devices.
		do(t, tab, chromedp.Navigate(s.url+"/"))
		waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
		fill(t, tab, uai, "victime", "encore-faux", "teacher", "")
		for range sesame.UnknownDevices.Free + 1 {
			res, e := s.call(t, http.MethodPost, "/login", map[string]string{
				"school": uai, "login": "victime", "password": "mauvais-essai", "mode": "teacher",
			}, nil)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failed attempt: %d %s", res.StatusCode, e.Error.Code)
			}
		}
		// On a slow machine the two seconds may be over before the click:
		// that failure doubles the wait, and the next click is refused.
		var code string
		for try := 0; try < 3 && code != "too_many_attempts"; try++ {
			do(t, tab, chromedp.Evaluate[chromedp.Void](`document.getElementById('erreur').replaceChildren()`),
				chromedp.Click(chromedp.ID("submit")))
			waitFor(t, tab, `document.getElementById('erreur-message')`)
			code = eval[string](t, tab, `document.getElementById('erreur-message').dataset.code`)
			if code == "invalid_credentials" {
				do(t, tab, chromedp.SendKeys(chromedp.ID("password"), "encore-faux"))
			}
		}
		if code != "too_many_attempts" {
			t.Errorf("code = %q", code)
		}
		contains(t, "message", text(t, tab, "#erreur-message"), "Trop de tentatives de connexion.", "Vous pourrez réessayer dans ", ", à partir de ")
	})

	t.Run("why the last session ended", func(t *testing.T) {
		for query, want := range map[string]string{
			"?raison=idle_timeout&duree=1800": "Vous avez été déconnecté automatiquement après 30 minutes d'inactivité. Reconnectez-vous pour continuer.",
			"?raison=idle_timeout":            "Vous avez été déconnecté après une période d'inactivité. Reconnectez-vous pour continuer.",
			"?raison=disconnected":            "Votre session a été fermée par l'établissement : déconnexion forcée ou compte désactivé.",
			"?raison=replaced":                "Vous vous êtes connecté ailleurs avec le même identifiant dans ce mode : cette session a été fermée.",
			"?raison=seat_lost":               "Votre connexion a été perdue (pas de signal pendant trop longtemps) et toutes les places sont occupées.",
			"?raison=expired":                 "Votre session a expiré. Reconnectez-vous.",
			"?raison=%3Cb%3Ebonjour%3C/b%3E":  "",
		} {
			do(t, tab, chromedp.Navigate(s.url+"/"+query))
			waitFor(t, tab, `window.Sesame && document.getElementById('connexion')`)
			if got := text(t, tab, "#raison"); got != want {
				t.Errorf("%s: message %q, want %q", query, got, want)
			}
		}
	})
}

// TestSPRDisconnectsTeacher: the SPR sees the pools and the connected
// users, and disconnects a teacher, whose session then ends.
func TestSPRDisconnectsTeacher(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	browser := newBrowser(t)
	teacher := newTab(t, browser)
	spr := newTab(t, browser)

	signIn(t, s, teacher, uai, "mdurand", userPass, "teacher", "")
	waitHome(t, teacher)

	// Connexions is the SPR's: a teacher gets the French refusal.
	do(t, teacher, chromedp.Navigate(s.url+"/connexions"))
	waitFor(t, teacher, `document.querySelector('#erreur .alert')`)
	contains(t, "teacher on Connexions", text(t, teacher, "#erreur"), "Cette page est réservée au superviseur (SPR)")
	if !eval[bool](t, teacher, `document.getElementById('vue').hidden`) {
		t.Error("a teacher sees the connections")
	}
	do(t, teacher, chromedp.Navigate(s.url+"/accueil"))
	waitHome(t, teacher)

	signIn(t, s, spr, uai, sprLogin, sprPass, "admin", "modify")
	waitHome(t, spr)
	if got := text(t, spr, "#f-seat"); got != "aucune place réservée (superviseur)" {
		t.Errorf("SPR seat = %q", got)
	}
	if got := text(t, spr, "#f-mode"); got != "Mode administratif, en modification" {
		t.Errorf("SPR mode = %q", got)
	}
	contains(t, "SPR kind", text(t, spr, "#f-kind"), "superviseur (SPR)")
	screenshot(t, spr, "accueil-spr")

	do(t, spr, chromedp.Click(chromedp.ID("spr-connexions")))
	waitFor(t, spr, `location.pathname === '/connexions' && !document.getElementById('vue').hidden && document.querySelector('#connections tr[data-login="mdurand"]')`)

	type pool struct {
		Pool, Label, Used, Limit, State string
	}
	pools := eval[[]pool](t, spr, `[...document.querySelectorAll('#pools tbody tr')].map(tr => ({
		Pool: tr.dataset.pool, Label: tr.cells[0].innerText, Used: tr.cells[1].innerText,
		Limit: tr.cells[2].innerText, State: tr.cells[3].innerText }))`)
	byPool := map[string]pool{}
	for _, p := range pools {
		p.Limit, p.State = norm(p.Limit), norm(p.State)
		byPool[p.Pool] = p
	}
	for name, want := range map[string]pool{
		"teacher":       {Pool: "teacher", Label: "Mode enseignant", Used: "1", Limit: "30 places", State: "29 places libres"},
		"admin-modify":  {Pool: "admin-modify", Label: "Mode administratif (modification)", Used: "0", Limit: "4 places", State: "4 places libres"},
		"admin-consult": {Pool: "admin-consult", Label: "Mode administratif (consultation)", Used: "0", Limit: "fermé", State: "fermé (hors licence)"},
		"parent":        {Pool: "parent", Label: "Espace Parents", Used: "0", Limit: "illimité", State: "sans limite"},
	} {
		if got := byPool[name]; got != want {
			t.Errorf("pool %s = %+v, want %+v", name, got, want)
		}
	}
	// How the school gets more seats: its licence, changed by the operator.
	contains(t, "more seats", text(t, spr, "#plus-de-places"), "licence", "sesame license set", "hébergeur")
	if len(pools) != len(sesame.Pools) {
		t.Errorf("%d pools shown, want %d", len(pools), len(sesame.Pools))
	}

	row := func(login string) []string {
		return eval[[]string](t, spr, `(() => { const tr = document.querySelector('#connections tr[data-login=`+jsString(login)+`]');
			return tr ? [...tr.cells].map(c => c.innerText) : []; })()`)
	}
	cells := row("mdurand")
	if len(cells) != 7 || cells[0] != "Marie Durand" || cells[1] != "mdurand" || cells[2] != "Mode enseignant" || cells[3] != "—" || cells[4] == "" {
		t.Errorf("teacher's row = %q", cells)
	}
	contains(t, "last activity", norm(cells[5]), "à l'instant")
	contains(t, "SPR's row", strings.Join(row(sprLogin), "|"), "superviseur", "vous", "Mode administratif|modification")
	screenshot(t, spr, "connexions")

	// Déconnecter asks for a confirmation, focused, that Escape cancels.
	disconnect := `#connections tr[data-login="mdurand"] button[data-action="disconnect"]`
	do(t, spr, chromedp.Click(chromedp.CSS(disconnect)))
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'confirm'`)
	contains(t, "confirmation", text(t, spr, `#connections tr[data-login="mdurand"] .confirm`), "Déconnecter Marie Durand ?", "Oui, déconnecter", "Annuler")
	screenshot(t, spr, "connexions-confirmation")
	do(t, spr, chromedp.KeyEvent(kb.Escape))
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'disconnect' && !document.querySelector('#connections .confirm')`)

	do(t, spr, chromedp.Click(chromedp.CSS(disconnect)))
	waitFor(t, spr, `document.activeElement && document.activeElement.dataset.action === 'confirm'`)
	do(t, spr, chromedp.Click(chromedp.CSS(`#connections tr[data-login="mdurand"] button[data-action="confirm"]`)))
	waitFor(t, spr, `!document.querySelector('#connections tr[data-login="mdurand"]') && document.querySelector('#annonce .alert')`)
	contains(t, "announcement", text(t, spr, "#annonce"), "Marie Durand (mdurand) a été déconnecté : sa place est libérée.")
	if got := eval[string](t, spr, `document.querySelector('#pools tr[data-pool="teacher"]').cells[1].innerText`); got != "0" {
		t.Errorf("teacher pool used after the disconnection = %q", got)
	}
	if got := eval[string](t, spr, `document.activeElement.id`); got != "h-connexions" {
		t.Errorf("focus after the disconnection on %q, want the list's heading", got)
	}

	// The teacher's session is over, for the API...
	cookies, err := chromedp.Call(teacher, network.GetCookies, network.GetCookiesParams{URLs: []string{s.url}})
	if err != nil {
		t.Fatal(err)
	}
	var cookie *http.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == httpapi.SessionCookie {
			cookie = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	if cookie == nil {
		t.Fatal("the teacher's tab has no session cookie")
	}
	res, e := s.call(t, http.MethodGet, "/session", nil, cookie)
	if res.StatusCode != http.StatusUnauthorized || e.Error.Code != "unauthenticated" || e.Error.Reason != "disconnected" {
		t.Errorf("teacher's GET /session: %d %s reason %q", res.StatusCode, e.Error.Code, e.Error.Reason)
	}

	// ...and for the teacher's page, which explains why on reload.
	do(t, teacher, chromedp.Reload())
	waitFor(t, teacher, `location.pathname === '/' && document.getElementById('raison-message')`)
	if got := eval[string](t, teacher, `location.search`); got != "?raison=disconnected" {
		t.Errorf("teacher sent to %q", got)
	}
	if got := text(t, teacher, "#raison-message"); got != "Votre session a été fermée par l'établissement : déconnexion forcée ou compte désactivé." {
		t.Errorf("teacher's message = %q", got)
	}
	screenshot(t, teacher, "connexion-deconnecte-par-spr")

	// Actualiser says how many are connected.
	do(t, spr, chromedp.Click(chromedp.ID("refresh")))
	waitFor(t, spr, `document.querySelector('#annonce').innerText.includes('Liste actualisée')`)
	contains(t, "refresh", text(t, spr, "#annonce"), "Liste actualisée : 1 utilisateur connecté.")
}

// TestPagesAndAssets: the pages and every file they use are served, with
// the security headers, and no page needs what the CSP forbids.
func TestPagesAndAssets(t *testing.T) {
	t.Parallel()
	h := web.Handler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	for path := range web.Pages {
		rec := get(path)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		page := rec.Body.String()
		for _, bad := range []string{"<script>", " style=", "<style", "javascript:", " onclick=", " onload=", " onsubmit=", " onchange="} {
			if strings.Contains(page, bad) {
				t.Errorf("%s holds %q, which the CSP forbids", path, bad)
			}
		}
		if !strings.Contains(page, `<html lang="fr">`) {
			t.Errorf("%s: not in French", path)
		}
		// Every local file the page names is served, with its type.
		for _, attr := range []string{`src="`, `href="`} {
			rest := page
			for {
				i := strings.Index(rest, attr)
				if i < 0 {
					break
				}
				rest = rest[i+len(attr):]
				ref := rest[:strings.IndexByte(rest, '"')]
				if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
					continue
				}
				if _, ok := web.Pages[ref]; ok {
					continue
				}
				r := get(ref)
				if r.Code != http.StatusOK {
					t.Errorf("%s names %s: %d", path, ref, r.Code)
					continue
				}
				ct := r.Header().Get("Content-Type")
				want := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}[filepath.Ext(ref)]
				if want != "" && !strings.HasPrefix(ct, want) {
					t.Errorf("%s: Content-Type %q, want %s", ref, ct, want)
				}
			}
		}
	}
	if rec := get("/index.html"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /index.html: %d; pages are served at their address only", rec.Code)
	}
}
