package harness

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeouts of a server's life.
const (
	readyTimeout = 60 * time.Second // from the start until /readyz answers 200
	stopTimeout  = 30 * time.Second // from SIGTERM until the process has exited
	bindAttempts = 3                // starts on freshly picked ports when one was taken
)

// Options says how to run `schemagate serve`. The zero value is a server with an empty data
// directory of its own and the gateway's defaults.
type Options struct {
	// Name calls the server in failure messages and logs; default "schemagate".
	Name string
	// Binary is the binary to run; default the one RunWithBinary built.
	Binary string
	// DataDir is passed as --data-dir; default a fresh temporary directory. It is not passed
	// when StorageURL is set.
	DataDir string
	// ConfigFile, when set, is passed as --config.
	ConfigFile string
	// StorageURL, when set, is the store (SCHEMAGATE_STORAGE_URL) instead of SQLite under DataDir.
	StorageURL string
	// Env is added to the test process's environment.
	Env []string
	// Args are added after the flags the harness passes (--http-addr, --grpc-addr, --data-dir,
	// --config).
	Args []string
	// Dir is the working directory; default a fresh temporary directory, so that files the
	// server writes at relative paths (the governance document's default path) never land in
	// the source tree.
	Dir string
	// TLS, when set, is the client configuration /readyz is polled with over HTTPS: set it
	// when the server serves TLS.
	TLS *tls.Config
	// LogLimit, when above zero, keeps only the last LogLimit bytes of the process's log.
	LogLimit int
}

// Server is one run of `schemagate serve` on loopback ports.
type Server struct {
	// HTTPAddr and GRPCAddr are the host:port the server listens on.
	HTTPAddr, GRPCAddr string

	opts Options
	proc *process
}

// Start runs `schemagate serve` with opts on free loopback ports and returns once GET /readyz
// answers 200 OK (within 60 s). A process that exits first fails the test at once; one that exits
// because a picked port was taken meanwhile is started again on new ports, three attempts in
// all. When the test ends the process is killed if it still runs, and its log is shown if the
// test failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "schemagate"
	}
	if opts.DataDir == "" && opts.StorageURL == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	return start(t, opts, FreeAddr(t), FreeAddr(t))
}

// Restart runs the server again with the same options, data directory, working directory and
// ports, once its process has exited (after Stop or Kill), and returns the new run; s keeps the
// old run's log. Should a port have been taken meanwhile, it moves to new ones as Start does.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	if !s.proc.hasExited() {
		t.Fatalf("restart %s: it is still running; Stop or Kill it first", s.opts.Name)
	}
	return start(t, s.opts, s.HTTPAddr, s.GRPCAddr)
}

// start runs the server on the given addresses, and on new ones when a port was taken.
func start(t testing.TB, opts Options, httpAddr, grpcAddr string) *Server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s := &Server{HTTPAddr: httpAddr, GRPCAddr: grpcAddr, opts: opts}
		err := s.launch(t)
		switch {
		case err == nil:
			return s
		case !s.proc.portTaken():
			t.Fatalf("%v (its log is shown below)", err)
		case attempt == bindAttempts:
			t.Fatalf("%s: the picked ports were taken %d times in a row", opts.Name, bindAttempts)
		}
		httpAddr, grpcAddr = FreeAddr(t), FreeAddr(t)
	}
}

// launch starts the process and waits until it is ready.
func (s *Server) launch(t testing.TB) error {
	t.Helper()
	args := []string{"serve", "--http-addr", s.HTTPAddr, "--grpc-addr", s.GRPCAddr}
	if s.opts.StorageURL == "" {
		args = append(args, "--data-dir", s.opts.DataDir)
	}
	if s.opts.ConfigFile != "" {
		args = append(args, "--config", s.opts.ConfigFile)
	}
	bin := s.opts.Binary
	if bin == "" {
		bin = binaryPath(t)
	}
	cmd := exec.Command(bin, append(args, s.opts.Args...)...)
	cmd.Dir = s.opts.Dir
	cmd.Env = append(os.Environ(), s.opts.Env...)
	if s.opts.StorageURL != "" {
		cmd.Env = append(cmd.Env, "SCHEMAGATE_STORAGE_URL="+s.opts.StorageURL)
	}
	s.proc = startProcess(t, s.opts.Name, cmd, &Buffer{Max: s.opts.LogLimit})
	return s.proc.waitReady(s.URL()+"/readyz", s.opts.TLS, readyTimeout)
}

// Do sends an HTTP request to the server: path is appended to URL, body is sent as
// application/json, and token, when not empty, as a bearer token. It returns the status and the
// body, and fails the test when the request cannot be made. (A server that serves TLS is reached
// with http.DefaultClient, so Do is for plaintext servers.)
func (s *Server) Do(t testing.TB, method, path, token, body string) (int, string) {
	t.Helper()
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	return Do(t, method, s.URL()+path, header, body)
}

// Do sends an HTTP request to url with http.DefaultClient: body is sent as application/json,
// with header's fields added (an Authorization for another process than schemagate, such as
// srfake). It returns the status and the body, and fails the test when the request cannot be
// made.
func Do(t testing.TB, method, url string, header http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// URL is the base URL of the HTTP API: http://HTTPAddr, or https:// when Options.TLS is set.
func (s *Server) URL() string {
	if s.opts.TLS != nil {
		return "https://" + s.HTTPAddr
	}
	return "http://" + s.HTTPAddr
}

// PID is the process ID of this run.
func (s *Server) PID() int { return s.proc.cmd.Process.Pid }

// Log is the process's stdout and stderr so far (the last Options.LogLimit bytes when set).
func (s *Server) Log() string { return s.proc.log.String() }

// Stop sends SIGTERM and returns the exit error: nil when the process exited with status 0. A
// process still running 30 s later fails the test.
func (s *Server) Stop(t testing.TB) error {
	t.Helper()
	if err := s.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop %s: %v", s.opts.Name, err)
	}
	select {
	case <-s.proc.exited:
		return s.proc.err
	case <-time.After(stopTimeout):
		t.Fatalf("%s did not exit within %s of SIGTERM", s.opts.Name, stopTimeout)
		return nil
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if err := s.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", s.opts.Name, err)
	}
	<-s.proc.exited
}
