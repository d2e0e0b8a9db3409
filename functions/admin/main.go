// Command admin is the Lambda function of a base's administration: users
// (/api/v1/users…), admin groups (/groups…), teacher and staff profiles
// (/profiles…), space settings (/spaces…), the journal (/journal,
// /journal.csv) and seat usage (/usage) (see httpapi.Routes). It only
// wires: configuration, store, handler, lambda.Start, all in
// functions/internal/fn.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

func main() {
	if err := fn.Run(context.Background(), httpapi.Admin, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
