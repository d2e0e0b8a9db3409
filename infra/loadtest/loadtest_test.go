package loadtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/loadtest"
	"github.com/sesame-ecole/sesame/infra/password"
)

const (
	uai  = "0751234A"
	year = "2026-2027"
	pw   = "mot-de-passe-solide"
)

// fastHash keeps the tests quick; the product uses password.OWASP.
var fastHash = password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})

// server starts the product over a bbolt file with a school whose admin
// pool has seats places, and users accounts charge001… in the Modification
// group. idle, when set, is the Modification group's idle limit.
func server(t *testing.T, seats, users int, idle time.Duration) string {
	t.Helper()
	ctx := context.Background()
	svc, st := newService(t)
	svc.Hashing = sesame.NewHashGate(0, time.Minute) // these runs are about seats: never 503 busy
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège de charge", Year: year,
		AdminSeats: sesame.Limit(seats), SPRPassword: pw}); err != nil {
		t.Fatal(err)
	}
	for i := range users {
		if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: year, Login: loadtest.Account("charge", 1, i), Kind: "staff",
			DisplayName: "Compte de charge", AdminGroup: "Modification", Password: pw}); err != nil {
			t.Fatal(err)
		}
	}
	if idle > 0 {
		k := sesame.BaseKey{UAI: uai, Year: year}
		g, err := st.GetProfile(ctx, k, sesame.ModificationID)
		if err != nil {
			t.Fatal(err)
		}
		// Below the product's one-minute minimum: only a test may do that.
		g.AutoDisconnect = sesame.AutoDisconnect{Enabled: true, After: idle}
		if _, err := st.UpdateProfile(ctx, k, g); err != nil {
			t.Fatal(err)
		}
	}
	return listen(t, svc)
}

// newService is the product over a fresh bbolt file, with fast hashing.
func newService(t *testing.T) (*sesame.Service, *bolt.Store) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}, st
}

// listen serves the product's API on a local port and returns its URL.
func listen(t *testing.T, svc *sesame.Service) string {
	t.Helper()
	srv := httptest.NewServer(app.Handler(svc, httpapi.Config{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func config(url string) loadtest.Config {
	return loadtest.Config{URL: url, UAI: uai, Year: year, Users: 12, Duration: 3 * time.Second,
		Heartbeat: 100 * time.Millisecond, Password: pw, Mode: "admin", SPRLogin: "spr", SPRPassword: pw, Seed: 1}
}

// checkRoutes fails unless every route's percentiles are ordered.
func checkRoutes(t *testing.T, rep loadtest.Report) {
	t.Helper()
	if rep.Throughput <= 0 || rep.Requests == 0 {
		t.Errorf("throughput %v over %d requests", rep.Throughput, rep.Requests)
	}
	for _, s := range rep.Routes {
		if s.Requests == 0 || s.P50 <= 0 || s.P50 > s.P90 || s.P90 > s.P99 || s.P99 > s.Max {
			t.Errorf("route %s: %d requests, p50 %v p90 %v p99 %v max %v", s.Route, s.Requests, s.P50, s.P90, s.P99, s.Max)
		}
	}
	for _, r := range []string{loadtest.RouteLogin, loadtest.RouteHeartbeat, loadtest.RouteAuthorize, loadtest.RouteLogout, loadtest.RouteConnections} {
		if rep.Route(r).Requests == 0 {
			t.Errorf("no request on route %s", r)
		}
	}
}

func write(t *testing.T, rep loadtest.Report) string {
	t.Helper()
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	return b.String()
}

// Twelve admin users for four seats, nobody idle, no retry: exactly four
// get in and eight are refused for lack of seats.
func TestFourSeatsTwelveUsers(t *testing.T) {
	url := server(t, 4, 12, 0)
	rep, err := loadtest.Run(context.Background(), config(url))
	if err != nil {
		t.Fatal(err)
	}
	out := write(t, rep)
	if !rep.OK() {
		t.Fatalf("violations: %+v", rep.Violations)
	}
	if rep.LoginsAttempted != 12 || rep.LoginsSucceeded != 4 || len(rep.LoginsRefused) != 1 || rep.LoginsRefused["seats_exhausted"] != 8 {
		t.Fatalf("sign-ins: %d attempted, %d succeeded, refused %v; want 12, 4, seats_exhausted 8",
			rep.LoginsAttempted, rep.LoginsSucceeded, rep.LoginsRefused)
	}
	if rep.HeartbeatsSent == 0 || rep.HeartbeatsOK != rep.HeartbeatsSent || rep.AuthorizeSent == 0 || rep.LogoutsSent != 4 {
		t.Fatalf("heartbeats %d/%d, authorize %d, logouts %d", rep.HeartbeatsOK, rep.HeartbeatsSent, rep.AuthorizeSent, rep.LogoutsSent)
	}
	if len(rep.Ended) != 0 || len(rep.Unexpected) != 0 || rep.NetworkErrors != 0 {
		t.Fatalf("ended %v, unexpected %v, network errors %d", rep.Ended, rep.Unexpected, rep.NetworkErrors)
	}
	if rep.AuthorizeAllowed == 0 {
		t.Errorf("no action allowed in admin mode: %d denied", rep.AuthorizeDenied)
	}
	checkRoutes(t, rep)
	if len(rep.Pools) == 0 || rep.Pools[0].Pool != "admin-modify" {
		t.Fatalf("pools: %+v", rep.Pools)
	}
	p := rep.Pools[0]
	if p.Limit != 4 || p.MaxUsedServer != 4 || p.MaxHeldClient < 1 || p.MaxHeldClient > 4 || p.FinalUsed != 0 {
		t.Fatalf("admin-modify: %+v", p)
	}
	if rep.ServerChecks < 3 {
		t.Errorf("%d server checks in 3 s", rep.ServerChecks)
	}
	for _, want := range []string{"12 tentées, 4 réussies, 8 refusées (seats_exhausted 8)", "Aucune violation", "requêtes/s", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// Idle users time out and free their seats for the refused, who try
// again; the invariant holds all along.
func TestIdleUsersFreeSeats(t *testing.T) {
	for _, tc := range []struct {
		name      string
		idle      time.Duration // the server's idle limit (0: the default 30 minutes)
		headStart time.Duration
	}{
		{"short idle limit", time.Second, 0},
		{"head start", 0, sesame.DefaultAutoDisconnect - 500*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := server(t, 4, 12, tc.idle)
			cfg := config(url)
			cfg.IdleShare, cfg.IdleHeadStart = 0.5, tc.headStart
			cfg.Heartbeat, cfg.Retry = 200*time.Millisecond, 300*time.Millisecond
			// Browsers start 100 ms apart, so the first four to sign in
			// are browsers 0 to 3, two of them idle.
			cfg.Ramp = 1100 * time.Millisecond
			rep, err := loadtest.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			write(t, rep)
			if !rep.OK() {
				t.Fatalf("violations: %+v", rep.Violations)
			}
			if rep.IdleUsers != 6 || rep.Ended["idle_timeout"] < 2 || len(rep.Ended) != 1 {
				t.Fatalf("%d idle users, sessions ended %v; want 6 and idle_timeout ≥ 2 only", rep.IdleUsers, rep.Ended)
			}
			if rep.LoginsSucceeded < 6 || rep.LoginsRefused["seats_exhausted"] == 0 {
				t.Fatalf("sign-ins: %d succeeded, refused %v", rep.LoginsSucceeded, rep.LoginsRefused)
			}
			checkRoutes(t, rep)
			// The checks come once a second: they may miss the moments
			// when all four seats are taken.
			if p := rep.Pools[0]; p.MaxUsedServer < 1 || p.MaxUsedServer > 4 || p.MaxHeldClient > 4 || p.FinalUsed != 0 {
				t.Fatalf("admin-modify: %+v", p)
			}
		})
	}
}

func TestRefusesAddressesElsewhere(t *testing.T) {
	for _, u := range []string{"http://example.com/", "https://10.0.0.1:8080/", "http://[::2]/", "http://localhost.example.com/",
		"http://192.168.1.10/", "http://0.0.0.0:8080/"} {
		cfg := config(u)
		_, err := loadtest.Run(context.Background(), cfg)
		if err == nil || sesame.ErrorCode(err) != sesame.CodeInvalid || !strings.Contains(sesame.ErrorMessage(err), "n'est pas locale") ||
			!strings.Contains(sesame.ErrorMessage(err), "127.0.0.0/8, ::1 ou localhost") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://127.0.0.1/", "127.0.0.1:8080", "http://"} {
		if _, err := loadtest.CheckURL(u); err == nil || !strings.Contains(sesame.ErrorMessage(err), "incorrecte") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080/", "https://127.3.2.1/", "http://[::1]:8080", "http://localhost:8080/", "http://LOCALHOST/"} {
		if _, err := loadtest.CheckURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

func TestRefusedBeforeStart(t *testing.T) {
	url := server(t, 4, 2, 0)
	cfg := config(url)
	cfg.SPRPassword = "pas-le-bon-mot-de-passe"
	_, err := loadtest.Run(context.Background(), cfg)
	if err == nil || !strings.Contains(sesame.ErrorMessage(err), "Le superviseur « spr » n'a pas pu se connecter") ||
		sesame.ErrorCode(err) != "invalid_credentials" {
		t.Fatalf("wrong SPR password: %v", err)
	}
	cfg = config("http://127.0.0.1:1/")
	if _, err := loadtest.Run(context.Background(), cfg); err == nil || !strings.Contains(sesame.ErrorMessage(err), "ne répond pas") {
		t.Fatalf("nobody listening: %v", err)
	}
	for _, c := range []func(*loadtest.Config){
		func(c *loadtest.Config) { c.Users = -1 },
		func(c *loadtest.Config) { c.IdleShare = 1.5 },
		func(c *loadtest.Config) { c.Mode = "directeur" },
		func(c *loadtest.Config) { c.Year = "2026" },
		func(c *loadtest.Config) { c.Password = "" },
		func(c *loadtest.Config) { c.Duration = 2 * time.Hour },
	} {
		cfg := config(url)
		c(&cfg)
		if _, err := loadtest.Run(context.Background(), cfg); sesame.ErrorCode(err) != sesame.CodeInvalid {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// Accounts that do not exist are refused and the report says how to
// create them.
func TestUnknownAccounts(t *testing.T) {
	url := server(t, 4, 0, 0)
	cfg := config(url)
	cfg.Users, cfg.Duration = 3, time.Second
	rep, err := loadtest.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := write(t, rep)
	if rep.LoginsRefused["invalid_credentials"] != 3 || rep.LoginsSucceeded != 0 || !rep.OK() {
		t.Fatalf("refused %v", rep.LoginsRefused)
	}
	if !strings.Contains(out, "--create-users") {
		t.Fatalf("no hint in the report")
	}
}

// A server that breaks the invariant is caught on both sides: it grants
// every sign-in a seat of a one-seat pool and shows two seats used.
func TestCatchesViolations(t *testing.T) {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /api/v1/login", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"seat": map[string]any{"pool": "admin-modify", "limit": 1}, "leaseSeconds": 180,
			"idle": map[string]any{"enabled": true, "timeoutSeconds": 1800}, "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	})
	mux.HandleFunc("POST /api/v1/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"leaseSeconds": 180, "idle": map[string]any{"enabled": true, "timeoutSeconds": 1800}})
	})
	mux.HandleFunc("GET /api/v1/authorize", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{"allowed": true}) })
	mux.HandleFunc("GET /api/v1/permissions", func(w http.ResponseWriter, r *http.Request) { reply(w, []any{}) })
	mux.HandleFunc("POST /api/v1/logout", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /api/v1/connections", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"pools": []any{map[string]any{"pool": "admin-modify", "limit": 1, "used": 2}}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := config(srv.URL)
	cfg.Users, cfg.Duration = 3, 1500*time.Millisecond
	rep, err := loadtest.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := write(t, rep)
	sources := map[string]bool{}
	for _, v := range rep.Violations {
		sources[v.Source] = true
		if v.Pool != "admin-modify" || v.Limit != 1 || v.Used < 2 {
			t.Errorf("violation %+v", v)
		}
	}
	if rep.OK() || !sources["client"] || !sources["serveur"] || !strings.Contains(out, "VIOLATIONS") {
		t.Fatalf("violations %d, sources %v", rep.ViolationCount, sources)
	}
}

// A run stops by itself at its request budget, and logs out.
func TestRequestBudget(t *testing.T) {
	url := server(t, 4, 4, 0)
	cfg := config(url)
	cfg.Users, cfg.Duration, cfg.Heartbeat, cfg.MaxRequests = 4, 30*time.Second, 20*time.Millisecond, 200
	start := time.Now()
	rep, err := loadtest.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	write(t, rep)
	if time.Since(start) > 15*time.Second || rep.Stopped == "" || rep.LogoutsSent != 4 || !rep.OK() {
		t.Fatalf("after %v: stopped %q, %d logouts", time.Since(start), rep.Stopped, rep.LogoutsSent)
	}
	if p := rep.Pools[0]; p.FinalUsed != 0 {
		t.Fatalf("seats left: %+v", p)
	}
}
