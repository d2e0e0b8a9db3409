package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/password"
	"github.com/sesame-ecole/sesame/infra/testenv"
	"github.com/sesame-ecole/sesame/wasm/agentbuild"
	"github.com/sesame-ecole/sesame/web"
)

// The timing of the agent's tests: a teacher is logged out after 6
// seconds idle, warned 2 seconds before, with a heartbeat a second.
const (
	testIdle      = 6 * time.Second
	testHeartbeat = time.Second
	testReport    = 3 * time.Second
)

// A session without a seat reports every 3 seconds (testReport).
var testTiming = sesame.Timing{Heartbeat: testHeartbeat, Lease: 3 * time.Second, Absolute: time.Hour, Warning: 2 * time.Second,
	Report: testReport}

// On the hosted deployment a sign-in runs argon2id in an emulated arm64
// function: 3 to 8 s on a loaded machine, and the session's idle time
// counts from the sign-in's start. Its journeys give the teacher 20 s idle
// and a seat lease of 15 s, so that the page is up and reporting well
// within both; the heartbeat, the warning and what the journeys check are
// the same.
const hostedIdle = 20 * time.Second

var hostedTiming = sesame.Timing{Heartbeat: testHeartbeat, Lease: 15 * time.Second, Absolute: time.Hour, Warning: 2 * time.Second,
	Report: testReport}

// The agent is built once per test binary, into a temporary directory, so
// that go test works on a clean clone.
var built struct {
	once sync.Once
	dir  string
	m    agentbuild.Manifest
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// agentBuild returns the agent's build for the handler.
func agentBuild(t testing.TB) fs.FS {
	t.Helper()
	built.once.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			goCmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		built.dir, built.err = os.MkdirTemp("", "sesame-agent-")
		if built.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		built.m, built.err = agentbuild.Build(ctx, agentbuild.Options{Dir: built.dir, Go: goCmd})
	})
	if built.err != nil {
		t.Fatalf("building the agent: %v", built.err)
	}
	return os.DirFS(built.dir)
}

// agentStack is the product with the agent, in short durations, and a log
// of the heartbeats the server received.
type agentStack struct {
	*stack
	mu    sync.Mutex
	beats []beatSeen
	down  bool // heartbeats answer 503
	// idle is the teacher's automatic disconnection (testIdle, or
	// hostedIdle on the hosted deployment).
	idle time.Duration
	// hold delays the sign-in page (`sesame serve` only), so that the
	// page the agent leaves stays alive a while, as a slow network keeps
	// it.
	hold time.Duration
}

type beatSeen struct {
	at     time.Time
	status int
}

func newAgentStack(t testing.TB) *agentStack {
	t.Helper()
	s := &agentStack{idle: testIdle}
	var url string
	var svc *sesame.Service
	if onHosted(t) {
		s.idle = hostedIdle
		url, svc = newHostedServer(t, hostedOptions{timing: hostedTiming, wrap: s.watch})
	} else {
		url, svc = s.newServer(t)
	}
	st := svc.Store
	ctx := context.Background()
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: schoolName, Year: year, SPRPassword: sprPass}); err != nil {
		t.Fatalf("CreateSchool: %v", err)
	}
	// The domain asks for a minute at least; the store takes any duration.
	k := sesame.BaseKey{UAI: uai, Year: year}
	ps, err := st.ListProfiles(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Mode == sesame.ModeTeacher {
			p.AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: s.idle}
			if _, err := st.UpdateProfile(ctx, k, p); err != nil {
				t.Fatalf("UpdateProfile: %v", err)
			}
		}
	}
	s.stack = &stack{url: url, svc: svc}
	if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: year, Login: "mdurand", Kind: "teacher",
		DisplayName: "Marie Durand", Password: userPass}); err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	return s
}

// newServer serves the product in-process, as `sesame serve` does, with
// the heartbeats watched (watch).
func (s *agentStack) newServer(t testing.TB) (string, *sesame.Service) {
	agent := agentBuild(t)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "sesame.db"), bolt.WithNoSync())
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := &sesame.Service{
		Store:  st,
		Hasher: password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}),
		Clock:  sesame.SystemClock{},
		Timing: testTiming,
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", s.watch(httpapi.New(httpapi.Config{Service: svc})))
	mux.Handle("/", s.holdSignIn(web.New(web.Options{Agent: agent})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, svc
}

// watch logs the heartbeats api receives, and answers them 503 while the
// test says the server is down.
func (s *agentStack) watch(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/heartbeat" {
			api.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			http.Error(rec, "indisponible", http.StatusServiceUnavailable)
		} else {
			api.ServeHTTP(rec, r)
		}
		s.mu.Lock()
		s.beats = append(s.beats, beatSeen{at: time.Now(), status: rec.status})
		s.mu.Unlock()
	})
}

// holdSignIn delays the sign-in page by s.hold.
func (s *agentStack) holdSignIn(pages http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		hold := s.hold
		s.mu.Unlock()
		if r.URL.Path == "/" && hold > 0 {
			time.Sleep(hold)
		}
		pages.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// beatsBetween counts the heartbeats received in [from, to).
func (s *agentStack) beatsBetween(from, to time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.beats {
		if !b.at.Before(from) && b.at.Before(to) {
			n++
		}
	}
	return n
}

// connections returns, as the SPR sees them through the API, the logins
// connected and the seats used in the teacher pool.
func (s *agentStack) connections(t *testing.T) (logins []string, teacherSeats int, ids map[string]string) {
	t.Helper()
	cookie := s.apiLogin(t, sprLogin, sprPass, "admin", "modify")
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/connections", nil)
	req.AddCookie(cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var c struct {
		Pools []struct {
			Pool string `json:"pool"`
			Used int    `json:"used"`
		} `json:"pools"`
		Connections []struct {
			ID    string `json:"id"`
			Login string `json:"login"`
		} `json:"connections"`
	}
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		t.Fatalf("GET /connections: %d %v", res.StatusCode, err)
	}
	ids = map[string]string{}
	for _, x := range c.Connections {
		logins = append(logins, x.Login)
		ids[x.Login] = x.ID
	}
	for _, p := range c.Pools {
		if p.Pool == "teacher" {
			teacherSeats = p.Used
		}
	}
	return logins, teacherSeats, ids
}

// sessionCookie returns the tab's session cookie.
func sessionCookie(t *testing.T, s *agentStack, tab context.Context) *http.Cookie {
	t.Helper()
	cookies, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{s.browserURL()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == httpapi.SessionCookie {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// signedInWithAgent signs the teacher in and waits for the agent to run.
func signedInWithAgent(t *testing.T, s *agentStack, tab context.Context) {
	t.Helper()
	signIn(t, s.stack, tab, uai, "mdurand", userPass, "teacher", "")
	waitHome(t, tab)
	waitAgent(t, tab)
}

func waitAgent(t *testing.T, tab context.Context) {
	t.Helper()
	waitFor(t, tab, `['leader', 'follower', 'tab'].includes(document.documentElement.dataset.agent)`)
}

const dialogOpen = `(() => { const d = document.getElementById('sesame-inactivite'); return !!d && d.open; })()`

// moveMouse moves the pointer in the tab, as a user would.
func moveMouse(t *testing.T, tab context.Context, i int) {
	t.Helper()
	do(t, tab, chromedp.MouseEvent(chromedp.MouseMoved, float64(200+i%50*4), float64(300+i%7*10)))
}

// ---- Tests ----

// TestAgentIdleLogout: idle, the teacher is warned, then logged out; the
// sign-in page says why, and the seat is free again.
func TestAgentIdleLogout(t *testing.T) {
	t.Parallel()
	s := newAgentStack(t)
	tab := newBrowser(t)
	signedInWithAgent(t, s, tab)
	waitFor(t, tab, `document.documentElement.dataset.agent === 'leader'`) // the only tab leads
	type resource struct {
		Name             string
		Encoded, Decoded float64
	}
	for _, r := range eval[[]resource](t, tab, `performance.getEntriesByType('resource').filter(r => r.name.includes('/agent/'))
		.map(r => ({Name: r.name.replace(/^.*\/agent\//, ''), Encoded: r.encodedBodySize, Decoded: r.decodedBodySize}))`) {
		t.Logf("loaded %s: %.0f bytes over the wire, %.0f decoded", r.Name, r.Encoded, r.Decoded)
	}
	if logins, seats, _ := s.connections(t); !slices.Contains(logins, "mdurand") || seats != 1 {
		t.Fatalf("before: connected %v, teacher seats %d", logins, seats)
	}
	cookie := sessionCookie(t, s, tab)

	waitForWithin(t, tab, dialogOpen, s.idle)
	warned := time.Now()
	screenshot(t, tab, "agent-avertissement")
	type dialog struct {
		Role, Modal, Title, Text, Focus, Button string
	}
	d := eval[dialog](t, tab, `(() => { const d = document.getElementById('sesame-inactivite');
		return {Role: d.getAttribute('role'), Modal: d.getAttribute('aria-modal'),
			Title: document.getElementById(d.getAttribute('aria-labelledby')).innerText,
			Text: document.getElementById(d.getAttribute('aria-describedby')).innerText,
			Focus: document.activeElement.dataset.action || document.activeElement.id,
			Button: d.querySelector('button').innerText}; })()`)
	if d.Role != "alertdialog" || d.Modal != "true" || d.Focus != "rester" || d.Button != "Rester connecté" {
		t.Errorf("dialog %+v: want an alertdialog, modal, its button focused", d)
	}
	contains(t, "dialog title", norm(d.Title), "Êtes-vous toujours là ?")
	contains(t, "dialog text", norm(d.Text), "Sans activité de votre part, vous serez déconnecté dans ", "seconde", "Votre place de connexion sera alors libérée.")

	waitIdleSignIn(t, tab, int(s.idle/time.Second))
	t.Logf("logged out %v after the warning", time.Since(warned).Round(10*time.Millisecond))
	screenshot(t, tab, "agent-deconnecte-inactivite")
	// The server ended the session for inactivity and freed the seat.
	res, e := s.call(t, http.MethodGet, "/session", nil, cookie)
	if res.StatusCode != http.StatusUnauthorized || e.Error.Reason != "idle_timeout" {
		t.Errorf("GET /session after: %d %q", res.StatusCode, e.Error.Reason)
	}
	if logins, seats, _ := s.connections(t); slices.Contains(logins, "mdurand") || seats != 0 {
		t.Errorf("after: connected %v, teacher seats %d", logins, seats)
	}
}

// TestAgentWarningCancelled: the warning gives the focus back where it
// was, and Rester connecté (Enter), Escape or the mouse cancel it.
func TestAgentWarningCancelled(t *testing.T) {
	t.Parallel()
	s := newAgentStack(t)
	tab := newBrowser(t)
	signedInWithAgent(t, s, tab)
	start := time.Now()
	for i, cancel := range []chromedp.Action[chromedp.Void]{
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent(kb.Escape),
		chromedp.MouseEvent(chromedp.MouseMoved, 300, 200),
	} {
		do(t, tab, chromedp.Evaluate[chromedp.Void](`document.getElementById('contenu').focus()`))
		waitFor(t, tab, dialogOpen)
		if f := eval[string](t, tab, `document.activeElement.dataset.action || ''`); f != "rester" {
			t.Errorf("#%d: focus on %q, want the button", i, f)
		}
		do(t, tab, cancel)
		waitFor(t, tab, `!`+dialogOpen)
		if f := eval[string](t, tab, `document.activeElement.id`); f != "contenu" {
			t.Errorf("#%d: focus back on %q, want where it was", i, f)
		}
		if p := eval[string](t, tab, `location.pathname`); p != "/accueil" {
			t.Fatalf("#%d: left for %s", i, p)
		}
	}
	if time.Since(start) < s.idle {
		t.Fatal("the test ran faster than the idle limit")
	}
	res, e := s.call(t, http.MethodGet, "/session", nil, sessionCookie(t, s, tab))
	if res.StatusCode != http.StatusOK {
		t.Errorf("session after %v: %d %q", time.Since(start).Round(time.Second), res.StatusCode, e.Error.Reason)
	}
}

// TestAgentSteadyActivity: a user who keeps working is never warned nor
// logged out, past the idle limit; when the server stops answering the
// heartbeats, the page stays and says so only as the seat is about to
// lapse, and stops saying so when the server is back.
func TestAgentSteadyActivity(t *testing.T) {
	t.Parallel()
	s := newAgentStack(t)
	tab := newBrowser(t)
	signedInWithAgent(t, s, tab)
	setDown := func(down bool) {
		s.mu.Lock()
		s.down = down
		s.mu.Unlock()
	}
	const notice = `document.getElementById('sesame-reseau').innerText`
	start := time.Now()
	var downAt, noticeAt time.Time
	for i := 0; time.Since(start) < 2*s.idle; i++ {
		moveMouse(t, tab, i)
		if eval[bool](t, tab, dialogOpen) {
			t.Fatalf("warned after %v of steady activity", time.Since(start))
		}
		shown := eval[string](t, tab, notice) != ""
		switch {
		case downAt.IsZero() && time.Since(start) > 2*time.Second:
			if shown {
				t.Fatal("the network notice shows while the server answers")
			}
			setDown(true)
			downAt = time.Now()
		case !downAt.IsZero() && noticeAt.IsZero() && shown:
			noticeAt = time.Now()
			t.Logf("notice %v after the server stopped answering", noticeAt.Sub(downAt).Round(10*time.Millisecond))
			contains(t, "notice", norm(eval[string](t, tab, notice)), "Le serveur Sésame ne répond plus : nouvelle tentative en cours.")
			screenshot(t, tab, "agent-reseau")
			setDown(false)
		}
		time.Sleep(400 * time.Millisecond)
	}
	if noticeAt.IsZero() {
		t.Error("no notice while the server did not answer")
	} else if got := eval[string](t, tab, notice); got != "" {
		t.Errorf("the notice stays after the server came back: %q", got)
	}
	if p := eval[string](t, tab, `location.pathname`); p != "/accueil" {
		t.Fatalf("left for %s", p)
	}
	if res, e := s.call(t, http.MethodGet, "/session", nil, sessionCookie(t, s, tab)); res.StatusCode != http.StatusOK {
		t.Errorf("session: %d %q", res.StatusCode, e.Error.Reason)
	}
}

// TestAgentTabs: two tabs of one session act as one: activity in one
// keeps the other, one heartbeat stream reaches the server, and logging
// out in one logs out both.
func TestAgentTabs(t *testing.T) {
	t.Parallel()
	s := newAgentStack(t)
	a := newBrowser(t)
	signedInWithAgent(t, s, a)
	b, cancel := chromedp.NewContext(a) // another tab of the same browser: same cookies
	t.Cleanup(cancel)
	watchConsole(t, b)
	do(t, b, chromedp.Navigate(s.url+"/accueil"))
	waitHome(t, b)
	waitAgent(t, b)
	waitFor(t, b, `document.documentElement.dataset.agent !== 'tab'`)
	// b, shown, took the lead; a hears it a moment later.
	var roles []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		roles = []string{
			eval[string](t, a, `document.documentElement.dataset.agent`),
			eval[string](t, b, `document.documentElement.dataset.agent`),
		}
		slices.Sort(roles)
		if slices.Equal(roles, []string{"follower", "leader"}) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(roles, []string{"follower", "leader"}) {
		t.Errorf("roles %v, want one leader and one follower", roles)
	}

	// Activity in a only, for twice the idle limit.
	time.Sleep(testHeartbeat)
	from := time.Now()
	for i := 0; time.Since(from) < 2*s.idle; i++ {
		moveMouse(t, a, i)
		if eval[bool](t, b, dialogOpen) {
			t.Fatalf("b warned after %v of activity in a", time.Since(from))
		}
		time.Sleep(400 * time.Millisecond)
	}
	to := time.Now()
	if p := eval[string](t, b, `location.pathname`); p != "/accueil" {
		t.Fatalf("b left for %s", p)
	}
	n, want := s.beatsBetween(from, to), int(to.Sub(from)/testHeartbeat)
	t.Logf("%d heartbeats in %v (one stream: %d)", n, to.Sub(from).Round(time.Millisecond), want)
	if n > want+want/4+1 {
		t.Errorf("%d heartbeats in %v: more than one stream", n, to.Sub(from).Round(time.Second))
	}
	if n < want/3 {
		t.Errorf("%d heartbeats in %v: the lease is not kept", n, to.Sub(from).Round(time.Second))
	}

	do(t, a, chromedp.Click(chromedp.ID("logout")))
	for name, tab := range map[string]context.Context{"a": a, "b": b} {
		waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
		if got := eval[string](t, tab, `location.search`); got != "?raison=logged_out" {
			t.Errorf("%s sent to %q", name, got)
		}
		if got := text(t, tab, "#raison-message"); got != "Vous êtes déconnecté." {
			t.Errorf("%s: message %q", name, got)
		}
	}
}

// TestAgentServerEnds: the session ended by the server (the SPR's forced
// disconnection, a sign-in elsewhere) reaches the page within a heartbeat.
func TestAgentServerEnds(t *testing.T) {
	t.Parallel()
	s := newAgentStack(t)
	tab := newBrowser(t)
	for _, c := range []struct {
		reason string
		end    func()
		text   string
	}{
		{"disconnected", func() {
			_, _, ids := s.connections(t)
			cookie := s.apiLogin(t, sprLogin, sprPass, "admin", "modify")
			if res, e := s.call(t, http.MethodDelete, "/connections/"+ids["mdurand"], nil, cookie); res.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE: %d %s", res.StatusCode, e.Error.Code)
			}
		}, "Votre session a été fermée par l'établissement : déconnexion forcée ou compte désactivé."},
		{"replaced", func() { s.apiLogin(t, "mdurand", userPass, "teacher", "") },
			"Vous vous êtes connecté ailleurs avec le même identifiant dans ce mode : cette session a été fermée."},
	} {
		t.Run(c.reason, func(t *testing.T) {
			signedInWithAgent(t, s, tab)
			c.end()
			ended := time.Now()
			waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
			took := time.Since(ended)
			t.Logf("the page left %v after the end", took.Round(10*time.Millisecond))
			if took > 2*testHeartbeat+3*time.Second {
				t.Errorf("the page left %v after the end: not within a heartbeat", took)
			}
			if got := eval[string](t, tab, `location.search`); got != "?raison="+c.reason {
				t.Errorf("sent to %q", got)
			}
			if got := text(t, tab, "#raison-message"); got != c.text {
				t.Errorf("message %q", got)
			}
		})
	}
}

// TestAgentAssets: the agent's files are served by their hashed names,
// compressed as the browser accepts, cached for ever; the manifest is
// checked every time; nothing else is served under /agent/.
func TestAgentAssets(t *testing.T) {
	t.Parallel()
	const wasmName, execName = "agent-0123456789abcdef.wasm", "wasm_exec-fedcba9876543210.js"
	agent := fstest.MapFS{
		"agent.json":         {Data: []byte(`{"wasm":"` + wasmName + `","exec":"` + execName + `"}`)},
		wasmName:             {Data: []byte("\x00asm raw")},
		wasmName + ".gz":     {Data: []byte("gzip bytes")},
		wasmName + ".br":     {Data: []byte("brotli bytes")},
		execName:             {Data: []byte("// wasm_exec")},
		execName + ".gz":     {Data: []byte("gzip js")},
		"agent-old.wasm":     {Data: []byte("not hashed")},
		"README":             {Data: []byte("?")},
		"agent-0123456789ab": {Data: []byte("?")},
	}
	h := web.New(web.Options{Agent: agent})
	get := func(method, path, accept string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, c := range []struct {
		path, accept, body, encoding string
	}{
		{"/agent/" + wasmName, "gzip, deflate, br, zstd", "brotli bytes", "br"},
		{"/agent/" + wasmName, "gzip, deflate", "gzip bytes", "gzip"},
		{"/agent/" + wasmName, "br;q=0, gzip;q=0.5", "gzip bytes", "gzip"},
		{"/agent/" + wasmName, "*", "brotli bytes", "br"},
		{"/agent/" + wasmName, "*, br;q=0", "gzip bytes", "gzip"},
		{"/agent/" + wasmName, "", "\x00asm raw", ""},
		{"/agent/" + wasmName, "identity", "\x00asm raw", ""},
		{"/agent/" + execName, "br, gzip", "gzip js", "gzip"},
	} {
		rec := get(http.MethodGet, c.path, c.accept)
		hd := rec.Header()
		if rec.Code != http.StatusOK || rec.Body.String() != c.body || hd.Get("Content-Encoding") != c.encoding {
			t.Errorf("%s (%q): %d %q encoding %q, want %q %q", c.path, c.accept, rec.Code, rec.Body.String(), hd.Get("Content-Encoding"), c.body, c.encoding)
		}
		wantType := "application/wasm"
		if strings.HasSuffix(c.path, ".js") {
			wantType = "text/javascript; charset=utf-8"
		}
		if hd.Get("Content-Type") != wantType || hd.Get("Vary") != "Accept-Encoding" ||
			hd.Get("Cache-Control") != "public, max-age=31536000, immutable" || hd.Get("ETag") == "" {
			t.Errorf("%s (%q): headers %v", c.path, c.accept, hd)
		}
		if hd.Get("Content-Security-Policy") == "" || hd.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no security headers", c.path)
		}
	}
	// Revalidation by ETag, per encoding.
	first := get(http.MethodGet, "/agent/"+wasmName, "br")
	if rec := get(http.MethodGet, "/agent/"+wasmName, "br", "If-None-Match", first.Header().Get("ETag")); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	if rec := get(http.MethodHead, "/agent/"+wasmName, "br"); rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "12" {
		t.Errorf("HEAD: %d %q length %s", rec.Code, rec.Body.String(), rec.Header().Get("Content-Length"))
	}
	rec := get(http.MethodGet, "/agent/agent.json", "br")
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-cache" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("manifest: %d %v", rec.Code, rec.Header())
	}
	for _, p := range []string{"/agent/" + wasmName + ".br", "/agent/" + wasmName + ".gz", "/agent/agent-old.wasm", "/agent/README",
		"/agent/", "/agent/../index.html", "/agent/agent-0123456789ABCDEF.wasm", "/agent/agent-0123456789abcdee.wasm"} {
		if rec := get(http.MethodGet, p, "br"); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	// Without a build, the manifest is not found: the pages go without.
	if rec := httptest.NewRecorder(); true {
		web.New(web.Options{Agent: fstest.MapFS{}}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/agent/agent.json", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("manifest without a build: %d", rec.Code)
		}
	}

	// The same files and headers for the web bucket.
	static := fstest.MapFS{"index.html": {Data: []byte("<html>")}, "sesame.js": {Data: []byte("")}}
	for name, f := range agent {
		static["agent/"+name] = f
	}
	objs, err := web.Objects(static)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]web.Object{}
	for _, o := range objs {
		got[o.Key] = o
	}
	immutable := "public, max-age=31536000, immutable"
	for key, want := range map[string]web.Object{
		"index.html":                {ContentType: "text/html; charset=utf-8", CacheControl: "no-cache"},
		"sesame.js":                 {ContentType: "text/javascript; charset=utf-8", CacheControl: "no-cache"},
		"agent/agent.json":          {ContentType: "application/json; charset=utf-8", CacheControl: "no-cache"},
		"agent/" + wasmName:         {ContentType: "application/wasm", CacheControl: immutable},
		"agent/" + wasmName + ".br": {ContentType: "application/wasm", ContentEncoding: "br", CacheControl: immutable},
		"agent/" + wasmName + ".gz": {ContentType: "application/wasm", ContentEncoding: "gzip", CacheControl: immutable},
		"agent/" + execName:         {ContentType: "text/javascript; charset=utf-8", CacheControl: immutable},
		"agent/" + execName + ".gz": {ContentType: "text/javascript; charset=utf-8", ContentEncoding: "gzip", CacheControl: immutable},
	} {
		want.Key = key
		if got[key] != want {
			t.Errorf("object %s = %+v, want %+v", key, got[key], want)
		}
		delete(got, key)
	}
	if len(got) != 0 {
		t.Errorf("objects not part of the site: %v", got)
	}
}

// BenchmarkAgentLoad measures, in headless Chromium, how long the agent
// takes to load on /accueil: from agent.js's start to the module compiled
// and instantiated (fetching the manifest, wasm_exec.js and the module
// included: ms-load), and to the agent running with its session (ms-ready).
// The first load is cold (ms-load-cold, ms-ready-cold); the others find the
// hashed files in the HTTP cache.
//
//	go test ./web -run '^$' -bench AgentLoad -benchtime 20x
func BenchmarkAgentLoad(b *testing.B) {
	_, err := os.Stat(chromiumPath)
	testenv.Require(b, "Chromium", err)
	s := newAgentStack(b)
	tab := startBrowser(b)
	run := func(a chromedp.Action[chromedp.Void]) {
		if err := chromedp.Do(tab, a); err != nil {
			b.Fatal(err)
		}
	}
	run(chromedp.Navigate(s.url + "/"))
	run(chromedp.Evaluate[chromedp.Void](`fetch('/api/v1/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({school: '`+uai+`', login: 'mdurand', password: '`+userPass+`', mode: 'teacher'})})
		.then(r => { if (!r.ok) throw new Error('login ' + r.status); })`, chromedp.EvalAwaitPromise))
	measure := func(first bool) (load, ready float64) {
		if first {
			run(chromedp.Navigate(s.url + "/accueil"))
		} else {
			run(chromedp.Reload())
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			v, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`(() => {
				const get = (n) => performance.getEntriesByName(n)[0];
				const start = get('sesame-agent:start'), load = get('sesame-agent:load'), ready = get('sesame-agent:ready');
				return start && load && ready ? [load.duration, ready.startTime - start.startTime] : [];
			})()`))
			if err == nil && len(v) == 2 {
				return v[0], v[1]
			}
			if time.Now().After(deadline) {
				b.Fatalf("the agent did not start: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	coldLoad, coldReady := measure(true)
	var load, ready float64
	b.ResetTimer()
	for range b.N {
		l, r := measure(false)
		load, ready = load+l, ready+r
	}
	b.StopTimer()
	b.ReportMetric(coldLoad, "ms-load-cold")
	b.ReportMetric(coldReady, "ms-ready-cold")
	b.ReportMetric(load/float64(b.N), "ms-load")
	b.ReportMetric(ready/float64(b.N), "ms-ready")
}

// startBrowser is newBrowser for a benchmark.
func startBrowser(tb testing.TB) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(tb.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		testenv.Require(tb, "Chromium", fmt.Errorf("start: %w", err))
	}
	return ctx
}
