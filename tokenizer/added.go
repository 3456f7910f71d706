package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// An addedToken is an entry of tokenizer.json's added_tokens: a string
// matched in the text before pre-tokenization and encoded as one id.
type addedToken struct {
	content    string
	id         int32
	special    bool
	singleWord bool // only matched as a whole word
	lstrip     bool // swallows whitespace on its left
	rstrip     bool // swallows whitespace on its right
	normalized bool // matched in normalized text rather than raw text
}

// addTokens registers added tokens as the reference does when it loads a
// file: a token already in the vocabulary keeps that id, a new one gets the
// next id after the vocabulary and earlier added tokens.
func (t *Tokenizer) addTokens(list []addedJSON) error {
	t.addedID = map[string]int32{}
	var specials, others []addedToken
	maxAdded := int32(-1)
	for i, a := range list {
		if a.Content == nil {
			return fmt.Errorf("tokenizer: added_tokens[%d] has no content", i)
		}
		if a.ID == nil {
			return fmt.Errorf("tokenizer: added_tokens[%d] (%q) has no id", i, *a.Content)
		}
		if *a.Content == "" {
			continue
		}
		tok := addedToken{
			content: *a.Content, special: a.Special, singleWord: a.SingleWord,
			lstrip: a.LStrip, rstrip: a.RStrip, normalized: !a.Special,
		}
		if a.Normalized != nil {
			tok.normalized = *a.Normalized
		}
		id, ok := t.addedID[tok.content]
		if !ok {
			id, ok = t.bpe.vocab[tok.content]
		}
		if !ok {
			size := int32(t.bpe.size)
			id = size
			if maxAdded >= 0 && (maxAdded >= size || size == 0) {
				id = maxAdded + 1
			}
		}
		// When the file's id differs from this one the reference warns and
		// uses its own; so do we (silently).
		if _, dup := t.addedID[tok.content]; dup {
			continue
		}
		tok.id = id
		t.addedID[tok.content] = id
		maxAdded = max(maxAdded, id)
		if tok.special {
			specials = append(specials, tok)
		} else {
			others = append(others, tok)
		}
	}
	t.added = append(specials, others...)
	var raw, normed []addedToken
	for _, a := range t.added {
		if a.normalized {
			if t.nfc {
				a.content = nfcString(a.content)
			}
			normed = append(normed, a)
		} else {
			raw = append(raw, a)
		}
	}
	t.raw, t.normed = newMatcher(raw), newMatcher(normed)
	return nil
}

// A matcher finds added tokens in text: leftmost match first, the longest
// among those starting there (Aho-Corasick's leftmost-longest, which the
// reference uses), then applies each token's word and strip rules.
type matcher struct {
	toks  []addedToken
	first [256][]int // indices into toks by first byte, longest first
	one   int        // the only first byte in use, or -1
}

func newMatcher(toks []addedToken) *matcher {
	if len(toks) == 0 {
		return nil
	}
	m := &matcher{toks: toks, one: -1}
	used := 0
	for i, a := range toks {
		c := a.content[0]
		if m.first[c] == nil {
			used++
			m.one = int(c)
		}
		m.first[c] = append(m.first[c], i)
	}
	if used > 1 {
		m.one = -1
	}
	for c := range m.first {
		slices.SortStableFunc(m.first[c], func(a, b int) int { return len(toks[b].content) - len(toks[a].content) })
	}
	return m
}

// find returns the leftmost-longest match at or after from.
func (m *matcher) find(s string, from int) (start, end, tok int) {
	for i := from; i < len(s); i++ {
		if m.one >= 0 {
			k := strings.IndexByte(s[i:], byte(m.one))
			if k < 0 {
				return -1, -1, -1
			}
			i += k
		}
		for _, k := range m.first[s[i]] {
			if strings.HasPrefix(s[i:], m.toks[k].content) {
				return i, i + len(m.toks[k].content), k
			}
		}
	}
	return -1, -1, -1
}

// split calls f with the text between added tokens (id -1) and with each
// added token found (its id and the piece it covers), in order.
func (m *matcher) split(p piece, f func(q piece, id int32)) {
	s := p.s
	done := 0 // end of the last token emitted
	for from := 0; from < len(s); {
		start, stop, k := m.find(s, from)
		if k < 0 {
			break
		}
		from = stop // the search resumes after the match, as the reference's does
		a := m.toks[k]
		if a.singleWord {
			startOK := start == 0 || !endsWithWord(s[:start])
			stopOK := stop == len(s) || !startsWithWord(s[stop:])
			if !startOK || !stopOK {
				continue
			}
		}
		if a.lstrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), done)
		}
		if a.rstrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		if done < start {
			f(p.sub(done, start), -1)
		}
		f(p.sub(start, stop), a.id)
		done = stop
	}
	if done < len(s) {
		f(p.sub(done, len(s)), -1)
	}
}

// isWordChar is the reference's \w: letters, marks, decimal digits,
// connector punctuation.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Nl, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}
