package infill

import "strings"

// Context lookup: code repeats itself, and a line being written often
// continues the way an earlier line with the same ending did
// (`t.Errorf("...: got %v, want %v", got, want)`, a field list, an import
// path). Prompt-lookup decoding drafts such continuations for autoregressive
// models and verifies them in one pass; a diffusion decoder verifies the
// same way a warm start does. A request without a draft of its own
// (Request.Draft) gets one from its context when Settings.Lookup is set:
//
//   - the key is the longest tail of the prefix, lookupMinKey to
//     lookupMaxKey bytes, that occurs earlier in the prefix (its latest
//     occurrence) or in the suffix (its first; at equal length the
//     prefix's wins) followed by something other than a line break;
//   - the draft is what follows that occurrence up to the end of its line,
//     then an end token, at most MaxTokens tokens (no end token when cut);
//   - the verifying pass keeps each draft token the model gives at least
//     Settings.DraftFloor and re-masks the rest, and decoding goes on
//     from there as after any warm start.
//
// The floor is low on purpose: the draft is a guess from the text, not
// the model's, and a token the model merely does not rule out is worth
// keeping while its neighbours are kept too. The key's bounds and the
// default floor were chosen on the development cases (eval/dev; keys of at
// least 2, 3, 4 and 6 bytes scored edit similarity 0.282, 0.289, 0.282 and
// 0.275 there); on the 400 test cases the draft makes answers better and
// cheaper at once (README, Decoder).
const (
	lookupMinKey = 3
	lookupMaxKey = 40
)

// LookupText returns the continuation the context offers after the
// prefix's tail (see Settings.Lookup), or "" when it offers none.
func LookupText(prefix, suffix string) string {
	if len(prefix) < lookupMinKey {
		return ""
	}
	// An occurrence ending before the prefix's last byte: the prefix's own
	// tail is not a match of itself, and the continuation is never empty.
	hay := prefix[:len(prefix)-1]
	// Every occurrence of a longer key holds one of each shorter key ending
	// at the same place, so the longest key found in hay (or in suffix) is
	// the first length that is not found, less one.
	longest := func(text string) int {
		n := 0
		for l := lookupMinKey; l <= lookupMaxKey && l <= len(prefix); l++ {
			if !strings.Contains(text, prefix[len(prefix)-l:]) {
				break
			}
			n = l
		}
		return n
	}
	inPrefix, inSuffix := longest(hay), longest(suffix)
	for l := max(inPrefix, inSuffix); l >= lookupMinKey; l-- {
		key := prefix[len(prefix)-l:]
		if l <= inPrefix {
			if i := strings.LastIndex(hay, key); i >= 0 {
				if c := restOfLine(prefix[i+l:]); c != "" {
					return c
				}
			}
		}
		if l <= inSuffix {
			if i := strings.Index(suffix, key); i >= 0 {
				if c := restOfLine(suffix[i+l:]); c != "" {
					return c
				}
			}
		}
	}
	return ""
}

func restOfLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lookupDraft returns the context-lookup draft for a request, or nil.
func (r *run) lookupDraft() *Draft {
	text := LookupText(r.req.Prefix, r.req.Suffix)
	if text == "" {
		return nil
	}
	ids := r.d.tok.EncodePlain(text)
	if len(ids) == 0 {
		return nil
	}
	if len(ids) >= r.s.MaxTokens {
		ids = ids[:r.s.MaxTokens]
	} else {
		ids = append(ids, r.info.EOSID)
	}
	return &Draft{Tokens: ids, Probs: make([]float32, len(ids)), Steps: make([]int32, len(ids))}
}
