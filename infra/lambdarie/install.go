package lambdarie

import (
	"context"
	"errors"
	"os/exec"
	"runtime"

	"github.com/sesame-ecole/sesame/infra/localtool"
)

// Emulator is the pinned Lambda Runtime Interface Emulator.
var Emulator = localtool.Tool{
	Name:    "aws-lambda-rie",
	Module:  "github.com/aws/aws-lambda-runtime-interface-emulator",
	Package: "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie",
	Version: "v0.0.0-20261030222936-bef5c4ba774d",
}

// InstallEmulator returns the path of the pinned RIE in the project's
// cache (.cache/bin), building it first when needed (about 30 s).
func InstallEmulator(ctx context.Context) (string, error) {
	dir, err := localtool.BinDir()
	if err != nil {
		return "", err
	}
	return Emulator.Install(ctx, dir)
}

// Qemu returns the command that runs an arm64 binary on this machine:
// none on arm64, otherwise qemu-aarch64 (Debian's qemu-user; no binfmt
// registration is needed, it is named on the command line).
func Qemu() (string, error) {
	if runtime.GOARCH == "arm64" {
		return "", nil
	}
	q, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		return "", errors.New("lambdarie: qemu-aarch64 (apt-get install qemu-user) is needed to run arm64 functions: " + err.Error())
	}
	return q, nil
}
