// Package bolt implements sesame.Store, and with the throttling counters and
// secrets sesame.Backend, on an embedded bbolt file: the storage of the
// single server ("non hébergé"), of developers and of demos.
//
//	st, err := bolt.Open("./data/sesame.db") // parent folders are created
//	if err != nil {
//		// another process holding the file gets, after a timeout, an error
//		// matching bolt.ErrLocked whose French message says so
//		// (sesame.ErrorMessage(err)).
//		return err
//	}
//	defer st.Close()
//	lease, err := st.OpenSession(ctx, s, sesame.SeatPolicy{Limit: 4, Lease: 3 * time.Minute}, now)
//
// # Transactions
//
// Every method runs in one bbolt transaction (db.Update or db.View). The
// writes many requests make at once (BeatSession, a heartbeat's activity
// and renewal; BeatStamped, a heartbeat's fast path, which judges with
// sesame.Session.Heartbeat under the session's stamped setting inside
// that write and writes nothing when it declines; AdmitSession; the throttling counters; the journal and the
// seat usage) go through the store's group commit (group.go): a write
// that finds no commit under way commits at once, those that arrive
// meanwhile commit together in one transaction and one sync as soon as it
// ends, and a failed one runs again alone; so each such write decides
// everything inside its transaction, and may run twice. BeatStamped alone
// is answered once it ran in the write transaction, before the commit and
// its sync end, and a transaction of heartbeats alone is held open a few
// milliseconds for more of them; until its commit the reads of those
// sessions, and the listings of sessions and leases, wait for it
// (viewSettled), and every other write runs after it (bbolt's writer lock;
// each hurries a transaction held open). bbolt
// runs one write transaction at a time, so a seat decision reads every lease
// of the pool inside the write transaction that writes the outcome, and
// decides with sesame.Admission: it is exact, with no retry. A refusal
// (sesame.Exhausted) writes nothing. When a result must be committed and
// still reported as an error (RenewSeat ending a session with seat_lost),
// the transaction commits and the error is returned after it. A failed
// transaction leaves nothing, so no bolt write is ambiguous (but for a
// heartbeat answered before a commit that then fails: its renewal is lost,
// which only makes the lease lapse early; see group.go): the fault
// races (storetest.RunSeatRaces) fail transactions before they begin and
// at their commit (WithTxHook) and check that each failure changed
// nothing.
//
// # Layout
//
// Top-level buckets:
//
//	schools                 UAI → school
//	sessions                session ID (TokenID) → session, open or ended
//	attempts                throttling key → failed sign-in counter
//	secrets                 name → the secret's bytes (raw, not JSON)
//	bases                   one nested bucket per base, named "UAI/YEAR"
//	  meta                  (a key) → base: licence, creation, version
//	  users                 login key (sesame.LoginKey) → user
//	  profiles              profile ID → admin group, profile or space setting
//	  imports               import job ID → import job
//	  seats                 one nested bucket per pool ("admin-modify"…)
//	    <pool>              login key → lease (one per user per pool)
//	  sessions              index of the base's open sessions: ID → 0x01
//	  journal               entry ID (sesame.JournalID of At, then a suffix) → journal entry
//	  journal-expiry        JournalID(ExpiresAt) + entry ID → entry ID: what Collect seeks
//	  usage                 "<day>#<pool>" → the day's peak, refusals and seat-less sign-ins in the pool
//
// The journal, journal-expiry and usage buckets are created by the first
// write that needs them, so bases made before they existed work unchanged;
// a missing one reads as empty. ListJournal walks the journal backwards
// from its upper bound; ListUsers and ListJournal filter with
// sesame.User.Matches and sesame.JournalEntry.Matches, the one definition
// of their filters. NoteUsage reads and writes the usage record inside one
// write transaction, which makes the peak's max and the refusals' sum
// exact under any concurrency.
//
// A base bucket counts as a base only when it holds its meta key. Bases of
// a school are listed by seeking "UAI/" in bases; years ("2026-2027") sort
// as text in time order. A lease is live while now ≤ ExpiresAt; lapsed
// leases never count, and an admission (a newcomer's sign-in, a lapsed
// lease taken again) deletes the other users' leases that have lapsed at
// its now. Each call's now is read before it waits for the write lock, so
// a heartbeat can commit after an admission with a later now; had the
// lapsed lease it renews stayed, it would come back live beside the
// newcomer that took its place, one above the limit. Cleared, it comes
// back only as a newcomer, admitted if the pool has room (the same rule as
// infra/dynamo's reclaim; storetest.RunClockSkew checks it). The
// open-session index is updated in the
// transaction that opens or ends a session, so ListSessions reads only the
// base's open sessions.
//
// Values are JSON written from small private records (records.go,
// journal.go), so the domain types carry no storage tags. Times are stored
// in UTC with their nanoseconds (RFC 3339), durations in nanoseconds, and
// read back in UTC.
// What a session check reads (the session, its base's record, the user,
// the space's profile) is decoded once for the same stored bytes
// (decoded.go): the bytes are compared whole with those last decoded or
// written.
package bolt
