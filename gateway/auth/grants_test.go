package auth

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

func TestMatchGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"orders-value", "orders-value", true},
		{"orders-value", "orders-value2", false},
		{"orders-value", "Orders-value", false}, // case-sensitive
		{"orders-*", "orders-", true},
		{"orders-*", "orders-value", true},
		{"orders-*", "orders", false},
		{"orders-*", "xorders-value", false},
		{"*-value", "a/b-value", true}, // '*' crosses '/'
		{"*", "", true},
		{"*", "anything/at all", true},
		{"?", "é", true}, // one code point, two bytes
		{"?", "", false},
		{"??", "é", false},
		{"orders-?", "orders-1", true},
		{"orders-?", "orders-12", false},
		{"a*b*c", "a-b-x-b-c", true},
		{"a*b*c", "a-b-x-b-", false},
		{"*a*a*a*a*b", strings.Repeat("a", 200), false},
		{"[abc]", "[abc]", true}, // brackets are literal
		{"[abc]", "a", false},
		{`\*`, `\x`, true}, // no escape: '\' is literal, '*' a wildcard
		{"a.c", "abc", false},
	}
	for _, tt := range tests {
		if got := matchGlob(tt.pattern, tt.subject); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tt.pattern, tt.subject, got, tt.want)
		}
	}
}

// FuzzMatchGlob compares matchGlob with a regular expression built from the same pattern.
func FuzzMatchGlob(f *testing.F) {
	for _, seed := range [][2]string{{"orders-*", "orders-value"}, {"a*b?c", "aXbYc"}, {"*", ""}, {"?é*", "éé"}, {"[*]", "[x]"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(subject) {
			t.Skip()
		}
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`\z`)
		want := regexp.MustCompile(re.String()).MatchString(subject)
		if got := matchGlob(pattern, subject); got != want {
			t.Errorf("matchGlob(%q, %q) = %v; the regular expression %s says %v", pattern, subject, got, re.String(), want)
		}
	})
}

func TestGranted(t *testing.T) {
	t.Parallel()
	all := Principal{Name: "all"}
	none := Principal{Name: "none", Subjects: []string{}}
	teamA := Principal{Name: "a", Subjects: []string{"team-a-*", "shared-value"}}
	tests := []struct {
		p       Principal
		subject string
		want    bool
	}{
		{all, "anything", true},
		{all, "", true},
		{none, "anything", false},
		{teamA, "team-a-value", true},
		{teamA, "shared-value", true},
		{teamA, "team-b-value", false},
		{teamA, "", false}, // the global configuration is never granted by a pattern
		{Principal{Name: "star", Subjects: []string{"*"}}, "", false},
	}
	for _, tt := range tests {
		if got := tt.p.Granted(tt.subject); got != tt.want {
			t.Errorf("%s.Granted(%q) = %v, want %v", tt.p.Name, tt.subject, got, tt.want)
		}
	}
}

func TestRequireGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	teamA := NewContext(ctx, Principal{Name: "team-a", Roles: []Role{RoleProducer}, Subjects: []string{"team-a-*"}})
	root := NewContext(ctx, Principal{Name: "root", Roles: []Role{RoleAdmin}})
	users := func(subjects ...string) func(context.Context) ([]string, error) {
		return func(context.Context) ([]string, error) { return subjects, nil }
	}
	errUnknownSchema := errors.New("schema 7 not found")
	unknown := func(context.Context) ([]string, error) { return nil, errUnknownSchema }
	tests := []struct {
		name    string
		err     error
		wantErr error  // nil: allowed
		wantMsg string // the whole message, which reaches the client
	}{
		{name: "subject granted", err: RequireSubject(teamA, "team-a-value")},
		{name: "subject not granted", err: RequireSubject(teamA, "team-b-value"), wantErr: ErrPermissionDenied,
			wantMsg: `principal "team-a" is not granted subject "team-b-value" (its subjects: ["team-a-*"])`},
		{name: "subject, unrestricted", err: RequireSubject(root, "team-b-value")},
		{name: "subject, no principal", err: RequireSubject(ctx, "x"), wantErr: ErrNoCredentials, wantMsg: wantNoCredentials},
		{name: "global, unrestricted", err: RequireUnrestricted(root, "changing the global compatibility")},
		{name: "global, restricted", err: RequireUnrestricted(teamA, "changing the global compatibility"), wantErr: ErrPermissionDenied,
			wantMsg: `principal "team-a" is limited to subjects ["team-a-*"]; changing the global compatibility needs a principal without subject grants`},
		{name: "global, no principal", err: RequireUnrestricted(ctx, "x"), wantErr: ErrNoCredentials, wantMsg: wantNoCredentials},
		{name: "schema used by a granted subject", err: RequireSchema(teamA, 7, users("team-b-value", "team-a-value"))},
		{name: "schema used by no granted subject", err: RequireSchema(teamA, 7, users("team-b-value")), wantErr: ErrPermissionDenied,
			wantMsg: `principal "team-a" is granted no subject that uses schema 7 (its subjects: ["team-a-*"])`},
		{name: "schema, unknown ID", err: RequireSchema(teamA, 7, unknown), wantErr: errUnknownSchema, wantMsg: "schema 7 not found"},
		{name: "schema, unrestricted (users not read)", err: RequireSchema(root, 7, unknown)},
		{name: "schema, no principal", err: RequireSchema(ctx, 7, users("x")), wantErr: ErrNoCredentials, wantMsg: wantNoCredentials},
	}
	for _, tt := range tests {
		if tt.wantErr == nil {
			if tt.err != nil {
				t.Errorf("%s: %v, want nil", tt.name, tt.err)
			}
			continue
		}
		if !errors.Is(tt.err, tt.wantErr) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.wantErr)
		}
		if tt.err != nil && tt.err.Error() != tt.wantMsg {
			t.Errorf("%s: message %q, want %q", tt.name, tt.err, tt.wantMsg)
		}
	}
}

func TestVisible(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	items := []string{"team-a-value", "", "team-b-value", "team-a-key"}
	id := func(s string) string { return s }
	tests := []struct {
		name string
		ctx  context.Context
		want []string
	}{
		{name: "restricted", ctx: NewContext(ctx, Principal{Name: "a", Subjects: []string{"team-a-*"}}), want: []string{"team-a-value", "", "team-a-key"}},
		{name: "no subjects", ctx: NewContext(ctx, Principal{Name: "a", Subjects: []string{}}), want: []string{""}},
		{name: "unrestricted", ctx: NewContext(ctx, Principal{Name: "root"}), want: items},
		{name: "no principal", ctx: ctx, want: nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Visible(tt.ctx, items, id)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if diff := cmp.Diff([]string{"team-a-value", "", "team-b-value", "team-a-key"}, items); diff != "" {
		t.Errorf("Visible changed its input (-want +got):\n%s", diff)
	}
}

// TestSubjectGrantsConfig checks that the `subjects` key reaches the Principal as configured
// (absent stays nil, empty stays empty), that bad patterns are refused naming the principal,
// and that a non-admin principal without grants is logged as a warning at New.
func TestSubjectGrantsConfig(t *testing.T) {
	t.Parallel()
	logs := &harness.Buffer{}
	a, err := New([]PrincipalConfig{
		{Name: "team-a", Roles: []string{"producer"}, TokenSHA256: sha256Hex("a"), Subjects: []string{"team-a-*"}},
		{Name: "nobody", Roles: []string{"producer"}, TokenSHA256: sha256Hex("n"), Subjects: []string{}},
		{Name: "everything", Roles: []string{"author"}, TokenSHA256: sha256Hex("e")},
		{Name: "root", Roles: []string{"admin"}, TokenSHA256: sha256Hex("r")},
	}, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]Principal{
		"a": {Name: "team-a", Roles: []Role{RoleProducer}, Subjects: []string{"team-a-*"}},
		"n": {Name: "nobody", Roles: []Role{RoleProducer}, Subjects: []string{}},
		"e": {Name: "everything", Roles: []Role{RoleAuthor}},
	} {
		got, err := a.Authenticate(context.Background(), "Bearer "+token)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("principal %s (-want +got):\n%s", want.Name, diff)
		}
	}
	if log := logs.String(); !strings.Contains(log, "principal=everything") || strings.Contains(log, "principal=root") ||
		strings.Contains(log, "principal=team-a") || strings.Contains(log, "principal=nobody") {
		t.Errorf("the warnings should name exactly the non-admin principal without grants, everything:\n%s", log)
	}

	_, err = New([]PrincipalConfig{
		{Name: "empty", Roles: []string{"producer"}, TokenSHA256: sha256Hex("x"), Subjects: []string{"ok-*", ""}},
		{Name: "latin1", Roles: []string{"producer"}, TokenSHA256: sha256Hex("y"), Subjects: []string{"caf\xe9"}},
	}, Options{})
	for _, want := range []string{`principal "empty": subjects[1] is empty`, `principal "latin1": subjects[0] is not valid UTF-8`} {
		if !errors.Is(err, ErrInvalidConfig) || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v; want one containing %q", err, want)
		}
	}
}
