package app

import (
	"context"
	"sync"
)

// shared is a value with a reference count. Whoever made it holds the first
// reference; each user takes one more with acquire. The value is closed
// when the last reference is released, or at once by kill (App.Close).
type shared[T any] struct {
	val   T
	close func(T) error

	mu   sync.Mutex
	refs int
	done bool
}

func newShared[T any](v T, close func(T) error) *shared[T] {
	return &shared[T]{val: v, close: close, refs: 1}
}

// acquire adds a reference; it fails once the value is closed.
func (s *shared[T]) acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.refs++
	return true
}

// release drops a reference; the last one closes the value.
func (s *shared[T]) release() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.refs--
	if s.refs > 0 {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	s.mu.Unlock()
	return s.close(s.val)
}

// kill closes the value whatever its count; later releases do nothing.
func (s *shared[T]) kill() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	s.mu.Unlock()
	return s.close(s.val)
}

// releaser returns a function that releases one reference, once.
func (s *shared[T]) releaser() func() {
	return sync.OnceFunc(func() { s.release() })
}

// gate is a mutex whose Lock gives up when ctx ends.
type gate chan struct{}

func newGate() gate { return make(gate, 1) }

func (g gate) lock(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g gate) unlock() { <-g }

// alive reports whether the value is still open.
func (s *shared[T]) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.done
}
