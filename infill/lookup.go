package infill

import (
	"slices"
	"strings"
)

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
//     occurrence), in the suffix or in another text of the request
//     (Request.LookupOthers: other open files; the first occurrence)
//     followed by something other than a line break; at equal length
//     the prefix's wins, then the suffix's, then the others' in order;
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
// cheaper at once (README, Decoder). A key of white space and brackets
// alone (" {\n\t\t" on a block's first line) often drafts a line that
// does not belong, yet rejecting such keys did not pay on the same 800
// cases (editor pipeline, d256l4-c5): requiring a letter, digit or '_'
// in the key scored 0.289, requiring one before the key's line break
// 0.290, against 0.290, and both parsed less (0.655, 0.659 vs 0.670).
// Requiring a letter, digit or '_' only of keys found in other files
// (with each case's package files open) scored 0.313 against 0.315
// (−0.002 ± 0.003; Go −0.007, Python +0.003; 2026-11-29).
const (
	lookupMinKey = 3
	lookupMaxKey = 40
)

// LookupText returns the continuation the context offers after the
// prefix's tail (see Settings.Lookup), or "" when it offers none. Others
// are more texts to search (other open files of the project), after the
// suffix at equal key length: the longest key found anywhere wins.
func LookupText(prefix, suffix string, others ...string) string {
	if c := LookupTexts(prefix, suffix, 1, others...); len(c) > 0 {
		return c[0]
	}
	return ""
}

// LookupTexts returns up to n different continuations the context offers
// after the prefix's tail, best first: LookupText's, then those after
// the same key in the texts that rank below it, then those after ever
// shorter keys (Settings.LookupRank drafts from them).
func LookupTexts(prefix, suffix string, n int, others ...string) []string {
	if len(prefix) < lookupMinKey || n <= 0 {
		return nil
	}
	// The haystacks in the order they win at equal key length. The
	// prefix is searched without its last byte, so that its own tail is
	// no match of itself and a continuation is never empty; there the
	// latest occurrence counts, elsewhere the first.
	hay := make([]string, 0, 2+len(others))
	hay = append(hay, prefix[:len(prefix)-1], suffix)
	hay = append(hay, others...)
	// Every occurrence of a longer key holds one of each shorter key ending
	// at the same place, so the keys are searched from the shortest up,
	// each only in the texts that held the one before, until no text holds
	// one; at[k][h] keeps where key k was found in hay[h] (-1: not), and
	// the longest key whose occurrence is followed by more than a line
	// break wins.
	var at [lookupMaxKey - lookupMinKey + 1][]int
	keys := 0
	for l := lookupMinKey; l <= lookupMaxKey && l <= len(prefix); l++ {
		key := prefix[len(prefix)-l:]
		found := make([]int, len(hay))
		hit := false
		for h, text := range hay {
			found[h] = -1
			if keys > 0 && at[keys-1][h] < 0 {
				continue
			}
			if h == 0 {
				found[h] = strings.LastIndex(text, key)
			} else {
				found[h] = strings.Index(text, key)
			}
			hit = hit || found[h] >= 0
		}
		if !hit {
			break
		}
		at[keys] = found
		keys++
	}
	var out []string
	for k := keys - 1; k >= 0; k-- {
		l := lookupMinKey + k
		for h, p := range at[k] {
			if p < 0 {
				continue
			}
			text := hay[h]
			if h == 0 {
				text = prefix // the byte held back may follow the key
			}
			if c := restOfLine(text[p+l:]); c != "" && !slices.Contains(out, c) {
				if out = append(out, c); len(out) == n {
					return out
				}
			}
		}
	}
	return out
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
	rank := max(r.s.LookupRank, 0)
	texts := LookupTexts(prefix, suffix, rank+1, r.req.LookupOthers...)
	if len(texts) <= rank {
		return nil
	}
	text := texts[rank]
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
