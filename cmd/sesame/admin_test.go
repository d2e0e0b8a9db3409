package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
)

var base = sesame.BaseKey{UAI: uai, Year: year}

// adminCmd runs an administration command on store's base 0751234A,
// 2026-2027.
func adminCmd(t *testing.T, store, stdin string, words []string, args ...string) result {
	t.Helper()
	a := append(slices.Clone(words), "--store", store, "--uai", uai, "--year", year)
	return sesameCmd(t, stdin, append(a, args...)...)
}

// userOf reads an account from store.
func userOf(t *testing.T, store, login string) sesame.User {
	t.Helper()
	var u sesame.User
	withService(t, store, func(_ *sesame.Service, st sesame.Backend) {
		var err error
		if u, err = st.GetUser(context.Background(), base, login); err != nil {
			t.Fatalf("GetUser(%s): %v", login, err)
		}
	})
	return u
}

// profileOf reads a group, profile or space setting from store.
func profileOf(t *testing.T, store, id string) sesame.Profile {
	t.Helper()
	var p sesame.Profile
	withService(t, store, func(_ *sesame.Service, st sesame.Backend) {
		var err error
		if p, err = st.GetProfile(context.Background(), base, id); err != nil {
			t.Fatalf("GetProfile(%s): %v", id, err)
		}
	})
	return p
}

// journalOf returns the base's journal, newest first.
func journalOf(t *testing.T, store string) []sesame.JournalEntry {
	t.Helper()
	var out []sesame.JournalEntry
	withService(t, store, func(_ *sesame.Service, st sesame.Backend) {
		page, err := st.ListJournal(context.Background(), base, sesame.JournalQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = page.Entries
	})
	return out
}

// lastEntry is the journal's newest entry of event ev.
func lastEntry(t *testing.T, store string, ev sesame.Event) sesame.JournalEntry {
	t.Helper()
	for _, e := range journalOf(t, store) {
		if e.Event == ev {
			return e
		}
	}
	t.Fatalf("no %s entry in the journal", ev)
	return sesame.JournalEntry{}
}

// rowsOf returns the lines of a command's output, their cells (of a
// table) split on runs of two spaces or more.
func rowsOf(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
	}
	return rows
}

// firstColumn is the first cell of each row of a table (header aside),
// up to the first line that is not a row.
func firstColumn(out string) []string {
	var col []string
	for i, r := range rowsOf(out) {
		if i == 0 {
			continue
		}
		if len(r) < 2 {
			break
		}
		col = append(col, r[0])
	}
	return col
}

func adminSchool(t *testing.T) string {
	t.Helper()
	store := tempStore(t)
	createSchool(t, store, "--consultation")
	addUser(t, store, "prof.martin", "teacher")
	addUser(t, store, "prof.dubois", "teacher")
	addUser(t, store, "secretariat", "staff", "--admin-group", "Modification")
	addUser(t, store, "cpe", "staff")
	addUser(t, store, "eleve.durand", "student")
	return store
}

var usersList = []string{"users", "list"}

func TestUsersList(t *testing.T) {
	store := adminSchool(t)
	out := adminCmd(t, store, "", usersList).ok(t)
	rows := rowsOf(out)
	if strings.Join(rows[0], "|") != "IDENTIFIANT|NOM|TYPE|GROUPE|PROFIL|ACTIF" {
		t.Fatalf("header %q", rows[0])
	}
	if got := strings.Join(firstColumn(out), " "); got != "cpe eleve.durand prof.dubois prof.martin secretariat spr" {
		t.Fatalf("logins %q:\n%s", got, out)
	}
	for _, want := range [][]string{
		{"prof.martin", "Compte prof.martin", "professeur", "—", "Professeurs", "oui"},
		{"secretariat", "Compte secretariat", "personnel", "Modification", "Personnels", "oui"},
		{"eleve.durand", "Compte eleve.durand", "élève", "—", "—", "oui"},
		{"spr", "Superviseur Collège Jean Moulin", "personnel (SPR)", "Administration", "Personnels", "oui"},
	} {
		if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, want) }) {
			t.Errorf("no row %q in:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n6 utilisateurs.\n") {
		t.Errorf("no count at the end:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "teacher"}, "prof.dubois prof.martin"},
		{[]string{"--search", "MARTIN"}, "prof.martin"},
		{[]string{"--search", "compte prof"}, "prof.dubois prof.martin"},
		{[]string{"--member", "Modification"}, "secretariat"},
		{[]string{"--member", "personnels", "--kind", "staff"}, "cpe secretariat spr"},
		{[]string{"--member", "Professeurs", "--search", "dubois"}, "prof.dubois"},
	} {
		out := adminCmd(t, store, "", usersList, tc.args...).ok(t)
		if got := strings.Join(firstColumn(out), " "); got != tc.want {
			t.Errorf("%v: %q, want %q\n%s", tc.args, got, tc.want, out)
		}
	}
	out = adminCmd(t, store, "", usersList, "--limit", "2").ok(t)
	if got := strings.Join(firstColumn(out), " "); got != "cpe eleve.durand" || !strings.Contains(out, "2 utilisateurs affichés (--limit 2) ; d'autres correspondent.") {
		t.Errorf("--limit 2:\n%s", out)
	}
	if out := adminCmd(t, store, "", usersList, "--search", "personne").ok(t); out != "Aucun utilisateur ne correspond.\n" {
		t.Errorf("no match: %q", out)
	}

	// More users than one page of the store: all are listed.
	hash := userOf(t, store, "cpe").PasswordHash
	withService(t, store, func(_ *sesame.Service, st sesame.Backend) {
		now := time.Now().UTC()
		for i := range 1005 {
			u := sesame.User{Login: fmt.Sprintf("eleve%04d", i), DisplayName: fmt.Sprintf("Élève %d", i), Kind: sesame.KindStudent,
				Enabled: true, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
			if err := st.CreateUser(context.Background(), base, u); err != nil {
				t.Fatal(err)
			}
		}
	})
	out = adminCmd(t, store, "", usersList, "--kind", "student").ok(t)
	if n := len(firstColumn(out)); n != 1006 || !strings.HasSuffix(out, "\n1006 utilisateurs.\n") {
		t.Errorf("%d students listed, want 1006 (over two pages of 1000)", n)
	}
	out = adminCmd(t, store, "", usersList, "--kind", "student", "--limit", "1002").ok(t)
	if n := len(firstColumn(out)); n != 1002 || !strings.Contains(out, "1002 utilisateurs affichés (--limit 1002)") {
		t.Errorf("--limit 1002: %d listed", n)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--kind", "directeur"}, exitUsage, "[invalid_value]"},
		{[]string{"--member", "Direction"}, exitFailure, "Le groupe, profil ou espace « Direction » n'existe pas. Choix possibles : Administration, Consultation, Modification, Personnels, Professeurs. [not_found]"},
		{[]string{"--member", "parent"}, exitFailure, "[not_found]"}, // a space has no members
		{[]string{"--limit", "-1"}, exitUsage, "valeur incorrecte pour --limit : écrivez un nombre entier positif."},
		{[]string{"--limit", "dix"}, exitUsage, "valeur incorrecte pour --limit : écrivez un nombre entier."},
		{[]string{"--page", "2"}, exitUsage, "option inconnue : --page."},
		{[]string{"prof"}, exitUsage, "argument en trop : « prof »."},
	} {
		adminCmd(t, store, "", usersList, tc.args...).refused(t, tc.code, tc.msg)
	}
	sesameCmd(t, "", "users", "list", "--store", store, "--uai", uai).refused(t, exitUsage, "l'option --year est obligatoire.")
	sesameCmd(t, "", "users", "list", "--store", store, "--uai", uai, "--year", "2030-2031").
		refused(t, exitFailure, "La base 2030-2031 de l'établissement 0751234A est introuvable. [not_found]")
	sesameCmd(t, "", "users", "list", "--store", store, "--uai", "07512", "--year", year).refused(t, exitUsage, "Le code établissement (UAI) « 07512 » est incorrect")
	sesameCmd(t, "", "users", "frobnicate").refused(t, exitUsage,
		"sous-commande inconnue : « frobnicate ». Possibles : « sesame users add », « sesame users list », « sesame users set », « sesame users disable », « sesame users enable », « sesame users password », « sesame users link-ent ».")
}

var usersSet = []string{"users", "set"}

func TestUsersSet(t *testing.T) {
	store := adminSchool(t)
	out := adminCmd(t, store, "", usersSet, "--login", "CPE", "--name", "Mme Morel (CPE)").ok(t)
	if out != "Compte « cpe » modifié :\n  Mme Morel (CPE) (personnel) : groupe aucun, profil Personnels, actif : oui.\n" {
		t.Errorf("stdout %q", out)
	}
	if u := userOf(t, store, "cpe"); u.DisplayName != "Mme Morel (CPE)" || u.Version != 2 {
		t.Fatalf("cpe %+v", u)
	}
	if e := lastEntry(t, store, sesame.EventUserUpdated); e.Actor != sesame.OperatorLogin || e.Subject != "cpe" {
		t.Errorf("journal %+v: want the operator's change of cpe", e)
	}
	// The same again changes nothing.
	if out := adminCmd(t, store, "", usersSet, "--login", "cpe", "--name", "Mme Morel (CPE)").ok(t); !strings.HasPrefix(out, "Compte « cpe » inchangé :") {
		t.Errorf("stdout %q", out)
	}
	if u := userOf(t, store, "cpe"); u.Version != 2 {
		t.Errorf("an unchanged account was written: version %d", u.Version)
	}

	// Into an admin group, and out of it: its admin sessions end.
	adminCmd(t, store, "", usersSet, "--login", "cpe", "--admin-group", "consultation").want(t, exitOK,
		[]string{"groupe Consultation, profil Personnels", "Ses connexions en mode administratif sont fermées"}, nil)
	if u := userOf(t, store, "cpe"); u.AdminGroup != sesame.ConsultationID {
		t.Fatalf("cpe's group %q", u.AdminGroup)
	}
	var token string
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		res, err := svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: "secretariat", Password: pw, Mode: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		token = res.Token
	})
	adminCmd(t, store, "", usersSet, "--login", "secretariat", "--no-admin-group", "--profile", "Personnels").
		want(t, exitOK, []string{"Compte « secretariat » modifié :", "groupe aucun, profil Personnels"}, nil)
	withService(t, store, func(svc *sesame.Service, st sesame.Backend) {
		_, err := svc.Resolve(context.Background(), token, false)
		var ue *sesame.UnauthenticatedError
		if !errors.As(err, &ue) || ue.Reason != sesame.ReasonDisconnected {
			t.Fatalf("secretariat's admin session after leaving the group: %v", err)
		}
		if leases, _ := st.ListLeases(context.Background(), base, time.Now()); len(leases) != 0 {
			t.Fatalf("seats still held: %+v", leases)
		}
	})
	if u := userOf(t, store, "secretariat"); u.AdminGroup != "" {
		t.Fatalf("secretariat still in %q", u.AdminGroup)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--login", "inconnu", "--name", "X"}, exitFailure, "L'utilisateur « inconnu » est introuvable. [not_found]"},
		{[]string{"--login", "cpe"}, exitUsage, "rien à changer : donnez --name, --admin-group, --no-admin-group ou --profile."},
		{[]string{"--login", "cpe", "--admin-group", "Modification", "--no-admin-group"}, exitUsage, "--admin-group et --no-admin-group s'excluent : choisissez."},
		{[]string{"--login", "cpe", "--name", " "}, exitUsage, "l'option --name attend une valeur."},
		{[]string{"--login", "cpe", "--admin-group", "Direction"}, exitFailure,
			"Le groupe d'utilisateurs « Direction » n'existe pas. Choix possibles : Administration, Consultation, Modification. [not_found]"},
		{[]string{"--login", "cpe", "--admin-group", "Administration"}, exitFailure, "Le groupe Administration est celui du superviseur : choisissez un autre groupe. [protected]"},
		{[]string{"--login", "prof.martin", "--profile", "Stagiaires"}, exitFailure,
			"Le profil d'autorisation « Stagiaires » n'existe pas. Choix possibles : Professeurs. [not_found]"},
		{[]string{"--login", "prof.martin", "--admin-group", "Modification"}, exitUsage, "Seuls les personnels peuvent appartenir à un groupe d'utilisateurs administratifs."},
		{[]string{"--login", "eleve.durand", "--profile", "Personnels"}, exitUsage, "Seuls les personnels et les professeurs ont un profil d'autorisation."},
		{[]string{"--login", "spr", "--no-admin-group"}, exitFailure, "Le superviseur (SPR) reste dans le groupe Administration. [protected]"},
		{[]string{"--login", "cpe", "--kind", "teacher"}, exitUsage, "option inconnue : --kind."},
	} {
		adminCmd(t, store, "", usersSet, tc.args...).refused(t, tc.code, tc.msg)
	}
	sesameCmd(t, "", "users", "set", "--store", store, "--uai", uai, "--year", year, "--name", "X").refused(t, exitUsage, "l'option --login est obligatoire.")
}

func TestUsersDisableEnable(t *testing.T) {
	store := adminSchool(t)
	ctx := context.Background()
	var token string
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		res, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.martin", Password: pw, Mode: "teacher"})
		if err != nil {
			t.Fatal(err)
		}
		token = res.Token
	})
	out := adminCmd(t, store, "", []string{"users", "disable"}, "--login", "prof.martin").ok(t)
	if out != "Compte « prof.martin » désactivé : ses connexions sont fermées et ses places libérées.\n" {
		t.Fatalf("stdout %q", out)
	}
	if userOf(t, store, "prof.martin").Enabled {
		t.Fatal("still enabled")
	}
	withService(t, store, func(svc *sesame.Service, st sesame.Backend) {
		_, err := svc.Resolve(ctx, token, false)
		var ue *sesame.UnauthenticatedError
		if !errors.As(err, &ue) || ue.Reason != sesame.ReasonDisconnected {
			t.Fatalf("the disabled teacher's session: %v", err)
		}
		if leases, _ := st.ListLeases(ctx, base, time.Now()); len(leases) != 0 {
			t.Fatalf("the teacher's seat is still held: %+v", leases)
		}
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.martin", Password: pw, Mode: "teacher"}); sesame.ErrorCode(err) != sesame.CodeAccountDisabled {
			t.Fatalf("sign-in of a disabled account: %v", err)
		}
	})
	if e := lastEntry(t, store, sesame.EventUserDisabled); e.Actor != sesame.OperatorLogin || e.Subject != "prof.martin" {
		t.Errorf("journal %+v", e)
	}
	if out := adminCmd(t, store, "", []string{"users", "disable"}, "--login", "prof.martin").ok(t); out != "Le compte « prof.martin » est déjà désactivé : rien à faire.\n" {
		t.Errorf("second disable: %q", out)
	}
	if out := adminCmd(t, store, "", []string{"users", "enable"}, "--login", "Prof.Martin").ok(t); out != "Compte « prof.martin » réactivé : il peut de nouveau se connecter.\n" {
		t.Errorf("enable: %q", out)
	}
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.martin", Password: pw, Mode: "teacher"}); err != nil {
			t.Fatalf("sign-in after enable: %v", err)
		}
	})
	if out := adminCmd(t, store, "", []string{"users", "enable"}, "--login", "prof.martin").ok(t); !strings.Contains(out, "est déjà actif") {
		t.Errorf("second enable: %q", out)
	}
	adminCmd(t, store, "", []string{"users", "disable"}, "--login", "inconnu").refused(t, exitFailure, "L'utilisateur « inconnu » est introuvable. [not_found]")
	adminCmd(t, store, "", []string{"users", "disable"}, "--login", "spr").refused(t, exitFailure, "Le compte du superviseur (SPR) ne peut pas être désactivé. [protected]")
	adminCmd(t, store, "", []string{"users", "disable"}).refused(t, exitUsage, "l'option --login est obligatoire.")
	adminCmd(t, store, "", []string{"users", "enable"}, "--login", "cpe", "--now").refused(t, exitUsage, "option inconnue : --now.")
}

var generatedUserRE = regexp.MustCompile(`^Nouveau mot de passe du compte « prof\.martin » : ([A-Za-z0-9]{16})\n\(notez-le : il ne sera plus affiché ; ses connexions ouvertes sont fermées\)\n$`)

func TestUsersPassword(t *testing.T) {
	store := adminSchool(t)
	ctx := context.Background()
	signs := func(password string) bool {
		ok := false
		withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
			_, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.martin", Password: password, Mode: "teacher"})
			ok = err == nil
		})
		return ok
	}
	var token string
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		res, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.martin", Password: pw, Mode: "teacher"})
		if err != nil {
			t.Fatal(err)
		}
		token = res.Token
	})
	out := adminCmd(t, store, "", []string{"users", "password"}, "--login", "prof.martin").ok(t)
	m := generatedUserRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout %q", out)
	}
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		var ue *sesame.UnauthenticatedError
		if _, err := svc.Resolve(ctx, token, false); !errors.As(err, &ue) {
			t.Fatalf("the session opened with the old password: %v", err)
		}
	})
	if !signs(m[1]) || signs(pw) {
		t.Fatal("the printed password is not the only one that signs in")
	}
	if e := lastEntry(t, store, sesame.EventPasswordReset); e.Actor != sesame.OperatorLogin || e.Subject != "prof.martin" {
		t.Errorf("journal %+v", e)
	}
	out = adminCmd(t, store, "nouveau-mot-de-passe\n", []string{"users", "password"}, "--login", "prof.martin", "--password-stdin").ok(t)
	if out != "Mot de passe du compte « prof.martin » changé ; ses connexions ouvertes sont fermées.\n" || !signs("nouveau-mot-de-passe") || signs(m[1]) {
		t.Fatalf("--password-stdin: %q", out)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"", []string{"--login", "prof.martin", "--password-stdin"}, exitUsage, "Le mot de passe est attendu sur l'entrée standard (une ligne)."},
		{"court\n", []string{"--login", "prof.martin", "--password-stdin"}, exitUsage, "Le mot de passe doit compter au moins 8 caractères. [invalid_value]"},
		{pw, []string{"--login", "inconnu", "--password-stdin"}, exitFailure, "L'utilisateur « inconnu » est introuvable. [not_found]"},
		{"", []string{"--login", "inconnu"}, exitFailure, "L'utilisateur « inconnu » est introuvable. [not_found]"},
		{"", []string{"--login", "prof.martin", "--password", pw}, exitUsage, "option inconnue : --password."},
	} {
		adminCmd(t, store, tc.stdin, []string{"users", "password"}, tc.args...).refused(t, tc.code, tc.msg)
	}
	if !signs("nouveau-mot-de-passe") {
		t.Fatal("a refused reset changed the password")
	}
}

func TestGroupsList(t *testing.T) {
	store := adminSchool(t)
	out := adminCmd(t, store, "", []string{"groups", "list"}).ok(t)
	rows := rowsOf(out)
	if strings.Join(rows[0], "|") != "IDENTIFIANT|NOM|NATURE|MODE|DÉCONNEXION AUTOMATIQUE|AUTORISATIONS" {
		t.Fatalf("header %q", rows[0])
	}
	if got := strings.Join(firstColumn(out), " "); got != "administration consultation modification personnels professeurs parent student company academy" {
		t.Fatalf("ids %q:\n%s", got, out)
	}
	teacher := sesame.Ceiling(sesame.ModeTeacher, sesame.Modify).Len()
	for _, want := range [][]string{
		{"modification", "Modification", "groupe (modif)", "mode administratif", "après 30 minutes"},
		{"professeurs", "Professeurs", "profil professeurs", "mode enseignant", "après 30 minutes", fmt.Sprintf("%d sur %d", teacher, teacher)},
		{"parent", "Espace Parents", "espace", "Espace Parents", "après 30 minutes", "—"},
	} {
		if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r[:len(want)], want) }) {
			t.Errorf("no row %q in:\n%s", want, out)
		}
	}
	adminCmd(t, store, "", []string{"groups", "set"}, "--name", "Professeurs", "--auto-disconnect", "off", "--revoke", "cahier-textes.saisir-cahier-textes").ok(t)
	out = adminCmd(t, store, "", []string{"groups", "list"}).ok(t)
	want := []string{"professeurs", "Professeurs", "profil professeurs", "mode enseignant", "non", fmt.Sprintf("%d sur %d", teacher-1, teacher)}
	if !slices.ContainsFunc(rowsOf(out), func(r []string) bool { return slices.Equal(r, want) }) {
		t.Errorf("after the change, no row %q:\n%s", want, out)
	}
	adminCmd(t, store, "", []string{"groups", "list"}, "--name", "x").refused(t, exitUsage, "option inconnue : --name.")
	sesameCmd(t, "", "groups", "list", "--store", store, "--uai", uai, "--year", "2030-2031").refused(t, exitFailure, "est introuvable. [not_found]")
}

var groupsSet = []string{"groups", "set"}

func TestGroupsSet(t *testing.T) {
	store := adminSchool(t)
	out := adminCmd(t, store, "", groupsSet, "--name", "modification", "--auto-disconnect", "45m").ok(t)
	if out != "Groupe d'utilisateurs « Modification » modifié ; les sessions le voient dès leur prochaine requête.\n  déconnexion automatique : après 45 minutes ; actions autorisées : 97 sur 97.\n" {
		t.Errorf("stdout %q", out)
	}
	if p := profileOf(t, store, sesame.ModificationID); p.AutoDisconnect != (sesame.AutoDisconnect{Enabled: true, After: 45 * time.Minute}) {
		t.Fatalf("modification %+v", p.AutoDisconnect)
	}
	if e := lastEntry(t, store, sesame.EventProfileUpdated); e.Actor != sesame.OperatorLogin || e.Subject != sesame.ModificationID {
		t.Errorf("journal %+v", e)
	}
	// Minutes alone, a Go duration, off: on a profile and on a space.
	adminCmd(t, store, "", groupsSet, "--name", "PROFESSEURS", "--auto-disconnect", "20").ok(t)
	if p := profileOf(t, store, sesame.TeachersID); p.AutoDisconnect != (sesame.AutoDisconnect{Enabled: true, After: 20 * time.Minute}) {
		t.Fatalf("professeurs %+v", p.AutoDisconnect)
	}
	out = adminCmd(t, store, "", groupsSet, "--name", "Espace Parents", "--auto-disconnect", "off").ok(t)
	if out != "Réglage de l'Espace Parents modifié ; les sessions le voient dès leur prochaine requête.\n  déconnexion automatique : non.\n" {
		t.Errorf("stdout %q", out)
	}
	if p := profileOf(t, store, string(sesame.SpaceParent)); p.AutoDisconnect != (sesame.AutoDisconnect{After: 30 * time.Minute}) {
		t.Fatalf("parent space %+v: want it off, its duration kept", p.AutoDisconnect)
	}
	adminCmd(t, store, "", groupsSet, "--name", "student", "--auto-disconnect", "1h30m").ok(t)
	if p := profileOf(t, store, string(sesame.SpaceStudent)); p.AutoDisconnect.After != 90*time.Minute {
		t.Fatalf("student space %+v", p.AutoDisconnect)
	}

	// Grants: revoked, granted back; the ceiling holds.
	staff := profileOf(t, store, sesame.StaffID).Grants
	slug, other := staff[0], staff[len(staff)-1]
	adminCmd(t, store, "", groupsSet, "--name", "Personnels", "--revoke", slug+", "+other).ok(t)
	p := profileOf(t, store, sesame.StaffID)
	if slices.Contains(p.Grants, slug) || slices.Contains(p.Grants, other) || len(p.Grants) != len(staff)-2 {
		t.Fatalf("personnels still grants them: %v", p.Grants)
	}
	// An action outside the mode's ceiling cannot be granted.
	adminCmd(t, store, "", groupsSet, "--name", "Personnels", "--grant", "ressources.creer-modifier-ressources").refused(t, exitUsage,
		"L'action « Créer et modifier les ressources » n'est pas permise en mode vie scolaire : elle ne peut pas être accordée. [invalid_value]")
	n := len(p.Grants)
	adminCmd(t, store, "", groupsSet, "--name", "Personnels", "--grant", slug).want(t, exitOK, []string{fmt.Sprintf("actions autorisées : %d sur", n+1)}, nil)
	if p := profileOf(t, store, sesame.StaffID); !slices.Contains(p.Grants, slug) || len(p.Grants) != n+1 {
		t.Fatalf("personnels %v", p.Grants)
	}
	if out := adminCmd(t, store, "", groupsSet, "--name", "Personnels", "--grant", slug).ok(t); !strings.HasPrefix(out, "Profil d'autorisation des personnels « Personnels » inchangé.") {
		t.Errorf("granting a granted action: %q", out)
	}

	// A name two of them share is refused; the ID is not ambiguous.
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		if _, err := svc.CreateProfile(sesame.AsOperator(context.Background(), base), "", sesame.NewProfile{Name: "Professeurs", Mode: sesame.ModeVieScolaire}); err != nil {
			t.Fatal(err)
		}
	})

	before := profileOf(t, store, sesame.ModificationID)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--name", "Modification", "--auto-disconnect", "demain"}, exitUsage,
			"valeur incorrecte pour --auto-disconnect : écrivez une durée comme 30m ou 1h30m, un nombre de minutes (30), ou off pour la désactiver."},
		{[]string{"--name", "Modification", "--auto-disconnect", "-5m"}, exitUsage, "valeur incorrecte pour --auto-disconnect"},
		{[]string{"--name", "Modification", "--auto-disconnect", "5s"}, exitUsage, "La durée de déconnexion automatique doit être comprise entre 1 minute et 12 heures. [invalid_value]"},
		{[]string{"--name", "Modification", "--auto-disconnect", "13h"}, exitUsage, "La durée de déconnexion automatique doit être comprise entre 1 minute et 12 heures. [invalid_value]"},
		{[]string{"--name", "Direction", "--auto-disconnect", "20m"}, exitFailure, "Le groupe, profil ou espace « Direction » n'existe pas. Choix possibles : Administration,"},
		{[]string{"--name", "Professeurs", "--auto-disconnect", "20m"}, exitUsage,
			"« Professeurs » désigne plusieurs éléments : "},
		{[]string{"--name", "Modification"}, exitUsage, "rien à changer : donnez --auto-disconnect, --grant ou --revoke."},
		{[]string{"--auto-disconnect", "20m"}, exitUsage, "l'option --name est obligatoire."},
		{[]string{"--name", "Modification", "--grant", "x.y"}, exitFailure, "L'action « x.y » n'existe pas. [unknown_action]"},
		{[]string{"--name", "Modification", "--revoke", "x.y"}, exitFailure, "L'action « x.y » n'existe pas. [unknown_action]"},
		{[]string{"--name", "Modification", "--grant", slug, "--revoke", slug}, exitUsage, "l'action « " + slug + " » est à la fois dans --grant et dans --revoke."},
		{[]string{"--name", "Administration", "--revoke", slug}, exitFailure, "Le groupe Administration a toujours tous les droits : ses autorisations ne se modifient pas. [protected]"},
		{[]string{"--name", "Espace Parents", "--grant", slug}, exitUsage, "[invalid_value]"},
		{[]string{"--name", "Professeurs", "--rename", "Profs"}, exitUsage, "option inconnue : --rename."},
	} {
		adminCmd(t, store, "", groupsSet, tc.args...).refused(t, tc.code, tc.msg)
	}
	if after := profileOf(t, store, sesame.ModificationID); after.Version != before.Version {
		t.Fatalf("a refused change was written: %+v", after)
	}
	adminCmd(t, store, "", groupsSet, "--name", "professeurs", "--auto-disconnect", "25m").ok(t)
	if p := profileOf(t, store, sesame.TeachersID); p.AutoDisconnect.After != 25*time.Minute {
		t.Fatalf("professeurs by ID: %+v", p.AutoDisconnect)
	}
}

func TestJournalCommand(t *testing.T) {
	store := adminSchool(t)
	adminCmd(t, store, "", []string{"users", "disable"}, "--login", "prof.dubois").ok(t)
	adminCmd(t, store, "", usersSet, "--login", "cpe", "--name", "Mme Morel").ok(t)
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		if _, err := svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: "prof.martin", Password: pw, Mode: "teacher"}); err != nil {
			t.Fatal(err)
		}
		_, _ = svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: "prof.martin", Password: "mauvais-mot-de-passe", Mode: "teacher"})
	})
	all := journalOf(t, store)

	out := adminCmd(t, store, "", []string{"journal"}).ok(t)
	rows := rowsOf(out)
	if strings.Join(rows[0], "|") != "DATE (UTC)|ÉVÉNEMENT|AUTEUR|CONCERNÉ|DÉTAIL" || len(rows) != len(all)+2 ||
		!strings.HasSuffix(out, fmt.Sprintf("\n%d entrées, de la plus récente à la plus ancienne.\n", len(all))) {
		t.Fatalf("%d entries in the store:\n%s", len(all), out)
	}
	for _, want := range []string{"Utilisateur créé", "sesame (ligne de commande)", "Utilisateur désactivé", "prof.dubois", "Connexion refusée", "Connexion en mode enseignant."} {
		if !strings.Contains(out, want) {
			t.Errorf("the journal lacks %q:\n%s", want, out)
		}
	}

	out = adminCmd(t, store, "", []string{"journal"}, "--event", "login,login_refused", "--login", "PROF.MARTIN").ok(t)
	// The wrong password counts in the hour's summary of refusals, which
	// names no login: only the sign-in is prof.martin's.
	if rows := rowsOf(out); len(rows) != 3 || rows[1][1] != "Connexion" {
		t.Errorf("--event login,login_refused --login PROF.MARTIN:\n%s", out)
	}
	today := sesame.Day(time.Now())
	if out := adminCmd(t, store, "", []string{"journal"}, "--from", today, "--to", today, "--event", "user_disabled").ok(t); len(rowsOf(out)) != 3 {
		t.Errorf("today's deactivations:\n%s", out)
	}
	tomorrow := sesame.Day(time.Now().AddDate(0, 0, 1))
	if out := adminCmd(t, store, "", []string{"journal"}, "--from", tomorrow).ok(t); out != "Aucune entrée du journal ne correspond.\n" {
		t.Errorf("--from tomorrow: %q", out)
	}

	// The CSV export: a byte-order mark, semicolons, formulas escaped.
	out = adminCmd(t, store, "", []string{"journal"}, "--csv").ok(t)
	if !strings.HasPrefix(out, "\uFEFF") {
		t.Fatalf("no byte-order mark: %q", out[:20])
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF")))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil || len(recs) != len(all)+1 || !slices.Equal(recs[0], sesame.JournalCSVHeader) {
		t.Fatalf("CSV: %v, %d records for %d entries", err, len(recs), len(all))
	}
	if !slices.ContainsFunc(recs, func(r []string) bool { return r[2] == "user_updated" && r[3] == sesame.OperatorLogin && r[4] == "cpe" }) {
		t.Errorf("the CSV lacks the operator's change of cpe:\n%s", out)
	}
	out = adminCmd(t, store, "", []string{"journal"}, "--csv", "--event", "user_disabled").ok(t)
	if n := strings.Count(out, "\r\n"); n != 2 {
		t.Errorf("--csv --event user_disabled: %d lines:\n%s", n, out)
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--from", "hier"}, "La date « hier » n'est pas au format AAAA-MM-JJ. [invalid_value]"},
		{[]string{"--to", "2026-13-01"}, "La date « 2026-13-01 » n'est pas au format AAAA-MM-JJ."},
		{[]string{"--from", "2026-11-02", "--to", "2026-11-01"}, "La date de début doit précéder la date de fin. [invalid_value]"},
		{[]string{"--event", "connexion"}, "Le type d'événement « connexion » n'existe pas. Types possibles : login, login_refused,"},
		{[]string{"--csv=oui"}, "valeur incorrecte pour --csv : écrivez true ou false."},
		{[]string{"--format", "csv"}, "option inconnue : --format."},
	} {
		adminCmd(t, store, "", []string{"journal"}, tc.args...).refused(t, exitUsage, tc.msg)
	}
	sesameCmd(t, "", "journal", "--store", store, "--uai", uai, "--year", "2030-2031").refused(t, exitFailure, "La base 2030-2031 de l'établissement 0751234A est introuvable.")
}

func TestUsageCommand(t *testing.T) {
	store := adminSchool(t)
	sesameCmd(t, "", "license", "set", "--store", store, "--uai", uai, "--year", year, "--teacher-seats", "1").ok(t)
	withService(t, store, func(svc *sesame.Service, _ sesame.Backend) {
		ctx := context.Background()
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.martin", Password: pw, Mode: "teacher"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "prof.dubois", Password: pw, Mode: "teacher"}); !errors.Is(err, sesame.ErrSeatsExhausted) {
			t.Fatalf("second teacher with one seat: %v", err)
		}
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "eleve.durand", Password: pw, Mode: "student"}); err != nil {
			t.Fatal(err)
		}
	})
	today := sesame.Day(time.Now())
	out := adminCmd(t, store, "", []string{"usage"}).ok(t)
	from := sesame.Day(time.Now().AddDate(0, 0, -29))
	if !strings.HasPrefix(out, "Utilisation des places de la base 2026-2027 de l'établissement 0751234A, du "+from+" au "+today+" :\n") {
		t.Fatalf("stdout:\n%s", out)
	}
	rows := rowsOf(out)
	if strings.Join(rows[1], "|") != "JOUR|CONNEXIONS|PIC|LIMITE|REFUSÉES (COMPLET)|SANS PLACE" || len(rows) != 4 ||
		strings.Join(rows[2], "|") != today+"|mode enseignant|1|1|1|0" || strings.Join(rows[3], "|") != today+"|"+sesame.PoolStudent.Label()+"|0|illimité|0|1" {
		t.Fatalf("usage table:\n%s", out)
	}
	out = adminCmd(t, store, "", []string{"usage"}, "--from", "2026-01-01", "--to", "2026-01-31").ok(t)
	if !strings.HasSuffix(out, "du 2026-01-01 au 2026-01-31 :\nAucune connexion notée sur cette période.\n") {
		t.Errorf("January: %q", out)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--from", "hier"}, "La date « hier » n'est pas au format AAAA-MM-JJ. [invalid_value]"},
		{[]string{"--from", "2026-02-01", "--to", "2026-01-01"}, "La date de début doit précéder la date de fin."},
		{[]string{"--from", "2024-01-01", "--to", "2026-01-01"}, "La période demandée dépasse 400 jours."},
		{[]string{"--pool", "teacher"}, "option inconnue : --pool."},
	} {
		adminCmd(t, store, "", []string{"usage"}, tc.args...).refused(t, exitUsage, tc.msg)
	}
}

// TestJournalRetentionFromEnvironment: the commands write journal entries
// kept as long as SESAME_JOURNAL_RETENTION_DAYS says (six months when
// unset), and a bad value is refused in French.
func TestJournalRetentionFromEnvironment(t *testing.T) {
	store := adminSchool(t)
	kept := func() time.Duration {
		e := lastEntry(t, store, sesame.EventUserDisabled)
		return e.ExpiresAt.Sub(e.At)
	}
	adminCmd(t, store, "", []string{"users", "disable"}, "--login", "cpe").ok(t)
	if got := kept(); got != sesame.DefaultJournalRetention {
		t.Errorf("kept %v by default, want %v", got, sesame.DefaultJournalRetention)
	}
	t.Setenv(app.EnvJournalRetention, "30")
	adminCmd(t, store, "", []string{"users", "disable"}, "--login", "prof.martin").ok(t)
	if got := kept(); got != 30*24*time.Hour {
		t.Errorf("kept %v with %s=30", got, app.EnvJournalRetention)
	}
	t.Setenv(app.EnvJournalRetention, "0")
	adminCmd(t, store, "", []string{"users", "disable"}, "--login", "prof.dubois").refused(t, exitUsage,
		"SESAME_JOURNAL_RETENTION_DAYS : La durée de conservation du journal « 0 » est incorrecte : donnez un nombre entier de jours, de 1 à 1098 (183 par défaut, six mois). [invalid_value]")
	if userOf(t, store, "prof.dubois").Enabled != true {
		t.Error("a refused command changed the account")
	}
}

// TestAdminDynamoDB runs the administration commands on DynamoDB Local.
func TestAdminDynamoDB(t *testing.T) {
	store := dynamoStore(t)
	sesameCmd(t, pw+"\n", "school", "create", "--store", store, "--create-table", "--uai", uai, "--name", "Collège Jean Moulin", "--year", year, "--spr-password-stdin").ok(t)
	addUser(t, store, "prof.martin", "teacher")
	adminCmd(t, store, "", usersSet, "--login", "prof.martin", "--name", "M. Martin").ok(t)
	adminCmd(t, store, "", []string{"users", "disable"}, "--login", "prof.martin").ok(t)
	adminCmd(t, store, "", groupsSet, "--name", "Professeurs", "--auto-disconnect", "15m").ok(t)
	out := adminCmd(t, store, "", usersList, "--kind", "teacher").ok(t)
	if rows := rowsOf(out); len(rows) != 3 || strings.Join(rows[1], "|") != "prof.martin|M. Martin|professeur|—|Professeurs|non" {
		t.Fatalf("users list:\n%s", out)
	}
	if out := adminCmd(t, store, "", []string{"groups", "list"}).ok(t); !strings.Contains(out, "après 15 minutes") {
		t.Fatalf("groups list:\n%s", out)
	}
	out = adminCmd(t, store, "", []string{"journal"}, "--event", "user_created,user_updated,user_disabled,profile_updated").ok(t)
	if rows := rowsOf(out); len(rows) != 6 {
		t.Fatalf("journal:\n%s", out)
	}
	adminCmd(t, store, "", []string{"usage"}).ok(t)
	// On DynamoDB, the table's TTL collects the journal at ExpiresAt itself:
	// the retention is not shifted.
	withService(t, store, func(_ *sesame.Service, st sesame.Backend) {
		page, err := st.ListJournal(context.Background(), base, sesame.JournalQuery{Events: []sesame.Event{sesame.EventUserDisabled}})
		if err != nil || len(page.Entries) != 1 {
			t.Fatalf("%+v %v", page, err)
		}
		if e := page.Entries[0]; e.ExpiresAt.Sub(e.At) != sesame.DefaultJournalRetention {
			t.Errorf("kept %v on DynamoDB", e.ExpiresAt.Sub(e.At))
		}
	})
}

// dynamoStore names a new table on DynamoDB Local, configured as an
// operator would: through the AWS environment variables.
func dynamoStore(t *testing.T) string {
	t.Helper()
	endpoint := dynamolocal.Endpoint(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_PROFILE", "")
	table := dynamolocal.TableName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = dynamolocal.Client(endpoint).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	return "dynamodb:" + table
}
