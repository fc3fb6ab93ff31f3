// Package browser tests the governance console at /ui/ in a real browser: headless Chromium
// (Debian's chromium, which `make deps` installs) driven with chromedp against a real
// `schemagate serve` started through tests/harness, and a real OpenID Provider for the OIDC
// sign-in. Every console page the tests visit is checked with axe-core (the npm package pinned
// in package.json, which `make deps` installs), and a failing test writes a screenshot of its
// tab and names the file in its log.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/schemagate/schemagate/tests/harness"
)

// axeFile is axe-core's browser build, relative to this package's directory.
const axeFile = "../../node_modules/axe-core/axe.min.js"

// suite is what every test of the package shares: one browser process (each test opens its
// own isolated browser context in it) and axe-core's source.
var suite struct {
	browser context.Context // a chromedp context whose browser is running
	axe     string
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run starts Chromium, runs the tests against the binary harness builds, and stops Chromium.
func run(m *testing.M) int {
	axe, err := os.ReadFile(axeFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "browser tests: axe-core is missing (%v): `make deps` installs the npm packages (npm ci)\n", err)
		return 1
	}
	suite.axe = string(axe)
	bin, err := chromiumBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser tests:", err)
		return 1
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin),
		chromedp.NoSandbox, // the tests run as root in CI, where Chromium's sandbox cannot start
		chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	// The first run starts the browser; it lives as long as this context.
	if err := chromedp.Do(browser); err != nil {
		fmt.Fprintf(os.Stderr, "browser tests: starting %s: %v\n", bin, err)
		return 1
	}
	suite.browser = browser
	return harness.RunWithBinary(m)
}

// chromiumBinary is $SCHEMAGATE_CHROMIUM, else chromium on PATH (Debian's package).
func chromiumBinary() (string, error) {
	if p := os.Getenv("SCHEMAGATE_CHROMIUM"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("chromium is not on PATH: `make deps` installs it (Debian package chromium), or set SCHEMAGATE_CHROMIUM")
	}
	return p, nil
}
