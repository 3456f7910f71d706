package infill

// A Draft is a partial or finished middle, kept so that a later request can
// warm-start from it: the tokens go onto the canvas, one verifying Denoise
// keeps those that still score at least the floor (Settings.ReviseBelow, or
// Threshold when that is 0) and re-masks the rest.
//
// Steps records, per token, the step of its block (1-based) at which the
// decode that made the draft committed it. A warm start reports as saved
// (Stats.WarmSaved), per block, the draft's step of the latest token the
// verifying pass kept, minus that one pass: the forwards a cold decode spent
// to reach what the verifying pass reached at once. It is an estimate; the
// rest of the block costs about the same either way.
type Draft struct {
	// Tokens are the middle's tokens in order, the mask id where the decode
	// had not committed; a finished draft ends with its end token.
	Tokens []int32
	Probs  []float32 // probability of each token when committed (0 for masks)
	Steps  []int32   // block step at which each token was committed (0 for masks)
	// Done reports whether the draft is a finished middle (it ended at an
	// end token) rather than a decode stopped by its budget or MaxTokens.
	Done bool
	// Forwards is the number of Denoise calls the draft's decode made.
	Forwards int
}

// Bytes returns the memory the draft holds, for byte-costed caches.
func (d *Draft) Bytes() int64 {
	if d == nil {
		return 0
	}
	const header = 3*24 + 8 + 8 // three slice headers, Done (padded), Forwards
	return header + int64(cap(d.Tokens))*4 + int64(cap(d.Probs))*4 + int64(cap(d.Steps))*4
}

func (d *Draft) step(i int) int32 {
	if i < len(d.Steps) {
		return d.Steps[i]
	}
	return 0
}
