package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/loadtest"
)

// cmdLoadtestRush runs a morning rush against a running server (see
// loadtest.Rush): students (and parents) signing in within --window,
// following Retry-After with jitter, then heartbeating. With --capacity it
// first measures the sign-in capacity, and with --load sizes the rush at
// that multiple of it. The accounts are created beforehand:
//
//	echo "$PW" | sesame loadtest --create-users --uai U --year Y --users 1500 --mode student --prefix eleve --password-stdin
//	sesame serve & pid=$!
//	echo "$PW" | sesame loadtest rush --url http://127.0.0.1:8080/ --uai U --year Y \
//	    --students 1500 --window 2m --pid $pid --password-stdin
func cmdLoadtestRush(ctx context.Context, e env, args []string) error {
	f := newFlags("loadtest rush")
	tg := targetFlags(f)
	students := f.Int("students", 300, "élèves qui se connectent")
	parents := f.Int("parents", 0, "parents qui se connectent")
	studentPrefix := f.String("student-prefix", "eleve", "préfixe des comptes d'élèves")
	parentPrefix := f.String("parent-prefix", "parent", "préfixe des comptes de parents")
	window := f.Duration("window", 20*time.Second, "fenêtre où arrivent les connexions")
	drain := f.Duration("drain", time.Minute, "attente au-delà de la fenêtre avant d'abandonner")
	heartbeat := f.Duration("heartbeat", 0, "intervalle des signaux de présence (0 : celui du serveur)")
	timeout := f.Duration("timeout", 30*time.Second, "délai d'une requête")
	pid := f.Int("pid", 0, "processus du serveur sur cette machine, pour lire sa mémoire")
	capacity := f.Duration("capacity", 0, "mesurer d'abord la capacité de connexion pendant cette durée")
	workers := f.Int("capacity-workers", 2*runtime.NumCPU(), "clients en boucle pour mesurer la capacité")
	load := f.Float64("load", 0, "avec --capacity : connexions demandées en multiple de la capacité mesurée")
	if err := tg.parse(f, args); err != nil {
		return err
	}
	if *load < 0 || math.IsNaN(*load) || (*load > 0 && *capacity <= 0) {
		return &usageError{"--load est un multiple positif de la capacité : il demande --capacity."}
	}
	if _, err := loadtest.CheckURL(*tg.url); err != nil {
		return err
	}
	pw, err := newLines(e.stdin).secret("Le mot de passe des comptes")
	if err != nil {
		return err
	}
	cfg := loadtest.RushConfig{URL: *tg.url, UAI: *tg.uai, Year: *tg.year, Password: pw, Window: *window, Drain: *drain,
		Heartbeat: *heartbeat, Timeout: *timeout, PID: *pid, Insecure: *tg.insecure,
		Cohorts: []loadtest.Cohort{{Prefix: *studentPrefix, Mode: string(sesame.SpaceStudent), Users: *students},
			{Prefix: *parentPrefix, Mode: string(sesame.SpaceParent), Users: *parents}}}
	if *capacity > 0 {
		fmt.Fprintf(e.stderr, "Mesure de la capacité de connexion pendant %s…\n", *capacity)
		c, err := loadtest.Capacity(ctx, cfg, *workers, *capacity)
		if err != nil {
			return err
		}
		if err := c.Write(e.stdout); err != nil {
			return err
		}
		if *load > 0 {
			sized(e, &cfg, *load*c.Rate*window.Seconds())
		}
	}
	fmt.Fprintf(e.stderr, "Ruée : %d connexions en %s contre %s…\n", cfg.Users(), cfg.Window, cfg.URL)
	rep, err := loadtest.Rush(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.Write(e.stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return &sesame.Error{Code: "rush_failed", Message: fmt.Sprintf(
			"la ruée n'a pas tenu : %d connectés sur %d, %d erreurs 5xx autres que 503 busy, %d refus sans Retry-After.",
			rep.SignedIn, rep.Users, len(rep.ServerErrors), rep.RetryAfterMissing)}
	}
	return nil
}

// target are the flags of a load test's server and accounts.
type target struct {
	url, uai, year    *string
	pwStdin, insecure *bool
}

func targetFlags(f *flags) target {
	return target{url: f.String("url", "", "adresse du serveur"), uai: f.String("uai", "", "UAI"),
		year:     f.String("year", "", "année scolaire"),
		pwStdin:  f.Bool("password-stdin", false, "mot de passe des comptes sur l'entrée standard"),
		insecure: f.Bool("insecure", false, "accepter un certificat TLS non vérifié (auto-signé, sur cette machine)")}
}

// parse parses args and checks the target's flags.
func (tg target) parse(f *flags, args []string) error {
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("url", "uai", "year"); err != nil {
		return err
	}
	if !*tg.pwStdin {
		return &usageError{"l'option --password-stdin est obligatoire : le mot de passe des comptes se donne sur l'entrée standard."}
	}
	return nil
}

// sized shrinks the rush's cohorts, in proportion, to n sign-ins (never
// more than the accounts given).
func sized(e env, cfg *loadtest.RushConfig, n float64) {
	total := cfg.Users()
	want := int(math.Round(n))
	if want > total {
		fmt.Fprintf(e.stderr, "Il faudrait %d comptes ; la ruée se limite aux %d donnés.\n", want, total)
		return
	}
	for i := range cfg.Cohorts {
		cfg.Cohorts[i].Users = int(math.Round(float64(cfg.Cohorts[i].Users) * float64(max(want, 1)) / float64(total)))
	}
}
