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
package storetest
