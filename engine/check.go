package engine

import "fmt"

// The checks of a Session call's arguments against the session's limits,
// shared by the backends so that every engine rejects the same calls with
// the same errors (see Session). Their messages carry no package prefix: a
// backend wraps them with its own ("model: ...", "gpu: ...").

// CheckTokens returns an error wrapping ErrToken for the first id outside
// [0, vocab).
func CheckTokens(ids []int32, vocab int) error {
	for i, t := range ids {
		if t < 0 || int(t) >= vocab {
			return fmt.Errorf("token %d at %d: %w", t, i, ErrToken)
		}
	}
	return nil
}

// CheckPrefill checks Prefill's tokens for a session that holds at most
// maxContext tokens of a vocab-token vocabulary.
func CheckPrefill(tokens []int32, maxContext, vocab int) error {
	if len(tokens) > maxContext {
		return fmt.Errorf("Prefill of %d tokens, session holds %d: %w", len(tokens), maxContext, ErrContextFull)
	}
	return CheckTokens(tokens, vocab)
}

// CheckDenoise checks Denoise's arguments for a session that allows blocks
// of 1..maxBlock tokens and returns topK candidates a position: the block's
// length, the predicted positions [from, from+len(out)) inside it, every
// out[i]'s room for topK candidates, and the block's tokens.
func CheckDenoise(block []int32, from int, out []Prediction, maxBlock, topK, vocab int) error {
	if len(block) == 0 || len(block) > maxBlock {
		return fmt.Errorf("Denoise block of %d tokens (session allows 1..%d): %w", len(block), maxBlock, ErrBlockSize)
	}
	if from < 0 || from+len(out) > len(block) {
		return fmt.Errorf("Denoise: positions %d..%d outside the block of %d: %w", from, from+len(out), len(block), ErrBlockSize)
	}
	for i := range out {
		if cap(out[i].Candidates) < topK {
			return fmt.Errorf("Denoise: out[%d] has room for %d candidates, the session's TopK is %d", i, cap(out[i].Candidates), topK)
		}
	}
	return CheckTokens(block, vocab)
}

// CheckTruncate checks Truncate(n) of a context of held tokens.
func CheckTruncate(n, held int) error {
	if n < 0 || n > held {
		return fmt.Errorf("Truncate(%d) of a context of %d tokens: %w", n, held, ErrContextFull)
	}
	return nil
}

// CommonPrefix returns the length of the longest common prefix of a and b:
// the context tokens a Prefill of b can keep from a session holding a.
func CommonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
