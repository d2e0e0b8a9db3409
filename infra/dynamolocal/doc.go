// Package dynamolocal gives tests a real DynamoDB endpoint: AWS's DynamoDB
// Local (Java), installed from the npm package amplify-dynamodb-simulator
// into a cache folder and started on a free loopback port.
//
// # In tests
//
// A test package that talks to DynamoDB stops the shared server from its
// TestMain, and asks for a fresh table (created from template.yaml) per test:
//
//	func TestMain(m *testing.M) {
//		m.Run()                 // since Go 1.15 TestMain may return: its exit code is m.Run's
//		dynamolocal.Shutdown()  // stops the server started by the first Endpoint or NewTable call
//	}
//
//	func TestSomething(t *testing.T) {
//		client, table := dynamolocal.NewTable(t) // deleted at the end of the test
//		…
//	}
//
// The server is started lazily, once per test process, by the first call to
// [Endpoint] or [NewTable]; packages whose tests do not ask for it pay nothing.
// When SESAME_DYNAMODB_ENDPOINT or AWS_ENDPOINT_URL_DYNAMODB is set, that
// endpoint is used instead and nothing is installed or started.
//
// When DynamoDB Local cannot be had (no java, no npm, a failed start), the test
// is skipped with a loud message on a developer's machine, and fails when
// CI=true; see package testenv.
//
// # Cache
//
// The emulator lives in <cache>/amplify-dynamodb-simulator-<version>/, where
// <cache> is $SESAME_CACHE_DIR/dynamodb-local when that variable is set, and
// <repository root>/.cache/dynamodb-local otherwise. `make dynamodb-local` (or
// `go run ./infra/dynamolocal/cmd/fetch`) fills it ahead of time.
//
// # Pitfalls of DynamoDB Local
//
// It has no host flag and listens on every interface of its port; the client
// reaches it on 127.0.0.1. Access keys with '-' or '_' are refused, table names
// need at least 3 characters, and the server is started with -sharedDb so that
// every access key and region sees the same tables.
package dynamolocal
