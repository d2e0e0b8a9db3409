// Command costmodel prices a school's use of the hosted product from
// measured counts: the DynamoDB requests and capacity units of each
// user-facing operation (a requests file), the Lambda durations
// (durations.json) and the unit prices (prices.json, one file, with the
// date they were read).
//
//	go run ./infra/costmodel -students 600 -parents 1000 -teachers 50 -staff 30 \
//	    -before infra/dynamo/testdata/requests-before.json [-after infra/dynamo/testdata/requests-after.json]
//
// It prints, for each requests file, the cost per 1,000 connected
// user-hours, per school per year and per month, split by service and by
// kind of session; with -after, the ratio of the two per school-year.
package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"text/tabwriter"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// here is this package's folder, to find its files from any working
// directory of the repository.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("costmodel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := here()
	var (
		students    = fs.Int("students", 600, "élèves")
		parents     = fs.Int("parents", 1000, "parents")
		teachers    = fs.Int("teachers", 50, "professeurs (sessions avec place, pool teacher)")
		staff       = fs.Int("staff", 30, "personnels (vie scolaire, sans place)")
		prices      = fs.String("prices", filepath.Join(dir, "prices.json"), "fichier des prix unitaires")
		durations   = fs.String("durations", filepath.Join(dir, "durations.json"), "fichier des durées Lambda")
		before      = fs.String("before", filepath.Join(dir, "..", "dynamo", "testdata", "requests-before.json"), "requêtes par opération, avant")
		after       = fs.String("after", "", "requêtes par opération, après (facultatif)")
		msPerReq    = fs.Float64("ms-per-request", -1, "durée Lambda par requête DynamoDB, ms (défaut : celle du fichier des durées)")
		u           = Usage{}
		afterSeatHB = Rates{}
		afterHB     = Rates{}
	)
	fs.Float64Var(&u.HoursPerDay, "hours", 1, "heures connectées par jour de classe, par utilisateur qui se connecte")
	fs.Float64Var(&u.SchoolDays, "days", 180, "jours de classe par an")
	fs.Float64Var(&u.Connecting, "connecting", 0.5, "part des utilisateurs qui se connectent un jour de classe")
	fs.Float64Var(&u.Active, "active", 0.6, "part du temps connecté où l'utilisateur est actif")
	fs.Float64Var(&u.SigninsPerDay, "signins", 1, "connexions par jour, par utilisateur qui se connecte")
	fs.Float64Var(&u.LogoutShare, "logout-share", 0.5, "part des sessions fermées par une déconnexion")
	fs.Float64Var(&u.PagesPerHour, "pages", 12, "chargements de page (GET /session) par heure connectée")
	fs.Float64Var(&u.AuthorizePerActiveHour, "authorize", 30, "vérifications de droits par heure active")
	fs.Float64Var(&u.PermissionsPerHour, "permissions", 1, "GET /permissions par heure connectée")
	fs.Float64Var(&u.SeatHeartbeats.Active, "hb-seat-active", 60, "signaux de présence par heure, session avec place, utilisateur actif")
	fs.Float64Var(&u.SeatHeartbeats.Idle, "hb-seat-idle", 60, "signaux de présence par heure, session avec place, utilisateur inactif")
	fs.Float64Var(&u.SeatlessHeartbeats.Active, "hb-seatless-active", 60, "signaux de présence par heure, session sans place, utilisateur actif")
	fs.Float64Var(&u.SeatlessHeartbeats.Idle, "hb-seatless-idle", 60, "signaux de présence par heure, session sans place, utilisateur inactif")
	fs.Float64Var(&afterSeatHB.Active, "after-hb-seat-active", -1, "avec -after : signaux par heure, avec place, actif (défaut : comme avant)")
	fs.Float64Var(&afterSeatHB.Idle, "after-hb-seat-idle", -1, "avec -after : signaux par heure, avec place, inactif (défaut : comme avant)")
	fs.Float64Var(&afterHB.Active, "after-hb-seatless-active", 6, "avec -after : signaux par heure, sans place, actif")
	fs.Float64Var(&afterHB.Idle, "after-hb-seatless-idle", 2, "avec -after : signaux par heure, sans place, inactif")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "costmodel : "+format+"\n", a...)
		return code
	}
	if err := u.Validate(); err != nil {
		return fail(2, "%v", err)
	}
	p, err := LoadPrices(*prices)
	if err != nil {
		return fail(1, "prix illisibles : %v", err)
	}
	d, err := LoadDurations(*durations)
	if err != nil {
		return fail(1, "durées illisibles : %v", err)
	}
	if *msPerReq >= 0 {
		d.MsPerRequest, d.MinMs = *msPerReq, *msPerReq
	}
	kinds := []Kind{{"élèves", *students, false}, {"parents", *parents, false}, {"professeurs", *teachers, true}, {"personnels", *staff, false}}
	fmt.Fprintf(stdout, "Prix : %s, %s — %s\n", p.Region, p.Currency, p.Read)
	fmt.Fprintf(stdout, "Durées Lambda : %.0f ms par requête DynamoDB (au moins %.0f ms), %.0f octets de journal par appel\n\n", d.MsPerRequest, d.MinMs, d.LogBytesPerCall)
	yb, err := price(stdout, "avant", *before, p, d, u, kinds)
	if err != nil {
		return fail(1, "%v", err)
	}
	if *after == "" {
		return 0
	}
	ua := u
	ua.SeatlessHeartbeats = afterHB
	if afterSeatHB.Active >= 0 {
		ua.SeatHeartbeats.Active = afterSeatHB.Active
	}
	if afterSeatHB.Idle >= 0 {
		ua.SeatHeartbeats.Idle = afterSeatHB.Idle
	}
	if err := ua.Validate(); err != nil {
		return fail(2, "%v", err)
	}
	ya, err := price(stdout, "après", *after, p, d, ua, kinds)
	if err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(stdout, "Rapport avant ÷ après, par établissement et par an : %.2f×\n", yb.Total.Total()/ya.Total.Total())
	return 0
}

// price loads a requests file, prices a school year with it and prints it.
func price(w io.Writer, label, path string, p Prices, d Durations, u Usage, kinds []Kind) (Year, error) {
	r, err := LoadRequests(path)
	if err != nil {
		return Year{}, fmt.Errorf("requêtes illisibles : %w", err)
	}
	y, err := Model{Prices: p, Requests: r, Durations: d}.SchoolYear(u, kinds)
	if err != nil {
		return y, err
	}
	fmt.Fprintf(w, "== %s (%s)\n", label, path)
	fmt.Fprintf(w, "Signaux de présence par heure : avec place %g actif / %g inactif, sans place %g / %g ; %.0f %% du temps actif\n",
		u.SeatHeartbeats.Active, u.SeatHeartbeats.Idle, u.SeatlessHeartbeats.Active, u.SeatlessHeartbeats.Idle, 100*u.Active)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, s := range Services {
		fmt.Fprintf(tw, "%s\t", s)
	}
	fmt.Fprint(tw, "total\theures\trequêtes HTTP\t\n")
	row := func(name string, c Cost, hours, req float64) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, v := range c.By() {
			fmt.Fprintf(tw, "%.2f\t", v)
		}
		fmt.Fprintf(tw, "%.2f\t%.0f\t%.0f\t\n", c.Total(), hours, req)
	}
	var req float64
	for _, k := range y.Kinds {
		row(fmt.Sprintf("%s (%d)/an", k.Name, k.Users), k.Cost, k.Hours, k.Requests)
		req += k.Requests
	}
	row("établissement/an", y.Total, y.Hours, req)
	row("établissement/mois (an ÷ 12)", y.Total.times(1.0/12), y.Hours/12, req/12)
	row("pour 1 000 heures connectées", y.PerThousandHours(), 1000, req*1000/y.Hours)
	if err := tw.Flush(); err != nil {
		return y, err
	}
	fmt.Fprintf(w, "Par opération, établissement/an :")
	for _, op := range slices.Sorted(maps.Keys(y.Operations)) {
		fmt.Fprintf(w, " %s %.2f (%.0f %%) ;", op, y.Operations[op].Total(), 100*y.Operations[op].Total()/y.Total.Total())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	return y, nil
}
