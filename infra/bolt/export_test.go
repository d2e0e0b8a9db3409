package bolt

import "time"

// SetSyncing runs f in every commit of a batch answered early, between
// the early answers and the commit (see group.syncing): tests hold the
// commit there, as a slow sync would. Set it before the store is used.
func SetSyncing(s *Store, f func() error) { s.group.syncing = f }

// SetHoldFor sets how long a transaction of heartbeats is held open at
// most (see group). Set it before the store is used.
func SetHoldFor(s *Store, d time.Duration) { s.group.holdFor = d }
