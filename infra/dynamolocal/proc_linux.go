package dynamolocal

import (
	"os/exec"
	"syscall"
)

// configureProcess puts the JVM in its own process group, so that Stop can
// kill everything it started, and asks Linux to kill it if the thread that
// started it dies (a test binary that panics or times out never runs its
// cleanups; the JVM must not outlive it).
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
