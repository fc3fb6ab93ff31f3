package auth

import "sync"

// defaultCacheSize bounds the number of remembered basic credentials.
const defaultCacheSize = 1024

// basicCache remembers basic credentials that passed a bcrypt check, keyed
// by SHA-256("user\x00password"), so a client that sends the same header on
// every request pays bcrypt once. Only successes are stored: a wrong or
// changed password hashes to another key and is verified in full. Each
// PrincipalSet has its own cache and is immutable, so an entry never goes
// stale; a reloaded configuration starts with an empty cache. When full,
// the oldest entry is evicted (FIFO).
type basicCache struct {
	mu    sync.Mutex
	size  int
	m     map[[32]byte]*principal
	order [][32]byte // ring of keys in insertion order
	next  int        // ring slot to overwrite when full
}

func newBasicCache(size int) *basicCache {
	if size <= 0 {
		return nil
	}
	return &basicCache{size: size, m: make(map[[32]byte]*principal, size)}
}

// get returns the principal cached under key; a nil cache never hits.
func (c *basicCache) get(key [32]byte) *principal {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

// put stores p under key, evicting the oldest entry when full.
func (c *basicCache) put(key [32]byte, p *principal) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return
	}
	if len(c.order) < c.size {
		c.order = append(c.order, key)
	} else {
		delete(c.m, c.order[c.next])
		c.order[c.next] = key
		c.next = (c.next + 1) % c.size
	}
	c.m[key] = p
}

// len returns the number of cached entries.
func (c *basicCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
