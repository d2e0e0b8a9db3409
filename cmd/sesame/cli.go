package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

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
  sesame serve [--addr 127.0.0.1:8080] [--demo] [--tls-cert F --tls-key F]
  sesame school create --uai U --name N --year Y [--admin-seats N] [--teacher-seats N|unlimited] [--consultation] [--spr-password-stdin]
  sesame school use --uai U --year Y
  sesame license set --uai U --year Y [--admin-seats N] [--teacher-seats N|unlimited] [--consultation=true|false]
  sesame users add --uai U --year Y --login L --kind staff|teacher|parent|student|mentor|inspector --name "…" [--admin-group G] [--profile P] --password-stdin

Toutes les commandes acceptent --store URL : bolt:CHEMIN (par défaut bolt:./data/sesame.db) ou dynamodb:TABLE [--create-table].
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
}

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return report(e, c.run(ctx, e, args[len(words):]))
		}
	}
	return report(e, &usageError{"commande inconnue : « " + strings.Join(args[:min(2, len(args))], " ") + " ». Tapez « sesame help » pour la liste des commandes."})
}

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
		msg = err.Error()
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
			return &usageError{"pas d'aide pour « " + f.Name() + " » : tapez « sesame help »."}
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
			_, why, _ = strings.Cut(why, sesame.CodeInvalid+": ")
			return &usageError{"valeur incorrecte pour " + dashes(name) + " : " + why}
		}
		return &usageError{msg}
	}
	if f.NArg() > 0 {
		return &usageError{"argument en trop : « " + f.Arg(0) + " »."}
	}
	return nil
}

func dashes(name string) string { return "--" + strings.TrimLeft(name, "-") }

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

// open opens the store and the service over it.
func (f *flags) open(ctx context.Context, timing sesame.Timing) (*sesame.Service, func(), error) {
	st, err := app.OpenStore(ctx, *f.store, app.StoreOptions{CreateTable: *f.createTable})
	if err != nil {
		return nil, nil, err
	}
	return app.NewService(st, timing), func() { _ = st.Close() }, nil
}

// readSecret reads one line of standard input: a password.
func readSecret(r io.Reader, what string) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
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
