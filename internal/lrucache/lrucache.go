// Package lrucache is an httpcache.Cache bounded by bytes: when an entry
// would take it over its capacity, the least recently used entries go.
package lrucache

import (
	"container/list"
	"sync"
)

// Cache is a byte-bounded LRU cache of HTTP responses, safe for concurrent
// use. An entry costs the length of its key plus its value.
type Cache struct {
	mu       sync.Mutex
	capacity int
	size     int
	order    *list.List // front: most recently used
	entries  map[string]*list.Element
}

type entry struct {
	key   string
	value []byte
}

// New returns a cache holding at most capacity bytes.
func New(capacity int) *Cache {
	return &Cache{capacity: capacity, order: list.New(), entries: map[string]*list.Element{}}
}

func cost(key string, value []byte) int { return len(key) + len(value) }

// Get returns the cached response for key and marks it recently used.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).value, true
}

// Set stores a response, evicting the least recently used entries to stay
// within capacity. A response larger than the whole cache is not kept.
func (c *Cache) Set(key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
	if cost(key, value) > c.capacity {
		return
	}
	c.entries[key] = c.order.PushFront(&entry{key: key, value: value})
	c.size += cost(key, value)
	for c.size > c.capacity {
		c.remove(c.order.Back().Value.(*entry).key)
	}
}

// Delete removes key's response.
func (c *Cache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
}

// Size returns the bytes held.
func (c *Cache) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

func (c *Cache) remove(key string) {
	el, ok := c.entries[key]
	if !ok {
		return
	}
	e := c.order.Remove(el).(*entry)
	delete(c.entries, key)
	c.size -= cost(e.key, e.value)
}
