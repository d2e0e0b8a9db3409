package faults

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// SeedEnv names the variable that replays a run's faults: the seed its log
// printed.
const SeedEnv = "SESAME_FAULT_SEED"

// Seed returns the seed of a test's faults: SESAME_FAULT_SEED when set,
// the time otherwise. It logs it, so that a failing run can be replayed.
func Seed(tb testing.TB) uint64 {
	tb.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(SeedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			tb.Fatalf("%s=%q: %v", SeedEnv, v, err)
		}
		seed = s
	}
	tb.Logf("faults: seed %d (replay with %s=%d)", seed, SeedEnv, seed)
	return seed
}
