// Command login is the Lambda function that signs users in: POST /api/v1/login
// and the sign-in through the school's identity provider (see
// httpapi.Routes), the only function that links the protocol layer. It only wires: configuration, store, handler,
// lambda.Start, all in functions/internal/fn.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/ssoweb"
)

func main() {
	if err := fn.Run(context.Background(), httpapi.Login.With(ssoweb.New(nil)), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
