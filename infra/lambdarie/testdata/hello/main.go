// Command hello is the smallest aws-lambda-go function: the yardstick the
// functions' size, cold start and warm invocation are measured against
// (BENCHMARKS.md), built the same way as they are.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Name string `json:"name"`
}

func main() {
	lambda.Start(func(_ context.Context, e event) (map[string]string, error) {
		return map[string]string{"hello": e.Name}, nil
	})
}
