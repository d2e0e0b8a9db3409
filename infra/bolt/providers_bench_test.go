package bolt_test

import (
	"testing"

	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

// BenchmarkFindENTID is the shared ENT-identifier lookup benchmark (a base
// of 2,000 accounts) on a bbolt file: a scan of the base's users.
func BenchmarkFindENTID(b *testing.B) { storetest.BenchFindENTID(b, openTemp(b, bolt.WithNoSync())) }
