package llama

// DraftAlways makes e draft k tokens at every n-gram match, without
// learning whether it pays, so that a test exercises verification at every
// step it can.
func DraftAlways(e *Engine, k int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lookupFixed = k
}

// VerifyExact says, for each verifying batch size e has checked, whether
// it gave one-token decoding's logits bit for bit.
func VerifyExact(e *Engine) map[int]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[int]bool{}
	for n, ok := range e.verifyExact {
		out[n] = ok
	}
	return out
}

// DraftAlwaysParallel makes p draft k tokens per chat at every step where
// a chat has a match (see DraftAlways). Call it before the first chat.
func DraftAlwaysParallel(p *Parallel, k int) { p.e.lookupFixed = k }
