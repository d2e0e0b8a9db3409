package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/ssoweb"
)

func cmdServe(ctx context.Context, e env, args []string) error {
	f := newFlags("serve")
	addr := f.String("addr", "127.0.0.1:8080", "adresse d'écoute")
	demo := f.Bool("demo", false, "créer l'établissement de démonstration")
	cert := f.String("tls-cert", "", "certificat TLS")
	key := f.String("tls-key", "", "clé TLS")
	heartbeat := f.Duration("heartbeat", sesame.DefaultTiming.Heartbeat, "intervalle des signaux de présence")
	lease := f.Duration("lease", sesame.DefaultTiming.Lease, "durée d'une place sans signal")
	report := f.Duration("report", sesame.DefaultTiming.Report, "intervalle des signaux de présence d'une session sans place limitée")
	retention := &retentionFlag{v: sesame.DefaultJournalRetention}
	f.Var(retention, "journal-retention", "durée de conservation du journal, en jours")
	var public listFlag[httpapi.Origin]
	public.parse = httpapi.ParseOrigin
	f.Var(&public, "public-url", "adresse publique du site (répétable)")
	var proxies listFlag[netip.Prefix]
	proxies.parse = httpapi.ParseProxy
	f.Var(&proxies, "trusted-proxy", "bloc CIDR d'un relais de confiance (répétable)")
	if err := f.parse(args); err != nil {
		return err
	}
	if !f.set("journal-retention") {
		// The environment's, as the other commands (and the Lambda
		// functions) read it.
		d, err := app.JournalRetention(e.getenv)
		if err != nil {
			return err
		}
		retention.v = d
	}
	if (*cert == "") != (*key == "") {
		return &usageError{"--tls-cert et --tls-key vont ensemble."}
	}
	var tlsConfig *tls.Config
	if *cert != "" {
		// Read now, so that a wrong file is said before anything starts.
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return &sesame.Error{Code: sesame.CodeInvalid, Field: "tls-cert",
				Message: fmt.Sprintf("Le certificat %s ou la clé %s ne peut pas être lu (%v).", *cert, *key, err)}
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	timing := sesame.DefaultTiming
	timing.Heartbeat, timing.Lease, timing.Report = *heartbeat, *lease, *report
	if err := timing.Validate(); err != nil {
		return err
	}
	svc, done, err := f.openWith(ctx, timing, retention.v)
	if err != nil {
		return err
	}
	defer done()
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))
	svc.Log = logger
	up, err := app.UploadsFor(*f.store)
	if err != nil {
		return err
	}
	if *demo {
		if err := createDemo(ctx, e, svc); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("écoute sur %s impossible : %w", *addr, err)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	origins := public.v
	if len(origins) == 0 {
		origins = httpapi.LocalOrigins(scheme, ln.Addr().String())
	}
	srv := &http.Server{
		Handler: app.Handler(svc, httpapi.Config{Logger: logger, Secure: tlsConfig != nil, Uploads: up,
			PublicOrigins: origins, TrustedProxies: proxies.v, Federation: ssoweb.New(nil)}),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(e.stdout, "Adresses acceptées : %s (les autres noms d'hôte reçoivent 421 ; --public-url les choisit).\n", join(origins, ", "))
	if len(public.v) == 0 {
		if ip, port, ok := unspecified(ln.Addr()); ok {
			fmt.Fprintf(e.stderr, "ATTENTION : Sésame écoute sur toutes les interfaces (%s) mais ne répond qu'aux noms localhost : donnez --public-url avec l'adresse que les postes utilisent (par exemple %s://192.168.1.10:%s).\n", ip, scheme, port)
		}
	}
	if len(proxies.v) > 0 {
		fmt.Fprintf(e.stdout, "Relais de confiance (X-Forwarded-For, -Host, -Proto) : %s\n", join(proxies.v, ", "))
	}
	fmt.Fprintf(e.stdout, "Sésame écoute sur %s://%s/ (stockage %s)\n", scheme, ln.Addr(), *f.store)
	fmt.Fprintf(e.stdout, "Journal : chaque entrée est conservée %s, puis effacée.\n", days(retention.v))
	if tlsConfig == nil {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		fmt.Fprintln(e.stderr, plainHTTPWarning(host))
	}
	// Every hour while the server runs, the collector removes the sessions
	// and throttling counters that ended a day ago, and the journal entries
	// that expired (see infra/app: they go on time). It stops before the
	// store closes.
	collect, stopCollect := context.WithCancel(ctx)
	var collecting sync.WaitGroup
	collecting.Go(func() { app.Collect(collect, svc.Store, app.CollectPeriod, logger) })
	defer collecting.Wait()
	defer stopCollect()
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serveur : %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(e.stdout, "Arrêt du serveur…")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// listFlag is a repeatable flag whose values parse reads.
type listFlag[T fmt.Stringer] struct {
	v     []T
	parse func(string) (T, error)
}

func (l *listFlag[T]) String() string {
	if l == nil {
		return ""
	}
	return join(l.v, " ")
}

func (l *listFlag[T]) Set(s string) error {
	v, err := l.parse(s)
	if err != nil {
		return err
	}
	l.v = append(l.v, v)
	return nil
}

// unspecified says whether addr is a wildcard address (0.0.0.0, ::), and
// gives its IP and port.
func unspecified(addr net.Addr) (ip, port string, ok bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil || !ap.Addr().IsUnspecified() {
		return "", "", false
	}
	return ap.Addr().String(), strconv.Itoa(int(ap.Port())), true
}

// join writes vs with sep between them.
func join[T fmt.Stringer](vs []T, sep string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, sep)
}

// retentionFlag is the journal's retention, given in days.
type retentionFlag struct{ v time.Duration }

func (r *retentionFlag) String() string {
	if r == nil || r.v == 0 {
		return ""
	}
	return strconv.Itoa(int(r.v / (24 * time.Hour)))
}

func (r *retentionFlag) Set(v string) error {
	d, err := app.ParseJournalRetention(v)
	if err != nil {
		return err
	}
	r.v = d
	return nil
}

// days writes a whole number of days in French.
func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 jour"
	}
	return strconv.Itoa(n) + " jours"
}

// plainHTTPWarning is what serve says loudly when it serves plain HTTP on
// host.
func plainHTTPWarning(host string) string {
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "DANGER : Sésame est servi en HTTP simple sur une adresse du réseau (" + host + ") : les mots de passe et les sessions circulent en clair. Donnez --tls-cert et --tls-key, ou écoutez sur 127.0.0.1."
	}
	return "ATTENTION : Sésame est servi en HTTP simple, sans chiffrement : ce n'est acceptable que sur cette machine (localhost). Pour un vrai déploiement, donnez --tls-cert et --tls-key."
}

// The demo school (app.CreateDemo creates it; `make run-hosted --demo`
// creates the same).
const (
	demoUAI      = app.DemoUAI
	demoPassword = app.DemoPassword
)

// createDemo creates the demo school on first start, then prints its
// accounts.
func createDemo(ctx context.Context, e env, svc *sesame.Service) error {
	return app.CreateDemo(ctx, svc, e.stdout)
}
