// Command sesame runs and administers Sésame: the single server (serve),
// schools and their bases, licences and accounts, and load tests.
//
//	sesame serve --demo
//	sesame school create --uai 0751234A --name "Collège Jean Moulin" --year 2026-2027
//	sesame license set --uai 0751234A --year 2026-2027 --teacher-seats 50
//	echo 'motdepasse' | sesame users add --uai 0751234A --year 2026-2027 --login prof1 --kind teacher --name "M. Prof" --password-stdin
//	sesame users list --uai 0751234A --year 2026-2027 --member Professeurs
//	sesame users disable --uai 0751234A --year 2026-2027 --login prof1
//	sesame groups set --uai 0751234A --year 2026-2027 --name Modification --auto-disconnect 45m
//	sesame journal --uai 0751234A --year 2026-2027 --from 2026-09-01 --csv > journal.csv
//	echo 'motdepasse' | sesame loadtest --create-users --uai 0751234A --year 2026-2027 --users 50 --password-stdin
//	printf '%s\n%s\n' "$PW" "$SPR_PW" | sesame loadtest --url http://127.0.0.1:8080/ --uai 0751234A --year 2026-2027 \
//	    --users 50 --password-stdin --spr-password-stdin
//
// Every command takes --store URL: bolt:PATH (the default,
// bolt:./data/sesame.db) or dynamodb:TABLE (add --create-table to create a
// missing table). Messages are in French. Exit codes: 0 done, 1 refused or
// failed (the French message and the stable code on stderr), 2 a bad
// command line (unknown flag, missing or bad value). The administration
// commands (users, groups, journal, usage) act on a base as its operator
// (sesame.AsOperator: the SPR's rights, through the service's use cases);
// the journal keeps entries SESAME_JOURNAL_RETENTION_DAYS days (183 by
// default; serve --journal-retention overrides it). The load test talks
// HTTP only, to loopback addresses only; --create-users writes its accounts
// into --store and exits, before `sesame serve` is started (a bbolt file is
// opened by one process at a time).
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
