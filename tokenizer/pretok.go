package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The split patterns the scanner implements, spelled exactly as
// tokenizer.json files carry them. Go's regexp cannot express them (\s+(?!\S)
// needs a lookahead), so each is hand-compiled into a scanner below.
const (
	// patternGPT2 is GPT-2's pattern, also used by the ByteLevel
	// pre-tokenizer when its use_regex flag is set.
	patternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// patternQwen2 is the Qwen2/Qwen2.5/Qwen3 pattern: single digits.
	patternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternLlama3 is the LLaMA-3 pattern: digits in groups of up to three.
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// A scanner splits text the way one of the known patterns does.
type scanner struct {
	pattern string
	// qwen selects the Qwen2/LLaMA-3 family (case-insensitive contractions,
	// one leading non-letter before letters, newlines attached to
	// punctuation); otherwise GPT-2.
	qwen bool
	// maxDigits is the longest digit run one match takes (0 = unlimited).
	maxDigits int
}

var knownPatterns = map[string]*scanner{
	patternGPT2:   {pattern: patternGPT2},
	patternQwen2:  {pattern: patternQwen2, qwen: true, maxDigits: 1},
	patternLlama3: {pattern: patternLlama3, qwen: true, maxDigits: 3},
}

// Character classes, as the reference's regex engine (Oniguruma) sees
// them: \p{L}, \p{N}, \s (White_Space) and everything else.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

var asciiClass [utf8.RuneSelf]uint8

func init() {
	for c := 0; c < utf8.RuneSelf; c++ {
		asciiClass[c] = uint8(classOfSlow(rune(c)))
	}
}

func classOfSlow(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// classAt returns the class of the character at s[i] and its length in bytes.
// Invalid UTF-8 never reaches it: Encode replaces it first.
func classAt(s string, i int) (int, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return int(asciiClass[c]), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return classOfSlow(r), n
}

// skipClass returns the end of the run of characters of class c from i.
func skipClass(s string, i, c int) int {
	for i < len(s) {
		k, n := classAt(s, i)
		if k != c {
			break
		}
		i += n
	}
	return i
}

// next returns the end of the match that begins at i (i < len(s)). The
// patterns match every character, so matches tile the text.
func (sc *scanner) next(s string, i int) int {
	c0, n0 := classAt(s, i)
	if s[i] == '\'' {
		if n := sc.contraction(s, i+1); n > 0 {
			return i + 1 + n
		}
	}
	if sc.qwen {
		return sc.nextQwen(s, i, c0, n0)
	}
	switch c0 {
	case classLetter, classNumber:
		return skipClass(s, i+n0, c0)
	case classOther:
		return skipClass(s, i+n0, classOther)
	}
	// ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+` with the optional space.
	if s[i] == ' ' && i+1 < len(s) {
		if c1, n1 := classAt(s, i+1); c1 != classSpace {
			return skipClass(s, i+1+n1, c1)
		}
	}
	return spaceEnd(s, i, false)
}

func (sc *scanner) nextQwen(s string, i, c0, n0 int) int {
	switch c0 {
	case classLetter:
		return skipClass(s, i+n0, classLetter)
	case classNumber:
		j := i + n0
		for k := 1; sc.maxDigits == 0 || k < sc.maxDigits; k++ {
			if j >= len(s) {
				break
			}
			c, n := classAt(s, j)
			if c != classNumber {
				break
			}
			j += n
		}
		return j
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if s[i] != '\r' && s[i] != '\n' && i+n0 < len(s) {
		if c1, n1 := classAt(s, i+n0); c1 == classLetter {
			return skipClass(s, i+n0+n1, classLetter)
		}
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	j := i
	if s[i] == ' ' {
		j++
	}
	if j < len(s) {
		if c, n := classAt(s, j); c == classOther {
			j = skipClass(s, j+n, classOther)
			for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
				j++
			}
			return j
		}
	}
	if c0 == classOther {
		return i + n0 // unreachable: an other character matched above
	}
	return spaceEnd(s, i, true)
}

// spaceEnd returns the end of the whitespace match at i: with newlines
// (Qwen family) `\s*[\r\n]+` first, then `\s+(?!\S)`, then `\s+`.
func spaceEnd(s string, i int, newlines bool) int {
	j, last, lastNL, runes := i, i, -1, 0
	for j < len(s) {
		c, n := classAt(s, j)
		if c != classSpace {
			break
		}
		if s[j] == '\r' || s[j] == '\n' {
			lastNL = j + 1
		}
		last = j
		j += n
		runes++
	}
	if newlines && lastNL > 0 {
		return lastNL
	}
	if j == len(s) || runes < 2 {
		return j
	}
	return last // leave the last space to start the next word
}

// contraction returns the length of the contraction suffix after an
// apostrophe at s[i:] ('s 't 're 've 'm 'll 'd), 0 if none.
func (sc *scanner) contraction(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	r1, n1 := utf8.DecodeRuneInString(s[i:])
	if sc.qwen {
		r1 = foldASCII(r1)
	}
	switch r1 {
	case 's', 't', 'm', 'd':
		return n1
	case 'r', 'v', 'l':
		if i+n1 >= len(s) {
			return 0
		}
		r2, n2 := utf8.DecodeRuneInString(s[i+n1:])
		if sc.qwen {
			r2 = foldASCII(r2)
		}
		if (r1 == 'r' || r1 == 'v') && r2 == 'e' || r1 == 'l' && r2 == 'l' {
			return n1 + n2
		}
	}
	return 0
}

// foldASCII folds r to the ASCII lower-case letter it matches
// case-insensitively, if any (ſ U+017F folds to s under Unicode rules).
func foldASCII(r rune) rune {
	switch {
	case r >= 'A' && r <= 'Z':
		return r + 'a' - 'A'
	case r == 'ſ':
		return 's'
	}
	return r
}
