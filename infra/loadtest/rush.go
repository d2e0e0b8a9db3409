package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sesame-ecole/sesame"
)

// A morning rush: every account of the run signs in once, at a random
// instant of a short window, as a school's students and parents do at
// 8 a.m. Each client behaves as the sign-in page does: a 503 (busy) or a
// 429 is retried after the Retry-After the server gave, plus a random 0 to
// 50 % so that the refused do not come back as one; once in, the client
// sends heartbeats (following Retry-After the same way) until every
// client has signed in or given up, then logs out.
//
// The report gives what the rush targets are stated in: successful
// sign-ins per second (goodput), the latency of successful sign-ins, the
// time to answer each refused one, heartbeat latency during the rush, any
// 5xx other than 503 busy, and, for a server process on this machine
// (RushConfig.PID), its peak memory.

// Cohort is a group of accounts of a rush: Prefix001… signing in in Mode.
type Cohort struct {
	Prefix string
	Mode   string
	Users  int
}

// RushConfig describes a morning rush.
type RushConfig struct {
	// URL, UAI and Year as in Config; URL is a loopback address only.
	URL, UAI, Year string
	// Cohorts are the accounts that sign in, all with Password.
	Cohorts  []Cohort
	Password string
	// Window is when the sign-ins arrive: each client starts at a random
	// instant within it (20 s when 0).
	Window time.Duration
	// Drain is how long after the window the clients keep trying (60 s
	// when 0); those still out then gave up.
	Drain time.Duration
	// Heartbeat is the interval of a signed-in client's heartbeats; 0:
	// the server's own (heartbeatSeconds of the sign-in's answer), as the
	// agent does.
	Heartbeat time.Duration
	// Timeout bounds one request (30 s when 0), as a browser's page
	// would give up and let the user try again.
	Timeout time.Duration
	// PID is the server's process on this machine, whose memory is read
	// from /proc; 0: not read.
	PID int
	// Insecure accepts any TLS certificate.
	Insecure bool
	// Seed makes the arrival instants and jitter repeatable (0: random).
	Seed uint64
}

// Users is the number of clients of the rush.
func (c RushConfig) Users() int {
	n := 0
	for _, co := range c.Cohorts {
		n += co.Users
	}
	return n
}

func (c *RushConfig) defaults() error {
	if c.Window == 0 {
		c.Window = 20 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	switch n := c.Users(); {
	case n < 1 || n > MaxUsers:
		return sesame.Invalid("users", "Le nombre de comptes de la ruée doit aller de 1 à %d.", MaxUsers)
	case c.Window < 0 || c.Drain < 0 || c.Window+c.Drain > MaxDuration:
		return sesame.Invalid("duration", "La fenêtre et le délai d'attente doivent être positifs et durer une heure au plus en tout.")
	case (c.Heartbeat != 0 && c.Heartbeat < 10*time.Millisecond) || c.Timeout < 10*time.Millisecond:
		return sesame.Invalid("heartbeat", "L'intervalle des signaux de présence et le délai d'une requête doivent être d'au moins 10 ms.")
	case c.Password == "":
		return sesame.Invalid("password", "Le mot de passe des comptes est obligatoire.")
	case c.PID < 0:
		return sesame.Invalid("pid", "Le numéro de processus du serveur doit être positif.")
	}
	for _, co := range c.Cohorts {
		if co.Users < 0 || co.Prefix == "" {
			return sesame.Invalid("users", "Chaque groupe de comptes a un préfixe et un nombre positif de comptes.")
		}
		if _, err := sesame.ParseMode(co.Mode); err != nil {
			return err
		}
	}
	if _, err := sesame.ParseBaseKey(c.UAI, c.Year); err != nil {
		return err
	}
	_, err := CheckURL(c.URL)
	return err
}

// Latency is the distribution of a set of durations.
type Latency struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func latencyOf(d []time.Duration) Latency {
	s := routeStats("", len(d), d)
	return Latency{N: len(d), P50: s.P50, P90: s.P90, P99: s.P99, Max: s.Max}
}

// Memory is what /proc said of the server's memory.
type Memory struct {
	Read bool
	// PeakRSS is the highest resident size sampled during the run (every
	// 50 ms); HWM is the process's own high-water mark (VmHWM) at the end,
	// over its whole life.
	PeakRSS, HWM int64
}

// RushReport is the outcome of a rush.
type RushReport struct {
	URL            string
	Users          int
	Window         time.Duration
	Heartbeat      time.Duration // 0: the server's rhythm
	Offered        float64       // sign-ins per second asked for: Users / Window
	Elapsed        time.Duration
	SignedIn       int
	GaveUp         int
	Attempts       int
	Goodput        float64 // successful sign-ins per second, from the start to the last one
	LastSignIn     time.Duration
	SignInLatency  Latency // the successful sign-in request itself
	TimeToSignIn   Latency // from the client's first attempt to its success, waits included
	RefusalLatency Latency // time to answer each refused sign-in (503, 429)
	// Refused counts refused sign-ins by status and code ("503 busy").
	Refused map[string]int
	// RetryAfterMissing counts 503 and 429 answers without a Retry-After.
	RetryAfterMissing int
	// ServerErrors counts 5xx answers other than 503 busy, by "route
	// status code"; the targets want none.
	ServerErrors  map[string]int
	NetworkErrors int // no answer within Timeout, or none at all
	Heartbeats    Latency
	HeartbeatsOK  int
	HeartbeatBusy int // heartbeats answered 503 or 429
	Ended         int // sessions the server ended during the rush (401)
	Memory        Memory
	Stopped       string
}

// rush is the state of a running rush.
type rush struct {
	cfg    RushConfig
	base   string
	origin string
	tr     *http.Transport
	start  time.Time
	stop   time.Time
	over   chan struct{} // every client signed in or gave up

	mu   sync.Mutex
	rep  RushReport
	ok   []time.Duration // successful sign-in requests
	ttl  []time.Duration // time to sign in
	ref  []time.Duration // refused sign-ins
	hb   []time.Duration // heartbeats
	last time.Time       // the last successful sign-in
}

// Rush runs a morning rush and returns its report. It returns an error,
// with nothing run, when the configuration is wrong or the URL is not a
// loopback address.
func Rush(ctx context.Context, cfg RushConfig) (RushReport, error) {
	if err := cfg.defaults(); err != nil {
		return RushReport{}, err
	}
	r, err := newRush(cfg)
	if err != nil {
		return RushReport{}, err
	}
	defer r.tr.CloseIdleConnections()
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rnd := rand.New(rand.NewPCG(seed, 1))
	memCtx, stopMem := context.WithCancel(ctx)
	memDone := make(chan Memory, 1)
	go func() { memDone <- sampleMemory(memCtx, cfg.PID) }()

	r.start = time.Now()
	r.stop = r.start.Add(cfg.Window + cfg.Drain)
	var signing, all sync.WaitGroup
	for _, co := range cfg.Cohorts {
		for i := range co.Users {
			c := r.newClient(Account(co.Prefix, 1, i), co.Mode, rnd.Uint64())
			at := time.Duration(rnd.Int64N(int64(cfg.Window) + 1))
			signing.Add(1)
			all.Go(func() { c.live(ctx, at, signing.Done) })
		}
	}
	go func() { signing.Wait(); close(r.over) }()
	all.Wait()
	stopMem()
	r.rep.Memory = <-memDone
	r.rep.Elapsed = time.Since(r.start)
	if ctx.Err() != nil {
		r.rep.Stopped = "interrompu"
	}
	return r.report(), nil
}

func newRush(cfg RushConfig) (*rush, error) {
	u, err := CheckURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	n := cfg.Users()
	return &rush{cfg: cfg, base: u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/") + "/api/v1",
		origin: u.Scheme + "://" + u.Host, over: make(chan struct{}),
		tr: newTransport(Config{Users: n, Insecure: cfg.Insecure}),
		rep: RushReport{URL: cfg.URL, Users: n, Window: cfg.Window, Heartbeat: cfg.Heartbeat, Offered: float64(n) / max(cfg.Window.Seconds(), 0.001),
			Refused: map[string]int{}, ServerErrors: map[string]int{}}}, nil
}

func (r *rush) report() RushReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.rep
	rep.SignInLatency, rep.TimeToSignIn = latencyOf(r.ok), latencyOf(r.ttl)
	rep.RefusalLatency, rep.Heartbeats = latencyOf(r.ref), latencyOf(r.hb)
	rep.SignedIn = len(r.ok)
	if !r.last.IsZero() {
		rep.LastSignIn = r.last.Sub(r.start)
		rep.Goodput = float64(rep.SignedIn) / max(rep.LastSignIn.Seconds(), 0.001)
	}
	return rep
}

func (r *rush) note(f func(rep *RushReport)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.rep)
}

// client is one simulated sign-in page, then its agent.
type client struct {
	r     *rush
	login string
	mode  string
	http  *http.Client
	rnd   *rand.Rand
}

func (r *rush) newClient(login, mode string, seed uint64) *client {
	jar, _ := cookiejar.New(nil)
	return &client{r: r, login: login, mode: mode, rnd: rand.New(rand.NewPCG(seed, 2)),
		http: &http.Client{Transport: r.tr, Jar: jar, Timeout: r.cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// live is a client's rush: it arrives at offset, signs in (signed is
// called once it is in or has given up), then beats until the rush is
// over, and logs out.
func (c *client) live(ctx context.Context, offset time.Duration, signed func()) {
	if !c.sleep(ctx, offset) {
		c.r.note(func(rep *RushReport) { rep.GaveUp++ })
		signed()
		return
	}
	a, in := c.signIn(ctx)
	signed()
	if !in {
		return
	}
	hb := c.r.cfg.Heartbeat
	if hb == 0 {
		hb = time.Duration(max(a.HeartbeatSeconds, 1)) * time.Second
	}
	c.beat(ctx, hb)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _, _ = c.do(lctx, http.MethodPost, "/logout", nil)
}

// signIn signs the client in, following Retry-After; it reports whether
// it got in, with the server's answer.
func (c *client) signIn(ctx context.Context) (answer, bool) {
	first := time.Now()
	body := map[string]string{"school": c.r.cfg.UAI, "login": c.login, "password": c.r.cfg.Password,
		"mode": c.mode, "year": c.r.cfg.Year}
	for time.Now().Before(c.r.stop) && ctx.Err() == nil {
		a, took, err := c.do(ctx, http.MethodPost, "/login", body)
		c.r.note(func(rep *RushReport) { rep.Attempts++ })
		var wait time.Duration
		switch {
		case err != nil:
			c.r.note(func(rep *RushReport) { rep.NetworkErrors++ })
			wait = time.Second
		case a.status == http.StatusOK:
			now := time.Now()
			c.r.mu.Lock()
			c.r.ok, c.r.ttl = append(c.r.ok, took), append(c.r.ttl, now.Sub(first))
			if now.After(c.r.last) {
				c.r.last = now
			}
			c.r.mu.Unlock()
			return a, true
		case a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests:
			c.refused(a, took)
			wait = max(a.retryAfter, time.Second)
		case a.status >= 500:
			c.serverError("login", a)
			wait = time.Second
		default:
			// Wrong password, unknown account…: trying again changes nothing.
			c.r.note(func(rep *RushReport) { rep.Refused[fmt.Sprintf("%d %s", a.status, a.code())]++; rep.GaveUp++ })
			return a, false
		}
		if !c.sleep(ctx, c.jitter(wait)) {
			break
		}
	}
	c.r.note(func(rep *RushReport) { rep.GaveUp++ })
	return answer{}, false
}

// jitter adds a random 0 to 50 % to d.
func (c *client) jitter(d time.Duration) time.Duration {
	return d + time.Duration(c.rnd.Float64()*float64(d/2))
}

func (c *client) refused(a answer, took time.Duration) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.r.ref = append(c.r.ref, took)
	c.r.rep.Refused[fmt.Sprintf("%d %s", a.status, a.code())]++
	if a.retryAfter <= 0 {
		c.r.rep.RetryAfterMissing++
	}
}

func (c *client) serverError(route string, a answer) {
	c.r.note(func(rep *RushReport) { rep.ServerErrors[fmt.Sprintf("%s %d %s", route, a.status, a.code())]++ })
}

// beat sends heartbeats every hb, the first at a random point of the
// first interval, until the rush is over or the server ends the session.
func (c *client) beat(ctx context.Context, hb time.Duration) {
	next := time.Duration(c.rnd.Int64N(int64(hb)) + 1)
	for {
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-c.r.over:
			t.Stop()
			return
		case <-t.C:
		}
		a, took, err := c.do(ctx, http.MethodPost, "/heartbeat", map[string]float64{"idleSeconds": 0})
		next = hb
		switch {
		case err != nil:
			c.r.note(func(rep *RushReport) { rep.NetworkErrors++ })
		case a.status == http.StatusOK:
			c.r.mu.Lock()
			c.r.hb = append(c.r.hb, took)
			c.r.rep.HeartbeatsOK++
			c.r.mu.Unlock()
		case a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests:
			c.r.note(func(rep *RushReport) {
				rep.HeartbeatBusy++
				if a.retryAfter <= 0 {
					rep.RetryAfterMissing++
				}
			})
			next = c.jitter(max(a.retryAfter, time.Second))
		case a.status == http.StatusUnauthorized:
			c.r.note(func(rep *RushReport) { rep.Ended++ })
			return
		case a.status >= 500:
			c.serverError("heartbeat", a)
		}
	}
}

// sleep waits d, or until the end of the rush or of ctx.
func (c *client) sleep(ctx context.Context, d time.Duration) bool {
	d = min(d, time.Until(c.r.stop))
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return ctx.Err() == nil && time.Now().Before(c.r.stop)
}

// do sends one request and reads its answer whole, with its latency.
func (c *client) do(ctx context.Context, method, path string, body any) (answer, time.Duration, error) {
	a, _, took, err := exchange(ctx, c.http, method, c.r.base+path, c.r.origin, body)
	return a, took, err
}

// parseAnswer reads an answer's JSON body and its Retry-After (seconds).
func parseAnswer(res *http.Response, raw []byte) answer {
	a := answer{status: res.StatusCode}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &a)
	}
	if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
		a.retryAfter = time.Duration(n) * time.Second
	}
	return a
}

// sampleMemory reads the resident size of process pid every 50 ms until
// ctx ends, then its high-water mark.
func sampleMemory(ctx context.Context, pid int) Memory {
	var m Memory
	if pid <= 0 {
		return m
	}
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if st, err := procStatus(path); err == nil {
			m.Read = true
			m.PeakRSS = max(m.PeakRSS, st["VmRSS"])
			// The kernel updates VmHWM lazily: a sample may exceed it.
			m.HWM = max(st["VmHWM"], m.PeakRSS)
		}
		select {
		case <-ctx.Done():
			return m
		case <-t.C:
		}
	}
}

// procStatus reads the sizes (in bytes) of a /proc/<pid>/status file.
func procStatus(path string) (map[string]int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		f := strings.Fields(v)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			out[k] = n << 10
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no sizes in " + path)
	}
	return out, nil
}

// CapacityReport is the sign-in capacity measured by a closed loop.
type CapacityReport struct {
	Workers  int
	Elapsed  time.Duration
	SignIns  int
	Rate     float64 // successful sign-ins per second
	Latency  Latency
	Refused  map[string]int
	Failures int // network errors and 5xx
}

// Capacity measures how many sign-ins per second the server completes:
// workers clients of the first cohort sign in again and again, each as
// soon as its last answer came, for d.
func Capacity(ctx context.Context, cfg RushConfig, workers int, d time.Duration) (CapacityReport, error) {
	if err := cfg.defaults(); err != nil {
		return CapacityReport{}, err
	}
	if workers < 1 || workers > cfg.Cohorts[0].Users {
		return CapacityReport{}, sesame.Invalid("workers", "Il faut de 1 à %d clients pour mesurer la capacité.", cfg.Cohorts[0].Users)
	}
	r, err := newRush(cfg)
	if err != nil {
		return CapacityReport{}, err
	}
	defer r.tr.CloseIdleConnections()
	rep := CapacityReport{Workers: workers, Refused: map[string]int{}}
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	co := cfg.Cohorts[0]
	for i := range workers {
		c := r.newClient(Account(co.Prefix, 1, i), co.Mode, uint64(i))
		body := map[string]string{"school": cfg.UAI, "login": c.login, "password": cfg.Password, "mode": co.Mode, "year": cfg.Year}
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				a, took, err := c.do(ctx, http.MethodPost, "/login", body)
				mu.Lock()
				switch {
				case err != nil || a.status >= 500 && a.status != http.StatusServiceUnavailable:
					rep.Failures++
				case a.status == http.StatusOK:
					lat = append(lat, took)
				default:
					rep.Refused[fmt.Sprintf("%d %s", a.status, a.code())]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.SignIns, rep.Latency = len(lat), latencyOf(lat)
	rep.Rate = float64(rep.SignIns) / rep.Elapsed.Seconds()
	return rep, nil
}

// Write prints the capacity in French.
func (c CapacityReport) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Capacité de connexion : %s connexions/s (%d réussies en %s par %d clients en boucle ; p50 %s, p99 %s",
		decimal(c.Rate, 1), c.SignIns, duration(c.Elapsed), c.Workers, ms(c.Latency.P50), ms(c.Latency.P99))
	if len(c.Refused) > 0 {
		fmt.Fprintf(&b, " ; refus : %s", counts(c.Refused))
	}
	if c.Failures > 0 {
		fmt.Fprintf(&b, " ; %d échecs", c.Failures)
	}
	b.WriteString(").\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Write prints the rush's report in French.
func (r RushReport) Write(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("Ruée du matin sur %s : %d connexions en %s (%s/s demandées) ; durée %s.\n",
		r.URL, r.Users, duration(r.Window), decimal(r.Offered, 1), duration(r.Elapsed))
	if r.Heartbeat > 0 {
		p("Un signal de présence toutes les %s une fois connecté.\n", duration(r.Heartbeat))
	} else {
		p("Signaux de présence au rythme que donne le serveur une fois connecté.\n")
	}
	if r.Stopped != "" {
		p("Arrêt anticipé : %s.\n", r.Stopped)
	}
	p("Connectés : %d sur %d (%d abandons) en %d tentatives ; dernier connecté à %s.\n",
		r.SignedIn, r.Users, r.GaveUp, r.Attempts, duration(r.LastSignIn))
	p("Débit utile : %s connexions réussies/s.\n", decimal(r.Goodput, 1))
	lat := func(name string, l Latency) {
		p("%s : %d ; p50 %s, p90 %s, p99 %s, max %s.\n", name, l.N, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
	}
	lat("Connexions réussies (la requête)", r.SignInLatency)
	lat("Temps pour se connecter (attentes comprises)", r.TimeToSignIn)
	lat("Refus (temps de réponse)", r.RefusalLatency)
	if len(r.Refused) > 0 {
		p("Refus par code : %s.\n", counts(r.Refused))
	}
	p("Refus sans Retry-After : %d.\n", r.RetryAfterMissing)
	lat("Signaux de présence pendant la ruée", r.Heartbeats)
	if r.HeartbeatBusy > 0 || r.Ended > 0 {
		p("Signaux refusés (503, 429) : %d ; sessions fermées par le serveur : %d.\n", r.HeartbeatBusy, r.Ended)
	}
	if len(r.ServerErrors) == 0 {
		p("Erreurs 5xx autres que 503 busy : aucune.\n")
	} else {
		p("ERREURS 5xx autres que 503 busy : %s.\n", counts(r.ServerErrors))
	}
	if r.NetworkErrors > 0 {
		p("Requêtes sans réponse (délai dépassé ou réseau) : %d.\n", r.NetworkErrors)
	}
	if r.Memory.Read {
		p("Mémoire du serveur : pic résident %s pendant la ruée, VmHWM %s.\n", mib(r.Memory.PeakRSS), mib(r.Memory.HWM))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mib(n int64) string { return decimal(float64(n)/(1<<20), 1) + " Mio" }

// OK reports whether the rush met the targets that do not depend on the
// machine: every client signed in, no 5xx but 503 busy, and every refusal
// said when to come back.
func (r RushReport) OK() bool {
	return r.SignedIn == r.Users && len(r.ServerErrors) == 0 && r.RetryAfterMissing == 0
}
