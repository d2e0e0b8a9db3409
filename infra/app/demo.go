package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sesame-ecole/sesame"
)

// The demo school of `sesame serve --demo` and `make run-hosted --demo`.
const (
	// DemoUAI is the demo school's code.
	DemoUAI  = "0751234A"
	demoName = "Collège de démonstration Jean Moulin"
	// DemoPassword is every demo account's password.
	DemoPassword = "demo-sesame" // every demo account's; the demo serves localhost only
)

type demoAccount struct{ login, kind, name, group, profile string }

var demoAccounts = []demoAccount{
	{"secretariat1", "staff", "Mme Lefèvre (secrétariat)", "Modification", ""},
	{"secretariat2", "staff", "M. Garnier (secrétariat)", "Modification", ""},
	{"intendance", "staff", "Mme Roux (intendance)", "Modification", ""},
	{"principal-adjoint", "staff", "M. Fontaine (principal adjoint)", "Modification", ""},
	{"documentaliste", "staff", "Mme Chevalier (documentaliste)", "Modification", ""},
	{"gestionnaire", "staff", "M. Perrin (gestionnaire, consultation)", "Consultation", ""},
	{"cpe", "staff", "Mme Morel (CPE)", "", "Personnels"},
	{"surveillant", "staff", "M. Girard (assistant d'éducation)", "", "Personnels"},
	{"prof.martin", "teacher", "M. Martin (mathématiques)", "", "Professeurs"},
	{"prof.bernard", "teacher", "Mme Bernard (français)", "", "Professeurs"},
	{"prof.dubois", "teacher", "M. Dubois (histoire-géographie)", "", "Professeurs"},
	{"parent.durand", "parent", "Mme Durand (parent)", "", ""},
	{"parent.petit", "parent", "M. Petit (parent)", "", ""},
	{"eleve.durand", "student", "Léa Durand (élève de 4e B)", "", ""},
	{"eleve.petit", "student", "Hugo Petit (élève de 3e A)", "", ""},
	{"tuteur.stage", "mentor", "M. Lambert (maître de stage)", "", ""},
	{"inspection", "inspector", "Mme Blanc (inspectrice)", "", ""},
}

// CreateDemo creates the demo school, its current year and its accounts
// when it is not there yet, then prints its accounts to w (in French: the
// person who started the demo reads them).
func CreateDemo(ctx context.Context, svc *sesame.Service, w io.Writer) error {
	year := sesame.SchoolYearOf(time.Now())
	c, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: DemoUAI, Name: demoName, Year: string(year),
		Consultation: true, SPRPassword: DemoPassword})
	switch {
	case errors.Is(err, sesame.ErrExists):
		fmt.Fprintf(w, "Établissement de démonstration déjà présent (%s, %s).\n", DemoUAI, year)
	case err != nil:
		return err
	default:
		// A demo started in a new school year gets a new base, where
		// sign-in must lead.
		if c.School.CurrentYear != year {
			if err := svc.UseYear(ctx, DemoUAI, string(year)); err != nil {
				return err
			}
		}
		for _, a := range demoAccounts {
			_, err := svc.AddUser(ctx, sesame.NewUser{UAI: DemoUAI, Year: string(year), Login: a.login, Kind: a.kind,
				DisplayName: a.name, AdminGroup: a.group, Profile: a.profile, Password: DemoPassword})
			if err != nil && !errors.Is(err, sesame.ErrExists) {
				return err
			}
		}
		fmt.Fprintf(w, "Établissement de démonstration créé : %s, %s, année %s.\n", demoName, DemoUAI, year)
	}
	fmt.Fprintf(w, "Comptes de démonstration (code établissement %s, mot de passe « %s » pour tous) :\n", DemoUAI, DemoPassword)
	fmt.Fprintf(w, "  %-18s %-10s %s\n", "spr", "staff", "superviseur (SPR), mode administratif sans prendre de place")
	for _, a := range demoAccounts {
		how := a.group
		if how == "" {
			how = a.profile
		}
		fmt.Fprintf(w, "  %-18s %-10s %s%s\n", a.login, a.kind, a.name, map[bool]string{true: " — " + how, false: ""}[how != ""])
	}
	fmt.Fprintln(w, "Le mode administratif offre 4 places en modification : le 5e compte du groupe Modification est refusé tant que 4 sont connectés.")
	return nil
}
