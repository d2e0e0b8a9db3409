// Command run starts the hosted deployment on this machine (package
// hostedlocal) and keeps it until Ctrl-C, which stops every process it
// started. `make run-hosted` runs it; `make run-hosted ARGS=--demo` creates
// the demo school first, as `make run` does. The credentials and region
// come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION
// (local, local, eu-west-3 when unset). Once ready it prints, one per line:
//
//	Sésame (hébergé, local) : http://127.0.0.1:PORT/
//	table: NAME
//	dynamodb: http://127.0.0.1:PORT
//	s3: http://127.0.0.1:PORT
//	import-bucket: NAME
//
// With --meter, a last line gives the address of the DynamoDB meter
// (package dynamometer) that counts the functions' requests by route:
//
//	dynamodb-meter: http://127.0.0.1:PORT
//
// With AWS_ENDPOINT_URL_DYNAMODB set to the dynamodb line, `sesame …
// --store dynamodb:NAME` administers the same schools.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/hostedlocal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sesame (hébergé, local) :", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := flag.NewFlagSet("run-hosted", flag.ContinueOnError)
	f.SetOutput(stderr)
	addr := f.String("addr", "127.0.0.1:8090", "adresse d'écoute du site (boucle locale)")
	demo := f.Bool("demo", false, "créer l'établissement de démonstration")
	web := f.String("web", "web/static", "dossier des fichiers du site (make agent y construit l'agent)")
	timeout := f.Int("function-timeout", 0, "délai des fonctions en secondes à la place de celui du modèle (qemu et une machine chargée ralentissent l'argon2id de la connexion)")
	meter := f.Bool("meter", false, "compter les requêtes DynamoDB des fonctions par route (ligne dynamodb-meter:, lue par sesame loadtest rentree)")
	if err := f.Parse(args); err != nil {
		return err
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	var env []string
	if *timeout > 0 {
		env = append(env, fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", *timeout))
	}
	fmt.Fprintln(stderr, "Démarrage de la pile hébergée (DynamoDB Local, versitygw, 5 fonctions sous RIE)…")
	st, err := hostedlocal.Start(ctx, hostedlocal.Options{Addr: *addr, AccessKey: getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: getenv("AWS_SECRET_ACCESS_KEY"), Region: region, Web: os.DirFS(*web),
		Log: slog.New(slog.NewTextHandler(stderr, nil)), Meter: *meter, Env: env, Warm: true})
	if err != nil {
		return err
	}
	defer st.Stop()
	if *demo {
		store, err := core.OpenDynamo(ctx, st.DynamoDBClient(), st.Table, "")
		if err != nil {
			return err
		}
		if err := app.CreateDemo(ctx, app.NewService(store, sesame.DefaultTiming), stdout); err != nil {
			return err
		}
	}
	st.Print(stdout)
	<-ctx.Done()
	fmt.Fprintln(stderr, "Arrêt de la pile hébergée.")
	return nil
}
