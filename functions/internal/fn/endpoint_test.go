package fn

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TestDynamoEndpoint: the region's endpoint, or the one the environment
// sets, resolved once whatever the request.
func TestDynamoEndpoint(t *testing.T) {
	for env, want := range map[[3]string]string{
		{"eu-west-3", "", ""}:                                    "https://dynamodb.eu-west-3.amazonaws.com",
		{"cn-north-1", "", ""}:                                   "https://dynamodb.cn-north-1.amazonaws.com.cn",
		{"eu-west-3", "http://127.0.0.1:8000", ""}:               "http://127.0.0.1:8000",
		{"eu-west-3", "", "http://127.0.0.1:9000"}:               "http://127.0.0.1:9000",
		{"eu-west-3", "http://127.0.0.1:8000", "http://other:1"}: "http://127.0.0.1:8000",
		{"eu-west-3", "127.0.0.1:8000", ""}:                      "",
		{"eu-west-3", "ftp://127.0.0.1:8000", ""}:                "",
	} {
		getenv := func(k string) string {
			return map[string]string{"AWS_REGION": env[0], "AWS_ENDPOINT_URL_DYNAMODB": env[1], "AWS_ENDPOINT_URL": env[2]}[k]
		}
		ep, err := dynamoEndpoint(getenv)
		if want == "" {
			if err == nil {
				t.Errorf("%v: accepted %v", env, ep.uri.String())
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		got, err := ep.ResolveEndpoint(t.Context(), dynamodb.EndpointParameters{Region: new("us-east-1")})
		if err != nil || got.URI.String() != want {
			t.Errorf("%v: %q %v, want %q", env, got.URI.String(), err, want)
		}
	}
}
