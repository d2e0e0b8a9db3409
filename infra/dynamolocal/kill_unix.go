//go:build unix

package dynamolocal

import (
	"os/exec"
	"syscall"
)

// killProcess kills the process group that configureProcess created.
func killProcess(cmd *exec.Cmd) {
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		_ = cmd.Process.Kill()
	}
}
