// Package dynamo implements sesame.Store on one DynamoDB table, declared in
// template.yaml: string keys PK and SK, a global index GSI1 on GSI1PK and
// GSI1SK (projection ALL), and the TTL attribute ttl.
//
//	client := dynamodb.NewFromConfig(cfg)            // the caller loads the AWS config
//	st, err := dynamo.New(client, os.Getenv("SESAME_TABLE"))
//	lease, err := st.OpenSession(ctx, s, sesame.SeatPolicy{Limit: 4, Lease: 3 * time.Minute}, now)
//
// # Item layout
//
// Items are partitioned by what is read together:
//
//	PK                          SK                 item
//	SCHOOL#<uai>                SCHOOL             school: name, currentYear
//	SCHOOL#<uai>                BASE#<year>        base: license{adminSeats, teacherSeats, consultation}, createdAt, version
//	BASE#<uai>#<year>           USER#<login key>   user (version)
//	BASE#<uai>#<year>           PROFILE#<id>       admin group, teacher or staff profile, space setting (version)
//	BASE#<uai>#<year>           IMPORT#<id>        import job (version; plan and report gzipped from 16 KiB)
//	SESSION#<id>                SESSION            session: uai, year, login, …, endReason/endedAt once ended;
//	                                               while open GSI1PK=SESSIONS#<uai>#<year>,
//	                                               GSI1SK=<createdAt, fixed width>#<id>
//	SEATS#<uai>#<year>#<pool>   HOLDER#<login key> lease: session, acquiredAt, expiresAt (unix ns)
//	SEATS#<uai>#<year>#<pool>   COUNT              n: the number of HOLDER items of the partition; v: changes
//
// ListBases is one Query of the school's partition, ListUsers a Query on
// begins_with(SK, "USER#"+prefix) (read on until the page is full, since the
// kind is a filter), ListSessions a Query of GSI1 confirmed by consistent
// reads, ListLeases a Query per pool partition. Times people read are RFC
// 3339 strings in UTC; times that conditions compare are Numbers of unix
// nanoseconds, so that a condition decides exactly as sesame.Lease.Live
// does. The ttl attribute (epoch seconds) only collects garbage: open
// sessions ExpiresAt+30 days, ended ones endedAt+30 days, HOLDER items
// expiresAt+1 day. Expiry is never left to it.
//
// # Seats
//
// One invariant carries admission: a pool's COUNT n equals the number of
// HOLDER items in its partition, live or lapsed, because every transaction
// that creates or deletes a HOLDER changes n (and bumps v) in the same
// TransactWriteItems. A newcomer's HOLDER is created only with
// "n < limit", so live holders ≤ HOLDER items < limit before it: no read
// decides alone, the condition does, against the now passed in. OpenSession
// reads the user's HOLDER (consistently) to choose one transaction:
//
//   - live: the lease moves. Update HOLDER if it still names the old
//     session and is live; end the old session (replaced, removed from
//     GSI1); Put the new session if absent. The count does not change.
//   - lapsed: a newcomer reusing the item. Update HOLDER if it still names
//     the old session and has lapsed; ConditionCheck COUNT n <= limit (n
//     counts this HOLDER); end the old session; Put the new one.
//   - none: Put HOLDER if absent; COUNT n = n+1 if n < limit (no condition
//     when unlimited); Put the session.
//
// A closed pool refuses without writing. When the COUNT condition fails the
// store reads the pool: lapsed HOLDER items of other users are deleted (each
// if unchanged and still lapsed) with n lowered in the same transaction, and
// the whole is tried again; if none lapsed and the live others fill the
// limit, it returns sesame.Exhausted, nothing written. The sessions whose
// lapsed HOLDER was reclaimed learn it at their next RenewSeat (ErrSeatLost).
// If the count is above the HOLDER items although none lapsed (the TTL
// deleted one), n is set to the number of HOLDER items, on condition that v
// did not change since n was read before the Query.
//
// RenewSeat extends a live HOLDER of its session with one conditional
// UpdateItem; a lapsed one is taken again with Transact[Update HOLDER if
// ours and lapsed; ConditionCheck COUNT n <= limit], or, when the pool is
// full, deleted with n-1 and the session ended as seat_lost in one
// transaction. EndSession ends the session and, if the HOLDER names it,
// deletes it with n-1, in one transaction. Transaction conflicts and lost
// races are tried again with jittered backoff, a bounded number of times
// (WithRetries). The cancellation reasons of a TransactionCanceledException
// tell which condition failed; this package translates them, and
// ConditionalCheckFailedException, into the domain's errors.
//
// # Ambiguous writes
//
// Every TransactWriteItems carries a fresh ClientRequestToken, so the SDK's
// own retries of a request whose answer was lost are idempotent. When a
// write still ends with an unknown outcome (a broken connection, a server
// error), the store tries again from a fresh read and recognises its own
// landed write: a HOLDER that already names the new session, a session
// already ended with this reason at this time. All conditions are on state,
// never on counts of attempts, so a repeated write cannot take a second seat
// or free one twice.
package dynamo
