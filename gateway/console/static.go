package console

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

// staticPrefix is where the assets are served: /ui/static/{hash}/{name}.
const staticPrefix = "/ui/static/"

// staticFiles are the embedded assets, each served under a URL that holds a hash of its
// content, so browsers may cache it for a year and still never use a stale copy.
type staticFiles struct {
	files map[string]staticFile // by name
}

type staticFile struct {
	hash string
	body []byte
}

func newStaticFiles(fsys fs.FS) *staticFiles {
	s := &staticFiles{files: make(map[string]staticFile)}
	_ = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		s.files[name] = staticFile{hash: hex.EncodeToString(sum[:6]), body: body}
		return nil
	})
	return s
}

// url is the address of the asset name; it panics on an unknown name, a bug in a template
// that the tests of every page catch.
func (s *staticFiles) url(name string) string {
	f, ok := s.files[name]
	if !ok {
		panic("console: no static file " + name)
	}
	return staticPrefix + f.hash + "/" + name
}

// ServeHTTP serves GET /ui/static/{hash}/{name}; a hash that is not the file's is 404.
func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := s.files[r.PathValue("name")]
	if !ok || r.PathValue("hash") != f.hash {
		http.NotFound(w, r)
		return
	}
	if ct := mime.TypeByExtension(path.Ext(r.PathValue("name"))); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(f.body)
}
