package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
)

// env is what a command sees of the outside world.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command was refused or failed
	exitUsage   = 2 // bad flags or values
)

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usage = `Sésame — qui peut entrer dans la base, dans quel mode, et pour combien de temps.

Commandes :
  sesame serve [--addr 127.0.0.1:8080] [--demo] [--tls-cert F --tls-key F] [--journal-retention JOURS]
               [--public-url URL]… [--trusted-proxy CIDR]…
  sesame school create --uai U --name N --year Y [--admin-seats N] [--teacher-seats N|unlimited] [--consultation] [--spr-password-stdin]
  sesame school use --uai U --year Y
  sesame license set --uai U --year Y [--admin-seats N] [--teacher-seats N|unlimited] [--consultation=true|false]
  sesame users add --uai U --year Y --login L --kind staff|teacher|parent|student|mentor|inspector --name "…" [--admin-group G] [--profile P] --password-stdin
  sesame users list --uai U --year Y [--search Q] [--kind K] [--member G] [--limit N]
  sesame users set --uai U --year Y --login L [--name N] [--admin-group G | --no-admin-group] [--profile P]
  sesame users disable|enable --uai U --year Y --login L        (désactiver ferme ses connexions)
  sesame users password --uai U --year Y --login L [--password-stdin]   (sinon, un mot de passe est généré et affiché)
  sesame users link-ent --uai U --year Y --csv FICHIER|-        (identifiants ENT : colonnes login et entId ; vide = lien retiré)
  sesame groups list --uai U --year Y                            (groupes, profils et espaces)
  sesame groups set --uai U --year Y --name NOM_OU_ID [--auto-disconnect 30m|45|off] [--grant action,…] [--revoke action,…]
  sesame journal --uai U --year Y [--from AAAA-MM-JJ] [--to AAAA-MM-JJ] [--event E,…] [--login L] [--csv]
  sesame usage --uai U --year Y [--from AAAA-MM-JJ] [--to AAAA-MM-JJ]   (par défaut les 30 derniers jours)
  sesame recover --uai U --year Y (--file F | --from-year Y0) [--add] [--update] [--dry-run]
  sesame prepare-next-year --uai U --year Y --out F [--format zip|profils]
  sesame loadtest --url http://127.0.0.1:8080/ --uai U --year Y [--users N] [--duration D] [--heartbeat D] [--idle-share F]
                  [--idle-head-start D] [--mode M] [--prefix P] [--retry D] [--password-stdin] [--spr-login L] [--spr-password-stdin]
  sesame loadtest --create-users --uai U --year Y [--users N] [--mode M] [--prefix P] --password-stdin   (serveur arrêté)
  sesame loadtest rush --url http://127.0.0.1:8080/ --uai U --year Y [--students N] [--parents N] [--window D] [--drain D]
                  [--heartbeat D] [--pid PID] [--capacity D [--load F]] --password-stdin   (ruée du matin)
  sesame loadtest rentree --url http://127.0.0.1:8080/ --uai U --year Y [--students N] [--parents N] [--teachers N] [--admins N]
                  [--window D] [--drain D] [--browse D] [--speed F] [--page-every D] [--idle-share F] [--seatless-heartbeat D] [--meter URL]
                  --password-stdin [--spr-password-stdin]   (matinée de rentrée)

Toutes les commandes acceptent --store URL : bolt:CHEMIN (par défaut bolt:./data/sesame.db) ou dynamodb:TABLE [--create-table].
Les commandes d'administration agissent avec les droits du superviseur (SPR) ; le journal les attribue à « sesame (ligne de commande) ».
serve ne répond qu'aux adresses --public-url (par défaut son adresse d'écoute et localhost) : tout autre nom d'hôte reçoit 421.
Il ne croit X-Forwarded-For, -Host et -Proto que d'un relais --trusted-proxy (bloc CIDR ou adresse).
Le journal garde chaque entrée SESAME_JOURNAL_RETENTION_DAYS jours (183 par défaut, de 1 à 1098) ; serve --journal-retention l'emporte.
Codes de sortie : 0 réussi, 1 refusé ou échoué, 2 commande mal formée.
`

type command struct {
	name string
	run  func(ctx context.Context, e env, args []string) error
}

var commands = []command{
	{"serve", cmdServe},
	{"school create", cmdSchoolCreate},
	{"school use", cmdSchoolUse},
	{"license set", cmdLicenseSet},
	{"users add", cmdUsersAdd},
	{"users list", cmdUsersList},
	{"users set", cmdUsersSet},
	{"users disable", cmdUsersDisable},
	{"users enable", cmdUsersEnable},
	{"users password", cmdUsersPassword},
	{"users link-ent", cmdUsersLinkENT},
	{"groups list", cmdGroupsList},
	{"groups set", cmdGroupsSet},
	{"journal", cmdJournal},
	{"usage", cmdUsage},
	{"loadtest rush", cmdLoadtestRush},
	{"loadtest rentree", cmdLoadtestRentree},
	{"loadtest", cmdLoadtest},
	{"recover", cmdRecover},
	{"prepare-next-year", cmdPrepareNextYear},
}

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			err := c.run(ctx, e, args[len(words):])
			if errors.Is(err, errHelp) {
				fmt.Fprint(e.stdout, usage)
				return exitOK
			}
			return report(e, err)
		}
	}
	// A known first word with a missing or unknown second one.
	var subs []string
	for _, c := range commands {
		if first, sub, ok := strings.Cut(c.name, " "); ok && first == args[0] {
			subs = append(subs, "« sesame "+first+" "+sub+" »")
		}
	}
	if len(subs) > 0 {
		what := "sous-commande manquante"
		if len(args) > 1 {
			what = "sous-commande inconnue : « " + args[1] + " »"
		}
		return report(e, &usageError{what + ". Possibles : " + strings.Join(subs, ", ") + "."})
	}
	return report(e, &usageError{"commande inconnue : « " + args[0] + " ». Tapez « sesame help » pour la liste des commandes."})
}

// errHelp asks for the usage text (a command's -h or --help).
var errHelp = errors.New("help")

// report prints err in French and returns the exit code.
func report(e env, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "sesame : %s\n", ue.msg)
		return exitUsage
	}
	code := sesame.ErrorCode(err)
	msg := sesame.ErrorMessage(err)
	if code == sesame.CodeInternal {
		// An operator reads this: the French message when there is one,
		// with the technical cause.
		var de *sesame.Error
		if errors.As(err, &de) && de.Message != "" {
			msg = de.Message
			if de.Err != nil {
				msg += " (" + de.Err.Error() + ")"
			}
		} else {
			msg = err.Error()
		}
	}
	fmt.Fprintf(e.stderr, "sesame : %s [%s]\n", msg, code)
	if code == sesame.CodeInvalid || code == sesame.CodeBadRequest {
		return exitUsage
	}
	return exitFailure
}

// flags is a flag set that speaks French.
type flags struct {
	*flag.FlagSet
	store       *string
	createTable *bool
}

func newFlags(name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &flags{FlagSet: fs}
	f.store = fs.String("store", app.DefaultStore, "stockage")
	f.createTable = fs.Bool("create-table", false, "créer la table DynamoDB manquante")
	return f
}

// parse reads args, translating the flag package's errors into French.
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		msg := err.Error()
		switch {
		case errors.Is(err, flag.ErrHelp):
			return errHelp
		case strings.HasPrefix(msg, "flag provided but not defined: "):
			return &usageError{"option inconnue : " + dashes(strings.TrimPrefix(msg, "flag provided but not defined: ")) + "."}
		case strings.HasPrefix(msg, "flag needs an argument: "):
			return &usageError{"l'option " + dashes(strings.TrimPrefix(msg, "flag needs an argument: ")) + " attend une valeur."}
		case strings.HasPrefix(msg, "invalid boolean value"):
			name, _, _ := strings.Cut(msg[strings.Index(msg, " for ")+len(" for "):], ":")
			return &usageError{"valeur incorrecte pour " + dashes(name) + " : écrivez true ou false."}
		case strings.HasPrefix(msg, "invalid value"):
			// invalid value "x" for flag -name: <the Set error>
			name, why, _ := strings.Cut(msg[strings.Index(msg, " for flag ")+len(" for flag "):], ": ")
			if _, french, ok := strings.Cut(why, sesame.CodeInvalid+": "); ok {
				why = french
			} else if fl := f.Lookup(strings.TrimLeft(name, "-")); fl != nil {
				why = expected(fl)
			}
			return &usageError{"valeur incorrecte pour " + dashes(name) + " : " + why}
		case strings.HasPrefix(msg, "bad flag syntax: "):
			return &usageError{"option mal écrite : « " + strings.TrimPrefix(msg, "bad flag syntax: ") + " »."}
		}
		return &usageError{msg}
	}
	if f.NArg() > 0 {
		return &usageError{"argument en trop : « " + f.Arg(0) + " »."}
	}
	return nil
}

func dashes(name string) string { return "--" + strings.TrimLeft(name, "-") }

// expected says in French what a flag of the flag package's own types
// takes.
func expected(fl *flag.Flag) string {
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		return "valeur incorrecte."
	}
	switch g.Get().(type) {
	case time.Duration:
		return "écrivez une durée comme 500ms, 30s, 2m ou 1h30m."
	case int, int64, uint, uint64:
		return "écrivez un nombre entier."
	case float64:
		return "écrivez un nombre (par exemple 0.2)."
	}
	return "valeur incorrecte."
}

// required checks that each named flag was given a non-empty value.
func (f *flags) required(names ...string) error {
	for _, n := range names {
		if fl := f.Lookup(n); fl == nil || fl.Value.String() == "" {
			return &usageError{"l'option --" + n + " est obligatoire."}
		}
	}
	return nil
}

// set reports whether flag name was given.
func (f *flags) set(name string) bool {
	found := false
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == name {
			found = true
		}
	})
	return found
}

// open opens the store and the service over it, with the journal's
// retention from the environment (app.EnvJournalRetention; six months
// when unset).
func (f *flags) open(ctx context.Context, e env, timing sesame.Timing) (*sesame.Service, func(), error) {
	retention, err := app.JournalRetention(e.getenv)
	if err != nil {
		return nil, nil, err
	}
	return f.openWith(ctx, timing, retention)
}

// openWith opens the store and the service over it, keeping journal
// entries for retention.
func (f *flags) openWith(ctx context.Context, timing sesame.Timing, retention time.Duration) (*sesame.Service, func(), error) {
	st, err := app.OpenStore(ctx, *f.store, app.StoreOptions{CreateTable: *f.createTable})
	if err != nil {
		return nil, nil, err
	}
	svc := app.NewService(st, timing)
	svc.Retention = retention
	return svc, func() { _ = st.Close() }, nil
}

// lines reads standard input line by line; one lines serves every secret
// of a command, so that none is lost in another's buffer.
type lines struct{ r *bufio.Reader }

func newLines(r io.Reader) *lines { return &lines{bufio.NewReader(r)} }

// readSecret reads one line of standard input: a password.
func readSecret(r io.Reader, what string) (string, error) { return newLines(r).secret(what) }

// secret reads the next line: a password.
func (l *lines) secret(what string) (string, error) {
	line, err := l.r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("lecture de l'entrée standard : %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", &usageError{what + " est attendu sur l'entrée standard (une ligne)."}
	}
	return line, nil
}

// seatsFlag is a number of seats, or "unlimited" when allowed.
type seatsFlag struct {
	allowUnlimited bool
	field          string
	v              sesame.Limit
}

func (s *seatsFlag) String() string {
	if s == nil || s.v == 0 {
		return ""
	}
	return s.v.String()
}

func (s *seatsFlag) Set(v string) error {
	l, err := sesame.ParseSeats(s.field, v, s.allowUnlimited)
	if err != nil {
		return err
	}
	s.v = l
	return nil
}
