package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamometer"
)

// The rentrée morning: a school's first morning of the year. Students and
// parents sign in within a short window, with teachers competing for the
// teacher seats and administrative users for the admin-modify seats; then
// everyone browses for an hour, with the agent's heartbeat rhythm, time
// compressed by Speed. Each kind of user is one Run (its own browsers and
// its own count of the seats they hold); the supervisor checks every
// limited pool's use against its limit every second and, once every kind
// has logged out, at the end.

// RentreeCohort is one kind of user of the morning.
type RentreeCohort struct {
	Name   string // élèves, parents, professeurs, administratifs
	Prefix string
	Mode   string
	Users  int
	// Heartbeat is this kind's heartbeat interval in simulated time; 0:
	// the server's own (heartbeatSeconds of the sign-in's answer).
	Heartbeat time.Duration
}

// RentreeConfig describes a rentrée morning.
type RentreeConfig struct {
	URL, UAI, Year string
	Password       string // every account's
	// SPRLogin and SPRPassword sign in the supervisor who reads GET
	// /connections (the check of the seat invariant on the server's side).
	SPRLogin, SPRPassword string
	Cohorts               []RentreeCohort
	// Window is when the first sign-ins arrive (real time, not
	// compressed); Drain is how much longer the refused keep trying (2
	// minutes when 0); Browse is how long everyone then browses, in
	// simulated time, lasting Browse ÷ Speed.
	Window, Drain, Browse time.Duration
	Speed                 float64
	// PageEvery is how often an active user loads a page, in simulated
	// time (GET /session and an authorize check).
	PageEvery time.Duration
	// IdleShare is the share of each kind whose user walks away: the
	// server's idle limit ends their sessions, in simulated time.
	IdleShare float64
	// Retry is how long, in simulated time, a user refused for want of a
	// seat waits before trying again.
	Retry time.Duration
	// Meter is the address of a dynamometer.Meter in front of the
	// server's DynamoDB (`make run-hosted ARGS=--meter`); empty: DynamoDB
	// requests are not counted.
	Meter    string
	Insecure bool
	Seed     uint64
}

// RentreeCohorts are the morning of the issue: 1,500 students and parents,
// 80 teachers for (the licence's) 50 seats, 6 administrative users for 4.
func RentreeCohorts(students, parents, teachers, admins int) []RentreeCohort {
	return []RentreeCohort{
		{Name: "élèves", Prefix: "eleve", Mode: string(sesame.SpaceStudent), Users: students},
		{Name: "parents", Prefix: "parent", Mode: string(sesame.SpaceParent), Users: parents},
		{Name: "professeurs", Prefix: "prof", Mode: string(sesame.ModeTeacher), Users: teachers},
		{Name: "administratifs", Prefix: "admin", Mode: string(sesame.ModeAdmin), Users: admins},
	}
}

func (c *RentreeConfig) defaults() error {
	if c.Speed == 0 {
		c.Speed = 60
	}
	if c.Window == 0 {
		c.Window = 2 * time.Minute
	}
	if c.Browse == 0 {
		c.Browse = time.Hour
	}
	if c.Drain == 0 {
		c.Drain = 2 * time.Minute
	}
	if c.PageEvery == 0 {
		c.PageEvery = 5 * time.Minute
	}
	if c.Retry == 0 {
		c.Retry = 5 * time.Minute
	}
	switch {
	case c.Speed < 1 || c.Speed > 3600:
		return sesame.Invalid("speed", "L'accélération du temps doit aller de 1 à 3600.")
	case c.Window < 0 || c.Drain < 0 || c.Window+c.Drain+c.real(c.Browse) > MaxDuration:
		return sesame.Invalid("duration", "La fenêtre et la navigation accélérée doivent durer une heure au plus en tout.")
	case c.IdleShare < 0 || c.IdleShare > 1:
		return sesame.Invalid("idle-share", "La part d'utilisateurs inactifs va de 0 à 1.")
	case c.SPRLogin == "" || c.SPRPassword == "":
		return sesame.Invalid("spr", "Le superviseur est obligatoire : il vérifie l'invariant des places.")
	}
	n := 0
	for _, co := range c.Cohorts {
		n += co.Users
	}
	if n < 1 || n > MaxUsers {
		return sesame.Invalid("users", "Le nombre de comptes doit aller de 1 à %d.", MaxUsers)
	}
	return nil
}

// real is the real duration of a simulated one.
func (c RentreeConfig) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.Speed)
}

// RentreeReport is the outcome of a rentrée morning.
type RentreeReport struct {
	Config  RentreeConfig
	Elapsed time.Duration
	Cohorts []CohortReport
	// DynamoDB is what the meter counted during the run, by API Gateway
	// route; nil without a meter.
	DynamoDB map[string]dynamometer.Counts
	// MeterError says why the meter could not be read.
	MeterError string
	// Final is the supervisor's last reading of the pools, after every
	// kind logged out.
	Final          []PoolStats
	FinalChecked   bool
	Violations     []Violation
	ViolationCount int
}

// CohortReport is one kind's run.
type CohortReport struct {
	RentreeCohort
	Report
	// UserHours is the simulated time its users were signed in, in hours.
	UserHours float64
	// Requests are its browsers' requests (the supervisor's left out).
	Requests int
}

// PerUserHour is the kind's requests per simulated connected hour.
func (c CohortReport) PerUserHour(route string) float64 {
	if c.UserHours == 0 {
		return 0
	}
	if route == "" {
		return float64(c.Requests) / c.UserHours
	}
	return float64(c.Report.Route(route).Requests) / c.UserHours
}

// OK reports whether no seat invariant was broken, during the run or at
// its end.
func (r RentreeReport) OK() bool { return r.ViolationCount == 0 }

// Rentree runs a rentrée morning.
func Rentree(ctx context.Context, cfg RentreeConfig) (RentreeReport, error) {
	if err := cfg.defaults(); err != nil {
		return RentreeReport{}, err
	}
	rep := RentreeReport{Config: cfg}
	hc := &http.Client{Timeout: 10 * time.Second}
	var before map[string]dynamometer.Counts
	if cfg.Meter != "" {
		if _, err := CheckURL(cfg.Meter); err != nil {
			return rep, err
		}
		var err error
		if before, err = dynamometer.Read(ctx, hc, cfg.Meter); err != nil {
			return rep, &sesame.Error{Code: "unreachable", Message: fmt.Sprintf("Le compteur DynamoDB %s ne répond pas (%v).", cfg.Meter, err), Err: err}
		}
	}
	runs := make([]Config, len(cfg.Cohorts))
	monitor := slices.IndexFunc(cfg.Cohorts, func(co RentreeCohort) bool { return co.Users > 0 })
	for i, co := range cfg.Cohorts {
		hb := co.Heartbeat
		if hb == 0 {
			hb = time.Minute // used only when an answer lacks heartbeatSeconds
		}
		runs[i] = Config{URL: cfg.URL, UAI: cfg.UAI, Year: cfg.Year, Users: co.Users, Prefix: co.Prefix, First: 1,
			Password: cfg.Password, Mode: co.Mode, Duration: cfg.Window + cfg.Drain + cfg.real(cfg.Browse), Ramp: cfg.Window,
			Heartbeat: max(cfg.real(hb), 10*time.Millisecond), HeartbeatFromServer: co.Heartbeat == 0, Speed: cfg.Speed,
			PageEvery: cfg.real(cfg.PageEvery), IdleShare: cfg.IdleShare, Retry: cfg.real(cfg.Retry),
			Insecure: cfg.Insecure, Seed: cfg.Seed + uint64(i)}
		if i == monitor {
			// One supervisor checks every limited pool.
			runs[i].SPRLogin, runs[i].SPRPassword = cfg.SPRLogin, cfg.SPRPassword
		}
		if co.Users == 0 {
			continue
		}
		if err := runs[i].Check(); err != nil {
			return rep, fmt.Errorf("%s: %w", co.Name, err)
		}
	}
	start := time.Now()
	reports := make([]Report, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i := range runs {
		if runs[i].Users == 0 {
			continue
		}
		wg.Go(func() { reports[i], errs[i] = Run(ctx, runs[i]) })
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	for i, co := range cfg.Cohorts {
		if errs[i] != nil {
			return rep, fmt.Errorf("%s: %w", co.Name, errs[i])
		}
		c := CohortReport{RentreeCohort: co, Report: reports[i], UserHours: reports[i].Connected.Hours() * cfg.Speed}
		for _, s := range reports[i].Routes {
			if s.Route != RouteConnections && s.Route != RouteSPR && s.Route != RoutePermissions {
				c.Requests += s.Requests
			}
		}
		rep.Cohorts = append(rep.Cohorts, c)
		rep.ViolationCount += reports[i].ViolationCount
		rep.Violations = append(rep.Violations, reports[i].Violations...)
	}
	if before != nil {
		if after, err := dynamometer.Read(ctx, hc, cfg.Meter); err != nil {
			rep.MeterError = err.Error()
		} else {
			rep.DynamoDB = dynamometer.Diff(after, before)
		}
	}
	rep.finalCheck(ctx, runs[monitor])
	return rep, nil
}

// finalCheck has the supervisor read the pools once more, now that every
// kind has logged out, and compares each limited pool with its limit.
func (rep *RentreeReport) finalCheck(ctx context.Context, cfg Config) {
	if err := cfg.Check(); err != nil {
		return
	}
	base, err := CheckURL(cfg.URL)
	if err != nil {
		return
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	r := &run{cfg: cfg, base: base, origin: base.Scheme + "://" + base.Host, start: time.Now(), lat: map[string][]time.Duration{},
		count: map[string]int{}, limits: map[string]int{}, maxHeld: map[string]int{}, maxUsed: map[string]int{}, finalUsed: map[string]int{},
		rep: Report{Unexpected: map[string]int{}}}
	r.tr = newTransport(cfg)
	defer r.tr.CloseIdleConnections()
	m := &monitor{r: r, b: r.newBrowser(-1, 1)}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if m.signIn(fctx) != nil {
		return
	}
	m.check(fctx, true)
	m.signOut(fctx)
	rep.FinalChecked = r.rep.ServerChecks > 0
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range r.limits {
			if !yield(p) {
				return
			}
		}
	}) {
		rep.Final = append(rep.Final, PoolStats{Pool: p, Limit: r.limits[p], MaxUsedServer: r.maxUsed[p], FinalUsed: r.finalUsed[p]})
	}
	rep.ViolationCount += r.nViolation
	rep.Violations = append(rep.Violations, r.violations...)
}

// Pools gathers what the cohorts saw of each limited pool: the
// supervisor's readings (in one cohort's run) and the count of the seats
// held by the cohort whose pool it is.
func (r RentreeReport) Pools() []PoolStats {
	by := map[string]PoolStats{}
	for _, co := range r.Cohorts {
		for _, ps := range co.Pools {
			b := by[ps.Pool]
			b.Pool, b.Limit = ps.Pool, max(b.Limit, ps.Limit)
			b.MaxUsedServer, b.MaxHeldClient = max(b.MaxUsedServer, ps.MaxUsedServer), max(b.MaxHeldClient, ps.MaxHeldClient)
			by[ps.Pool] = b
		}
	}
	var out []PoolStats
	for _, p := range sesame.Pools {
		if ps, ok := by[string(p)]; ok {
			out = append(out, ps)
		}
	}
	return out
}

// Write prints the report in French.
func (r RentreeReport) Write(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := r.Config
	p("Matinée de rentrée contre %s — établissement %s, base %s\n", c.URL, c.UAI, c.Year)
	p("Connexions sur %s (%s de plus pour les refusés), puis %s de navigation accélérée %s fois (%s réelles) ; une page toutes les %s, %s %% d'inactifs ; durée réelle %s.\n\n",
		duration(c.Window), duration(c.Drain), c.Browse, decimal(c.Speed, 0), duration(c.real(c.Browse)), c.PageEvery, decimal(100*c.IdleShare, 0), duration(r.Elapsed))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "  groupe\tcomptes\tconnexions (réussies/tentées)\trefus\theures simulées\trequêtes/heure\tsignaux/heure\tpages/heure\tfermées par le serveur\t\n")
	for _, co := range r.Cohorts {
		ended := "aucune"
		if len(co.Ended) > 0 {
			ended = counts(co.Ended)
		}
		refused := "aucun"
		if len(co.LoginsRefused) > 0 {
			refused = counts(co.LoginsRefused)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", co.Name, co.RentreeCohort.Users, co.LoginsSucceeded, co.LoginsAttempted, refused,
			decimal(co.UserHours, 1), decimal(co.PerUserHour(""), 1), decimal(co.PerUserHour(RouteHeartbeat), 1), decimal(co.PerUserHour(RouteSession), 1), ended)
	}
	_ = tw.Flush()
	p("\nLatence par opération et par groupe :\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "  groupe\topération\trequêtes\tp50\tp99\tp99,9\tmax\t\n")
	for _, co := range r.Cohorts {
		for _, s := range co.Routes {
			if s.Route == RouteConnections || s.Route == RouteSPR || s.Route == RoutePermissions {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", co.Name, s.Route, s.Requests, ms(s.P50), ms(s.P99), ms(s.P999), ms(s.Max))
		}
	}
	_ = tw.Flush()
	for _, co := range r.Cohorts {
		if len(co.Unexpected) > 0 || co.NetworkErrors > 0 {
			p("  %s : réponses inattendues %s ; erreurs réseau %d.\n", co.Name, counts(co.Unexpected), co.NetworkErrors)
		}
	}
	p("\nRequêtes DynamoDB par opération :\n")
	switch {
	case r.MeterError != "":
		p("  compteur illisible : %s\n", r.MeterError)
	case r.DynamoDB == nil:
		p("  non comptées : ce serveur n'a pas de compteur (sesame serve sur bbolt n'en fait pas ; la pile hébergée en a un avec --meter).\n")
	default:
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "  route\tappels\trequêtes\tpar appel\tconflits de transaction\tconditions non remplies\tpar type\t\n")
		for _, op := range slices.Sorted(func(yield func(string) bool) {
			for k := range r.DynamoDB {
				if !yield(k) {
					return
				}
			}
		}) {
			d := r.DynamoDB[op]
			per := "—"
			if d.Invocations > 0 {
				per = decimal(float64(d.Total)/float64(d.Invocations), 2)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%d\t%d\t%s\t\n", op, d.Invocations, d.Total, per, d.Conflicts, d.ConditionsFailed, counts(d.Requests))
		}
		_ = tw.Flush()
	}
	p("\nInvariant des places (vérifié chaque seconde par le superviseur, et par nos navigateurs à chaque place obtenue ou renouvelée) :\n")
	for _, ps := range r.Pools() {
		p("  %s : limite %d ; au plus %d occupées selon le serveur, au plus %d tenues à la fois par nos navigateurs.\n",
			ps.Pool, ps.Limit, ps.MaxUsedServer, ps.MaxHeldClient)
	}
	if r.FinalChecked {
		for _, ps := range r.Final {
			p("  à la fin, %s : %d occupées pour une limite de %d.\n", ps.Pool, ps.FinalUsed, ps.Limit)
		}
	} else {
		p("  à la fin : non vérifié (le superviseur n'a pas pu lire les connexions).\n")
	}
	if r.ViolationCount == 0 {
		p("  Aucune violation.\n")
	} else {
		p("  VIOLATIONS : %d dépassement(s) de la limite.\n", r.ViolationCount)
		writeViolations(&b, r.Violations, r.ViolationCount)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
