// Command fetch installs the pinned DynamoDB Local into the project's cache
// (see package dynamolocal), so that tests need not download it. With -serve
// it also starts it and runs until interrupted, printing its endpoint:
//
//	go run ./infra/dynamolocal/cmd/fetch            # install only
//	go run ./infra/dynamolocal/cmd/fetch -serve     # install, then run
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
)

func main() {
	cache := flag.String("cache", "", "cache folder (default: $SESAME_CACHE_DIR/dynamodb-local or <repo>/.cache/dynamodb-local)")
	serve := flag.Bool("serve", false, "start DynamoDB Local after installing it, until interrupted")
	flag.Parse()
	if err := run(*cache, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
}

func run(cache string, serve bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cache == "" {
		var err error
		if cache, err = dynamolocal.DefaultCacheDir(); err != nil {
			return err
		}
	}
	t0 := time.Now()
	dir, err := dynamolocal.Install(ctx, cache)
	if err != nil {
		return err
	}
	fmt.Printf("DynamoDB Local (%s@%s) in %s (%v)\n", dynamolocal.SimulatorPackage, dynamolocal.SimulatorVersion, dir, time.Since(t0).Round(time.Millisecond))
	if !serve {
		return nil
	}
	srv, err := dynamolocal.Start(ctx, dir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("started in %v; in-memory, every credential sees the same tables:\n  export AWS_ENDPOINT_URL_DYNAMODB=%s\n", srv.StartupTime().Round(time.Millisecond), srv.Endpoint())
	<-ctx.Done()
	return nil
}
