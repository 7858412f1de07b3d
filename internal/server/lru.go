package server

import (
	"container/list"
	"context"
	"sync"
)

// lru is a small least-recently-used cache of computed answers. Each entry
// has a tag (its run id) so that deleting a run drops everything computed
// from it. Concurrent requests for a missing entry share one computation
// (do).
type lru struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front: most recently used
	items   map[string]*list.Element
	flights map[string]chan struct{} // keys being computed by do; closed when done
	removed uint64                   // removeTag calls so far
}

// lruEntry is one cached value.
type lruEntry struct {
	key, tag string
	val      any
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}, flights: map[string]chan struct{}{}}
}

// get returns the value under key.
func (c *lru) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(key)
}

func (c *lru) getLocked(key string) (any, bool) {
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
	c.putLocked(key, tag, val)
}

func (c *lru) putLocked(key, tag string, val any) {
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

// removals returns how many times removeTag was called so far, for
// putSince.
func (c *lru) removals() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed
}

// putSince is put, unless removeTag was called since removals returned
// since: a value computed meanwhile may be of a deleted run.
func (c *lru) putSince(key, tag string, val any, since uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed == since {
		c.putLocked(key, tag, val)
	}
}

// do returns the value under key, computing it with compute when it is
// missing. While one caller computes a key, others asking for it wait for
// that computation to end, then look again: they compute it themselves
// only when it is still missing (it failed, or was not to be kept). A value
// compute says to keep is stored under key with tag, unless removeTag was
// called meanwhile (its run may have been deleted while it was computed).
func (c *lru) do(ctx context.Context, key, tag string, compute func() (val any, keep bool, err error)) (any, error) {
	for {
		c.mu.Lock()
		if v, ok := c.getLocked(key); ok {
			c.mu.Unlock()
			return v, nil
		}
		if wait, ok := c.flights[key]; ok {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		c.flights[key] = done
		removed := c.removed
		c.mu.Unlock()

		return c.compute(key, tag, done, removed, compute)
	}
}

// compute runs a computation do started, then stores its value when it is
// to be kept and ends the flight, even if compute panics.
func (c *lru) compute(key, tag string, done chan struct{}, removed uint64, compute func() (any, bool, error)) (v any, err error) {
	keep := false
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.flights, key)
		close(done)
		if err == nil && keep && c.removed == removed {
			c.putLocked(key, tag, v)
		}
	}()
	v, keep, err = compute()
	return v, err
}

// removeTag drops every entry tagged tag.
func (c *lru) removeTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed++
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		if en := e.Value.(*lruEntry); en.tag == tag {
			c.order.Remove(e)
			delete(c.items, en.key)
		}
		e = next
	}
}
