// Command seats is the Lambda function that serves sessions, heartbeats, logout and the connected users: /api/v1/session, /heartbeat, /logout, /connections
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
	if err := fn.Run(context.Background(), httpapi.Seats, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
