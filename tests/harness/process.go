package harness

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// logTail is how much of a process's log a failure message or a failed test shows.
const logTail = 64 << 10

// process is a started child process, waited for in the background, whose stdout and stderr go
// to one Buffer.
type process struct {
	name   string // how failure messages call it
	cmd    *exec.Cmd
	log    *Buffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // Wait's result, set before exited is closed
}

// startProcess starts cmd with its output in log. When the test ends the process is killed if it
// still runs, and its log is shown if the test failed.
func startProcess(t testing.TB, name string, cmd *exec.Cmd, log *Buffer) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, log: log, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s (pid %d) log:\n%s", name, cmd.Process.Pid, tail(log.String(), logTail))
		}
	})
	return p
}

// waitReady polls url until it answers 200 OK, over HTTPS with tlsConfig when that is set. It
// returns an error when the process exits first or when timeout passes.
func (p *process) waitReady(url string, tlsConfig *tls.Config, timeout time.Duration) error {
	tr := &http.Transport{TLSClientConfig: tlsConfig}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Second} // a later poll tries again
	return p.waitUntil("at "+url, timeout, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitUntil calls ready every 20 ms until it reports true. It returns an error when the process
// exits first or when timeout passes; where says in that error what was awaited ("at URL").
func (p *process) waitUntil(where string, timeout time.Duration, ready func() bool) error {
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if ready() {
			return nil
		}
		if p.hasExited() {
			return fmt.Errorf("%s exited before it was ready: %v", p.name, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready %s after %s", p.name, where, timeout)
		}
	}
}

// hasExited reports whether the process has exited and been waited for.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// portTaken reports whether the process exited because an address it was to listen on was in
// use: another process took a port between FreeAddr and the bind.
func (p *process) portTaken() bool {
	return p.hasExited() && strings.Contains(p.log.String(), "address already in use")
}

// kill sends SIGKILL, unless the process has exited, and waits for it to be gone.
func (p *process) kill() {
	if !p.hasExited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}
