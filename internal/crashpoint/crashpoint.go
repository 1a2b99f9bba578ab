// Package crashpoint marks the steps of durable writes (before and after
// each write, fsync, rename and link) so that crash-safety tests can kill
// their own process at any of them. Hit does nothing unless a test has
// installed a handler with Set; nook itself never does.
//
// It must not import anything of nook's.
package crashpoint

import "sync/atomic"

var handler atomic.Pointer[func(step string)]

// Set installs f, called at every Hit (nil removes it). Tests only.
func Set(f func(step string)) {
	if f == nil {
		handler.Store(nil)
		return
	}
	handler.Store(&f)
}

// Hit marks a step.
func Hit(step string) {
	if f := handler.Load(); f != nil {
		(*f)(step)
	}
}
