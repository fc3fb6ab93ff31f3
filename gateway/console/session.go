package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/schemagate/schemagate/gateway/auth"
)

// cookieName is the session cookie; its value is the session ID.
const cookieName = "schemagate_session"

// cookiePath scopes the cookie to the console: the API never sees it.
const cookiePath = "/ui/"

// session is one signed-in browser.
type session struct {
	id        string
	csrf      string // the token every state-changing request of the session must carry
	principal auth.Principal
	started   time.Time
	lastSeen  time.Time
}

// sessions holds the sessions of this replica in memory.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{idle: idle, max: max, now: now, byID: make(map[string]*session)}
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start opens a session for p.
func (s *sessions) start(p auth.Principal) *session {
	now := s.now()
	ss := &session{id: randomToken(), csrf: randomToken(), principal: p, started: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	s.byID[ss.id] = ss
	return ss
}

// lookup returns the live session with id, or nil. touch records the request as activity (the
// pages' own refresh does not, so an open tab does not keep a session alive).
func (s *sessions) lookup(id string, touch bool) *session {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byID[id]
	if ss == nil {
		return nil
	}
	if s.expired(ss, now) {
		delete(s.byID, id)
		return nil
	}
	if touch {
		ss.lastSeen = now
	}
	copied := *ss
	return &copied
}

// expired reports whether ss is past its idle or absolute expiry at now.
func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.lastSeen) >= s.idle || now.Sub(ss.started) >= s.max
}

// expire drops every expired session; s.mu is held.
func (s *sessions) expire(now time.Time) {
	for id, ss := range s.byID {
		if s.expired(ss, now) {
			delete(s.byID, id)
		}
	}
}

// end revokes the session id.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// revoke ends every session of the named principals and returns how many it ended.
func (s *sessions) revoke(names []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, ss := range s.byID {
		if slices.Contains(names, ss.principal.Name) {
			delete(s.byID, id)
			n++
		}
	}
	return n
}

// validCSRF reports whether token is the session's CSRF token, in constant time.
func (ss *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ss.csrf)) == 1
}

// setCookie sends the session cookie: HttpOnly, SameSite=Strict, Path=/ui/, Secure when the
// request came over TLS, and no longer-lived than the session's absolute expiry.
func (s *sessions) setCookie(w http.ResponseWriter, r *http.Request, ss *session) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: ss.id, Path: cookiePath, MaxAge: int(s.max.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// clearCookie tells the browser to forget the session cookie.
func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}
