// Command authorize is the Lambda function that answers permission checks: /api/v1/authorize, /permissions and the OpenAPI document
// (see httpapi.Routes). It only wires: configuration, store, handler,
// lambda.Start, all in functions/internal/fn.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

func main() {
	if err := fn.Run(context.Background(), httpapi.Authorize, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
