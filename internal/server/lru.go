package server

import (
	"container/list"
	"context"
	"sync"
)

// cache is a small least-recently-used cache of computed values of type V,
// the one compute-once cache of the app (the answers of the API, s.cache,
// and each run's distribution samples, s.samples). Each entry has a tag
// (its run id) so that deleting a run drops everything computed from it.
// Concurrent requests for a missing entry share one computation (do).
//
// golang.org/x/sync/singleflight would share one computation too, but
// hands its result, errors included, to every waiter: a computation that
// ends with its own caller's cancelled context would fail every request
// waiting on it. Here a waiter looks again once the flight ends and
// computes the value itself when it is still missing; and a value is kept
// only when no removeTag came while it was computed, which needs the
// flight and the cache under one lock.
type cache[V any] struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front: most recently used
	items   map[string]*list.Element
	flights map[string]chan struct{} // keys being computed by do; closed when done
	removed uint64                   // removeTag calls so far
}

// lru is the cache of values of any type (s.cache: results, summaries,
// distributions, resource figures, each under its own key).
type lru = cache[any]

// cacheEntry is one cached value.
type cacheEntry[V any] struct {
	key, tag string
	val      V
}

// newCache returns an empty cache of at most max entries.
func newCache[V any](max int) *cache[V] {
	return &cache[V]{max: max, order: list.New(), items: map[string]*list.Element{}, flights: map[string]chan struct{}{}}
}

// newLRU returns an empty cache of values of any type.
func newLRU(max int) *lru { return newCache[any](max) }

// get returns the value under key.
func (c *cache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(key)
}

func (c *cache[V]) getLocked(key string) (V, bool) {
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry[V]).val, true
}

// flight returns a channel closed when the computation of key now under
// way ends, or nil when none is.
func (c *cache[V]) flight(key string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.flights[key]; ok {
		return ch
	}
	return nil
}

// put stores val under key, evicting the least recently used entry when
// the cache is full.
func (c *cache[V]) put(key, tag string, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, tag, val)
}

func (c *cache[V]) putLocked(key, tag string, val V) {
	if e, ok := c.items[key]; ok {
		e.Value.(*cacheEntry[V]).val = val
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry[V]{key: key, tag: tag, val: val})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry[V]).key)
	}
}

// removals returns how many times removeTag was called so far, for
// putSince.
func (c *cache[V]) removals() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed
}

// putSince is put, unless removeTag was called since removals returned
// since: a value computed meanwhile may be of a deleted run.
func (c *cache[V]) putSince(key, tag string, val V, since uint64) {
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
func (c *cache[V]) do(ctx context.Context, key, tag string, compute func() (val V, keep bool, err error)) (V, error) {
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
				var zero V
				return zero, ctx.Err()
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
func (c *cache[V]) compute(key, tag string, done chan struct{}, removed uint64, compute func() (V, bool, error)) (v V, err error) {
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
func (c *cache[V]) removeTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed++
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		if en := e.Value.(*cacheEntry[V]); en.tag == tag {
			c.order.Remove(e)
			delete(c.items, en.key)
		}
		e = next
	}
}
