package dynamo_test

import (
	"testing"

	"github.com/sesame-ecole/sesame/infra/storetest"
)

// BenchmarkFindENTID is the shared ENT-identifier lookup benchmark (a base
// of 2,000 accounts) on DynamoDB Local: a Query of GSI1 and one
// consistent read.
func BenchmarkFindENTID(b *testing.B) {
	st, _, _ := open(b)
	storetest.BenchFindENTID(b, st)
}
