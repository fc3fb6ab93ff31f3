package harness

import "sync"

// Buffer collects output that a test reads while something else still writes it: a child
// process's log, or a logger's output from several goroutines. It is safe for concurrent use;
// the zero value is an empty buffer that keeps everything.
type Buffer struct {
	// Max, when above zero, bounds the buffer to the last Max bytes written: older output is
	// dropped. Zero keeps everything.
	Max int

	mu sync.Mutex
	b  []byte
}

// Write appends p, dropping the oldest bytes beyond Max. It never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if over := len(b.b) - b.Max; b.Max > 0 && over > 0 {
		b.b = append(b.b[:0], b.b[over:]...)
	}
	return len(p), nil
}

// String returns what the buffer holds.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// tail returns the last n bytes of s, marked as cut when it was longer.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[… earlier output cut]\n" + s[len(s)-n:]
}
