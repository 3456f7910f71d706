package tokenizer

import "unicode/utf8"

// byteRune maps each byte to the printable character GPT-2's byte-level
// alphabet uses for it (bytes_to_unicode in the reference): printable
// Latin-1 bytes stand for themselves, the rest are shifted to U+0100 onward.
var byteRune [256]rune

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = rune(256 + n)
			n++
		}
		byteOfRune[byteRune[b]] = byte(b)
	}
}

// byteLevelDecode returns the bytes a token stands for, as the reference's
// ByteLevel decoder computes them: every character mapped back through the
// alphabet, or, if any character is outside it, the token's own UTF-8 bytes.
func byteLevelDecode(tok string) []byte { return appendByteLevelDecode(nil, tok) }

func appendByteLevelDecode(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		b, ok := runeToByte(r)
		if !ok {
			return append(dst[:start], tok...)
		}
		dst = append(dst, b)
	}
	return dst
}

// byteOfRune inverts byteRune for the runes below U+0180 (the alphabet).
var byteOfRune [0x180]byte

// runeToByte returns the byte an alphabet character stands for, and
// whether r is in the alphabet.
func runeToByte(r rune) (byte, bool) {
	if r < 0 || r >= 0x180 {
		return 0, false
	}
	b := byteOfRune[r]
	return b, byteRune[b] == r
}

// appendLossy appends b to dst as valid UTF-8, replacing each maximal
// subpart of an ill-formed sequence with one U+FFFD, as Rust's
// String::from_utf8_lossy and Python's errors="replace" do. (Go's own
// conversion replaces every bad byte separately, which differs.)
func appendLossy(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if r, n := utf8.DecodeRune(b[i:]); r != utf8.RuneError || n > 1 {
			dst = append(dst, b[i:i+n]...)
			i += n
			continue
		}
		dst = append(dst, "\uFFFD"...)
		i += invalidLen(b[i:])
	}
	return dst
}

// invalidLen returns the length of the maximal subpart of an ill-formed
// UTF-8 sequence at the start of b (b[0] does not begin a valid character):
// the longest prefix that could still begin a valid character, at least 1.
func invalidLen(b []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		c := b[n]
		if k == 0 {
			if c < lo || c > hi {
				break
			}
		} else if c < 0x80 || c > 0xBF {
			break
		}
		n++
	}
	return n
}

// incompleteTail returns how many trailing bytes of b form a proper prefix
// of a valid UTF-8 character (one that more bytes could complete), or 0.
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		start := len(b) - k
		c := b[start]
		if c < 0x80 {
			return 0
		}
		if c < 0xC0 { // continuation byte: keep looking for the lead
			continue
		}
		if invalidLen(b[start:]) == k && !utf8.FullRune(b[start:]) {
			return k
		}
		return 0
	}
	return 0
}
