// Package storetest is the conformance suite of sesame.Store: every
// implementation passes it with a one-line test.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) sesame.Store { return openMyStore(t) })
//	}
//
// The suite gives each case its own schools, so open may return one shared
// store. It covers the error contract of every method, seats (exhaustion,
// moves, releases, renewals, lapses, licence changes), user filters
// (membership, searches folded as sesame.Fold does), the journal (order,
// paging by cursor, time range, filters) and the seat usage (a max and a
// sum under a race of 32 goroutines), races of many goroutines with real
// time, and isolation between schools and years. Bench measures seat
// acquisition and release under contention, BenchListUsers the listing and
// searching of 10,000 users.
//
// RunSeatRaces races sign-ins, heartbeats, lapsed-lease takeovers, logouts,
// forced disconnections and licence changes through a store that may
// suffer faults (see infra/faults), checks the seat invariants while they
// run and after, and checks the recorded history for linearizability with
// porcupine against a sequential model of a pool (poolmodel.go); a failing
// history is written under .cache/porcupine/. RunClockSkew checks that a
// heartbeat read before a later admission cannot bring a lapsed lease back.
//
//	storetest.RunSeatRaces(t, storetest.FaultyStore{Store: faulty, Clean: direct}, storetest.DefaultRaces)
package storetest
