// Command sesame runs and administers Sésame: the single server (serve),
// schools and their bases, licences and accounts.
//
//	sesame serve --demo
//	sesame school create --uai 0751234A --name "Collège Jean Moulin" --year 2026-2027
//	sesame license set --uai 0751234A --year 2026-2027 --teacher-seats 50
//	echo 'motdepasse' | sesame users add --uai 0751234A --year 2026-2027 --login prof1 --kind teacher --name "M. Prof" --password-stdin
//
// Every command takes --store URL: bolt:PATH (the default,
// bolt:./data/sesame.db) or dynamodb:TABLE. Messages are in French; a bad
// flag or value ends with a message on stderr and a non-zero exit.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}
