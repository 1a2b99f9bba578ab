package llama

// DraftAlways makes e draft k tokens at every n-gram match, without
// learning whether it pays, so that a test exercises verification at every
// step it can.
func DraftAlways(e *Engine, k int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lookupFixed = k
}
