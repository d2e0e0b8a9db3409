package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/password"
	"github.com/sesame-ecole/sesame/infra/ssoweb"
	"github.com/sesame-ecole/sesame/infra/storetest"
	"github.com/sesame-ecole/sesame/infra/storetest/stores"
	"github.com/sesame-ecole/sesame/infra/uploads"
)

func TestMain(m *testing.M) {
	m.Run()
	dynamolocal.Shutdown()
}

// fastHash keeps tests quick; the product uses password.OWASP.
var fastHash = password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})

// eachStore runs f on a bbolt file and on DynamoDB Local.
func eachStore(t *testing.T, f func(t *testing.T, st sesame.Backend)) { stores.Each(t, f) }

// world is a running API over a store, with a clock the test moves.
type world struct {
	t     *testing.T
	svc   *sesame.Service
	srv   *httptest.Server
	clock *storetest.Clock
	uai   string
	year  string
}

const pw = "mot-de-passe-solide"

// newWorld starts the API on st with a school 0751234A (or uai) whose
// SPR's password is pw.
func newWorld(t *testing.T, st sesame.Backend, uai string, lic sesame.License) *world {
	t.Helper()
	clock := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	svc := &sesame.Service{Store: st, Hasher: fastHash, Clock: clock, Timing: sesame.DefaultTiming,
		Hashing: sesame.NewHashGate(0, time.Minute)} // these tests race for seats, not for the CPU
	up, err := uploads.NewDir(t.TempDir(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Service: svc, Uploads: up, Federation: ssoweb.New(nil)}))
	t.Cleanup(srv.Close)
	w := &world{t: t, svc: svc, srv: srv, clock: clock, uai: uai, year: "2026-2027"}
	_, err = svc.CreateSchool(context.Background(), sesame.NewSchool{UAI: uai, Name: "Collège " + uai, Year: w.year,
		AdminSeats: lic.AdminSeats, TeacherSeats: lic.TeacherSeats, Consultation: lic.Consultation, SPRPassword: pw})
	if err != nil {
		t.Fatalf("CreateSchool: %v", err)
	}
	return w
}

// user adds an account.
func (w *world) user(login, kind, group, profile string) {
	w.t.Helper()
	_, err := w.svc.AddUser(context.Background(), sesame.NewUser{UAI: w.uai, Year: w.year, Login: login, Kind: kind,
		DisplayName: "Compte " + login, AdminGroup: group, Profile: profile, Password: pw})
	if err != nil {
		w.t.Fatalf("AddUser %s: %v", login, err)
	}
}

// browser is one browser: its own cookies, the site's origin.
type browser struct {
	w    *world
	http *http.Client
}

func (w *world) browser() *browser {
	jar, _ := cookiejar.New(nil)
	// Redirects (the sign-in through a provider) are answers to look at,
	// not to follow.
	return &browser{w: w, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is a decoded JSON answer.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	list   []any
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (a answer) errField(name string) any {
	e, _ := a.body["error"].(map[string]any)
	return e[name]
}

func (b *browser) do(method, path string, body any, hdr map[string]string) answer {
	b.w.t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = bytes.NewBufferString(s)
		} else {
			raw, _ := json.Marshal(body)
			r = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, b.w.srv.URL+httpapi.Prefix+path, r)
	if err != nil {
		b.w.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", b.w.srv.URL)
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header}
	if len(raw) > 0 && raw[0] == '[' {
		_ = json.Unmarshal(raw, &a.list)
	} else if len(raw) > 0 && !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") && res.StatusCode/100 != 3 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			b.w.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	if a.status >= 400 {
		e, _ := a.body["error"].(map[string]any)
		if msg, _ := e["message"].(string); msg == "" || a.code() == "" {
			b.w.t.Fatalf("%s %s: error %d without code and French message: %s", method, path, a.status, raw)
		}
	}
	return a
}

func (b *browser) login(login, mode, access string) answer {
	b.w.t.Helper()
	return b.do("POST", "/login", map[string]string{"school": b.w.uai, "login": login, "password": pw, "mode": mode, "access": access}, nil)
}

// mustLogin signs in and fails the test unless it succeeds.
func (b *browser) mustLogin(login, mode, access string) answer {
	b.w.t.Helper()
	a := b.login(login, mode, access)
	if a.status != http.StatusOK {
		b.w.t.Fatalf("login %s in %s/%s: %d %v", login, mode, access, a.status, a.body)
	}
	return a
}

func (b *browser) heartbeat(idle float64) answer {
	return b.do("POST", "/heartbeat", map[string]float64{"idleSeconds": idle}, nil)
}

// wantStatus fails unless a has status and, if code is given, that code.
func wantStatus(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || (code != "" && a.code() != code) {
		t.Fatalf("%s: %d %s %v, want %d %s", what, a.status, a.code(), a.body, status, code)
	}
}

// wantReason fails unless a is a 401 with that reason.
func wantReason(t *testing.T, what string, a answer, reason sesame.EndReason) {
	t.Helper()
	wantStatus(t, what, a, http.StatusUnauthorized, "unauthenticated")
	if got := a.errField("reason"); got != string(reason) {
		t.Fatalf("%s: reason %v, want %s", what, got, reason)
	}
}

// spr returns a browser with the SPR freshly signed in (the SPR takes no
// seat, so tests open as many as they like).
func (w *world) spr() *browser {
	w.t.Helper()
	b := w.browser()
	b.mustLogin("spr", "admin", "")
	return b
}

// used returns how many seats pool holds, as the SPR sees it.
func (w *world) used(pool sesame.Pool) int {
	w.t.Helper()
	a := w.spr().do("GET", "/connections", nil, nil)
	wantStatus(w.t, "connections", a, http.StatusOK, "")
	for _, p := range a.body["pools"].([]any) {
		m := p.(map[string]any)
		if m["pool"] == string(pool) {
			return int(m["used"].(float64))
		}
	}
	w.t.Fatalf("pool %s missing from connections", pool)
	return 0
}

func names(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%02d", prefix, i))
	}
	return out
}

// rawAnswer is an answer read as text (and as JSON when it is).
type rawAnswer struct {
	status int
	header http.Header
	text   string
	json   map[string]any
}

func (a rawAnswer) code() string {
	e, _ := a.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// raw sends body as is with content type ct.
func (b *browser) raw(method, path, body, ct string) rawAnswer {
	b.w.t.Helper()
	req, err := http.NewRequest(method, b.w.srv.URL+httpapi.Prefix+path, strings.NewReader(body))
	if err != nil {
		b.w.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", b.w.srv.URL)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := rawAnswer{status: res.StatusCode, header: res.Header, text: string(raw)}
	_ = json.Unmarshal(raw, &a.json)
	return a
}
