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
//	                                               GSI1SK=<createdAt, fixed width>#<id>; the stamp of its
//	                                               idle setting: idleOn, idleAfter, idleLimit, idleDeadline,
//	                                               idleUntil, expiresAtNs (unix ns); with a seat, leaseUntil
//	                                               (unix ns): the end of its lease, the one authority;
//	                                               renewedBy: the token of its last heartbeat or renewal
//	SEATS#<uai>#<year>#<pool>   HOLDER#<login key> seat: session (which holds it), acquiredAt (unix ns)
//	SEATS#<uai>#<year>#<pool>   COUNT              n: the number of HOLDER items of the partition; v: changes
//	JOURNAL#<uai>#<year>        <entry ID>         journal entry: at, event, actor, subject (and their login
//	                                               keys actorKey, subjectKey), …, expiresAt; ttl
//	USAGE#<uai>#<year>          <day>#<pool>       seat usage of a day: peak (only grows), refused (adds up)
//	USAGE#<uai>#<year>          <day>#<pool>#<nn>  sign-ins without a seat, shard nn of 16 (by session ID): signIns (adds up)
//
// A user item also holds search, its sesame.User.SearchText (folded login
// and display name), rewritten by every write of the user.
//
// ListBases is one Query of the school's partition, ListUsers a Query on
// begins_with(SK, "USER#"+prefix) filtered on the kind, the membership
// (adminGroup or profile) and contains(search, word) for each folded word
// of the search, then checked by sesame.User.Matches; it reads on until
// the page is full, with a Limit that doubles at each further Query while
// a filter holds, so that a search that keeps few users costs a few round
// trips, not one per page. ListJournal is a Query of the journal's
// partition read backwards (ScanIndexForward false), its sort key between
// the time range's IDs and below the cursor, filtered likewise on the
// event types and the login keys, then checked by
// sesame.JournalEntry.Matches. ReadSession, which every request under a
// session makes, is one consistent BatchGetItem of the session, its user,
// its base and its profile (the one the session names, or a space's
// setting) where the token says they lie (sesame.SessionNear), the session
// then checked to lie there; without that, or when it lies elsewhere, a
// consistent GetItem of the session, then one BatchGetItem of the rest.
// ReadSignIn is one consistent BatchGetItem of the school, the throttling
// counters, and, in the year asked for or guessed, the base, the user, the
// space's setting and, for a leased pool, the user's HOLDER, the pool's
// COUNT and the day's usage (a second one when the guess was wrong). ListUsage is a Query between "<from>" and
// "<to>$". ListSessions is a Query of GSI1 confirmed by consistent reads,
// ListLeases a Query per pool partition, a BatchGetItem of the sessions
// its HOLDER items name (their leaseUntil says which are live), and the
// Query again, until the pool held still between the two (a seat that
// moved meanwhile is neither missed nor counted twice). Every read that decides or lists
// is strongly consistent. Times people read are RFC 3339 strings in UTC;
// times that conditions compare are Numbers of unix nanoseconds, so that a
// condition decides exactly as sesame.Lease.Live does. The ttl attribute
// (epoch seconds) only collects garbage: open sessions ExpiresAt+30 days,
// ended ones endedAt+30 days, HOLDER items 1 day after the latest their
// session's lease may end (its absolute end plus a lease), journal
// entries their ExpiresAt (none when it is zero). Expiry is never left to
// it, and Collect does nothing: the table's TTL removes expired journal
// entries within days, and until then ListJournal may still show them, as
// sesame.Store allows.
//
// AppendJournal is the transaction that creates every content item
// (ConditionCheck the base exists; Put if absent). NoteUsage is one or two
// single-item writes, each atomic on its own, so that any number of
// concurrent notes add up exactly: UpdateItem "ADD refused :n" when the
// note has refusals (or nothing at all, so that the day shows), and
// UpdateItem "SET peak = :held" on condition
// "attribute_not_exists(peak) OR peak < :held" when it holds seats, whose
// failed condition means the peak is already as high (the max wanted) and
// is no error. Unlike the bolt store it does not read the base first: a
// note for a missing base is stored all the same (the service notes usage
// only after an admission in the base). The ADD is the one write of this
// package that is not idempotent: if its answer is lost and the SDK sends
// it again, a refusal may count twice, which statistics can bear.
// DeleteProfile is a DeleteItem conditional on the version.
//
// # Seats
//
// A seat is two items: the pool's HOLDER of the login, which says which
// session holds it, and that session's leaseUntil, which says until when.
// The lease's end lives on the session so that a heartbeat, which writes
// the session anyway, renews the seat in the same single UpdateItem. A
// HOLDER is live at now when its session exists, is open, and has
// leaseUntil >= now; every read that judges holders (an admission into a
// full pool, a listing) reads their sessions in one consistent
// BatchGetItem.
//
// One invariant carries admission: a pool's COUNT n equals the number of
// HOLDER items in its partition, live or lapsed, because every transaction
// that creates or deletes a HOLDER changes n (and bumps v) in the same
// TransactWriteItems. A newcomer's HOLDER is created only with
// "n < limit", so live holders ≤ HOLDER items < limit before it: no read
// decides alone, the condition does, against the now passed in. A second
// one ties the two items: an open session whose leaseUntil is not 0 is
// named by its login's HOLDER, since every write that takes a HOLDER from
// a session ends that session or sets its leaseUntil to 0 in the same
// transaction; so a heartbeat that finds its own lease live may extend it
// without reading the HOLDER.
//
// OpenSession reads the user's HOLDER and the pool's COUNT in one
// consistent BatchGetItem (the COUNT read, plus one for a newcomer, is the
// lease's Held, which the seat usage notes: no Query of the pool) and,
// when there is a HOLDER, its session (a GetItem), to choose one
// transaction; AdmitSession's first try takes the HOLDER and the COUNT
// from the sign-in's ReadSignIn instead (a read that guides; the
// conditions decide), and its transaction also deletes the throttling
// counters, puts the journal entry if absent and, when Held is above the
// day's usage peak read, raises the peak on condition
// "attribute_not_exists(peak) OR peak < :held" (failing, the transaction
// is tried again without it). The new session is put with its leaseUntil:
//
//   - live: the lease moves. Update HOLDER if it still names the old
//     session; end the old session (replaced, removed from GSI1) if its
//     lease is still live; Put the new session if absent. The count does
//     not change.
//   - lapsed: a newcomer reusing the item. Update HOLDER if it still names
//     the old session; ConditionCheck COUNT n <= limit (n counts this
//     HOLDER); end the old session if its lease is still lapsed; Put the
//     new one.
//   - none: Put HOLDER if absent; COUNT n = n+1 if n < limit (no condition
//     when unlimited); Put the session.
//
// A closed pool refuses without writing. When the COUNT condition fails
// the store reads the pool (the COUNT, a Query of its HOLDER items, a
// BatchGetItem of their sessions) and reclaims the lapsed seats of other
// users: each HOLDER deleted if it still names its session, that session
// updated to leaseUntil = 0 on condition that its lease is still lapsed
// at now, and n lowered, in one transaction (49 seats at most each); then
// the whole is tried again. If none lapsed and the live others fill the
// limit, it returns sesame.Exhausted, nothing written. A heartbeat that
// lands before the reclaim fails the reclaim's condition; one that lands
// after finds leaseUntil = 0, below any now, even one read before the
// reclaim's, and declines (a ConditionCheck in place of that update would
// let such a late heartbeat extend a lease whose seat is gone). The
// sessions whose seat was reclaimed learn it at their next RenewSeat
// (ErrSeatLost, or the seat taken again if the pool admits them). If the
// count is above the HOLDER items although none lapsed (the TTL deleted
// one), n is set to the number of HOLDER items, on condition that v did
// not change since n was read before the Query.
//
// BeatStamped, a heartbeat's fast path, reads nothing: one UpdateItem of
// the session with ReturnValues ALL_NEW, on condition that it is open,
// that sesame.Session.Heartbeat under its stamped setting goes on, and
// that its lease is live (leaseUntil >= now, or pool "" for a session
// without a seat); it sets leaseUntil = now + lease with the activity.
// Conditions do no arithmetic, so the item keeps what they compare as
// numbers: idleDeadline = last activity + idleLimit (the setting's
// duration, or 2^62 ns when it is off), kept by every write of the
// activity (AdmitSession writes the stamp the sign-in gives the new
// session, TouchSession writes the whole stamp, BeatStamped SETs
// idleDeadline = idleLimit + :activity), and the condition is idleUntil >
// now (the stamp stands), expiresAtNs > now, idleDeadline > now (step 1)
// and idleLimit > the idle reported (step 3). A failed condition is
// sesame.ErrNotStamped, and the service takes the full path. BeatSession,
// the full path's write, is one UpdateItem too: TouchSession's (tried
// again after an unknown outcome: it holds again once landed), which for a
// seat also sets leaseUntil = now + lease on condition that it is live; a
// lapsed, lost or moved seat has the activity stored alone, then
// RenewSeat.
//
// RenewSeat extends a live lease with one UpdateItem of the session
// (leaseUntil = now + lease if open and leaseUntil >= now). Otherwise it
// reads the HOLDER. Still the session's, the lapsed lease is taken again
// with Transact[Update HOLDER if it names the session; Update the
// session's leaseUntil if open and still lapsed; ConditionCheck COUNT n <=
// limit], or, when the pool is full, the HOLDER is deleted with n-1 and
// the session ended as seat_lost (if still lapsed) in one transaction.
// Reclaimed, the session comes back as a newcomer: Transact[Put HOLDER if
// absent; COUNT n+1 if n < limit; Update the session's leaseUntil if open
// and still lapsed]. EndSession ends the session and, if the HOLDER names
// it, deletes it with n-1, in one transaction (a HOLDER that names an
// ended session, taken again between that read and the write, is lapsed:
// the next reclaim frees it). Transaction conflicts and lost races are tried
// again with jittered backoff, a bounded number of times (WithRetries).
// The cancellation reasons of a TransactionCanceledException tell which
// condition failed; this package translates them, and
// ConditionalCheckFailedException, into the domain's errors.
//
// Sessions opened by a build without leaseUntil have none: their seats
// read as lapsed, and their next heartbeat takes them again through
// RenewSeat when the pool admits it.
//
// # Ambiguous writes
//
// A write whose answer is lost (a broken connection, a reply cut short, a
// server error) may or may not have landed. Two layers meet it, and the
// store must recognise its own landed write through both:
//
//   - The SDK sends the same request again, invisibly. Every
//     TransactWriteItems carries a ClientRequestToken, so a transaction
//     sent again after it landed succeeds without applying twice. A single
//     UpdateItem or PutItem has no token: sent again after it landed, it
//     fails its own condition, and the store sees a ConditionalCheckFailed
//     for a write that is in fact its own.
//   - The store tries again itself after an error that leaves the outcome
//     unknown, up to 10 times in a row, from a fresh read.
//
// So every call that creates or ends a session writes a token of its own,
// drawn once per call: createdBy on the session it creates, endedBy on the
// session it ends (a move keeps the first end's). When a condition fails,
// the store reads the session and recognises its own write by that token,
// whichever layer tried again: an OpenSession answers the lease it got, an
// EndSession the session it ended, a RenewSeat that ended its session
// ErrSeatLost. A second call with the same arguments has another token, so
// it still gets ErrExists or ErrSessionEnded, as the contract says. Every
// write of a lease or of a heartbeat (an extension, a lease taken again, a
// readmission, BeatStamped's and BeatSession's writes) likewise sets
// renewedBy to its call's token: their conditions hold again after they
// landed (the next try finds the lease live and extends it), unless the
// session changed meanwhile (another call ended it), and then the token on
// the session says that the call's own write came first, which is its
// answer. The count's repair and the reclaim need no token (their
// conditions fail after they landed, and the caller looks again). All conditions are on state, never
// on counts of attempts, so a write sent twice never takes a second seat
// nor frees one twice: a HOLDER's Put is conditional on its absence and
// changes n in the same transaction, its Delete on naming the session.
//
// A refusal is not ambiguous: throttling (which the SDK's retries did not
// absorb) and transaction conflicts are tried again after a jittered pause,
// and reads are tried again after a broken connection or a cut reply, which
// the SDK does not always retry. The domain's answers are never taken for
// an unknown outcome. Where two conditions fail at once the answer is the
// one that a sequential store would give: a session that ended answers
// ErrSessionEnded rather than ErrLicenseChanged.
//
// The races of infra/storetest (RunSeatRaces) run this through a proxy that
// cuts replies and resets connections, and a client that drops the answers
// of landed writes and answers conflicts and throttling; they check the
// invariants and the linearizability of the history.
package dynamo
