package httpapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

func TestConcurrentSignInsFillFourSeats(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
		logins := names("admin", 20)
		for _, l := range logins {
			w.user(l, "staff", "Modification", "")
		}
		for round := range 5 {
			var (
				wg      sync.WaitGroup
				ok      atomic.Int64
				winners = make(chan *browser, len(logins))
				start   = make(chan struct{})
			)
			for _, l := range logins {
				b := w.browser()
				wg.Go(func() {
					<-start
					a := b.login(l, "admin", "modify")
					switch {
					case a.status == http.StatusOK:
						ok.Add(1)
						winners <- b
					case a.code() != "seats_exhausted":
						t.Errorf("round %d, %s: %d %v", round, l, a.status, a.body)
					case a.errField("pool") != "admin-modify" || a.errField("limit") != 4.0 || a.errField("retryAfterSeconds") == nil:
						t.Errorf("seats_exhausted details: %v", a.body)
					}
				})
			}
			close(start)
			wg.Wait()
			close(winners)
			if ok.Load() != 4 {
				t.Fatalf("round %d: %d of 20 concurrent sign-ins succeeded, want exactly 4", round, ok.Load())
			}
			for b := range winners {
				wantStatus(t, "logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
			}
		}
	})
}

func TestSessionLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		lic := sesame.License{AdminSeats: 2, TeacherSeats: 30}
		w := newWorld(t, st, "0751234A", lic)
		for _, l := range []string{"a1", "a2", "a3"} {
			w.user(l, "staff", "Modification", "")
		}
		t.Run("SessionObject", func(t *testing.T) {
			b := w.browser()
			a := b.mustLogin("a1", "admin", "modify")
			seat := a.body["seat"].(map[string]any)
			idle := a.body["idle"].(map[string]any)
			user := a.body["user"].(map[string]any)
			if seat["pool"] != "admin-modify" || seat["limit"] != 2.0 || idle["enabled"] != true || idle["timeoutSeconds"] != 1800.0 ||
				a.body["heartbeatSeconds"] != 60.0 || a.body["leaseSeconds"] != 180.0 || a.body["reportSeconds"] != 60.0 ||
				user["login"] != "a1" || a.body["mode"] != "admin" {
				t.Fatalf("session object: %v", a.body)
			}
			if perms := a.body["permissions"].([]any); len(perms) != 97 || slices.Contains(perms, any(sesame.ActionSPRConnect)) {
				t.Fatalf("a Modification member holds %d actions", len(perms))
			}
			got := b.do("GET", "/session", nil, nil)
			wantStatus(t, "GET /session", got, http.StatusOK, "")
			if got.body["school"].(map[string]any)["uai"] != "0751234A" {
				t.Fatalf("GET /session: %v", got.body)
			}
			// The SPR takes no seat, so its agent reports every 10 minutes.
			s := w.spr().do("GET", "/session", nil, nil)
			if s.body["seat"] != nil || s.body["reportSeconds"] != 600.0 || !slices.Contains(s.body["permissions"].([]any), any(sesame.ActionSPRConnect)) {
				t.Fatalf("SPR session: %v", s.body)
			}
			// A copy of the cookie taken before the logout is worth nothing after it.
			stolen := w.browser()
			u, _ := url.Parse(w.srv.URL)
			stolen.http.Jar.SetCookies(u, b.http.Jar.Cookies(u))
			wantStatus(t, "logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
			wantReason(t, "the browser after logout", b.do("GET", "/session", nil, nil), sesame.ReasonMissing)
			wantReason(t, "the old cookie after logout", stolen.do("GET", "/session", nil, nil), sesame.ReasonLoggedOut)
			wantReason(t, "no cookie", w.browser().do("GET", "/session", nil, nil), sesame.ReasonMissing)
		})

		// A session without a seat reports every 10 minutes (reportSeconds):
		// the server keeps it open, however long its lease has lapsed, and
		// Connexions shows and counts it between reports.
		t.Run("SeatlessReportsEveryTenMinutes", func(t *testing.T) {
			w.user("parent1", "parent", "", "")
			b := w.browser()
			if a := b.mustLogin("parent1", "parent", ""); a.body["reportSeconds"] != 600.0 {
				t.Fatalf("reportSeconds %v, want 600", a.body["reportSeconds"])
			}
			for range 6 { // an hour, the user busy
				w.clock.Advance(9 * time.Minute) // the seat's 3-minute lease has long lapsed
				if n := w.used(sesame.PoolParent); n != 1 {
					t.Fatalf("9 minutes after its last report, the parent pool counts %d connections, want 1", n)
				}
				w.clock.Advance(time.Minute)
				wantStatus(t, "report", b.heartbeat(20), http.StatusOK, "")
			}
			wantStatus(t, "GET /session", b.do("GET", "/session", nil, nil), http.StatusOK, "")
			// A browser closed without logging out leaves Connexions once
			// a report is overdue by more than a late timer's margin.
			w.clock.Advance(12*time.Minute + time.Second)
			if n := w.used(sesame.PoolParent); n != 0 {
				t.Fatalf("12 minutes after its last report, the parent pool counts %d connections, want 0", n)
			}
		})

		t.Run("HeartbeatsKeepTheSeat", func(t *testing.T) {
			b := w.browser()
			b.mustLogin("a1", "admin", "modify")
			for range 10 { // ten minutes of heartbeats, the user busy
				w.clock.Advance(60 * time.Second)
				a := b.heartbeat(3)
				wantStatus(t, "heartbeat", a, http.StatusOK, "")
				if a.body["leaseSeconds"] != 180.0 || a.body["idle"].(map[string]any)["timeoutSeconds"] != 1800.0 {
					t.Fatalf("heartbeat answer: %v", a.body)
				}
			}
			if n := w.used(sesame.PoolAdminModify); n != 1 {
				t.Fatalf("used %d, want 1", n)
			}
			wantStatus(t, "logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
			if n := w.used(sesame.PoolAdminModify); n != 0 {
				t.Fatalf("after logout used %d, want 0", n)
			}
		})

		t.Run("DeadBrowserSeatComesBack", func(t *testing.T) {
			dead := w.browser()
			dead.mustLogin("a1", "admin", "modify")
			w.browser().mustLogin("a2", "admin", "modify")
			wantStatus(t, "third admin", w.browser().login("a3", "admin", "modify"), http.StatusConflict, "seats_exhausted")
			w.clock.Advance(181 * time.Second) // a1's and a2's browsers died
			third := w.browser()
			third.mustLogin("a3", "admin", "modify")
			// a1's laptop wakes: its lease lapsed, but the pool has room again, so it takes a seat back.
			wantStatus(t, "a1 wakes", dead.heartbeat(0), http.StatusOK, "")
			wantStatus(t, "a2 comes back", w.browser().login("a2", "admin", "modify"), http.StatusConflict, "seats_exhausted")
			for _, b := range []*browser{dead, third} {
				wantStatus(t, "logout", b.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
			}
		})

		t.Run("IdleTimeoutFreesTheSeat", func(t *testing.T) {
			b := w.browser()
			b.mustLogin("a1", "admin", "modify")
			w.clock.Advance(time.Minute)
			wantStatus(t, "active", b.heartbeat(0), http.StatusOK, "")
			// The user goes away; the agent reports the idleness.
			for i := 1; i <= 28; i++ {
				w.clock.Advance(time.Minute)
				wantStatus(t, "idle heartbeat", b.heartbeat(float64(i*60)), http.StatusOK, "")
			}
			w.clock.Advance(2 * time.Minute) // idle since a minute after sign-in: 30 minutes now
			idle := b.heartbeat(30 * 60)
			wantReason(t, "idle for 30 minutes", idle, sesame.ReasonIdleTimeout)
			if idle.errField("idleTimeoutSeconds") != 1800.0 {
				t.Fatalf("the idle 401 does not name the limit: %v", idle.body)
			}
			if n := w.used(sesame.PoolAdminModify); n != 0 {
				t.Fatalf("after idle timeout used %d, want 0", n)
			}
			wantReason(t, "GET /session", b.do("GET", "/session", nil, nil), sesame.ReasonIdleTimeout)
		})

		t.Run("ServerJudgesIdleWithoutReport", func(t *testing.T) {
			b := w.browser()
			b.mustLogin("a1", "admin", "modify")
			w.clock.Advance(31 * time.Minute) // a laptop slept past the limit, then claims activity
			wantReason(t, "wake", b.heartbeat(0), sesame.ReasonIdleTimeout)
		})

		t.Run("ForcedDisconnection", func(t *testing.T) {
			b := w.browser()
			b.mustLogin("a2", "admin", "modify")
			spr := w.spr()
			conns := spr.do("GET", "/connections", nil, nil)
			var id string
			for _, c := range conns.body["connections"].([]any) {
				m := c.(map[string]any)
				if m["login"] == "a2" {
					id = m["id"].(string)
				}
			}
			if id == "" {
				t.Fatalf("a2 missing from connections: %v", conns.body)
			}
			self := 0
			for _, c := range conns.body["connections"].([]any) {
				if m := c.(map[string]any); m["current"] == true {
					self++
					if m["login"] != "spr" {
						t.Fatalf("current connection is %v", m["login"])
					}
				}
			}
			if self != 1 {
				t.Fatalf("%d connections marked current, want the SPR's own", self)
			}
			wantStatus(t, "disconnect", spr.do("DELETE", "/connections/"+id, nil, nil), http.StatusNoContent, "")
			wantReason(t, "after disconnection", b.heartbeat(0), sesame.ReasonDisconnected)
			if n := w.used(sesame.PoolAdminModify); n != 0 {
				t.Fatalf("after disconnection used %d", n)
			}
			wantStatus(t, "disconnect unknown", spr.do("DELETE", "/connections/inconnue", nil, nil), http.StatusNotFound, "not_found")
			// Only the SPR sees and cuts connections.
			wantStatus(t, "connections by a non-SPR", w.browser().mustLoginThen("a1", "admin").do("GET", "/connections", nil, nil), http.StatusForbidden, "forbidden")
		})

		t.Run("SignInElsewhereReplaces", func(t *testing.T) {
			first, second := w.browser(), w.browser()
			first.mustLogin("a3", "admin", "modify")
			second.mustLogin("a3", "admin", "modify")
			wantReason(t, "first computer", first.heartbeat(0), sesame.ReasonReplaced)
			wantStatus(t, "second computer", second.heartbeat(0), http.StatusOK, "")
			if n := w.used(sesame.PoolAdminModify); n > 2 {
				t.Fatalf("one login on two computers holds %d seats", n)
			}
		})
	})
}

// mustLoginThen signs in to mode with the default access and returns b.
func (b *browser) mustLoginThen(login, mode string) *browser {
	b.mustLogin(login, mode, "")
	return b
}

func TestConsultationTakesNoSeat(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.License{AdminSeats: 1, TeacherSeats: 30, Consultation: true})
		w.user("modif1", "staff", "Modification", "")
		w.user("modif2", "staff", "Modification", "")
		w.user("lecteur", "staff", "Consultation", "")
		w.browser().mustLogin("modif1", "admin", "modify") // the one seat
		for _, l := range []string{"modif2", "lecteur"} {
			b := w.browser()
			a := b.mustLogin(l, "admin", "consult")
			if seat := a.body["seat"].(map[string]any); seat["pool"] != "admin-consult" || seat["limit"] != nil || a.body["reportSeconds"] != 600.0 {
				t.Fatalf("%s consulting: seat %v, reports every %v s", l, seat, a.body["reportSeconds"])
			}
			if perms := a.body["permissions"].([]any); len(perms) != 24 {
				t.Fatalf("%s consulting holds %d actions, want the 24 read actions", l, len(perms))
			}
			d := b.do("GET", "/authorize?action=notes.saisir-notes", nil, nil)
			if d.body["allowed"] != false || d.body["reason"] != sesame.ReasonReadOnly {
				t.Fatalf("write action in consultation: %v", d.body)
			}
			d = b.do("GET", "/authorize?action=notes.consulter-releve-notes-bulletin", nil, nil)
			if d.body["allowed"] != true {
				t.Fatalf("read action in consultation: %v", d.body)
			}
		}
		wantStatus(t, "consult member in modification", w.browser().login("lecteur", "admin", "modify"), http.StatusForbidden, "mode_forbidden")
		wantStatus(t, "unknown action", w.browser().mustLoginThen("modif2", "vie-scolaire").do("GET", "/authorize?action=x.y", nil, nil), http.StatusBadRequest, "unknown_action")
	})
}

func TestSchoolsAreIsolated(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		a := newWorld(t, st, "0751234A", sesame.DefaultLicense)
		b := &world{t: t, svc: a.svc, srv: a.srv, clock: a.clock, uai: "0931234B", year: "2026-2027"}
		if _, err := a.svc.CreateSchool(t.Context(), sesame.NewSchool{UAI: b.uai, Name: "Lycée B", Year: b.year, SPRPassword: pw}); err != nil {
			t.Fatal(err)
		}
		b.user("prof", "teacher", "", "")
		a.user("prof", "teacher", "", "")
		sprA, sprB := a.browser(), b.browser()
		sprA.mustLogin("spr", "admin", "")
		sprB.mustLogin("spr", "admin", "")
		profB := b.browser()
		profB.mustLogin("prof", "teacher", "")
		connsA := sprA.do("GET", "/connections", nil, nil)
		for _, c := range connsA.body["connections"].([]any) {
			if c.(map[string]any)["login"] == "prof" {
				t.Fatal("school A's SPR sees school B's teacher")
			}
		}
		var idB string
		for _, c := range sprB.do("GET", "/connections", nil, nil).body["connections"].([]any) {
			if m := c.(map[string]any); m["login"] == "prof" {
				idB = m["id"].(string)
			}
		}
		wantStatus(t, "A disconnects B's teacher", sprA.do("DELETE", "/connections/"+idB, nil, nil), http.StatusNotFound, "not_found")
		wantStatus(t, "B's teacher still in", profB.heartbeat(0), http.StatusOK, "")
		if sprA.do("GET", "/session", nil, nil).body["school"].(map[string]any)["uai"] != "0751234A" {
			t.Fatal("A's SPR session names another school")
		}
	})
}

func TestThrottling(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
		w.user("prof", "teacher", "", "")
		owner := w.browser()
		owner.mustLogin("prof", "teacher", "") // the owner's browser gets its device cookie
		wantStatus(t, "logout", owner.do("POST", "/logout", nil, nil), http.StatusNoContent, "")
		attacker := w.browser()
		var throttled answer
		for i := range 30 {
			a := attacker.do("POST", "/login", map[string]string{"school": w.uai, "login": "prof", "password": "devine", "mode": "teacher"}, nil)
			if a.status == http.StatusTooManyRequests {
				throttled = a
				break
			}
			wantStatus(t, "guess", a, http.StatusUnauthorized, "invalid_credentials")
			if i == 29 {
				t.Fatal("30 wrong guesses from an unknown device were never throttled")
			}
		}
		if throttled.header.Get("Retry-After") == "" || throttled.errField("retryAfterSeconds") == nil {
			t.Fatalf("429 without Retry-After: %v", throttled.body)
		}
		// The right password from the attacker's device is refused too while it waits.
		wantStatus(t, "attacker with the password", attacker.login("prof", "teacher", ""), http.StatusTooManyRequests, "too_many_attempts")
		// The owner's known device keeps its own budget.
		owner.mustLogin("prof", "teacher", "")
		// An unknown login answers exactly like a wrong password.
		u := w.browser().do("POST", "/login", map[string]string{"school": w.uai, "login": "personne", "password": "x", "mode": "teacher"}, nil)
		wantStatus(t, "unknown login", u, http.StatusUnauthorized, "invalid_credentials")
		wrong := w.browser().do("POST", "/login", map[string]string{"school": w.uai, "login": "spr", "password": "x", "mode": "admin"}, nil)
		if u.errField("message") != wrong.errField("message") {
			t.Fatalf("unknown login and wrong password differ: %v / %v", u.body, wrong.body)
		}
		// A full pool is not a failed attempt.
		w.clock.Advance(2 * time.Hour)
	})
}

func TestCrossSiteAndContentTypes(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
		b := w.browser()
		body := map[string]string{"school": w.uai, "login": "spr", "password": pw, "mode": "admin"}
		wantStatus(t, "foreign origin", b.do("POST", "/login", body, map[string]string{"Origin": "https://evil.example"}), http.StatusForbidden, "cross_site")
		wantStatus(t, "no origin", b.do("POST", "/login", body, map[string]string{"Origin": ""}), http.StatusForbidden, "cross_site")
		wantStatus(t, "same-origin fetch without Origin", b.do("POST", "/login", body, map[string]string{"Origin": "", "Sec-Fetch-Site": "same-origin"}), http.StatusOK, "")
		wantStatus(t, "form post", b.do("POST", "/logout", "a=b", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), http.StatusUnsupportedMediaType, "unsupported_media_type")
		wantStatus(t, "text/plain", b.do("POST", "/heartbeat", `{"idleSeconds":0}`, map[string]string{"Content-Type": "text/plain"}), http.StatusUnsupportedMediaType, "unsupported_media_type")
		wantStatus(t, "cross-site disconnect", b.do("DELETE", "/connections/x", nil, map[string]string{"Origin": "http://127.0.0.2"}), http.StatusForbidden, "cross_site")
		wantStatus(t, "bad JSON", b.do("POST", "/heartbeat", `{"idleSeconds":`, nil), http.StatusBadRequest, "bad_request")
		wantStatus(t, "unknown field", b.do("POST", "/heartbeat", `{"idleSeconds":1,"x":2}`, nil), http.StatusBadRequest, "bad_request")
		wantStatus(t, "missing idleSeconds", b.do("POST", "/heartbeat", `{}`, nil), http.StatusBadRequest, "bad_request")
		wantStatus(t, "bad mode", b.do("POST", "/login", map[string]string{"school": w.uai, "login": "spr", "password": pw, "mode": "dieu"}, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "bad UAI", b.do("POST", "/login", map[string]string{"school": "123", "login": "spr", "password": pw, "mode": "admin"}, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "wrong method", b.do("PUT", "/login", body, nil), http.StatusMethodNotAllowed, "method_not_allowed")
		wantStatus(t, "unknown route", b.do("GET", "/nulle-part", nil, nil), http.StatusNotFound, "not_found")
	})
}

func TestOtherYearOnlyForSPR(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
		w.user("prof", "teacher", "", "")
		if _, err := w.svc.CreateSchool(t.Context(), sesame.NewSchool{UAI: w.uai, Name: "x", Year: "2027-2028", SPRPassword: pw}); err != nil {
			t.Fatal(err)
		}
		next := map[string]string{"school": w.uai, "login": "spr", "password": pw, "mode": "admin", "year": "2027-2028"}
		a := w.browser().do("POST", "/login", next, nil)
		wantStatus(t, "SPR into next year", a, http.StatusOK, "")
		if a.body["school"].(map[string]any)["year"] != "2027-2028" {
			t.Fatalf("SPR's session year: %v", a.body["school"])
		}
		wantStatus(t, "teacher into next year", w.browser().do("POST", "/login",
			map[string]string{"school": w.uai, "login": "prof", "password": pw, "mode": "teacher", "year": "2025-2026"}, nil), http.StatusUnauthorized, "invalid_credentials")
		w.user("prof2", "teacher", "", "")
	})
}

// TestOpenAPIInSync checks that the published document lists exactly the
// routes the API serves, with their methods.
func TestOpenAPIInSync(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
	a := w.browser().do("GET", "/openapi.json", nil, nil)
	wantStatus(t, "openapi.json", a, http.StatusOK, "")
	if a.body["openapi"] == nil {
		t.Fatal("openapi.json has no version")
	}
	documented := map[string]bool{}
	for path, ops := range a.body["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range httpapi.Routes {
		served[r.Method+" "+r.Path] = true
		if !documented[r.Method+" "+r.Path] {
			t.Errorf("%s %s is served but not documented", r.Method, r.Path)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("%s is documented but not served", k)
		}
	}
	// POST /uploads documents the file the handler reads: its fields,
	// the accepted types and the size limit.
	up := a.body["components"].(map[string]any)["schemas"].(map[string]any)["UploadRequest"].(map[string]any)
	props := up["properties"].(map[string]any)
	fields := []string{}
	for f := range reflect.TypeFor[sesame.UploadFile]().Fields() {
		fields = append(fields, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	if got := slices.Sorted(maps.Keys(props)); !slices.Equal(got, slices.Sorted(slices.Values(fields))) || fmt.Sprint(up["required"]) != fmt.Sprint(fields) {
		t.Errorf("UploadRequest documents %v (required %v), the handler reads %v", got, up["required"], fields)
	}
	if got := fmt.Sprint(props["contentType"].(map[string]any)["enum"]); got != fmt.Sprint(sesame.UploadTypes) {
		t.Errorf("UploadRequest.contentType documents %s, the handler accepts %v", got, sesame.UploadTypes)
	}
	if got := props["size"].(map[string]any)["maximum"]; got != float64(sesame.DefaultRentreeLimits.MaxCompressedIn) {
		t.Errorf("UploadRequest.size documents a maximum of %v, the handler %d", got, sesame.DefaultRentreeLimits.MaxCompressedIn)
	}
	// Every route answers something other than the catch-all 404.
	for _, r := range httpapi.Routes {
		got := w.browser().do(r.Method, strings.ReplaceAll(r.Path, "{id}", "x"), nil, nil)
		if got.code() == "not_found" && !strings.Contains(r.Path, "{") {
			t.Errorf("%s %s is not routed", r.Method, r.Path)
		}
	}
}
