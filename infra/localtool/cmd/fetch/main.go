// Command fetch builds the pinned local stand-ins of the hosted deployment
// into .cache/bin, once: the Lambda Runtime Interface Emulator
// (infra/lambdarie) and versitygw (infra/s3local). The tests build them on
// first use too; .ci/run calls this first, so that no test waits on it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/s3local"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	for _, tool := range []struct {
		name    string
		install func(context.Context) (string, error)
	}{{"Lambda RIE", lambdarie.InstallEmulator}, {"versitygw", s3local.Install}} {
		t0 := time.Now()
		path, err := tool.install(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fetch: %s: %v\n", tool.name, err)
			os.Exit(1)
		}
		fmt.Printf("%s: %s (%v)\n", tool.name, path, time.Since(t0).Round(time.Millisecond))
	}
}
