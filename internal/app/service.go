package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// ErrClosed: the app was closed.
var ErrClosed = errors.New("app: closed")

// service is a part of the app opened on first need over the app's vault:
// the ledger client, the plugin host, and next the sync host. Each has its
// own lock, held only by the callers of that service while it opens. A
// failure is kept and returned to later callers until one asks to retry;
// a success is shared (reference-counted), so that reset (a new vault)
// closes it after its in-flight users.
type service[T any] struct {
	name string
	// open starts the service. retry passes a caller's explicit retry on
	// to the services it depends on.
	open func(ctx context.Context, retry bool) (T, func(T) error, error)
	// keep: the service stays open between users (the plugin host keeps
	// its plugins running). Otherwise it closes when its last user is done
	// (the embedded chain is then free for another nook process).
	keep bool

	opening gate

	mu     sync.Mutex
	cur    *shared[T]
	err    error // the kept failure
	gen    int   // bumped by reset and close: an open that raced one is dropped
	closed bool
}

func newService[T any](name string, keep bool, open func(ctx context.Context, retry bool) (T, func(T) error, error)) *service[T] {
	return &service[T]{name: name, keep: keep, open: open, opening: newGate()}
}

// get returns the open service and the function that releases it, opening
// it first when needed. A kept failure is returned as it is unless retry.
func (s *service[T]) get(ctx context.Context, retry bool) (T, func(), error) {
	var zero T
	if err := s.opening.lock(ctx); err != nil {
		return zero, nil, err
	}
	defer s.opening.unlock()
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return zero, nil, ErrClosed
	case s.cur != nil && s.cur.acquire():
		v, rel := s.cur.val, s.cur.releaser()
		s.mu.Unlock()
		return v, rel, nil
	case s.err != nil && !retry:
		err := s.err
		s.mu.Unlock()
		return zero, nil, err
	}
	gen := s.gen
	s.mu.Unlock()

	v, closeFn, err := s.open(ctx, retry)

	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen {
		if err == nil {
			closeFn(v)
		}
		if s.closed {
			return zero, nil, ErrClosed
		}
		return zero, nil, hint.New(fmt.Errorf("app: %s: the vault changed while it opened", s.name), "try again")
	}
	if err != nil {
		// A cancelled caller or a vault not open yet is not the service's
		// failure.
		if ctx.Err() == nil && !errors.Is(err, vault.ErrLocked) && !errors.Is(err, vault.ErrNotInitialized) {
			s.err = err
		}
		return zero, nil, err
	}
	s.err = nil
	s.cur = newShared(v, closeFn)
	if s.keep && !s.cur.acquire() {
		return zero, nil, ErrClosed // not reached: nobody else holds it yet
	}
	return v, s.cur.releaser(), nil
}

// state reports, without waiting, whether the service is open and the
// failure it keeps.
func (s *service[T]) state() (open bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil && s.cur.alive(), s.err
}

// reset forgets the service: it closes after its current users, and the
// next get opens it again (over a new vault).
func (s *service[T]) reset() {
	s.mu.Lock()
	cur := s.cur
	s.cur, s.err = nil, nil
	s.gen++
	s.mu.Unlock()
	if cur != nil && s.keep {
		cur.release() // the service's own reference
	}
}

// close ends the service now, users or not.
func (s *service[T]) close() error {
	s.mu.Lock()
	cur := s.cur
	s.cur, s.closed = nil, true
	s.gen++
	s.mu.Unlock()
	if cur == nil {
		return nil
	}
	if err := cur.kill(); err != nil {
		return fmt.Errorf("app: close %s: %w", s.name, err)
	}
	return nil
}
