package localtool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a server process started by [StartProcess]: in its own
// process group, killed with the process that started it.
type Process struct {
	cmd     *exec.Cmd
	Output  *TailBuffer
	exited  chan struct{}
	waitErr error
	stop    sync.Once
}

// StartProcess starts cmd, its output kept in a TailBuffer of max bytes,
// and waits up to timeout until addr accepts connections. ctx bounds the
// start only.
func StartProcess(ctx context.Context, cmd *exec.Cmd, addr string, max int, timeout time.Duration) (*Process, error) {
	p := &Process{cmd: cmd, Output: &TailBuffer{Max: max}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Output, p.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start (%v):\n%s", cmd.Path, p.waitErr, p.Output.String())
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s did not listen on %s within %v:\n%s", cmd.Path, addr, timeout, p.Output.String())
		}
	}
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Stop kills the process group and waits for the process. Safe to call
// more than once.
func (p *Process) Stop() {
	p.stop.Do(p.Kill)
}

// FreeAddrs returns n loopback addresses (127.0.0.1:port) free a moment
// ago.
func FreeAddrs(n int) ([]string, error) {
	var addrs []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// Kill kills the process group and waits for the process, as Stop does,
// for a test that makes the process die.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}
