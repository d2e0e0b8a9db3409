// Package loadtest drives simulated browsers against a running Sésame
// server, over HTTP only, and checks the seat invariant while they work.
//
// Each simulated browser has its own cookie jar. It signs in (POST
// /api/v1/login with the site's Origin and a JSON body), sends heartbeats at
// a fixed interval, checks a permission (GET /api/v1/authorize) halfway
// between two heartbeats, and logs out at the end. A share of the browsers
// is idle: their users never act, so they report an idleSeconds that grows
// with time and are eventually told 401 idle_timeout by the server; the
// others report a few seconds at most.
//
// Meanwhile the supervisor (SPR) reads GET /api/v1/connections every second
// and at the end, and the run checks, for every limited pool:
//   - on the server's side, that used ≤ limit;
//   - on its own side, that the browsers that certainly hold a seat are
//     never more than the limit, counted each time one gets or renews a
//     seat. A browser certainly holds its seat from the answer that granted
//     or renewed it until the server may have freed it: the lease ends
//     (counted from when the request was sent), the idle limit may be
//     reached (counted from the lowest last activity its reports allow,
//     in-flight reports included), or the session's absolute end. Requests
//     in flight do not make the count uncertain, so it stays exact when
//     the server is slower than the heartbeats.
//
// A licence lowered during the run keeps its live holders (they are never
// evicted), so both checks compare with the highest limit seen during the
// run. The client-side count assumes that nobody else ends the run's
// sessions (the SPR's Connexions page, a deactivated account, a sign-in
// with the same login elsewhere) or shortens their idle limit meanwhile.
//
// The accounts are <prefix>001, <prefix>002, …, all with the same password;
// they are created beforehand (`sesame loadtest --create-users`, or `sesame
// users add`). Only loopback addresses are accepted: 127.0.0.0/8, ::1 and
// localhost; every connection is checked again when it is dialled, and
// redirects are not followed. Runs are bounded in time and in requests.
//
//	rep, err := loadtest.Run(ctx, loadtest.Config{URL: "http://127.0.0.1:8080/", UAI: "0751234A",
//		Year: "2026-2027", Users: 50, Password: pw, SPRPassword: sprPw})
//	rep.Write(os.Stdout)
//
// Rush is the other profile: a morning rush of students and parents who
// each sign in once within a short window, following Retry-After as the
// sign-in page does, measured against the targets of a server under
// overload (rush.go); Capacity measures the sign-in rate it is sized by.
//
//	rep, err := loadtest.Rush(ctx, loadtest.RushConfig{URL: "http://127.0.0.1:8080/", UAI: "0751234A",
//		Year: "2026-2027", Password: pw, Window: 2 * time.Minute, PID: serverPID,
//		Cohorts: []loadtest.Cohort{{Prefix: "eleve", Mode: "student", Users: 1500}}})
package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Config describes a run.
type Config struct {
	// URL is the server's address: http(s)://host[:port]/ on a loopback
	// address only.
	URL string
	// UAI and Year name the base the accounts belong to. Year is sent with
	// each sign-in, so a base that is not the current one is refused
	// clearly (mode_forbidden) rather than tested by mistake.
	UAI, Year string
	// Users is the number of simulated browsers (1 to MaxUsers; 10 when 0).
	Users int
	// Duration is how long the run lasts (up to MaxDuration; 30 s when 0).
	Duration time.Duration
	// Heartbeat is the interval between two heartbeats of a browser (5 s
	// when 0). The product's agent uses the server's 60 s; a shorter one
	// makes more load.
	Heartbeat time.Duration
	// IdleShare is the share of browsers whose user never acts (0 to 1).
	IdleShare float64
	// IdleHeadStart is how long the idle users have already been idle when
	// they first sign in: with a head start just under the server's idle
	// limit, a short run sees the idle timeouts of a long one.
	IdleHeadStart time.Duration
	// Prefix and First name the accounts: Prefix+"001" for First = 1.
	Prefix string
	First  int
	// Password is every account's password.
	Password string
	// Mode and Access are the sign-in's mode (teacher when empty) and
	// access (modify when empty).
	Mode, Access string
	// SPRLogin and SPRPassword sign in the supervisor who reads
	// GET /connections; an empty SPRLogin disables the server-side check.
	SPRLogin, SPRPassword string
	// Retry is the longest a browser refused for lack of seats waits
	// before it tries again (the server's retryAfterSeconds is used when
	// shorter); 0: a refused browser gives up.
	Retry time.Duration
	// Session, when set, is how long an active browser stays signed in
	// before it logs out and signs in again; 0: until the end.
	Session time.Duration
	// Ramp spreads the browsers' first sign-ins over this duration; 0:
	// all at once.
	Ramp time.Duration
	// CheckEvery is the interval of the server-side check (1 s when 0).
	CheckEvery time.Duration
	// MaxRequests bounds the requests of the run (DefaultMaxRequests when
	// 0); the browsers stop and log out when it is reached.
	MaxRequests int
	// Insecure accepts any TLS certificate (a self-signed one on this
	// machine).
	Insecure bool
	// Seed makes the browsers' random choices repeatable (0: random).
	Seed uint64
	// Speed compresses time: a simulated minute lasts a minute ÷ Speed
	// (0: no compression). Idle users report their idleness × Speed, so the
	// server's idle limit ends their sessions in compressed time too.
	Speed float64
	// HeartbeatFromServer takes the heartbeat interval from the sign-in's
	// answer (reportSeconds, else heartbeatSeconds, ÷ Speed), as the agent
	// does; Heartbeat stays the interval when the answer has none.
	HeartbeatFromServer bool
	// PageEvery, when set, is how often an active user loads a page: GET
	// /session, then one authorize check; idle users load none. When 0,
	// every browser checks a permission halfway between two heartbeats.
	PageEvery time.Duration
}

// Bounds of a run.
const (
	MaxUsers           = 10000
	MaxDuration        = time.Hour
	DefaultMaxRequests = 5_000_000
	// maxSamples bounds the latencies kept per route for percentiles.
	maxSamples = 1 << 20
)

// Routes are the names the report gives the API's routes.
const (
	RouteLogin       = "login"
	RouteHeartbeat   = "heartbeat"
	RouteAuthorize   = "authorize"
	RouteLogout      = "logout"
	RouteConnections = "connections"
	RoutePermissions = "permissions"
	RouteSession     = "session"
	// RouteSPR gathers the supervisor's own sign-in, heartbeats and
	// logout, apart from the browsers'.
	RouteSPR = "spr"
)

var routeOrder = []string{RouteLogin, RouteHeartbeat, RouteSession, RouteAuthorize, RouteLogout, RouteConnections, RoutePermissions, RouteSPR}

// Account returns the login of the i-th account (from 0) of a run whose
// accounts start at first: prefix001, prefix002, …
func Account(prefix string, first, i int) string {
	return fmt.Sprintf("%s%03d", prefix, first+i)
}

// CheckURL accepts an http or https URL whose host is a loopback address
// (127.0.0.0/8, ::1) or localhost, and refuses every other one with a
// French message: a load test never leaves this machine.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, sesame.Invalid("url", "L'adresse « %s » est incorrecte : écrivez par exemple http://127.0.0.1:8080/.", raw)
	}
	if u.User != nil {
		return nil, sesame.Invalid("url", "L'adresse « %s » ne doit pas contenir d'identifiants.", raw)
	}
	if !loopbackHost(u.Hostname()) {
		return nil, sesame.Invalid("url", "L'adresse « %s » n'est pas locale : le test de charge ne vise que cette machine (127.0.0.0/8, ::1 ou localhost).", raw)
	}
	return u, nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(strings.TrimSuffix(h, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Check completes c with the defaults and validates it; Run does it too.
func (c *Config) Check() error {
	if err := c.defaults(); err != nil {
		return err
	}
	_, err := CheckURL(c.URL)
	return err
}

func (c *Config) defaults() error {
	if c.Users == 0 {
		c.Users = 10
	}
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 5 * time.Second
	}
	if c.CheckEvery == 0 {
		c.CheckEvery = time.Second
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = DefaultMaxRequests
	}
	if c.Mode == "" {
		c.Mode = string(sesame.ModeTeacher)
	}
	if c.Prefix == "" {
		c.Prefix = "charge"
	}
	if c.First == 0 {
		c.First = 1
	}
	switch {
	case c.Users < 1 || c.Users > MaxUsers:
		return sesame.Invalid("users", "Le nombre de navigateurs doit aller de 1 à %d.", MaxUsers)
	case c.Duration < 0 || c.Duration > MaxDuration:
		return sesame.Invalid("duration", "La durée du test doit être positive et d'une heure au plus.")
	case c.Heartbeat < 10*time.Millisecond || c.Heartbeat > 10*time.Minute:
		return sesame.Invalid("heartbeat", "L'intervalle des signaux de présence doit aller de 10 ms à 10 minutes.")
	case c.IdleShare < 0 || c.IdleShare > 1 || c.IdleShare != c.IdleShare:
		return sesame.Invalid("idleShare", "La part d'utilisateurs inactifs doit aller de 0 à 1.")
	case c.IdleHeadStart < 0 || c.Retry < 0 || c.Session < 0 || c.Ramp < 0 || c.CheckEvery < 0:
		return sesame.Invalid("duration", "Les durées doivent être positives.")
	case c.MaxRequests < 0:
		return sesame.Invalid("maxRequests", "Le nombre maximal de requêtes doit être positif.")
	case c.Password == "":
		return sesame.Invalid("password", "Le mot de passe des comptes est obligatoire.")
	case c.SPRLogin != "" && c.SPRPassword == "":
		return sesame.Invalid("sprPassword", "Le mot de passe du superviseur est obligatoire pour lire les connexions.")
	}
	if _, err := sesame.ParseBaseKey(c.UAI, c.Year); err != nil {
		return err
	}
	if _, err := sesame.ParseMode(c.Mode); err != nil {
		return err
	}
	if _, err := sesame.ParseAccess(c.Access); err != nil {
		return err
	}
	return nil
}

// Violation is one breach of the seat invariant.
type Violation struct {
	At     time.Duration // since the start of the run
	Source string        // "serveur" (GET /connections) or "client" (the browsers' own count)
	Pool   string
	Used   int
	Limit  int
}

// RouteStats are the latencies of one route.
type RouteStats struct {
	Route                    string
	Requests                 int
	P50, P90, P99, P999, Max time.Duration
}

// PoolStats is what the run saw of a limited pool.
type PoolStats struct {
	Pool string
	// Limit is the highest limit seen during the run.
	Limit int
	// MaxUsedServer is the most seats GET /connections showed in use;
	// MaxHeldClient the most the browsers certainly held at once.
	MaxUsedServer, MaxHeldClient int
	// FinalUsed is the seats in use at the end, after the logouts (-1
	// when not read).
	FinalUsed int
}

// Report is the outcome of a run.
type Report struct {
	URL, UAI, Year string
	Mode, Access   string
	Users          int
	IdleUsers      int
	Heartbeat      time.Duration
	Elapsed        time.Duration

	LoginsAttempted, LoginsSucceeded int
	// LoginsRefused counts refused sign-ins by error code
	// (seats_exhausted, invalid_credentials, too_many_attempts…).
	LoginsRefused map[string]int

	HeartbeatsSent, HeartbeatsOK int
	AuthorizeSent                int
	AuthorizeAllowed             int
	AuthorizeDenied              int
	LogoutsSent                  int
	// Ended counts the sessions the server ended, by the 401 reason
	// (idle_timeout, seat_lost, replaced, disconnected…).
	Ended map[string]int
	// Unexpected counts answers the browsers did not expect, by
	// "route status code".
	Unexpected map[string]int
	// NetworkErrors counts requests that got no answer.
	NetworkErrors int
	// Connected is the browsers' time signed in, summed over sessions.
	Connected time.Duration
	// PagesLoaded counts the GET /session of page loads.
	PagesLoaded int

	Requests   int
	Throughput float64 // requests per second
	Routes     []RouteStats

	// ServerChecks is the number of GET /connections checks done (0 when
	// the server-side check is disabled).
	ServerChecks  int
	ServerChecked bool
	Pools         []PoolStats
	Violations    []Violation
	// ViolationCount counts every violation; Violations keeps the first
	// hundred.
	ViolationCount int
	// Stopped says why the run ended early, if it did.
	Stopped string
}

// OK reports whether the run saw no breach of the seat invariant.
func (r Report) OK() bool { return r.ViolationCount == 0 }

// Route returns the stats of a route (zero when it had no request).
func (r Report) Route(name string) RouteStats {
	for _, s := range r.Routes {
		if s.Route == name {
			return s
		}
	}
	return RouteStats{Route: name}
}

// run is the state shared by the browsers of a run.
type run struct {
	cfg      Config
	base     *url.URL
	origin   string
	tr       *http.Transport
	start    time.Time
	deadline time.Time
	actions  []string

	requests atomic.Int64
	stopped  atomic.Bool // MaxRequests reached

	mu         sync.Mutex
	lat        map[string][]time.Duration
	count      map[string]int
	rep        Report
	limits     map[string]int // highest limit seen, limited pools only
	ledger     []seatState
	maxHeld    map[string]int
	maxUsed    map[string]int
	finalUsed  map[string]int
	violations []Violation
	nViolation int
}

// seatState is what a browser is known to hold: a seat of pool, which
// the server cannot have freed before leaseUntil, nor before the idle limit
// counted from activeFrom, nor before expires.
type seatState struct {
	pool       string // "" when it holds no seat of a limited pool
	leaseUntil time.Time
	activeFrom time.Time     // the server's last activity is at or after it
	idleLimit  time.Duration // 0: no idle limit
	expires    time.Time     // the session's absolute end (zero: unknown)
}

// certain reports whether the seat is surely held at now.
func (s seatState) certain(now time.Time) bool {
	switch {
	case s.pool == "" || !now.Before(s.leaseUntil):
		return false
	case s.idleLimit > 0 && !now.Before(s.activeFrom.Add(s.idleLimit)):
		return false
	case !s.expires.IsZero() && !now.Before(s.expires):
		return false
	}
	return true
}

// Run carries out a load test and returns its report. It returns an error,
// with nothing run, when the configuration is wrong, the URL is not a
// loopback address, or the supervisor cannot sign in.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Check(); err != nil {
		return Report{}, err
	}
	base, err := CheckURL(cfg.URL)
	if err != nil {
		return Report{}, err
	}
	base.Path, base.RawQuery, base.Fragment = strings.TrimSuffix(base.Path, "/"), "", ""
	r := &run{cfg: cfg, base: base, origin: base.Scheme + "://" + base.Host,
		lat: map[string][]time.Duration{}, count: map[string]int{}, limits: map[string]int{},
		ledger: make([]seatState, cfg.Users), maxHeld: map[string]int{}, maxUsed: map[string]int{}, finalUsed: map[string]int{}}
	r.rep = Report{URL: cfg.URL, UAI: cfg.UAI, Year: cfg.Year, Mode: cfg.Mode, Access: cfg.Access, Users: cfg.Users,
		Heartbeat: cfg.Heartbeat, LoginsRefused: map[string]int{}, Ended: map[string]int{}, Unexpected: map[string]int{}}
	r.tr = newTransport(cfg)
	defer r.tr.CloseIdleConnections()

	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	r.start = time.Now()
	r.deadline = r.start.Add(cfg.Duration)
	if d, ok := ctx.Deadline(); ok && d.Before(r.deadline) {
		r.deadline = d
	}

	// The supervisor signs in first: if it cannot, nothing runs.
	var mon *monitor
	if cfg.SPRLogin != "" {
		mon = &monitor{r: r, b: r.newBrowser(-1, seed)}
		if err := mon.signIn(ctx); err != nil {
			return Report{}, err
		}
		r.rep.ServerChecked = true
	}
	r.actions = r.loadActions(ctx, seed)

	nIdle := int(float64(cfg.Users)*cfg.IdleShare + 0.5)
	r.rep.IdleUsers = nIdle
	var wg sync.WaitGroup
	for i := range cfg.Users {
		b := r.newBrowser(i, seed)
		// Idle users are spread among the others.
		b.idle = nIdle > 0 && (i*nIdle)/cfg.Users != ((i+1)*nIdle)/cfg.Users
		var offset time.Duration
		if cfg.Ramp > 0 && cfg.Users > 1 {
			offset = cfg.Ramp * time.Duration(i) / time.Duration(cfg.Users-1)
		}
		wg.Go(func() { b.run(ctx, offset) })
	}
	monDone := make(chan struct{})
	stopMon := make(chan struct{})
	if mon != nil {
		go func() { defer close(monDone); mon.loop(ctx, stopMon) }()
	} else {
		close(monDone)
	}
	wg.Wait()
	close(stopMon)
	<-monDone
	if mon != nil {
		// The final check, after every browser logged out.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		mon.check(fctx, true)
		mon.signOut(fctx)
		cancel()
	}
	r.rep.Elapsed = time.Since(r.start)
	switch {
	case ctx.Err() != nil:
		r.rep.Stopped = "interrompu"
	case r.stopped.Load():
		r.rep.Stopped = fmt.Sprintf("plafond de %d requêtes atteint", cfg.MaxRequests)
	case time.Now().Before(r.deadline.Add(-cfg.Heartbeat)):
		r.rep.Stopped = "tous les navigateurs ont renoncé avant la fin (voir les refus)"
	}
	return r.report(), nil
}

func newTransport(cfg Config) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil, // never through a proxy: the requests stay on this machine
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The name was checked; the address it led to is checked too.
			if ta, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
				_ = conn.Close()
				return nil, fmt.Errorf("connexion refusée vers %s : ce n'est pas une adresse locale", conn.RemoteAddr())
			}
			return conn, nil
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: cfg.Insecure}, //nolint:gosec // loopback only, on request
		MaxIdleConns:        cfg.Users + 8,
		MaxIdleConnsPerHost: cfg.Users + 8,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// loadActions reads the catalogue (GET /permissions) and keeps the actions
// of the run's mode, for the browsers' permission checks.
func (r *run) loadActions(ctx context.Context, seed uint64) []string {
	b := r.newBrowser(-2, seed)
	var list []struct {
		Slug      string `json:"slug"`
		AllowedIn []struct {
			Mode   string `json:"mode"`
			Access string `json:"access"`
		} `json:"allowedIn"`
	}
	access := r.cfg.Access
	if access == "" {
		access = string(sesame.Modify)
	}
	var in, all []string
	if a, raw, err := b.do(ctx, RoutePermissions, http.MethodGet, "/permissions", nil); err == nil && a.status == http.StatusOK {
		_ = json.Unmarshal(raw, &list)
		for _, p := range list {
			all = append(all, p.Slug)
			for _, x := range p.AllowedIn {
				if x.Mode == r.cfg.Mode && x.Access == access {
					in = append(in, p.Slug)
					break
				}
			}
		}
	}
	switch {
	case len(in) > 0:
		// Mostly actions of the mode, and now and then one outside it.
		if len(all) > 0 {
			in = append(in, all[0])
		}
		return in
	case len(all) > 0:
		return all
	}
	return []string{sesame.ActionSPRConnect}
}

// record notes one request's latency under its route.
func (r *run) record(route string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count[route]++
	if s := r.lat[route]; len(s) < maxSamples {
		r.lat[route] = append(s, d)
	}
}

func (r *run) note(f func(rep *Report)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.rep)
}

// seeLimit records a limit read from an answer (nil: unlimited).
func (r *run) seeLimitLocked(pool string, limit *int) {
	if limit == nil || pool == "" {
		return
	}
	if *limit > r.limits[pool] {
		r.limits[pool] = *limit
	}
}

func (r *run) violationLocked(v Violation) {
	r.nViolation++
	if len(r.violations) < 100 {
		r.violations = append(r.violations, v)
	}
}

// checkHeldLocked counts the browsers that certainly hold a seat of pool
// and compares them with its limit.
func (r *run) checkHeldLocked(pool string, now time.Time) {
	limit, limited := r.limits[pool]
	if !limited {
		return
	}
	n := 0
	for _, s := range r.ledger {
		if s.pool == pool && s.certain(now) {
			n++
		}
	}
	r.maxHeld[pool] = max(r.maxHeld[pool], n)
	if n > limit {
		r.violationLocked(Violation{At: now.Sub(r.start), Source: "client", Pool: pool, Used: n, Limit: limit})
	}
}

// granted records that the sign-in browser i sent at sent got a seat.
func (r *run) granted(i int, sent time.Time, a answer) {
	if a.Seat == nil || a.Seat.Pool == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seeLimitLocked(a.Seat.Pool, a.Seat.Limit)
	s := seatState{pool: a.Seat.Pool, leaseUntil: sent.Add(time.Duration(a.LeaseSeconds) * time.Second),
		activeFrom: sent, idleLimit: a.idleLimit()}
	if t, err := time.Parse(time.RFC3339, a.ExpiresAt); err == nil {
		s.expires = t
	}
	r.ledger[i] = s
	r.checkHeldLocked(s.pool, time.Now())
}

// reporting records that browser i sends, at sent, a heartbeat reporting
// idle: the server may move its last activity back to sent − idle.
func (r *run) reporting(i int, sent time.Time, idle time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := &r.ledger[i]; sent.Add(-idle).Before(s.activeFrom) {
		s.activeFrom = sent.Add(-idle)
	}
}

// renewed records that the heartbeat browser i sent at sent, reporting
// idle, renewed its lease.
func (r *run) renewed(i int, sent time.Time, idle time.Duration, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.ledger[i]
	if s.pool == "" {
		return
	}
	s.leaseUntil = sent.Add(time.Duration(a.LeaseSeconds) * time.Second)
	s.activeFrom = sent.Add(-idle)
	if a.Idle != nil {
		s.idleLimit = a.idleLimit()
	}
	r.checkHeldLocked(s.pool, time.Now())
}

// released records that browser i no longer holds a seat (or may not:
// it is about to log out, or the server said the session is over).
func (r *run) released(i int) {
	r.mu.Lock()
	r.ledger[i] = seatState{}
	r.mu.Unlock()
}

func (r *run) report() Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.rep
	rep.Requests = int(r.requests.Load())
	if s := rep.Elapsed.Seconds(); s > 0 {
		rep.Throughput = float64(rep.Requests) / s
	}
	for _, route := range routeOrder {
		if r.count[route] == 0 {
			continue
		}
		rep.Routes = append(rep.Routes, routeStats(route, r.count[route], r.lat[route]))
	}
	pools := map[string]bool{}
	for p := range r.limits {
		pools[p] = true
	}
	access, _ := sesame.ParseAccess(r.cfg.Access)
	own := sesame.PoolFor(sesame.Mode(r.cfg.Mode), access)
	for _, p := range sesame.Pools {
		s := string(p)
		// The run's own pool, and any other pool that was in use.
		if !pools[s] || (p != own && r.maxUsed[s] == 0 && r.maxHeld[s] == 0) {
			continue
		}
		fu, ok := r.finalUsed[string(p)]
		if !ok {
			fu = -1
		}
		rep.Pools = append(rep.Pools, PoolStats{Pool: string(p), Limit: r.limits[string(p)],
			MaxUsedServer: r.maxUsed[string(p)], MaxHeldClient: r.maxHeld[string(p)], FinalUsed: fu})
	}
	rep.Violations = append([]Violation(nil), r.violations...)
	rep.ViolationCount = r.nViolation
	return rep
}

// answer is what the browsers read of the API's answers.
type answer struct {
	status int
	Error  *struct {
		Code              string `json:"code"`
		Message           string `json:"message"`
		Reason            string `json:"reason"`
		RetryAfterSeconds int    `json:"retryAfterSeconds"`
	} `json:"error"`
	Seat *struct {
		Pool  string `json:"pool"`
		Limit *int   `json:"limit"`
	} `json:"seat"`
	Idle *struct {
		Enabled        bool `json:"enabled"`
		TimeoutSeconds int  `json:"timeoutSeconds"`
	} `json:"idle"`
	ExpiresAt    string `json:"expiresAt"`
	LeaseSeconds int    `json:"leaseSeconds"`
	// HeartbeatSeconds is the server's heartbeat rhythm; ReportSeconds
	// how often this session's agent reports (the heartbeat for a seat
	// holder, the long interval for a session without a seat).
	HeartbeatSeconds int  `json:"heartbeatSeconds"`
	ReportSeconds    int  `json:"reportSeconds"`
	Allowed          bool `json:"allowed"`
	Pools            []struct {
		Pool  string `json:"pool"`
		Limit *int   `json:"limit"`
		Used  int    `json:"used"`
	} `json:"pools"`
	retryAfter time.Duration
}

// idleLimit is the session's idle limit as the answer gives it (0: none).
// An answer without it is taken as the strictest: the seat is then never
// counted as certain.
func (a answer) idleLimit() time.Duration {
	switch {
	case a.Idle == nil:
		return time.Nanosecond
	case !a.Idle.Enabled:
		return 0
	}
	return max(time.Duration(a.Idle.TimeoutSeconds)*time.Second, time.Nanosecond)
}

func (a answer) code() string {
	if a.Error == nil {
		return ""
	}
	return a.Error.Code
}

// browser is one simulated browser: its cookies, its randomness.
type browser struct {
	r     *run
	i     int
	login string
	http  *http.Client
	rnd   *rand.Rand
	idle  bool
	// idleSince is when an idle browser's user last acted.
	idleSince time.Time
}

func (r *run) newBrowser(i int, seed uint64) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{r: r, i: i, rnd: rand.New(rand.NewPCG(seed, uint64(i+3))),
		http: &http.Client{Transport: r.tr, Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if i >= 0 {
		b.login = Account(r.cfg.Prefix, r.cfg.First, i)
	}
	return b
}

// errStopped says that the run's request budget is spent.
var errStopped = errors.New("request budget spent")

// do sends one request and reads its answer whole.
func (b *browser) do(ctx context.Context, route, method, path string, body any) (answer, []byte, error) {
	if b.r.requests.Add(1) > int64(b.r.cfg.MaxRequests) && route != RouteLogout && route != RouteConnections && route != RouteSPR {
		b.r.stopped.Store(true)
		return answer{}, nil, errStopped
	}
	a, raw, took, err := exchange(ctx, b.http, method, b.r.base.String()+"/api/v1"+path, b.r.origin, body)
	if took > 0 {
		b.r.record(route, took)
	}
	if err != nil {
		b.r.note(func(rep *Report) { rep.NetworkErrors++ })
	}
	return a, raw, err
}

// exchange sends one request to the API, as the pages do, and reads its
// answer whole; took is its latency, 0 when no answer came.
func exchange(ctx context.Context, hc *http.Client, method, url, origin string, body any) (a answer, raw []byte, took time.Duration, err error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return answer{}, nil, 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, nil, 0, err
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	t0 := time.Now()
	res, err := hc.Do(req)
	if err != nil {
		return answer{}, nil, 0, err
	}
	raw, err = io.ReadAll(io.LimitReader(res.Body, 4<<20))
	_ = res.Body.Close()
	took = time.Since(t0)
	if err != nil {
		return answer{}, nil, took, err
	}
	return parseAnswer(res, raw), raw, took, nil
}

func (b *browser) unexpected(route string, a answer) {
	key := fmt.Sprintf("%s %d %s", route, a.status, a.code())
	b.r.note(func(rep *Report) { rep.Unexpected[key]++ })
}

// sleep waits d, or until the deadline or the end of ctx; it reports
// whether the browser should go on.
func (b *browser) sleep(ctx context.Context, d time.Duration) bool {
	if until := time.Until(b.r.deadline); d > until {
		d = until
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
	return b.goOn(ctx)
}

func (b *browser) goOn(ctx context.Context) bool {
	return ctx.Err() == nil && time.Now().Before(b.r.deadline) && !b.r.stopped.Load()
}

// run is a browser's life: sign in, work, sign in again when the server
// ended the session for a reason other than the user's idleness.
func (b *browser) run(ctx context.Context, offset time.Duration) {
	if !b.sleep(ctx, offset) {
		return
	}
	for b.goOn(ctx) {
		t0 := time.Now()
		a, _, err := b.do(ctx, RouteLogin, http.MethodPost, "/login", map[string]string{"school": b.r.cfg.UAI,
			"login": b.login, "password": b.r.cfg.Password, "mode": b.r.cfg.Mode, "access": b.r.cfg.Access, "year": b.r.cfg.Year})
		if errors.Is(err, errStopped) {
			return
		}
		if err != nil {
			if !b.sleep(ctx, 500*time.Millisecond) {
				return
			}
			continue
		}
		b.r.note(func(rep *Report) {
			rep.LoginsAttempted++
			if a.status == http.StatusOK {
				rep.LoginsSucceeded++
			} else {
				rep.LoginsRefused[a.code()]++
			}
		})
		switch {
		case a.status == http.StatusOK:
			if b.idle && b.idleSince.IsZero() {
				b.idleSince = t0.Add(-b.r.cfg.IdleHeadStart)
			}
			b.r.granted(b.i, t0, a)
			in := time.Now()
			reason, over := b.work(ctx, t0, b.interval(a))
			b.r.note(func(rep *Report) { rep.Connected += time.Since(in) })
			switch {
			case over:
				return
			case reason == string(sesame.ReasonIdleTimeout) && b.idle:
				return // the user walked away
			case reason != "" && !b.sleep(ctx, b.r.cfg.Heartbeat):
				return
			}
		case a.code() == sesame.CodeSeatsExhausted:
			if b.r.cfg.Retry == 0 {
				return
			}
			wait := b.r.cfg.Retry
			if a.retryAfter > 0 && a.retryAfter < wait {
				wait = a.retryAfter
			}
			// A little jitter, so the refused do not come back as one.
			wait = wait/2 + time.Duration(b.rnd.Int64N(int64(wait/2)+1))
			if !b.sleep(ctx, wait) {
				return
			}
		case a.status == http.StatusTooManyRequests || a.status >= 500:
			// As the sign-in page: the server's Retry-After (a second when
			// it gave none) plus 0 to 50 %, so the refused do not come
			// back as one.
			wait := max(a.retryAfter, time.Second)
			if !b.sleep(ctx, wait+time.Duration(b.rnd.Float64()*float64(wait/2))) {
				return
			}
		default:
			// Wrong password, unknown account, mode forbidden…: trying
			// again would change nothing.
			return
		}
	}
}

// work keeps a signed-in session alive until the end of the run or of the
// session; it returns the 401 reason when the server ended it, "" when the
// browser logged out, and over when the browser is done.
func (b *browser) work(ctx context.Context, signedIn time.Time, hb time.Duration) (reason string, over bool) {
	// The first heartbeat comes at a random point of the first interval,
	// so that the browsers do not beat as one.
	next := signedIn.Add(time.Duration(b.rnd.Int64N(int64(hb)) + 1))
	authorizeAt, every := next.Add(-hb/2), hb
	if authorizeAt.Before(signedIn) {
		authorizeAt = next.Add(hb / 2)
	}
	if p := b.r.cfg.PageEvery; p > 0 {
		authorizeAt, every = signedIn.Add(time.Duration(b.rnd.Int64N(int64(p))+1)), p
	}
	end := b.r.deadline
	if b.r.cfg.Session > 0 && !b.idle && signedIn.Add(b.r.cfg.Session).Before(end) {
		end = signedIn.Add(b.r.cfg.Session)
	}
	for {
		at, beat := next, true
		if authorizeAt.Before(next) {
			at, beat = authorizeAt, false
		}
		if !at.Before(end) || !b.sleep(ctx, time.Until(at)) || !time.Now().Before(end) {
			b.logout(ctx)
			return "", !b.goOn(ctx) || end.Equal(b.r.deadline)
		}
		var ok bool
		if beat {
			reason, ok = b.heartbeat(ctx)
			next = next.Add(hb)
		} else {
			reason, ok = b.page(ctx)
			authorizeAt = authorizeAt.Add(every)
		}
		if reason != "" {
			return reason, !b.goOn(ctx)
		}
		if !ok {
			b.logout(ctx)
			return "", true
		}
	}
}

// interval is the heartbeat interval of a session the sign-in answered a:
// how often its agent reports (reportSeconds), as the agent reads it.
func (b *browser) interval(a answer) time.Duration {
	cfg := b.r.cfg
	every := a.ReportSeconds
	if every <= 0 {
		every = a.HeartbeatSeconds
	}
	if !cfg.HeartbeatFromServer || every <= 0 {
		return cfg.Heartbeat
	}
	d := time.Duration(every) * time.Second
	if cfg.Speed > 0 {
		d = time.Duration(float64(d) / cfg.Speed)
	}
	return max(d, 10*time.Millisecond)
}

// heartbeat sends one heartbeat; it returns the 401 reason when the
// session is over, and ok false when the browser should stop.
func (b *browser) heartbeat(ctx context.Context) (reason string, ok bool) {
	t0 := time.Now()
	idle := time.Duration(b.rnd.Float64() * float64(min(5*time.Second, b.r.cfg.Heartbeat/2)))
	if b.idle {
		idle = t0.Sub(b.idleSince)
		if b.r.cfg.Speed > 0 {
			idle = time.Duration(float64(idle) * b.r.cfg.Speed)
		}
	}
	b.r.reporting(b.i, t0, idle)
	a, _, err := b.do(ctx, RouteHeartbeat, http.MethodPost, "/heartbeat", map[string]float64{"idleSeconds": idle.Seconds()})
	if err != nil {
		return "", !errors.Is(err, errStopped) && ctx.Err() == nil
	}
	b.r.note(func(rep *Report) {
		rep.HeartbeatsSent++
		if a.status == http.StatusOK {
			rep.HeartbeatsOK++
		}
	})
	if a.status == http.StatusOK {
		b.r.renewed(b.i, t0, idle, a)
	}
	return b.after(RouteHeartbeat, a)
}

// page is what happens between heartbeats: a permission check, or, with
// PageEvery, an active user's page load (GET /session, then a check).
func (b *browser) page(ctx context.Context) (reason string, ok bool) {
	if b.r.cfg.PageEvery <= 0 {
		return b.authorize(ctx)
	}
	if b.idle {
		return "", true
	}
	a, _, err := b.do(ctx, RouteSession, http.MethodGet, "/session", nil)
	if err != nil {
		return "", !errors.Is(err, errStopped) && ctx.Err() == nil
	}
	b.r.note(func(rep *Report) { rep.PagesLoaded++ })
	if reason, ok := b.after(RouteSession, a); reason != "" || !ok {
		return reason, ok
	}
	return b.authorize(ctx)
}

func (b *browser) authorize(ctx context.Context) (reason string, ok bool) {
	action := b.r.actions[b.rnd.IntN(len(b.r.actions))]
	a, _, err := b.do(ctx, RouteAuthorize, http.MethodGet, "/authorize?action="+url.QueryEscape(action), nil)
	if err != nil {
		return "", !errors.Is(err, errStopped) && ctx.Err() == nil
	}
	b.r.note(func(rep *Report) {
		rep.AuthorizeSent++
		if a.status == http.StatusOK {
			if a.Allowed {
				rep.AuthorizeAllowed++
			} else {
				rep.AuthorizeDenied++
			}
		}
	})
	return b.after(RouteAuthorize, a)
}

// after reads the answer to a request of a signed-in session.
func (b *browser) after(route string, a answer) (string, bool) {
	switch {
	case a.status == http.StatusOK:
		return "", true
	case a.status == http.StatusUnauthorized:
		b.r.released(b.i)
		reason := "?"
		if a.Error != nil && a.Error.Reason != "" {
			reason = a.Error.Reason
		}
		b.r.note(func(rep *Report) { rep.Ended[reason]++ })
		return reason, true
	default:
		// The session may or may not be over: count the seat as gone.
		b.r.released(b.i)
		b.unexpected(route, a)
		return "", false
	}
}

// logout ends the session; it is sent even when the run was interrupted.
func (b *browser) logout(ctx context.Context) {
	b.r.released(b.i) // before the request: the seat may be freed at once
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	a, _, err := b.do(lctx, RouteLogout, http.MethodPost, "/logout", nil)
	if err != nil {
		return
	}
	b.r.note(func(rep *Report) { rep.LogoutsSent++ })
	if a.status != http.StatusNoContent {
		b.unexpected(RouteLogout, a)
	}
}

// monitor is the supervisor reading GET /connections.
type monitor struct {
	r *run
	b *browser
}

func (m *monitor) signIn(ctx context.Context) error {
	cfg := m.r.cfg
	a, _, err := m.b.do(ctx, RouteSPR, http.MethodPost, "/login", map[string]string{"school": cfg.UAI,
		"login": cfg.SPRLogin, "password": cfg.SPRPassword, "mode": string(sesame.ModeAdmin), "year": cfg.Year})
	if err != nil {
		return &sesame.Error{Code: "unreachable", Message: fmt.Sprintf("Le serveur %s ne répond pas (%v).", m.r.origin, err), Err: err}
	}
	if a.status != http.StatusOK {
		msg := fmt.Sprintf("réponse %d", a.status)
		if a.Error != nil {
			msg = a.Error.Message
		}
		code := a.code()
		if code == "" {
			code = "spr_login_failed"
		}
		return &sesame.Error{Code: code, Message: fmt.Sprintf("Le superviseur « %s » n'a pas pu se connecter pour lire les connexions : %s", cfg.SPRLogin, msg)}
	}
	return nil
}

func (m *monitor) signOut(ctx context.Context) {
	_, _, _ = m.b.do(ctx, RouteSPR, http.MethodPost, "/logout", nil)
}

// loop checks the pools every CheckEvery and keeps the supervisor's own
// session alive, until stop closes.
func (m *monitor) loop(ctx context.Context, stop <-chan struct{}) {
	check := time.NewTicker(m.r.cfg.CheckEvery)
	defer check.Stop()
	beat := time.NewTicker(m.r.cfg.Heartbeat)
	defer beat.Stop()
	m.check(ctx, false)
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-check.C:
			m.check(ctx, false)
		case <-beat.C:
			a, _, err := m.b.do(ctx, RouteSPR, http.MethodPost, "/heartbeat", map[string]float64{"idleSeconds": 0})
			if err == nil && a.status == http.StatusUnauthorized {
				_ = m.signIn(ctx)
			}
		}
	}
}

// check reads the pools and compares each limited pool's use with its
// limit.
func (m *monitor) check(ctx context.Context, final bool) {
	a, _, err := m.b.do(ctx, RouteConnections, http.MethodGet, "/connections", nil)
	if err != nil {
		return
	}
	if a.status == http.StatusUnauthorized && m.signIn(ctx) == nil {
		a, _, err = m.b.do(ctx, RouteConnections, http.MethodGet, "/connections", nil)
		if err != nil {
			return
		}
	}
	if a.status != http.StatusOK {
		m.b.unexpected(RouteConnections, a)
		return
	}
	r := m.r
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.ServerChecks++
	for _, p := range a.Pools {
		if p.Limit == nil {
			continue
		}
		r.seeLimitLocked(p.Pool, p.Limit)
		r.maxUsed[p.Pool] = max(r.maxUsed[p.Pool], p.Used)
		if final {
			r.finalUsed[p.Pool] = p.Used
		}
		if p.Used > r.limits[p.Pool] {
			r.violationLocked(Violation{At: now.Sub(r.start), Source: "serveur", Pool: p.Pool, Used: p.Used, Limit: r.limits[p.Pool]})
		}
	}
}
