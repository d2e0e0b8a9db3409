// Command sleep is an aws-lambda-go function that takes as long as its
// event says: the tests' function that outlasts its timeout, or whose
// caller stops waiting.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Millis int `json:"ms"`
}

func main() {
	lambda.Start(func(_ context.Context, e event) (map[string]int, error) {
		time.Sleep(time.Duration(e.Millis) * time.Millisecond)
		return map[string]int{"slept": e.Millis}, nil
	})
}
