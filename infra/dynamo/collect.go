package dynamo

import (
	"context"
	"time"
)

// Collect does nothing: on DynamoDB every session, lease, counter and
// journal entry (from its ExpiresAt) carries a ttl attribute, and the
// table's TTL removes it in the background. That is garbage collection
// only: no rule reads ttl.
func (s *Store) Collect(ctx context.Context, now time.Time, keep time.Duration) (int, error) {
	return 0, nil
}
