package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
)

func TestHelpAndUnknownCommands(t *testing.T) {
	r := sesameCmd(t, "")
	r.want(t, exitUsage, nil, []string{"Commandes :", "sesame school create", "sesame loadtest"})
	if r.stdout != "" {
		t.Errorf("usage without a command went to stdout")
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"school", "create", "--help"}, {"users", "add", "-h"}} {
		r := sesameCmd(t, "", args...)
		r.want(t, exitOK, []string{"Commandes :", "Codes de sortie"}, nil)
		if r.stderr != "" {
			t.Errorf("%v: stderr %s", args, r.stderr)
		}
	}
	sesameCmd(t, "", "frobnicate").refused(t, exitUsage, "commande inconnue : « frobnicate ». Tapez « sesame help »")
	sesameCmd(t, "", "school").refused(t, exitUsage, "sous-commande manquante. Possibles : « sesame school create », « sesame school use ».")
	sesameCmd(t, "", "school", "delete", "--uai", uai).refused(t, exitUsage, "sous-commande inconnue : « delete »")
	sesameCmd(t, "", "license").refused(t, exitUsage, "« sesame license set »")
}

var generatedRE = regexp.MustCompile(`Mot de passe du SPR : ([A-Za-z0-9]{16})\n`)

func TestSchoolCreate(t *testing.T) {
	store := tempStore(t)
	out := sesameCmd(t, "", "school", "create", "--store", store, "--uai", uai, "--name", "Collège Jean Moulin", "--year", year).ok(t)
	for _, want := range []string{
		"Base 2026-2027 de l'établissement 0751234A (Collège Jean Moulin) créée.\n",
		"C'est l'année en cours : la connexion y mène.\n",
		"Licence : 4 connexions en mode administratif (modification), 30 en mode enseignant, licence de consultation : non.\n",
		"Superviseur (SPR) : identifiant spr\n",
		"(notez-le : il ne sera plus affiché)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	m := generatedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated password in:\n%s", out)
	}
	// The printed password is the SPR's.
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		res, err := svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: "spr", Password: m[1], Mode: "admin"})
		if err != nil || !res.View.User.Supervisor {
			t.Fatalf("SPR sign-in with the printed password: %v", err)
		}
	})

	t.Run("duplicate base", func(t *testing.T) {
		sesameCmd(t, "", "school", "create", "--store", store, "--uai", "0751234a", "--name", "Autre", "--year", year).
			refused(t, exitFailure, "La base 2026-2027 de l'établissement 0751234A existe déjà. [already_exists]")
	})
	t.Run("next year", func(t *testing.T) {
		out := sesameCmd(t, pw+"\n", "school", "create", "--store", store, "--uai", uai, "--name", "Collège Jean Moulin", "--year", "2027-2028",
			"--admin-seats", "6", "--teacher-seats", "unlimited", "--consultation", "--spr-password-stdin").ok(t)
		for _, want := range []string{
			"Base 2027-2028 de l'établissement 0751234A (Collège Jean Moulin) créée.",
			"L'année en cours reste 2026-2027 (changez-la avec « sesame school use »).",
			"Licence : 6 connexions en mode administratif (modification), illimité en mode enseignant, licence de consultation : oui (consultation illimitée).",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "Mot de passe du SPR") {
			t.Errorf("a password given on stdin is printed:\n%s", out)
		}
		withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
			if _, err := svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: "spr", Password: pw, Mode: "admin", Year: "2027-2028"}); err != nil {
				t.Fatalf("SPR sign-in with the password from stdin: %v", err)
			}
		})
	})

	create := func(stdin string, args ...string) result {
		base := []string{"school", "create", "--store", tempStore(t)}
		return sesameCmd(t, stdin, append(base, args...)...)
	}
	good := []string{"--uai", uai, "--name", "Collège", "--year", year}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"bad UAI", "", []string{"--uai", "075123", "--name", "Collège", "--year", year}, exitUsage,
			"Le code établissement (UAI) « 075123 » est incorrect : il faut 7 chiffres puis une lettre, par exemple 0751234A. [invalid_value]"},
		{"bad year", "", []string{"--uai", uai, "--name", "Collège", "--year", "2026"}, exitUsage,
			"L'année scolaire « 2026 » est incorrecte : écrivez-la comme 2026-2027. [invalid_value]"},
		{"years not following", "", []string{"--uai", uai, "--name", "Collège", "--year", "2026-2028"}, exitUsage,
			"L'année scolaire « 2026-2028 » est incorrecte"},
		{"teacher seats in words", "", append(good, "--teacher-seats", "trente"), exitUsage,
			"valeur incorrecte pour --teacher-seats : Le nombre de connexions « trente » est incorrect : donnez un nombre entier positif (30, 50, 80…) ou « unlimited »."},
		{"no admin seat", "", append(good, "--admin-seats", "0"), exitUsage,
			"valeur incorrecte pour --admin-seats : Le nombre de connexions « 0 » est incorrect : donnez un nombre entier positif."},
		{"unlimited admin seats", "", append(good, "--admin-seats", "unlimited"), exitUsage,
			"valeur incorrecte pour --admin-seats"},
		{"unknown flag", "", append(good, "--foo"), exitUsage, "option inconnue : --foo."},
		{"unknown flag with value", "", append(good, "--foo=bar"), exitUsage, "option inconnue : --foo."},
		{"missing name", "", []string{"--uai", uai, "--year", year}, exitUsage, "l'option --name est obligatoire."},
		{"empty name", "", []string{"--uai", uai, "--name", "", "--year", year}, exitUsage, "l'option --name est obligatoire."},
		{"missing value", "", []string{"--name", "Collège", "--year", year, "--uai"}, exitUsage, "l'option --uai attend une valeur."},
		{"extra argument", "", append(good, "Collège"), exitUsage, "argument en trop : « Collège »."},
		{"argument first", "", append([]string{"Collège"}, good...), exitUsage, "argument en trop : « Collège »."},
		{"bad boolean", "", append(good, "--consultation=peut-être"), exitUsage, "valeur incorrecte pour --consultation : écrivez true ou false."},
		{"bad flag syntax", "", append(good, "---uai"), exitUsage, "option mal écrite : « ---uai »."},
		{"empty stdin", "", append(good, "--spr-password-stdin"), exitUsage,
			"Le mot de passe du superviseur est attendu sur l'entrée standard (une ligne)."},
		{"short password", "court\n", append(good, "--spr-password-stdin"), exitUsage,
			"Le mot de passe doit compter au moins 8 caractères. [invalid_value]"},
	} {
		t.Run(tc.name, func(t *testing.T) { create(tc.stdin, tc.args...).refused(t, tc.code, tc.msg) })
	}
}

func TestSchoolUse(t *testing.T) {
	store := tempStore(t)
	createSchool(t, store)
	sesameCmd(t, "", "school", "use", "--store", store, "--uai", uai, "--year", "2027-2028").
		refused(t, exitFailure, "La base 2027-2028 de l'établissement 0751234A est introuvable. [not_found]")
	sesameCmd(t, "", "school", "use", "--store", store, "--uai", "0999999Z", "--year", year).
		refused(t, exitFailure, "La base 2026-2027 de l'établissement 0999999Z est introuvable. [not_found]")
	sesameCmd(t, "", "school", "use", "--store", store, "--uai", uai).refused(t, exitUsage, "l'option --year est obligatoire.")
	sesameCmd(t, "", "school", "use", "--store", store, "--uai", uai, "--year", "demain").refused(t, exitUsage, "L'année scolaire « demain » est incorrecte")

	createSchool(t, store, "--year", "2027-2028")
	out := sesameCmd(t, "", "school", "use", "--store", store, "--uai", uai, "--year", "2027-2028").ok(t)
	if out != "L'année en cours de l'établissement 0751234A est maintenant 2027-2028 : la connexion y mène.\n" {
		t.Fatalf("stdout: %q", out)
	}
	// Sign-in goes there now.
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		res, err := svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: "spr", Password: pw, Mode: "admin"})
		if err != nil || res.View.Session.Year != "2027-2028" {
			t.Fatalf("sign-in after school use: %v %+v", err, res.View.Session)
		}
	})
}

func TestLicenseSet(t *testing.T) {
	store := tempStore(t)
	createSchool(t, store)
	set := func(args ...string) result {
		return sesameCmd(t, "", append([]string{"license", "set", "--store", store, "--uai", uai, "--year", year}, args...)...)
	}
	set().refused(t, exitUsage, "rien à changer : donnez --admin-seats, --teacher-seats ou --consultation.")
	set("--admin-seats", "0").refused(t, exitUsage, "valeur incorrecte pour --admin-seats")
	set("--teacher-seats", "beaucoup").refused(t, exitUsage, "valeur incorrecte pour --teacher-seats")
	set("--consultation=oui").refused(t, exitUsage, "valeur incorrecte pour --consultation : écrivez true ou false.")
	sesameCmd(t, "", "license", "set", "--store", store, "--uai", uai, "--year", "2030-2031", "--admin-seats", "3").
		refused(t, exitFailure, "La base 2030-2031 de l'établissement 0751234A est introuvable. [not_found]")

	out := set("--teacher-seats", "unlimited", "--consultation")
	out.want(t, exitOK, []string{
		"Licence de la base 2026-2027 de l'établissement 0751234A modifiée ; elle s'applique dès la prochaine connexion, sans évincer personne.",
		"Licence : 4 connexions en mode administratif (modification), illimité en mode enseignant, licence de consultation : oui (consultation illimitée).",
	}, nil)
	set("--consultation=false", "--teacher-seats", "50").want(t, exitOK,
		[]string{"4 connexions en mode administratif (modification), 50 en mode enseignant, licence de consultation : non."}, nil)

	// Live effect: three admin users hold seats of four; the licence goes
	// down to two. Nobody is evicted, and a newcomer is refused under the
	// new limit until the holders are fewer than two.
	for _, l := range []string{"a1", "a2", "a3", "a4"} {
		addUser(t, store, l, "staff", "--admin-group", "Modification")
	}
	ctx := context.Background()
	tokens := map[string]string{}
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		for _, l := range []string{"a1", "a2", "a3"} {
			res, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: l, Password: pw, Mode: "admin"})
			if err != nil {
				t.Fatalf("login %s: %v", l, err)
			}
			tokens[l] = res.Token
		}
	})
	set("--admin-seats", "2").want(t, exitOK, []string{"Licence : 2 connexions en mode administratif (modification)"}, nil)
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		for l, tok := range tokens {
			if _, err := svc.Heartbeat(ctx, tok, 0); err != nil {
				t.Fatalf("%s evicted by the lower licence: %v", l, err)
			}
		}
		_, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "a4", Password: pw, Mode: "admin"})
		var se *sesame.SeatsExhaustedError
		if !errors.As(err, &se) || se.Limit != 2 || se.Pool != sesame.PoolAdminModify {
			t.Fatalf("newcomer with 3 holders under a limit of 2: %v", err)
		}
		for _, l := range []string{"a1", "a2"} {
			if err := svc.Logout(ctx, tokens[l]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "a4", Password: pw, Mode: "admin"}); err != nil {
			t.Fatalf("newcomer with 1 holder under a limit of 2: %v", err)
		}
	})
}

func TestUsersAdd(t *testing.T) {
	store := tempStore(t)
	createSchool(t, store)
	add := func(stdin string, args ...string) result {
		return sesameCmd(t, stdin, append([]string{"users", "add", "--store", store, "--uai", uai, "--year", year}, args...)...)
	}
	out := add(pw+"\n", "--login", "prof.martin", "--kind", "teacher", "--name", "M. Martin", "--password-stdin").ok(t)
	if out != "Compte « prof.martin » (M. Martin, professeur) créé dans la base 2026-2027 de l'établissement 0751234A.\n" {
		t.Fatalf("stdout: %q", out)
	}
	add(pw+"\r\n", "--login", "secretariat", "--kind", "staff", "--name", "Mme Lefèvre", "--admin-group", "modification",
		"--password-stdin").want(t, exitOK, []string{"Compte « secretariat » (Mme Lefèvre, personnel) créé"}, nil)
	add(pw, "--login", "eleve.durand", "--kind", "student", "--name", "Léa Durand", "--password-stdin").
		want(t, exitOK, []string{"(Léa Durand, élève)"}, nil)
	// The accounts sign in with the password given on stdin (a final
	// CR LF or none at all is not part of it).
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		for _, c := range []struct{ login, mode string }{{"prof.martin", "teacher"}, {"secretariat", "admin"}, {"eleve.durand", "student"}} {
			if _, err := svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: c.login, Password: pw, Mode: c.mode}); err != nil {
				t.Errorf("login %s in %s: %v", c.login, c.mode, err)
			}
		}
	})

	user := []string{"--login", "cpe", "--kind", "staff", "--name", "Mme Morel"}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"no --password-stdin", pw + "\n", user, exitUsage,
			"l'option --password-stdin est obligatoire : le mot de passe se donne sur l'entrée standard, jamais sur la ligne de commande."},
		{"empty stdin", "", append(user, "--password-stdin"), exitUsage, "Le mot de passe est attendu sur l'entrée standard (une ligne)."},
		{"empty line", "\n" + pw + "\n", append(user, "--password-stdin"), exitUsage, "Le mot de passe est attendu sur l'entrée standard"},
		{"short password", "1234\n", append(user, "--password-stdin"), exitUsage, "Le mot de passe doit compter au moins 8 caractères."},
		{"unknown group", pw, append(user, "--admin-group", "Direction", "--password-stdin"), exitFailure,
			"Le groupe d'utilisateurs « Direction » n'existe pas. Choix possibles : Administration, Consultation, Modification. [not_found]"},
		{"unknown profile", pw, []string{"--login", "prof2", "--kind", "teacher", "--name", "Prof", "--profile", "Stagiaires", "--password-stdin"}, exitFailure,
			"Le profil d'autorisation « Stagiaires » n'existe pas. Choix possibles : Professeurs. [not_found]"},
		{"teacher in an admin group", pw, []string{"--login", "prof2", "--kind", "teacher", "--name", "Prof", "--admin-group", "Modification", "--password-stdin"}, exitUsage,
			"Seuls les personnels peuvent appartenir à un groupe d'utilisateurs administratifs. [invalid_value]"},
		{"the SPR's group", pw, append(user, "--admin-group", "Administration", "--password-stdin"), exitFailure,
			"Le groupe Administration est celui du superviseur : choisissez un autre groupe. [protected]"},
		{"parent with a profile", pw, []string{"--login", "p1", "--kind", "parent", "--name", "Parent", "--profile", "Professeurs", "--password-stdin"}, exitUsage,
			"Seuls les personnels et les professeurs ont un profil d'autorisation."},
		{"unknown kind", pw, []string{"--login", "d1", "--kind", "directeur", "--name", "Dir", "--password-stdin"}, exitUsage, "[invalid_value]"},
		{"login in another case", pw, []string{"--login", "PROF.Martin", "--kind", "teacher", "--name", "Autre", "--password-stdin"}, exitFailure,
			"L'identifiant « PROF.Martin » existe déjà. [already_exists]"},
		{"missing login", pw, []string{"--kind", "teacher", "--name", "Prof", "--password-stdin"}, exitUsage, "l'option --login est obligatoire."},
		{"missing kind", pw, []string{"--login", "x1", "--name", "Prof", "--password-stdin"}, exitUsage, "l'option --kind est obligatoire."},
		{"password on the command line", pw, append(user, "--password", pw), exitUsage, "option inconnue : --password."},
	} {
		t.Run(tc.name, func(t *testing.T) { add(tc.stdin, tc.args...).refused(t, tc.code, tc.msg) })
	}
	t.Run("missing base", func(t *testing.T) {
		sesameCmd(t, pw, "users", "add", "--store", store, "--uai", uai, "--year", "2030-2031", "--login", "x", "--kind", "staff",
			"--name", "X", "--password-stdin").refused(t, exitFailure, "La base 2030-2031 de l'établissement 0751234A est introuvable.")
	})
	t.Run("refused adds change nothing", func(t *testing.T) {
		withService(t, store, func(_ *sesame.Service, st sesame.Backend) {
			page, err := st.ListUsers(context.Background(), sesame.BaseKey{UAI: uai, Year: year}, sesame.UserQuery{})
			if err != nil {
				t.Fatal(err)
			}
			var logins []string
			for _, u := range page.Users {
				logins = append(logins, u.Login)
			}
			if strings.Join(logins, " ") != "eleve.durand prof.martin secretariat spr" {
				t.Fatalf("users: %v", logins)
			}
		})
	})
}

func TestStoreFlag(t *testing.T) {
	for _, s := range []string{"postgres://localhost/sesame", "bolt:", "dynamodb:", "sesame.db"} {
		sesameCmd(t, "", "school", "use", "--store", s, "--uai", uai, "--year", year).
			refused(t, exitUsage, "Le stockage « "+s+" » est incorrect : écrivez bolt:CHEMIN (par exemple bolt:./data/sesame.db) ou dynamodb:TABLE.")
	}
	sesameCmd(t, "", "school", "use", "--store", "bolt:/proc/sesame/nope/x.db", "--uai", uai, "--year", year).
		refused(t, exitFailure, "Impossible de créer le dossier de la base « /proc/sesame/nope ». (mkdir")

	// A bbolt file open elsewhere (a running server) is said plainly.
	store := tempStore(t)
	createSchool(t, store)
	st, err := app.OpenStore(context.Background(), store, app.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sesameCmd(t, "", "school", "use", "--store", store, "--uai", uai, "--year", year).
		refused(t, exitFailure, "est déjà ouverte par un autre processus (attente de 2 secondes) : arrêtez-le, ou choisissez un autre fichier.")
}
