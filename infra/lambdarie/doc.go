// Package lambdarie runs the Lambda functions as they are deployed: the
// arm64 bootstrap that `make build-<LogicalId> ARTIFACTS_DIR=…` writes (what
// `sam build` zips), under the AWS Lambda Runtime Interface Emulator (RIE),
// through qemu-aarch64 on a non-arm64 machine, with the environment
// template.yaml gives the function.
//
// RIE is installed from its pinned module version into .cache/bin
// ([Emulator]); artifacts are built once per source state into
// .cache/lambda ([BuildArtifact]). An [Instance] is one RIE process: it
// serves one invocation at a time (concurrent calls crash RIE with a
// nil-pointer panic), so Invoke serialises calls, and an invocation whose
// caller stops waiting runs to its end before the next; run several
// instances for concurrency. An instance whose RIE has exited is started
// again at its next call, as Lambda replaces a dead execution environment;
// an invocation over the function's timeout is a [FunctionError] of type
// [TimedOut].
//
// Tests use [Start] (install, build, start, stop at cleanup), which skips
// loudly on a developer's machine when RIE or qemu is missing and fails
// under CI=true (testenv.Require).
package lambdarie
