package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/loadtest"
)

// cmdLoadtest runs simulated browsers against a running server (see
// package loadtest), or, with --create-users, creates their accounts in
// --store and exits.
//
// The load test itself speaks HTTP only. Its accounts are created
// beforehand, with the server stopped when the store is a bbolt file (one
// process at a time may open it):
//
//	echo "$PW" | sesame loadtest --create-users --uai U --year Y --users 50 --mode teacher --password-stdin
//	sesame serve &
//	printf '%s\n%s\n' "$PW" "$SPR_PW" | sesame loadtest --url http://127.0.0.1:8080/ --uai U --year Y \
//	    --users 50 --password-stdin --spr-password-stdin
func cmdLoadtest(ctx context.Context, e env, args []string) error {
	f := newFlags("loadtest")
	rawURL := f.String("url", "", "adresse du serveur")
	uai := f.String("uai", "", "UAI")
	year := f.String("year", "", "année scolaire")
	users := f.Int("users", 10, "navigateurs simulés")
	dur := f.Duration("duration", 30*time.Second, "durée du test")
	heartbeat := f.Duration("heartbeat", 5*time.Second, "intervalle des signaux de présence")
	idleShare := f.Float64("idle-share", 0.2, "part d'utilisateurs inactifs")
	headStart := f.Duration("idle-head-start", 0, "inactivité des inactifs à leur connexion")
	prefix := f.String("prefix", "charge", "préfixe des comptes")
	mode := f.String("mode", "teacher", "mode de connexion")
	access := f.String("access", "", "accès en mode administratif : modify ou consult")
	retry := f.Duration("retry", 5*time.Second, "attente maximale avant de réessayer faute de place (0 : abandon)")
	session := f.Duration("session", 0, "durée d'une session avant déconnexion et reconnexion (0 : jusqu'à la fin)")
	ramp := f.Duration("ramp", 0, "étalement des premières connexions")
	maxRequests := f.Int("max-requests", loadtest.DefaultMaxRequests, "nombre maximal de requêtes")
	pwStdin := f.Bool("password-stdin", false, "mot de passe des comptes sur l'entrée standard")
	sprLogin := f.String("spr-login", "spr", "identifiant du superviseur qui lit les connexions (vide : pas de contrôle côté serveur)")
	sprStdin := f.Bool("spr-password-stdin", false, "mot de passe du superviseur sur la ligne suivante de l'entrée standard")
	insecure := f.Bool("insecure", false, "accepter un certificat TLS non vérifié (auto-signé, sur cette machine)")
	create := f.Bool("create-users", false, "créer les comptes dans --store, puis s'arrêter (serveur arrêté)")
	group := f.String("admin-group", "Modification", "groupe des comptes créés en mode administratif")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "prefix"); err != nil {
		return err
	}
	if *users < 1 || *users > loadtest.MaxUsers {
		return &usageError{fmt.Sprintf("--users doit aller de 1 à %d.", loadtest.MaxUsers)}
	}
	if !*pwStdin {
		return &usageError{"l'option --password-stdin est obligatoire : le mot de passe des comptes se donne sur l'entrée standard."}
	}
	if *create {
		if f.set("url") {
			return &usageError{"--create-users crée les comptes et s'arrête : il ne prend pas --url. Lancez ensuite le test sans --create-users."}
		}
		pw, err := newLines(e.stdin).secret("Le mot de passe des comptes")
		if err != nil {
			return err
		}
		return createLoadUsers(ctx, e, f, loadUsers{uai: *uai, year: *year, n: *users, prefix: *prefix,
			mode: *mode, group: *group, password: pw})
	}
	if err := f.required("url"); err != nil {
		return err
	}
	if _, err := loadtest.CheckURL(*rawURL); err != nil {
		return err
	}
	in := newLines(e.stdin)
	pw, err := in.secret("Le mot de passe des comptes")
	if err != nil {
		return err
	}
	sprPw := pw
	if *sprStdin {
		if sprPw, err = in.secret("Le mot de passe du superviseur (deuxième ligne)"); err != nil {
			return err
		}
	}
	cfg := loadtest.Config{URL: *rawURL, UAI: *uai, Year: *year, Users: *users, Duration: *dur, Heartbeat: *heartbeat,
		IdleShare: *idleShare, IdleHeadStart: *headStart, Prefix: *prefix, Password: pw, Mode: *mode, Access: *access,
		Retry: *retry, Session: *session, Ramp: *ramp, MaxRequests: *maxRequests, Insecure: *insecure}
	if *sprLogin != "" {
		cfg.SPRLogin, cfg.SPRPassword = *sprLogin, sprPw
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Test de charge : %d navigateurs pendant %s contre %s…\n", cfg.Users, cfg.Duration, cfg.URL)
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.Write(e.stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return &sesame.Error{Code: "seat_invariant_violated",
			Message: fmt.Sprintf("le test de charge a vu %d dépassement(s) de la limite des places.", rep.ViolationCount)}
	}
	return nil
}

// loadUsers describes the accounts of a load test.
type loadUsers struct {
	uai, year, prefix string
	n                 int
	mode, group       string
	password          string
}

// kindFor returns the kind of user (and admin group) that signs in in
// mode m.
func (l loadUsers) kindFor() (kind, group string, err error) {
	m, err := sesame.ParseMode(l.mode)
	if err != nil {
		return "", "", err
	}
	switch m {
	case sesame.ModeAdmin:
		return string(sesame.KindStaff), l.group, nil
	case sesame.ModeVieScolaire:
		return string(sesame.KindStaff), "", nil
	case sesame.ModeTeacher:
		return string(sesame.KindTeacher), "", nil
	case sesame.SpaceParent:
		return string(sesame.KindParent), "", nil
	case sesame.SpaceStudent:
		return string(sesame.KindStudent), "", nil
	case sesame.SpaceCompany:
		return string(sesame.KindMentor), "", nil
	}
	return string(sesame.KindInspector), "", nil
}

// createLoadUsers creates the accounts <prefix>001… in the store; those that
// exist already are kept as they are.
func createLoadUsers(ctx context.Context, e env, f *flags, l loadUsers) error {
	kind, group, err := l.kindFor()
	if err != nil {
		return err
	}
	if err := sesame.CheckPassword(l.password); err != nil {
		return err
	}
	svc, done, err := f.open(ctx, e, sesame.DefaultTiming)
	if err != nil {
		return err
	}
	defer done()
	var (
		mu              sync.Mutex
		created, exists int
		firstErr        error
		next            = make(chan int)
		wg              sync.WaitGroup
	)
	// Hashing is the slow part: a few at a time.
	for range max(1, min(runtime.GOMAXPROCS(0), 8)) {
		wg.Go(func() {
			for i := range next {
				login := loadtest.Account(l.prefix, 1, i)
				_, err := svc.AddUser(ctx, sesame.NewUser{UAI: l.uai, Year: l.year, Login: login, Kind: kind,
					DisplayName: fmt.Sprintf("Compte de charge %03d", i+1), AdminGroup: group, Password: l.password})
				mu.Lock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, sesame.ErrExists):
					exists++
				case firstErr == nil:
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for i := range l.n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrompu : %w", err)
	}
	fmt.Fprintf(e.stdout, "Comptes de charge %s à %s (%s) : %d créés, %d existaient déjà, dans la base %s de l'établissement %s.\n",
		loadtest.Account(l.prefix, 1, 0), loadtest.Account(l.prefix, 1, l.n-1), kind, created, exists, l.year, l.uai)
	fmt.Fprintf(e.stdout, "Lancez maintenant le serveur, puis « sesame loadtest --url … --mode %s --prefix %s --users %d --password-stdin ».\n",
		l.mode, l.prefix, l.n)
	return nil
}
