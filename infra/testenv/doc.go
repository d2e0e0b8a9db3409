// Package testenv decides what a test does when a real component it needs
// (DynamoDB Local, headless Chromium, an S3 server, …) cannot be had.
//
// The project's rule: on a developer's machine such a test is skipped with a
// loud message; in CI (environment variable CI=true) it fails instead, so a
// missing install step can never hide behind a green run.
//
//	srv, err := startSomething()
//	testenv.Require(t, "Chromium", err)
//
// Because `go test ./...` hides the output of passing packages, a skip is also
// appended to the file named by SESAME_SKIP_LOG when that variable is set; the
// Makefile's test target prints that file at the end of the run.
package testenv
