package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
)

var usersLinkENT = []string{"users", "link-ent"}

// linkENTOn sets ENT identifiers from a spreadsheet's CSV (semicolons, a
// byte-order mark), then unlinks one from standard input, on store.
func linkENTOn(t *testing.T, store string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "liens.csv")
	csv := "\uFEFFIdentifiant;Identifiant ENT\r\nprof.martin;ENT-0042\r\n;\r\nPROF.DUBOIS;ENT-0042\r\ninconnu;ENT-9\r\neleve.durand;\"ENT;1\"\r\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out := adminCmd(t, store, "", usersLinkENT, "--csv", file).ok(t)
	for _, want := range []string{"comptes modifiés : 2, inchangés : 0 ; lignes refusées : 2.",
		"ligne 4 (PROF.DUBOIS) : L'identifiant ENT « ENT-0042 » est donné à deux comptes dans le fichier. [already_exists]",
		"ligne 5 (inconnu) : L'utilisateur « inconnu » est introuvable. [not_found]"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if u := userOf(t, store, "prof.martin"); u.ENTID != "ENT-0042" {
		t.Fatalf("prof.martin: ENTID %q", u.ENTID)
	}
	if u := userOf(t, store, "eleve.durand"); u.ENTID != "ENT;1" {
		t.Fatalf("eleve.durand: ENTID %q", u.ENTID)
	}
	if e := lastEntry(t, store, sesame.EventUserUpdated); e.Actor != sesame.OperatorLogin || !strings.Contains(e.Detail, "ENT « ENT;1 »") {
		t.Errorf("journal %+v", e)
	}
	out = adminCmd(t, store, "login,entId\nprof.martin,\neleve.durand,ENT;1\n", usersLinkENT, "--csv", "-").ok(t)
	if !strings.Contains(out, "comptes modifiés : 1, inchangés : 1 ; lignes refusées : 0.") {
		t.Errorf("stdout %q", out)
	}
	if u := userOf(t, store, "prof.martin"); u.ENTID != "" {
		t.Fatalf("prof.martin still linked: %q", u.ENTID)
	}
}

func TestUsersLinkENT(t *testing.T) {
	store := adminSchool(t)
	linkENTOn(t, store)
	for _, tc := range []struct {
		stdin, msg string
	}{
		{"", "Le fichier est vide ou n'est pas un CSV"},
		{"nom,prenom\nx,y\n", "La première ligne doit nommer les colonnes login et entId (trouvé : nom, prenom). [invalid_value]"},
		{"login,entId\n\"x,y\n", "n'est pas une ligne CSV valable"},
	} {
		adminCmd(t, store, tc.stdin, usersLinkENT, "--csv", "-").refused(t, exitUsage, tc.msg)
	}
	adminCmd(t, store, "", usersLinkENT).refused(t, exitUsage, "l'option --csv est obligatoire.")
	adminCmd(t, store, "", usersLinkENT, "--csv", filepath.Join(t.TempDir(), "absent.csv")).refused(t, exitUsage, "ne peut pas être lu")
}

func TestUsersLinkENTDynamoDB(t *testing.T) {
	store := dynamoStore(t)
	sesameCmd(t, pw+"\n", "school", "create", "--store", store, "--create-table", "--uai", uai, "--name", "Collège Jean Moulin", "--year", year, "--spr-password-stdin").ok(t)
	addUser(t, store, "prof.martin", "teacher")
	addUser(t, store, "prof.dubois", "teacher")
	addUser(t, store, "eleve.durand", "student")
	linkENTOn(t, store)
}
