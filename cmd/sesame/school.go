package main

import (
	"context"
	"fmt"

	"github.com/sesame-ecole/sesame"
)

func cmdSchoolCreate(ctx context.Context, e env, args []string) error {
	f := newFlags("school create")
	uai := f.String("uai", "", "UAI")
	name := f.String("name", "", "nom")
	year := f.String("year", "", "année scolaire")
	admin := &seatsFlag{field: "adminSeats"}
	teacher := &seatsFlag{field: "teacherSeats", allowUnlimited: true}
	f.Var(admin, "admin-seats", "connexions en mode administratif")
	f.Var(teacher, "teacher-seats", "connexions en mode enseignant")
	consult := f.Bool("consultation", false, "licence de consultation")
	pwStdin := f.Bool("spr-password-stdin", false, "mot de passe du SPR sur l'entrée standard")
	sprLogin := f.String("spr-login", "spr", "identifiant du SPR")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "name", "year"); err != nil {
		return err
	}
	n := sesame.NewSchool{UAI: *uai, Name: *name, Year: *year, AdminSeats: admin.v, TeacherSeats: teacher.v,
		Consultation: *consult, SPRLogin: *sprLogin}
	if *pwStdin {
		pw, err := readSecret(e.stdin, "Le mot de passe du superviseur")
		if err != nil {
			return err
		}
		n.SPRPassword = pw
	}
	svc, done, err := f.open(ctx, e, sesame.DefaultTiming)
	if err != nil {
		return err
	}
	defer done()
	c, err := svc.CreateSchool(ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Base %s de l'établissement %s (%s) créée.\n", c.Base.Year, c.School.UAI, c.School.Name)
	if c.School.CurrentYear == c.Base.Year {
		fmt.Fprintf(e.stdout, "C'est l'année en cours : la connexion y mène.\n")
	} else {
		fmt.Fprintf(e.stdout, "L'année en cours reste %s (changez-la avec « sesame school use »).\n", c.School.CurrentYear)
	}
	printLicense(e, c.Base.License)
	fmt.Fprintf(e.stdout, "Superviseur (SPR) : identifiant %s\n", c.SPR.Login)
	if !*pwStdin {
		fmt.Fprintf(e.stdout, "Mot de passe du SPR : %s\n(notez-le : il ne sera plus affiché)\n", c.Password)
	}
	return nil
}

func printLicense(e env, l sesame.License) {
	teacher := l.TeacherSeats.String()
	if l.TeacherSeats == sesame.Unlimited {
		teacher = "illimité"
	}
	cons := "non"
	if l.Consultation {
		cons = "oui (consultation illimitée)"
	}
	admin := "connexions"
	if l.AdminSeats == 1 {
		admin = "connexion"
	}
	fmt.Fprintf(e.stdout, "Licence : %d %s en mode administratif (modification), %s en mode enseignant, licence de consultation : %s.\n",
		int(l.AdminSeats), admin, teacher, cons)
}

func cmdSchoolUse(ctx context.Context, e env, args []string) error {
	f := newFlags("school use")
	uai := f.String("uai", "", "UAI")
	year := f.String("year", "", "année scolaire")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year"); err != nil {
		return err
	}
	svc, done, err := f.open(ctx, e, sesame.DefaultTiming)
	if err != nil {
		return err
	}
	defer done()
	if err := svc.UseYear(ctx, *uai, *year); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "L'année en cours de l'établissement %s est maintenant %s : la connexion y mène.\n", *uai, *year)
	return nil
}

func cmdLicenseSet(ctx context.Context, e env, args []string) error {
	f := newFlags("license set")
	uai := f.String("uai", "", "UAI")
	year := f.String("year", "", "année scolaire")
	admin := &seatsFlag{field: "adminSeats"}
	teacher := &seatsFlag{field: "teacherSeats", allowUnlimited: true}
	f.Var(admin, "admin-seats", "connexions en mode administratif")
	f.Var(teacher, "teacher-seats", "connexions en mode enseignant")
	consult := f.Bool("consultation", false, "licence de consultation")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year"); err != nil {
		return err
	}
	var ch sesame.LicenseChange
	if f.set("admin-seats") {
		ch.AdminSeats = &admin.v
	}
	if f.set("teacher-seats") {
		ch.TeacherSeats = &teacher.v
	}
	if f.set("consultation") {
		ch.Consultation = consult
	}
	if ch == (sesame.LicenseChange{}) {
		return &usageError{"rien à changer : donnez --admin-seats, --teacher-seats ou --consultation."}
	}
	svc, done, err := f.open(ctx, e, sesame.DefaultTiming)
	if err != nil {
		return err
	}
	defer done()
	b, err := svc.SetLicense(ctx, *uai, *year, ch)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Licence de la base %s de l'établissement %s modifiée ; elle s'applique dès la prochaine connexion, sans évincer personne.\n", b.Year, b.UAI)
	printLicense(e, b.License)
	return nil
}

func cmdUsersAdd(ctx context.Context, e env, args []string) error {
	f := newFlags("users add")
	b := f.base()
	login := f.String("login", "", "identifiant")
	kind := f.String("kind", "", "type")
	name := f.String("name", "", "nom affiché")
	group := f.String("admin-group", "", "groupe d'utilisateurs administratifs")
	profile := f.String("profile", "", "profil d'autorisation")
	pwStdin := f.Bool("password-stdin", false, "mot de passe sur l'entrée standard")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "login", "kind", "name"); err != nil {
		return err
	}
	if !*pwStdin {
		return &usageError{"l'option --password-stdin est obligatoire : le mot de passe se donne sur l'entrée standard, jamais sur la ligne de commande."}
	}
	pw, err := readSecret(e.stdin, "Le mot de passe")
	if err != nil {
		return err
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	u, _, err := svc.CreateUser(ctx, "", sesame.NewUser{Login: *login, Kind: *kind, DisplayName: *name,
		AdminGroup: *group, Profile: *profile, Password: pw})
	if err != nil {
		return err
	}
	k, _ := sesame.ParseBaseKey(*b.uai, *b.year) // checked by operator
	fmt.Fprintf(e.stdout, "Compte « %s » (%s, %s) créé dans la base %s de l'établissement %s.\n", u.Login, u.DisplayName, u.Kind.Label(), k.Year, k.UAI)
	return nil
}
