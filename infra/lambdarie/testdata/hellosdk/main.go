// Command hellosdk is hello with the DynamoDB client linked and never
// used: what the SDK's package initialisation alone adds to a cold start
// (BENCHMARKS.md), built the same way as the functions.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

type event struct {
	Name string `json:"name"`
}

func main() {
	lambda.Start(func(_ context.Context, e event) (map[string]string, error) {
		return map[string]string{"hello": e.Name}, nil
	})
}
