//go:build unix && !linux

package dynamolocal

import (
	"os/exec"
	"syscall"
)

// configureProcess puts the JVM in its own process group, so that Stop can
// kill everything it started.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
