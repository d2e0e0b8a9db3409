package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sesame-ecole/sesame"
)

// The administration of a base from the command line: users, groups,
// profiles and spaces, the journal and seat usage. The operator holds the
// store's credentials, so the commands act as the base's operator
// (sesame.AsOperator: the SPR's rights, no session) through the same use
// cases as the API; their journal entries name "sesame (ligne de
// commande)".

// baseFlags are the --uai and --year of a command on one base.
type baseFlags struct{ uai, year *string }

func (f *flags) base() baseFlags {
	return baseFlags{f.String("uai", "", "UAI"), f.String("year", "", "année scolaire")}
}

// operator opens the store and returns the service and ctx acting as the
// operator of the base named by b. The caller calls done.
func (f *flags) operator(ctx context.Context, e env, b baseFlags) (context.Context, *sesame.Service, func(), error) {
	k, err := sesame.ParseBaseKey(*b.uai, *b.year)
	if err != nil {
		return nil, nil, nil, err
	}
	svc, done, err := f.open(ctx, e, sesame.DefaultTiming)
	if err != nil {
		return nil, nil, nil, err
	}
	return sesame.AsOperator(ctx, k), svc, done, nil
}

// table writes aligned columns.
type table struct{ w *tabwriter.Writer }

func newTable(out io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "—"
		}
		// A cell never breaks the table.
		cells[i] = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, cells[i])
	}
	fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

func (t *table) flush() { _ = t.w.Flush() }

func yesNo(b bool) string {
	if b {
		return "oui"
	}
	return "non"
}

// plural writes n and word, with an s when n > 1.
func plural(n int, word string) string {
	if n > 1 {
		return strconv.Itoa(n) + " " + word + "s"
	}
	return strconv.Itoa(n) + " " + word
}

// profileNames maps the IDs of the base's groups and profiles to their
// names.
func profileNames(views []sesame.ProfileView) map[string]string {
	m := map[string]string{}
	for _, v := range views {
		m[v.ID] = v.Name
	}
	return m
}

// findProfile finds the group, profile or space named by nameOrID (its ID,
// or its name in any case) among views of the given modes (all when
// none), as sesame.FindProfile finds it.
func findProfile(views []sesame.ProfileView, nameOrID string, modes ...sesame.Mode) (sesame.ProfileView, error) {
	ps := make([]sesame.Profile, len(views))
	for i, v := range views {
		ps[i] = v.Profile
	}
	p, err := sesame.FindProfile(ps, nameOrID, modes...)
	if err != nil {
		return sesame.ProfileView{}, err
	}
	return views[slices.IndexFunc(views, func(v sesame.ProfileView) bool { return v.ID == p.ID })], nil
}

// ---- users ----

func cmdUsersList(ctx context.Context, e env, args []string) error {
	f := newFlags("users list")
	b := f.base()
	search := f.String("search", "", "recherche dans l'identifiant et le nom")
	kind := f.String("kind", "", "type de compte")
	member := f.String("member", "", "groupe ou profil")
	limit := f.Int("limit", 0, "nombre maximal de comptes")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year"); err != nil {
		return err
	}
	if *limit < 0 {
		return &usageError{"valeur incorrecte pour --limit : écrivez un nombre entier positif."}
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	views, err := svc.Profiles(ctx, "")
	if err != nil {
		return err
	}
	q := sesame.UserQuery{Search: *search, Kind: sesame.Kind(*kind)}
	if *member != "" {
		p, err := findProfile(views, *member, sesame.ModeAdmin, sesame.ModeTeacher, sesame.ModeVieScolaire)
		if err != nil {
			return err
		}
		q.Member = p.ID
	}
	var users []sesame.User
	more := false
	for {
		q.Limit = 1000
		if *limit > 0 {
			q.Limit = min(1000, *limit-len(users))
		}
		page, err := svc.Users(ctx, "", q)
		if err != nil {
			return err
		}
		users = append(users, page.Users...)
		if page.Next == "" {
			break
		}
		if *limit > 0 && len(users) >= *limit {
			more = true
			break
		}
		q.After = page.Next
	}
	if len(users) == 0 {
		fmt.Fprintln(e.stdout, "Aucun utilisateur ne correspond.")
		return nil
	}
	names := profileNames(views)
	t := newTable(e.stdout, "IDENTIFIANT", "NOM", "TYPE", "GROUPE", "PROFIL", "ACTIF")
	for _, u := range users {
		what := u.Kind.Label()
		if u.Supervisor {
			what += " (SPR)"
		}
		t.row(u.Login, u.DisplayName, what, names[u.AdminGroup], names[u.Profile], yesNo(u.Enabled))
	}
	t.flush()
	if more {
		fmt.Fprintf(e.stdout, "%s affichés (--limit %d) ; d'autres correspondent.\n", plural(len(users), "utilisateur"), *limit)
	} else {
		fmt.Fprintf(e.stdout, "%s.\n", plural(len(users), "utilisateur"))
	}
	return nil
}

// printUser writes an account's state on one line.
func printUser(e env, u sesame.User, names map[string]string) {
	group, profile := names[u.AdminGroup], names[u.Profile]
	if group == "" {
		group = "aucun"
	}
	if profile == "" {
		profile = "aucun"
	}
	fmt.Fprintf(e.stdout, "  %s (%s) : groupe %s, profil %s, actif : %s.\n", u.DisplayName, u.Kind.Label(), group, profile, yesNo(u.Enabled))
}

func cmdUsersSet(ctx context.Context, e env, args []string) error {
	f := newFlags("users set")
	b := f.base()
	login := f.String("login", "", "identifiant")
	name := f.String("name", "", "nom affiché")
	group := f.String("admin-group", "", "groupe d'utilisateurs administratifs")
	noGroup := f.Bool("no-admin-group", false, "retirer des utilisateurs administratifs")
	profile := f.String("profile", "", "profil d'autorisation")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "login"); err != nil {
		return err
	}
	var edit sesame.UserEdit
	for _, o := range []struct {
		flag string
		v    *string
		to   **string
	}{{"name", name, &edit.DisplayName}, {"admin-group", group, &edit.AdminGroup}, {"profile", profile, &edit.Profile}} {
		if !f.set(o.flag) {
			continue
		}
		if strings.TrimSpace(*o.v) == "" {
			return &usageError{"l'option --" + o.flag + " attend une valeur."}
		}
		*o.to = o.v
	}
	if *noGroup {
		if edit.AdminGroup != nil {
			return &usageError{"--admin-group et --no-admin-group s'excluent : choisissez."}
		}
		none := ""
		edit.AdminGroup = &none
	}
	if edit.DisplayName == nil && edit.AdminGroup == nil && edit.Profile == nil {
		return &usageError{"rien à changer : donnez --name, --admin-group, --no-admin-group ou --profile."}
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	before, err := svc.GetUser(ctx, "", *login)
	if err != nil {
		return err
	}
	edit.Version = before.Version
	u, err := svc.UpdateUser(ctx, "", before.Login, edit)
	if err != nil {
		return err
	}
	views, err := svc.Profiles(ctx, "")
	if err != nil {
		return err
	}
	if u.Version == before.Version {
		fmt.Fprintf(e.stdout, "Compte « %s » inchangé :\n", u.Login)
	} else {
		fmt.Fprintf(e.stdout, "Compte « %s » modifié :\n", u.Login)
	}
	printUser(e, u, profileNames(views))
	if before.AdminGroup != u.AdminGroup {
		fmt.Fprintln(e.stdout, "Ses connexions en mode administratif sont fermées : il se reconnecte avec ses nouveaux droits.")
	}
	return nil
}

func cmdUsersDisable(ctx context.Context, e env, args []string) error {
	return setEnabled(ctx, e, "users disable", args, false)
}

func cmdUsersEnable(ctx context.Context, e env, args []string) error {
	return setEnabled(ctx, e, "users enable", args, true)
}

func setEnabled(ctx context.Context, e env, name string, args []string, enabled bool) error {
	f := newFlags(name)
	b := f.base()
	login := f.String("login", "", "identifiant")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "login"); err != nil {
		return err
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	before, err := svc.GetUser(ctx, "", *login)
	if err != nil {
		return err
	}
	if before.Enabled == enabled {
		state := "désactivé"
		if enabled {
			state = "actif"
		}
		fmt.Fprintf(e.stdout, "Le compte « %s » est déjà %s : rien à faire.\n", before.Login, state)
		return nil
	}
	u, err := svc.UpdateUser(ctx, "", before.Login, sesame.UserEdit{Enabled: &enabled, Version: before.Version})
	if err != nil {
		return err
	}
	if enabled {
		fmt.Fprintf(e.stdout, "Compte « %s » réactivé : il peut de nouveau se connecter.\n", u.Login)
	} else {
		fmt.Fprintf(e.stdout, "Compte « %s » désactivé : ses connexions sont fermées et ses places libérées.\n", u.Login)
	}
	return nil
}

func cmdUsersPassword(ctx context.Context, e env, args []string) error {
	f := newFlags("users password")
	b := f.base()
	login := f.String("login", "", "identifiant")
	pwStdin := f.Bool("password-stdin", false, "mot de passe sur l'entrée standard")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "login"); err != nil {
		return err
	}
	var pw string
	if *pwStdin {
		var err error
		if pw, err = readSecret(e.stdin, "Le mot de passe"); err != nil {
			return err
		}
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	u, err := svc.GetUser(ctx, "", *login)
	if err != nil {
		return err
	}
	got, _, err := svc.ResetPassword(ctx, "", u.Login, pw)
	if err != nil {
		return err
	}
	if *pwStdin {
		fmt.Fprintf(e.stdout, "Mot de passe du compte « %s » changé ; ses connexions ouvertes sont fermées.\n", u.Login)
	} else {
		fmt.Fprintf(e.stdout, "Nouveau mot de passe du compte « %s » : %s\n(notez-le : il ne sera plus affiché ; ses connexions ouvertes sont fermées)\n", u.Login, got)
	}
	return nil
}

// ---- groups, profiles and spaces ----

// classLabel says in a word or two what a group, profile or space is.
func classLabel(v sesame.ProfileView) string {
	switch v.Class() {
	case "group":
		return "groupe (" + string(v.Group) + ")"
	case "teacher":
		return "profil professeurs"
	case "staff":
		return "profil personnels"
	}
	return "espace"
}

func autoDisconnectLabel(a sesame.AutoDisconnect) string {
	if !a.Enabled {
		return "non"
	}
	return "après " + sesame.FrenchDuration(a.After)
}

func grantsLabel(v sesame.ProfileView) string {
	if v.Mode.IsSpace() {
		return ""
	}
	return fmt.Sprintf("%d sur %d", len(v.Grants), v.Ceiling.Len())
}

func cmdGroupsList(ctx context.Context, e env, args []string) error {
	f := newFlags("groups list")
	b := f.base()
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year"); err != nil {
		return err
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	views, err := svc.Profiles(ctx, "")
	if err != nil {
		return err
	}
	t := newTable(e.stdout, "IDENTIFIANT", "NOM", "NATURE", "MODE", "DÉCONNEXION AUTOMATIQUE", "AUTORISATIONS")
	for _, v := range views {
		t.row(v.ID, v.Name, classLabel(v), v.Mode.Label(), autoDisconnectLabel(v.AutoDisconnect), grantsLabel(v))
	}
	t.flush()
	return nil
}

// autoDisconnectFlag is --auto-disconnect: a Go duration (30m, 1h30m), a
// number of minutes, or off.
type autoDisconnectFlag struct {
	set bool
	v   sesame.AutoDisconnect
}

func (a *autoDisconnectFlag) String() string {
	if a == nil || !a.set {
		return ""
	}
	if !a.v.Enabled {
		return "off"
	}
	return a.v.After.String()
}

func (a *autoDisconnectFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "off", "non", "aucune":
		a.set, a.v = true, sesame.AutoDisconnect{}
		return nil
	}
	d, err := time.ParseDuration(s)
	if n, aerr := strconv.Atoi(s); aerr == nil {
		d, err = time.Duration(n)*time.Minute, nil
	}
	if err != nil || d <= 0 {
		return sesame.Invalid("autoDisconnect", "écrivez une durée comme 30m ou 1h30m, un nombre de minutes (30), ou off pour la désactiver.")
	}
	a.set, a.v = true, sesame.AutoDisconnect{Enabled: true, After: d}
	return nil
}

// slugs reads a comma-separated list of action slugs.
func slugs(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func cmdGroupsSet(ctx context.Context, e env, args []string) error {
	f := newFlags("groups set")
	b := f.base()
	name := f.String("name", "", "nom ou identifiant du groupe, du profil ou de l'espace")
	ad := &autoDisconnectFlag{}
	f.Var(ad, "auto-disconnect", "déconnexion automatique")
	grant := f.String("grant", "", "actions à accorder")
	revoke := f.String("revoke", "", "actions à retirer")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "name"); err != nil {
		return err
	}
	grants, revokes := slugs(*grant), slugs(*revoke)
	if !ad.set && len(grants) == 0 && len(revokes) == 0 {
		return &usageError{"rien à changer : donnez --auto-disconnect, --grant ou --revoke."}
	}
	for _, g := range grants {
		if slices.Contains(revokes, g) {
			return &usageError{"l'action « " + g + " » est à la fois dans --grant et dans --revoke."}
		}
	}
	// Checked here too: the service drops an unknown action silently when
	// the grants are otherwise unchanged.
	for _, r := range slices.Concat(grants, revokes) {
		if err := sesame.CheckAction("grants", r); err != nil {
			return err
		}
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	views, err := svc.Profiles(ctx, "")
	if err != nil {
		return err
	}
	v, err := findProfile(views, *name)
	if err != nil {
		return err
	}
	edit := sesame.ProfileEdit{Version: v.Version}
	if ad.set {
		a := ad.v
		if !a.Enabled {
			a.After = v.AutoDisconnect.After // the duration stays for when it is checked again
		}
		edit.AutoDisconnect = &a
	}
	if len(grants) > 0 || len(revokes) > 0 {
		g := slices.DeleteFunc(append(slices.Clone(v.Grants), grants...), func(s string) bool { return slices.Contains(revokes, s) })
		edit.Grants = &g
	}
	saved, err := svc.UpdateProfile(ctx, "", v.ID, edit)
	if err != nil {
		return err
	}
	what := strings.ToUpper(saved.Kind()[:1]) + saved.Kind()[1:] + " « " + saved.Name + " »"
	if saved.Mode.IsSpace() {
		what = "Réglage de l'" + saved.Mode.Label()
	}
	if saved.Version == v.Version {
		fmt.Fprintf(e.stdout, "%s inchangé.\n", what)
	} else {
		fmt.Fprintf(e.stdout, "%s modifié ; les sessions le voient dès leur prochaine requête.\n", what)
	}
	fmt.Fprintf(e.stdout, "  déconnexion automatique : %s", autoDisconnectLabel(saved.AutoDisconnect))
	if gl := grantsLabel(saved); gl != "" {
		fmt.Fprintf(e.stdout, " ; actions autorisées : %s", gl)
	}
	fmt.Fprintln(e.stdout, ".")
	return nil
}

// ---- journal and usage ----

func cmdJournal(ctx context.Context, e env, args []string) error {
	f := newFlags("journal")
	b := f.base()
	from := f.String("from", "", "depuis ce jour (AAAA-MM-JJ)")
	to := f.String("to", "", "jusqu'à ce jour inclus (AAAA-MM-JJ)")
	events := f.String("event", "", "types d'événements")
	login := f.String("login", "", "identifiant (auteur ou concerné)")
	asCSV := f.Bool("csv", false, "export CSV")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year"); err != nil {
		return err
	}
	q, err := sesame.ParseJournalFilter(*from, *to, *events, *login)
	if err != nil {
		return err
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	if *asCSV {
		return svc.ExportJournal(ctx, "", q, e.stdout)
	}
	var entries []sesame.JournalEntry
	q.Limit = 1000
	for {
		page, err := svc.Journal(ctx, "", q)
		if err != nil {
			return err
		}
		entries = append(entries, page.Entries...)
		if page.Next == "" {
			break
		}
		q.Before = page.Next
	}
	if len(entries) == 0 {
		fmt.Fprintln(e.stdout, "Aucune entrée du journal ne correspond.")
		return nil
	}
	t := newTable(e.stdout, "DATE (UTC)", "ÉVÉNEMENT", "AUTEUR", "CONCERNÉ", "DÉTAIL")
	for _, x := range entries {
		t.row(x.At.UTC().Format(time.DateTime), x.Event.Label(), x.Actor, x.Subject, x.Detail)
	}
	t.flush()
	fmt.Fprintf(e.stdout, "%s, de la plus récente à la plus ancienne.\n", plural(len(entries), "entrée"))
	return nil
}

func limitLabel(l sesame.Limit) string {
	switch {
	case l == sesame.Unlimited:
		return "illimité"
	case l <= 0:
		return "fermé"
	}
	return l.String()
}

func cmdUsage(ctx context.Context, e env, args []string) error {
	f := newFlags("usage")
	b := f.base()
	from := f.String("from", "", "premier jour (AAAA-MM-JJ)")
	to := f.String("to", "", "dernier jour (AAAA-MM-JJ)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year"); err != nil {
		return err
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	u, err := svc.Usage(ctx, "", *from, *to)
	if err != nil {
		return err
	}
	k, _ := sesame.ParseBaseKey(*b.uai, *b.year) // checked by operator
	fmt.Fprintf(e.stdout, "Utilisation des places de la base %s de l'établissement %s, du %s au %s :\n", k.Year, k.UAI, u.From, u.To)
	if len(u.Days) == 0 {
		fmt.Fprintln(e.stdout, "Aucune connexion notée sur cette période.")
		return nil
	}
	t := newTable(e.stdout, "JOUR", "CONNEXIONS", "PIC", "LIMITE", "REFUSÉES (COMPLET)", "SANS PLACE")
	for _, d := range u.Days {
		t.row(d.Day, d.Pool.Label(), strconv.Itoa(d.Peak), limitLabel(u.Limits[d.Pool]), strconv.Itoa(d.Refused), strconv.Itoa(d.SignIns))
	}
	t.flush()
	return nil
}
