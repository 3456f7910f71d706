package infill

// A Draft is a partial or finished middle, kept so that a later request can
// warm-start from it: the tokens go onto the canvas, one verifying Denoise
// keeps those that still score at least the floor (Settings.DraftFloor, or
// ReviseBelow, or Threshold) and re-masks the rest.
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

// DraftAfter returns the part of draft d that follows typed, the text the
// user typed since d was made (the cache hands both back). It reports false
// when typed is not the decoded start of d's committed tokens ending on a
// token boundary: a draft cut inside a token cannot be aligned with the new
// context without re-tokenizing, and a cold start is the safe answer.
func (dec *Decoder) DraftAfter(d *Draft, typed string) (*Draft, bool) {
	if d == nil || dec == nil || dec.tok == nil {
		return nil, false
	}
	if typed == "" {
		return d, true
	}
	mask := dec.b.Info().MaskID
	for i := 1; i <= len(d.Tokens); i++ {
		if d.Tokens[i-1] == mask {
			break
		}
		text := dec.tok.Decode(d.Tokens[:i])
		if len(text) > len(typed) || typed[:len(text)] != text {
			break
		}
		if len(text) == len(typed) {
			rest := &Draft{
				Tokens:   append([]int32(nil), d.Tokens[i:]...),
				Probs:    append([]float32(nil), d.Probs[min(i, len(d.Probs)):]...),
				Steps:    append([]int32(nil), d.Steps[min(i, len(d.Steps)):]...),
				Done:     d.Done,
				Forwards: d.Forwards,
			}
			return rest, len(rest.Tokens) > 0
		}
	}
	return nil, false
}
