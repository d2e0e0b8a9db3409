package storetest

import "testing"

// Run runs the whole conformance suite against the store open returns.
func Run(t *testing.T, open Opener) {
	t.Run("Bases", func(t *testing.T) { testBases(t, open) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("UserSearch", func(t *testing.T) { testUserSearch(t, open) })
	t.Run("Profiles", func(t *testing.T) { testProfiles(t, open) })
	t.Run("Journal", func(t *testing.T) { testJournal(t, open) })
	t.Run("Usage", func(t *testing.T) { testUsage(t, open) })
	t.Run("Imports", func(t *testing.T) { testImports(t, open) })
	t.Run("WriteImport", func(t *testing.T) { testWriteImport(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Seats", func(t *testing.T) { testSeats(t, open) })
	t.Run("BeatStamped", func(t *testing.T) { testBeatStamped(t, open) })
	t.Run("LicenseChanges", func(t *testing.T) { testLicenseChanges(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("Providers", func(t *testing.T) { testProviders(t, open) })
}
