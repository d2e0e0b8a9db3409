// Package stores runs a test once on each store the product ships: a bbolt
// file and a DynamoDB table on DynamoDB Local (skipped loudly on a
// developer's machine without Java or npm, a failure under CI=true).
//
//	func TestX(t *testing.T) {
//		stores.Each(t, func(t *testing.T, st sesame.Backend) { … })
//	}
//
// A package using it calls dynamolocal.Shutdown after m.Run in its TestMain.
package stores

import (
	"path/filepath"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
)

// Each runs f as subtests "bolt" and "dynamo", each on a new, empty store.
func Each(t *testing.T, f func(t *testing.T, st sesame.Backend)) {
	t.Run("bolt", func(t *testing.T) { f(t, Bolt(t)) })
	t.Run("dynamo", func(t *testing.T) { f(t, Dynamo(t)) })
}

// Bolt opens a bbolt file in a temporary folder, closed at the test's end.
func Bolt(t testing.TB) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Dynamo opens a store on a new table of DynamoDB Local, created from
// template.yaml and deleted at the test's end. Its ttl values count from
// the real time (dynamo.WithTTLClock): DynamoDB Local deletes within
// seconds an item whose ttl has passed, such as a journal entry written
// by a test whose clock runs in the past.
func Dynamo(t testing.TB) *dynamo.Store {
	t.Helper()
	client, table := dynamolocal.NewTable(t)
	st, err := dynamo.New(client, table, dynamo.WithTTLClock(sesame.SystemClock{}))
	if err != nil {
		t.Fatal(err)
	}
	return st
}
