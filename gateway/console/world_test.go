package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/store/storetest"
)

// The principals of the test world, each signing in with its name as its token, except
// passwordUser, who signs in with a password.
const (
	admin        = "admin"
	lead         = "lead"         // governance lead on every subject
	grantedLead  = "granted-lead" // governance lead on granted-* only
	producer     = "producer"     // granted-* only
	oncall       = "oncall"
	author       = "author"
	passwordUser = "pat"
	password     = "correct horse battery staple"
)

// Subjects of the test world: a lead granted only granted-* cannot act on otherSubject.
const (
	grantedSubject = "granted-value"
	otherSubject   = "other-value"
)

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// principals is the auth.principals of the world.
func principals(t testing.TB) []auth.PrincipalConfig {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	granted := []string{"granted-*"}
	return []auth.PrincipalConfig{
		{Name: admin, Roles: []string{"admin"}, TokenSHA256: tokenHash(admin)},
		{Name: lead, Roles: []string{"governance-lead"}, TokenSHA256: tokenHash(lead)},
		{Name: grantedLead, Roles: []string{"governance-lead"}, TokenSHA256: tokenHash(grantedLead), Subjects: granted},
		{Name: producer, Roles: []string{"producer"}, TokenSHA256: tokenHash(producer), Subjects: granted},
		{Name: oncall, Roles: []string{"oncall"}, TokenSHA256: tokenHash(oncall)},
		{Name: author, Roles: []string{"author"}, TokenSHA256: tokenHash(author)},
		{Name: passwordUser, Roles: []string{"producer"}, PasswordBcrypt: string(hash)},
	}
}

// clock is the injected clock of session expiry: a start plus an offset that tests advance.
type clock struct {
	start  time.Time
	offset atomic.Int64
}

func (c *clock) Now() time.Time { return c.start.Add(time.Duration(c.offset.Load())) }

func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// world is a real gateway with the test principals.
type world struct {
	g     *gateway.Gateway
	cfg   gateway.Config
	clock *clock
	base  string
	conn  *grpc.ClientConn
}

// startWorld starts a gateway on loopback with a fresh store, after edit changed its config.
func startWorld(t *testing.T, edit func(*gateway.Config)) *world {
	t.Helper()
	cfg := gateway.DefaultConfig()
	cfg.Server.HTTPAddr, cfg.Server.GRPCAddr, cfg.Server.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.Governance.DocPath = filepath.Join(t.TempDir(), "governance.md")
	if storetest.Backend() == "postgres" {
		cfg.Storage.URL = storetest.URL(t)
	}
	cfg.Auth.Principals = principals(t)
	// A subject is eligible once one valid payload is counted in a bucket after its
	// registration.
	cfg.Governance.CleanWindow, cfg.Governance.MinValidations = time.Millisecond, 1
	cfg.Governance.EvidenceBucket, cfg.Governance.EvidenceFlushInterval = time.Second, 20*time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	clk := &clock{start: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithCancel(context.Background())
	g, err := gateway.New(ctx, gateway.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Now: clk.Now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	conn, err := grpc.NewClient(g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &world{g: g, cfg: cfg, clock: clk, base: "http://" + g.HTTPAddr(), conn: conn}
}

// as is a gRPC context with principal's token.
func as(t testing.TB, principal string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+principal)
}

// seed registers both subjects with an owner and validates a payload on each until it is
// eligible for promotion.
func (w *world) seed(t *testing.T) {
	t.Helper()
	reg, gov, val := pb.NewRegistryServiceClient(w.conn), pb.NewGovernanceServiceClient(w.conn), pb.NewValidationServiceClient(w.conn)
	for _, subject := range []string{grantedSubject, otherSubject} {
		for _, field := range []string{"id", "id2"} {
			schema := `{"type":"record","name":"R","fields":[{"name":"id","type":"string"}`
			if field == "id2" {
				schema += `,{"name":"id2","type":"string","default":""}`
			}
			if _, err := reg.RegisterSchema(as(t, admin), &pb.RegisterSchemaRequest{Subject: subject, SchemaType: pb.SchemaType_SCHEMA_TYPE_AVRO, Schema: schema + `]}`}); err != nil {
				t.Fatalf("register %s: %v", subject, err)
			}
		}
		if _, err := gov.SetSubjectOwner(as(t, admin), &pb.SetSubjectOwnerRequest{Subject: subject, Team: "team-" + subject}); err != nil {
			t.Fatal(err)
		}
		payload, _ := structpb.NewValue(map[string]any{"id": "x", "id2": "y"})
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, err := val.Validate(as(t, admin), &pb.ValidateRequest{Subject: subject, Json: payload}); err != nil {
				t.Fatal(err)
			}
			st, err := gov.GetSubjectStatus(as(t, admin), &pb.GetSubjectStatusRequest{Subject: subject})
			if err != nil {
				t.Fatal(err)
			}
			if st.GetStatus().GetEligible() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not eligible after 15s: %v", subject, st.GetStatus().GetReasons())
			}
		}
	}
}

// status is a subject's governance status as the admin reads it over gRPC.
func (w *world) status(t *testing.T, subject string) *pb.SubjectStatus {
	t.Helper()
	st, err := pb.NewGovernanceServiceClient(w.conn).GetSubjectStatus(as(t, admin), &pb.GetSubjectStatusRequest{Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	return st.GetStatus()
}

// auditActors lists "actor action subject" of every audit entry of action.
func (w *world) auditActors(t *testing.T, action string) []string {
	t.Helper()
	resp, err := pb.NewGovernanceServiceClient(w.conn).ListAuditEntries(as(t, admin), &pb.ListAuditEntriesRequest{Action: action, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range resp.GetEntries() {
		out = append(out, e.GetActor()+" "+e.GetAction()+" "+e.GetSubject())
	}
	return out
}

// browser is an HTTP client with a cookie jar that does not follow redirects, so tests see
// them.
type browser struct {
	t    *testing.T
	w    *world
	c    *http.Client
	csrf string // the CSRF token of the last page that had one
}

func (w *world) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, w: w, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.w.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends form, with the browser's CSRF token unless form sets "csrf" itself (to "" for
// none).
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	if _, set := form["csrf"]; !set {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.w.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in with principal's token and loads the subjects page (for its CSRF token).
func (b *browser) signIn(principal string) {
	b.t.Helper()
	if r := b.post("/ui/signin", url.Values{"token": {principal}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/ui/" {
		b.t.Fatalf("sign-in as %s: %d %s", principal, r.status, r.body)
	}
	if r := b.get("/ui/"); r.status != http.StatusOK {
		b.t.Fatalf("subjects page as %s: %d", principal, r.status)
	}
}

func (r response) String() string { return fmt.Sprintf("%d %.300s", r.status, r.body) }

// withCookie is a new browser holding the session cookie value, as a thief would.
func (w *world) withCookie(t *testing.T, value string) *browser {
	b := w.browser(t)
	u, _ := url.Parse(w.base + "/ui/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "schemagate_session", Value: value, Path: "/ui/"}})
	return b
}

// cookie is the browser's session cookie value.
func (b *browser) cookie() string {
	u, _ := url.Parse(b.w.base + "/ui/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "schemagate_session" {
			return c.Value
		}
	}
	b.t.Fatal("no session cookie")
	return ""
}
