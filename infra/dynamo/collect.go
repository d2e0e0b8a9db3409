package dynamo

import (
	"context"
	"time"
)

// Collect does nothing: on DynamoDB every session, lease and counter
// carries a ttl attribute, and the table's TTL removes it in the
// background. That is garbage collection only: no rule reads ttl.
func (s *Store) Collect(ctx context.Context, before time.Time) (int, error) { return 0, nil }
