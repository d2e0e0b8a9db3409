// Command recover is the Lambda function of user recovery: the routes
// /api/v1/uploads, /uploads/{id}, /recoveries, /recoveries/{id}/apply and
// /next-year (see httpapi.Routes), and the S3 events of the import
// bucket's imports/ prefix. It only wires: configuration, store, S3,
// handlers, lambda.Start, all in functions/internal/recoverfn.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sesame-ecole/sesame/functions/internal/recoverfn"
)

func main() {
	if err := recoverfn.RunRecover(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
