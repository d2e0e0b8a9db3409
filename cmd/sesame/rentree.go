package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/loadtest"
)

// cmdLoadtestRentree runs a school's first morning against a running
// server (see loadtest.Rentree): students and parents signing in within
// --window, teachers and administrative users competing for their seats,
// then --browse of browsing with the agent's heartbeat rhythm, --speed
// times faster. The accounts eleve…, parent…, prof… and admin… are
// created beforehand with `sesame loadtest --create-users`.
func cmdLoadtestRentree(ctx context.Context, e env, args []string) error {
	f := newFlags("loadtest rentree")
	tg := targetFlags(f)
	students := f.Int("students", 750, "élèves (comptes eleve001…)")
	parents := f.Int("parents", 750, "parents (comptes parent001…)")
	teachers := f.Int("teachers", 80, "professeurs (comptes prof001…)")
	admins := f.Int("admins", 6, "utilisateurs administratifs en modification (comptes admin001…)")
	window := f.Duration("window", 2*time.Minute, "fenêtre des connexions (temps réel)")
	drain := f.Duration("drain", 2*time.Minute, "temps de plus laissé aux connexions refusées (temps réel)")
	browse := f.Duration("browse", time.Hour, "durée de navigation (temps simulé)")
	speed := f.Float64("speed", 60, "accélération du temps pendant la navigation")
	pageEvery := f.Duration("page-every", 5*time.Minute, "une page chargée toutes les … (temps simulé)")
	idleShare := f.Float64("idle-share", 0.2, "part d'utilisateurs qui s'éloignent")
	retry := f.Duration("retry", 5*time.Minute, "attente avant de réessayer faute de place (temps simulé)")
	seatless := f.Duration("seatless-heartbeat", 0, "intervalle des signaux des sessions sans place, en temps simulé (0 : celui du serveur)")
	meter := f.String("meter", "", "compteur DynamoDB de la pile hébergée (ligne dynamodb-meter: de make run-hosted ARGS=--meter)")
	sprLogin := f.String("spr-login", "spr", "identifiant du superviseur qui lit les connexions")
	sprStdin := f.Bool("spr-password-stdin", false, "mot de passe du superviseur sur la ligne suivante de l'entrée standard")
	if err := tg.parse(f, args); err != nil {
		return err
	}
	cfg := loadtest.RentreeConfig{URL: *tg.url, UAI: *tg.uai, Year: *tg.year, SPRLogin: *sprLogin, Window: *window, Drain: *drain, Browse: *browse,
		Speed: *speed, PageEvery: *pageEvery, IdleShare: *idleShare, Retry: *retry, Meter: *meter, Insecure: *tg.insecure,
		Cohorts: loadtest.RentreeCohorts(*students, *parents, *teachers, *admins)}
	for i := range cfg.Cohorts {
		if cfg.Cohorts[i].Mode == string(sesame.SpaceStudent) || cfg.Cohorts[i].Mode == string(sesame.SpaceParent) {
			cfg.Cohorts[i].Heartbeat = *seatless
		}
	}
	if _, err := loadtest.CheckURL(*tg.url); err != nil {
		return err
	}
	in := newLines(e.stdin)
	pw, err := in.secret("Le mot de passe des comptes")
	if err != nil {
		return err
	}
	cfg.Password, cfg.SPRPassword = pw, pw
	if *sprStdin {
		if cfg.SPRPassword, err = in.secret("Le mot de passe du superviseur (deuxième ligne)"); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "Matinée de rentrée : %d élèves, %d parents, %d professeurs, %d administratifs contre %s…\n",
		*students, *parents, *teachers, *admins, *tg.url)
	rep, err := loadtest.Rentree(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.Write(e.stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return &sesame.Error{Code: "seat_invariant_violated", Message: fmt.Sprintf(
			"la matinée de rentrée a vu %d dépassement(s) de la limite des places.", rep.ViolationCount)}
	}
	return nil
}
