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
	// at the same place, so the keys are searched from the shortest up
	// until neither text holds one; at[n] keeps where key n was found
	// (the latest in hay, the first in suffix; -1 when not), and the
	// longest key whose occurrence is followed by more than a line break
	// wins, hay's before suffix's at equal length.
	var at [lookupMaxKey - lookupMinKey + 1][2]int
	n := 0
	for l := lookupMinKey; l <= lookupMaxKey && l <= len(prefix); l++ {
		key := prefix[len(prefix)-l:]
		p, q := -1, -1
		if n == 0 || at[n-1][0] >= 0 {
			p = strings.LastIndex(hay, key)
		}
		if n == 0 || at[n-1][1] >= 0 {
			q = strings.Index(suffix, key)
		}
		if p < 0 && q < 0 {
			break
		}
		at[n] = [2]int{p, q}
		n++
	}
	for k := n - 1; k >= 0; k-- {
		l := lookupMinKey + k
		if p := at[k][0]; p >= 0 {
			if c := restOfLine(prefix[p+l:]); c != "" {
				return c
			}
		}
		if q := at[k][1]; q >= 0 {
			if c := restOfLine(suffix[q+l:]); c != "" {
				return c
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
	prefix, suffix := r.req.Prefix, r.req.Suffix
	if r.req.LookupPrefix != "" {
		prefix = r.req.LookupPrefix
	}
	if r.req.LookupSuffix != "" {
		suffix = r.req.LookupSuffix
	}
	text := LookupText(prefix, suffix)
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
	return &Draft{Tokens: ids}
}
