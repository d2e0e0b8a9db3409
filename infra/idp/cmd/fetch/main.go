// Command fetch installs LemonLDAP::NG into the project's cache (see package
// idp), so that tests need not download it. With -serve it also starts an
// instance for a relying party and runs until interrupted:
//
//	go run ./infra/idp/cmd/fetch                                        # install only
//	go run ./infra/idp/cmd/fetch -check                                 # exit 1 unless installed
//	go run ./infra/idp/cmd/fetch -serve -sp http://127.0.0.1:8080       # install, then run
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sesame-ecole/sesame/infra/idp"
)

func main() {
	cache := flag.String("cache", "", "cache folder (default: $SESAME_CACHE_DIR/idp or <repo>/.cache/idp)")
	serve := flag.Bool("serve", false, "start an instance after installing, until interrupted")
	sp := flag.String("sp", idp.DefaultSPURL, "with -serve: the relying party's base URL")
	check := flag.Bool("check", false, "only report whether it is installed (exit status 1 if not), download nothing")
	flag.Parse()
	if *check {
		*cache = orDefault(*cache)
		if !idp.Installed(*cache) {
			fmt.Fprintln(os.Stderr, "fetch: LemonLDAP::NG is not in", *cache)
			os.Exit(1)
		}
		return
	}
	if err := run(*cache, *serve, *sp); err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
}

func run(cache string, serve bool, sp string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cache = orDefault(cache)
	t0 := time.Now()
	if err := idp.Install(ctx, cache); err != nil {
		return err
	}
	fmt.Printf("LemonLDAP::NG %s in %s (%v)\n", idp.Version, cache, time.Since(t0).Round(time.Millisecond))
	if !serve {
		return nil
	}
	srv, err := idp.Start(ctx, cache, idp.Config{SPURL: sp})
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("started in %v: portal %s, OIDC client %s/%s, SAML metadata %s, CAS %s; users %s/%s and %s/%s\n",
		srv.StartupTime().Round(time.Millisecond), srv.URL, idp.ClientID, idp.ClientSecret, srv.SAMLMetadataURL(),
		srv.CASURL(), idp.User, idp.UserPassword, idp.OtherUser, idp.OtherPassword)
	<-ctx.Done()
	return nil
}

// orDefault returns cache, or the default cache folder when it is empty (an
// error there is reported by Install, which then sees an empty path).
func orDefault(cache string) string {
	if cache != "" {
		return cache
	}
	d, err := idp.DefaultCacheDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
	return d
}
