// Command srfake serves franz-go's in-memory Confluent Schema Registry (pkg/sr/srfake) over
// HTTP, so that tests can run an independently written Confluent API as a process of its own:
// the second real upstream registry of schemagate's upstream-mode tests, beside a `schemagate
// serve` in embedded mode. Tests start it with harness.StartSrfake; it is not shipped.
//
// Usage:
//
//	srfake [--addr 127.0.0.1:0] [--url-file PATH] [--bearer-token-file PATH | --username NAME --password-file PATH]
//
// It listens on --addr (port 0: a free port the kernel picks), then writes its base URL
// (http://host:port) to --url-file when one is given, atomically, and logs it on stderr. With
// credentials every request must carry exactly them in its Authorization header (401 without
// one, 403 with another). The registry lives in memory and is gone when the process exits.
// SIGTERM or SIGINT shuts it down gracefully: requests in flight finish (within 10 s) and it
// exits 0.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// shutdownTimeout bounds how long a shutdown waits for requests in flight.
const shutdownTimeout = 10 * time.Second

// options are the command line.
type options struct {
	addr            string // host:port to listen on
	urlFile         string // where to write the base URL; "" for nowhere
	bearerTokenFile string // a file holding the bearer token every request must carry
	username        string // with passwordFile: basic auth every request must carry
	passwordFile    string
}

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run parses args, serves until SIGTERM or SIGINT, and returns the exit status: 0 after a
// graceful shutdown, 1 when serving failed, 2 for a bad command line.
func run(args []string, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "srfake:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, opts, logger); err != nil {
		logger.Error("srfake failed", "error", err)
		return 1
	}
	return 0
}

// parseFlags reads the command line.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("srfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "`host:port` to listen on; port 0 picks a free one")
	fs.StringVar(&o.urlFile, "url-file", "", "write the base URL (http://host:port) to this `file` once listening")
	fs.StringVar(&o.bearerTokenFile, "bearer-token-file", "", "require the bearer token held in this `file`")
	fs.StringVar(&o.username, "username", "", "require HTTP basic auth with this user `name` (and --password-file)")
	fs.StringVar(&o.passwordFile, "password-file", "", "the basic auth password held in this `file`")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.bearerTokenFile != "" && o.username != "":
		return o, errors.New("--bearer-token-file and --username exclude each other")
	case (o.username == "") != (o.passwordFile == ""):
		return o, errors.New("--username and --password-file go together")
	}
	return o, nil
}

// authorization returns the Authorization header value every request must carry, "" for none.
// Secret files are read without their trailing newline, as schemagate reads its own.
func authorization(o options) (string, error) {
	switch {
	case o.bearerTokenFile != "":
		token, err := readSecret(o.bearerTokenFile)
		return "Bearer " + token, err
	case o.username != "":
		password, err := readSecret(o.passwordFile)
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(o.username+":"+password)), err
	}
	return "", nil
}

// readSecret returns the content of the file at path without its trailing line breaks.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}

// serve listens, announces the URL and serves the fake registry until ctx ends, then shuts
// down gracefully.
func serve(ctx context.Context, o options, logger *slog.Logger) error {
	auth, err := authorization(o)
	if err != nil {
		return err
	}
	var regOpts []srfake.Option
	if auth != "" {
		regOpts = append(regOpts, srfake.WithAuth(auth))
	}
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: srfake.NewRegistry(regOpts...).Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	url := "http://" + l.Addr().String()
	if o.urlFile != "" {
		if err := writeAtomically(o.urlFile, url+"\n"); err != nil {
			_ = srv.Close()
			return err
		}
	}
	logger.Info("serving the Confluent Schema Registry API", "url", url, "auth", auth != "")

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeAtomically writes content to path through a temporary file beside it, so a reader
// polling for path never sees it half written.
func writeAtomically(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
