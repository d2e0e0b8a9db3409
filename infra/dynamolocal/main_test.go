package dynamolocal

import "testing"

// The pattern every DynamoDB test package follows (see the package doc).
func TestMain(m *testing.M) {
	m.Run()
	Shutdown()
}
