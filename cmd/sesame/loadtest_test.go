package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestLoadtestCommand(t *testing.T) {
	store := tempStore(t)
	createSchool(t, store)
	lt := func(stdin string, args ...string) result {
		return sesameCmd(t, stdin, append([]string{"loadtest", "--uai", uai, "--year", year}, args...)...)
	}

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			stdin string
			args  []string
			code  int
			msg   string
		}{
			{pw, []string{"--url", "http://example.com/", "--password-stdin"}, exitUsage,
				"L'adresse « http://example.com/ » n'est pas locale : le test de charge ne vise que cette machine (127.0.0.0/8, ::1 ou localhost). [invalid_value]"},
			{pw, []string{"--url", "http://10.1.2.3:8080/", "--password-stdin"}, exitUsage, "n'est pas locale"},
			{pw, []string{"--url", "127.0.0.1:8080", "--password-stdin"}, exitUsage, "est incorrecte : écrivez par exemple http://127.0.0.1:8080/."},
			{pw, []string{"--password-stdin"}, exitUsage, "l'option --url est obligatoire."},
			{pw, []string{"--url", "http://127.0.0.1:1/"}, exitUsage, "l'option --password-stdin est obligatoire"},
			{"", []string{"--url", "http://127.0.0.1:1/", "--password-stdin"}, exitUsage, "Le mot de passe des comptes est attendu sur l'entrée standard"},
			{pw + "\n", []string{"--url", "http://127.0.0.1:1/", "--password-stdin", "--spr-password-stdin"}, exitUsage,
				"Le mot de passe du superviseur (deuxième ligne) est attendu sur l'entrée standard"},
			{pw, []string{"--url", "http://127.0.0.1:1/", "--password-stdin", "--users", "0"}, exitUsage, "--users doit aller de 1 à 10000."},
			{pw, []string{"--url", "http://127.0.0.1:1/", "--password-stdin", "--idle-share", "beaucoup"}, exitUsage,
				"valeur incorrecte pour --idle-share : écrivez un nombre (par exemple 0.2)."},
			{pw, []string{"--url", "http://127.0.0.1:1/", "--password-stdin", "--idle-share", "2"}, exitUsage, "La part d'utilisateurs inactifs doit aller de 0 à 1."},
			{pw, []string{"--url", "http://127.0.0.1:1/", "--password-stdin", "--mode", "directeur"}, exitUsage, "Le mode « directeur » n'existe pas."},
			{pw, []string{"--url", "http://127.0.0.1:1/", "--password-stdin", "--users", "dix"}, exitUsage, "valeur incorrecte pour --users : écrivez un nombre entier."},
			{pw, []string{"--create-users", "--url", "http://127.0.0.1:1/", "--password-stdin", "--store", store}, exitUsage,
				"--create-users crée les comptes et s'arrête : il ne prend pas --url."},
			{"court", []string{"--create-users", "--password-stdin", "--store", store}, exitUsage, "Le mot de passe doit compter au moins 8 caractères."},
		} {
			lt(tc.stdin, tc.args...).refused(t, tc.code, tc.msg)
		}
	})

	lt(pw, "--url", "http://127.0.0.1:1/", "--password-stdin").want(t, exitFailure, nil, []string{
		"Test de charge : 10 navigateurs pendant 30s contre http://127.0.0.1:1/…\n",
		"sesame : Le serveur http://127.0.0.1:1 ne répond pas (", "[unreachable]"})

	// The accounts, created while no server runs.
	out := lt(pw+"\n", "--create-users", "--store", store, "--users", "6", "--mode", "admin", "--prefix", "charge", "--password-stdin").ok(t)
	if !strings.Contains(out, "Comptes de charge charge001 à charge006 (staff) : 6 créés, 0 existaient déjà, dans la base 2026-2027 de l'établissement 0751234A.") {
		t.Fatalf("stdout: %s", out)
	}
	out = lt(pw+"\n", "--create-users", "--store", store, "--users", "8", "--mode", "admin", "--password-stdin").ok(t)
	if !strings.Contains(out, "charge001 à charge008 (staff) : 2 créés, 6 existaient déjà") {
		t.Fatalf("stdout: %s", out)
	}
	lt(pw+"\n", "--create-users", "--store", store, "--users", "2", "--mode", "admin", "--admin-group", "Direction", "--prefix", "x", "--password-stdin").
		refused(t, exitFailure, "Le groupe d'utilisateurs « Direction » n'existe pas.")

	// Then the server, and the load test against it: eight admin users
	// for four seats, nobody retrying.
	s := serve(t, "--store", store)
	r := lt(pw+"\n", "--url", s.url+"/", "--users", "8", "--mode", "admin", "--duration", "3s", "--heartbeat", "200ms",
		"--retry", "0", "--idle-share", "0", "--password-stdin")
	r.want(t, exitOK, []string{
		"8 navigateurs simulés en mode admin, dont 0 inactifs",
		"Connexions : 8 tentées, 4 réussies, 4 refusées (seats_exhausted 4).",
		"Latence par route :", "heartbeat", "authorize",
		"admin-modify : limite 4 ; au plus 4 occupées selon le serveur",
		"0 occupées à la fin.",
		"Aucune violation",
	}, []string{"Test de charge : 8 navigateurs pendant 3s contre " + s.url + "/…"})
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve: %d", code)
	}
}

// A server that shows more seats in use than its limit makes the command
// fail.
func TestLoadtestViolationExit(t *testing.T) {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /api/v1/login", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"seat": map[string]any{"pool": "teacher", "limit": 30}, "leaseSeconds": 180})
	})
	mux.HandleFunc("POST /api/v1/heartbeat", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{}) })
	mux.HandleFunc("GET /api/v1/authorize", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{"allowed": false}) })
	mux.HandleFunc("POST /api/v1/logout", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /api/v1/connections", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"pools": []any{map[string]any{"pool": "teacher", "limit": 30, "used": 31}}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	r := sesameCmd(t, pw, "loadtest", "--url", srv.URL, "--uai", uai, "--year", year, "--users", "2", "--duration", "500ms",
		"--heartbeat", "100ms", "--password-stdin")
	r.want(t, exitFailure, []string{"VIOLATIONS", "(serveur) : teacher, 31 places occupées pour une limite de 30"},
		[]string{"sesame : le test de charge a vu", "dépassement(s) de la limite des places. [seat_invariant_violated]"})
}

// A morning rush of students and parents against sesame serve, after the
// capacity; and what the command refuses.
func TestLoadtestRushCommand(t *testing.T) {
	store := tempStore(t)
	createSchool(t, store)
	rush := func(stdin string, args ...string) result {
		return sesameCmd(t, stdin, append([]string{"loadtest", "rush", "--uai", uai, "--year", year}, args...)...)
	}
	rush(pw, "--url", "http://192.168.1.10/", "--password-stdin").refused(t, exitUsage, "n'est pas locale")
	rush(pw, "--url", "http://127.0.0.1:1/", "--password-stdin", "--load", "2").refused(t, exitUsage, "--load est un multiple positif de la capacité : il demande --capacity.")
	rush(pw, "--url", "http://127.0.0.1:1/").refused(t, exitUsage, "l'option --password-stdin est obligatoire")
	for _, c := range [][]string{{"student", "eleve", "4"}, {"parent", "parent", "2"}} {
		sesameCmd(t, pw+"\n", "loadtest", "--create-users", "--store", store, "--uai", uai, "--year", year,
			"--mode", c[0], "--prefix", c[1], "--users", c[2], "--password-stdin").ok(t)
	}
	s := serve(t, "--store", store)
	rush(pw+"\n", "--url", s.url+"/", "--students", "4", "--parents", "2", "--window", "300ms", "--heartbeat", "100ms",
		"--capacity", "300ms", "--capacity-workers", "2", "--pid", strconv.Itoa(os.Getpid()), "--password-stdin").want(t, exitOK,
		[]string{"Capacité de connexion : ", "Ruée du matin sur " + s.url + "/ : 6 connexions en 300 ms",
			"Connectés : 6 sur 6 (0 abandons)", "Erreurs 5xx autres que 503 busy : aucune.", "Mémoire du serveur : pic résident"},
		[]string{"Mesure de la capacité de connexion pendant 300ms…", "Ruée : 6 connexions en 300ms contre " + s.url + "/…"})
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve: %d", code)
	}
}

// A rentrée morning, scaled down, against sesame serve: accounts of the
// four kinds, one teacher seat for two teachers; and what it refuses.
func TestLoadtestRentreeCommand(t *testing.T) {
	store := tempStore(t)
	createSchool(t, store, "--teacher-seats", "1", "--admin-seats", "1")
	rentree := func(stdin string, args ...string) result {
		return sesameCmd(t, stdin, append([]string{"loadtest", "rentree", "--uai", uai, "--year", year}, args...)...)
	}
	rentree(pw, "--url", "http://192.168.1.10/", "--password-stdin").refused(t, exitUsage, "n'est pas locale")
	rentree(pw, "--url", "http://127.0.0.1:1/").refused(t, exitUsage, "l'option --password-stdin est obligatoire")
	for _, c := range [][]string{{"student", "eleve", "2"}, {"parent", "parent", "1"}, {"teacher", "prof", "2"}, {"admin", "admin", "1"}} {
		sesameCmd(t, pw+"\n", "loadtest", "--create-users", "--store", store, "--uai", uai, "--year", year,
			"--mode", c[0], "--prefix", c[1], "--users", c[2], "--password-stdin").ok(t)
	}
	s := serve(t, "--store", store)
	rentree(pw+"\n", "--url", s.url+"/", "--students", "2", "--parents", "1", "--teachers", "2", "--admins", "1",
		"--window", "200ms", "--drain", "1ms", "--browse", "10m", "--speed", "600", "--password-stdin").want(t, exitOK,
		[]string{"Matinée de rentrée contre " + s.url + "/", "teacher : limite 1 ;", "au plus 1 tenues à la fois par nos navigateurs",
			"à la fin, teacher : 0 occupées pour une limite de 1.", "Aucune violation."},
		[]string{"Matinée de rentrée : 2 élèves, 1 parents, 2 professeurs, 1 administratifs contre " + s.url + "/…"})
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve: %d", code)
	}
}
