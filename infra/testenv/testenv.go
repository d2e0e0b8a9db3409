package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// SkipLogEnv names the environment variable holding the path of a file to
// which every skip decided by [Require] is appended, one line each.
const SkipLogEnv = "SESAME_SKIP_LOG"

// InCI reports whether the environment variable CI is set to a true value
// ("true", "1", …), as CI services and the project's .ci/run do.
func InCI() bool { return inCI(os.Getenv) }

func inCI(getenv func(string) string) bool {
	v, err := strconv.ParseBool(strings.TrimSpace(getenv("CI")))
	return err == nil && v
}

// Require does nothing when err is nil. Otherwise the component named by what
// is unavailable: in CI (see [InCI]) the test fails with tb.Fatal; elsewhere
// it is skipped with tb.Skip and a loud French message. Either way Require
// does not return to the caller when err is non-nil (for a real testing.TB).
func Require(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if InCI() {
		tb.Fatalf("%s indisponible en CI (CI=true) : %v", what, err)
		return
	}
	msg := fmt.Sprintf("!!! %s indisponible : %v — tests %s SAUTÉS (ils échoueraient avec CI=true)", what, err, what)
	logSkip(tb.Name(), msg)
	tb.Skip(msg)
}

// logSkip appends one line to the file named by SkipLogEnv, if any. Errors are
// ignored: the skip itself is what matters.
func logSkip(test, msg string) {
	path := os.Getenv(SkipLogEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	line := strings.ReplaceAll(test+": "+msg, "\n", " ") + "\n"
	_, _ = f.WriteString(line) // one small O_APPEND write: lines from parallel test processes do not interleave
}
