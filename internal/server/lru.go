package server

import (
	"container/list"
	"sync"
)

// lru is a small least-recently-used cache of computed answers. Each entry
// has a tag (its run id) so that deleting a run drops everything computed
// from it.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

// lruEntry is one cached value.
type lruEntry struct {
	key, tag string
	val      any
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the value under key.
func (c *lru) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).val, true
}

// put stores val under key, evicting the least recently used entry when
// the cache is full.
func (c *lru) put(key, tag string, val any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*lruEntry).val = val
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, tag: tag, val: val})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

// removeTag drops every entry tagged tag.
func (c *lru) removeTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		if en := e.Value.(*lruEntry); en.tag == tag {
			c.order.Remove(e)
			delete(c.items, en.key)
		}
		e = next
	}
}
