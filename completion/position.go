package completion

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoding names the unit in which an LSP position counts characters on a
// line (LSP 3.17 positionEncoding).
type Encoding string

const (
	UTF16 Encoding = "utf-16" // the LSP default; every client supports it
	UTF8  Encoding = "utf-8"  // bytes, as tree-sitter counts columns
	UTF32 Encoding = "utf-32" // code points
)

// A Position is an LSP position: a zero-based line and a zero-based
// character offset on that line, counted in the mapper's Encoding.
type Position struct {
	Line      uint32
	Character uint32
}

// A Range is an LSP range: Start inclusive, End exclusive.
type Range struct {
	Start, End Position
}

// A Point is a tree-sitter point: a zero-based row counted by '\n' only and
// a byte column from the start of that row.
type Point struct {
	Row, Column uint32
}

// ErrPosition reports a position outside the document.
var ErrPosition = errors.New("completion: position outside the document")

// A Mapper converts between byte offsets into a text, LSP positions and
// tree-sitter points. It is the one place positions convert.
//
// Lines are split as LSP splits them: at "\n", "\r\n" and a lone "\r".
// A character offset past the end of a line clamps to the end of the line
// (the LSP specification's rule); a line past the last line is an error.
// A character offset that falls inside a character (between the two halves
// of a UTF-16 surrogate pair, or inside a UTF-8 sequence) rounds down to the
// start of that character.
type Mapper struct {
	text  string
	lines []int // byte offset where each LSP line starts
	// rows holds the byte offsets where each tree-sitter row starts; it
	// shares lines' array when the text has no lone '\r'.
	rows []int
}

// NewMapper indexes text.
func NewMapper(text string) *Mapper {
	m := &Mapper{text: text, lines: []int{0}}
	lone := false
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			m.lines = append(m.lines, i+1)
		case '\r':
			if i+1 < len(text) && text[i+1] == '\n' {
				continue
			}
			lone = true
			m.lines = append(m.lines, i+1)
		}
	}
	m.rows = m.lines
	if lone {
		m.rows = []int{0}
		for i := 0; i < len(text); i++ {
			if text[i] == '\n' {
				m.rows = append(m.rows, i+1)
			}
		}
	}
	return m
}

// Text returns the indexed text.
func (m *Mapper) Text() string { return m.text }

// Lines reports the number of LSP lines (an empty text has one).
func (m *Mapper) Lines() int { return len(m.lines) }

// lineEnd returns the offset of the end of LSP line l, before its line break.
func (m *Mapper) lineEnd(l int) int {
	if l+1 >= len(m.lines) {
		return len(m.text)
	}
	end := m.lines[l+1]
	if end > 0 && m.text[end-1] == '\n' {
		end--
		if end > m.lines[l] && m.text[end-1] == '\r' {
			end--
		}
	} else if end > 0 && m.text[end-1] == '\r' {
		end--
	}
	return end
}

// LineRange returns the byte offsets of the start and end (before the line
// break) of LSP line l.
func (m *Mapper) LineRange(l int) (start, end int, err error) {
	if l < 0 || l >= len(m.lines) {
		return 0, 0, fmt.Errorf("%w: line %d of %d", ErrPosition, l, len(m.lines))
	}
	return m.lines[l], m.lineEnd(l), nil
}

// Offset converts an LSP position to a byte offset.
func (m *Mapper) Offset(p Position, enc Encoding) (int, error) {
	start, end, err := m.LineRange(int(p.Line))
	if err != nil {
		return 0, err
	}
	want := int(p.Character)
	if enc == UTF8 {
		off := start + want
		if off > end {
			off = end
		}
		for off > start && off < len(m.text) && !utf8.RuneStart(m.text[off]) {
			off--
		}
		return off, nil
	}
	n := 0
	for off := start; off < end; {
		r, size := utf8.DecodeRuneInString(m.text[off:end])
		w := 1
		if enc != UTF32 && r >= 0x10000 {
			w = utf16.RuneLen(r)
		}
		if n+w > want {
			return off, nil
		}
		n += w
		off += size
	}
	return end, nil
}

// Position converts a byte offset to an LSP position. An offset inside a
// line break maps to the end of its line.
func (m *Mapper) Position(off int, enc Encoding) (Position, error) {
	if off < 0 || off > len(m.text) {
		return Position{}, fmt.Errorf("%w: offset %d of %d", ErrPosition, off, len(m.text))
	}
	l := search(m.lines, off)
	start := m.lines[l]
	if end := m.lineEnd(l); off > end {
		off = end
	}
	for off > start && off < len(m.text) && !utf8.RuneStart(m.text[off]) {
		off--
	}
	return Position{Line: uint32(l), Character: uint32(units(m.text[start:off], enc))}, nil
}

// Point converts a byte offset to a tree-sitter point.
func (m *Mapper) Point(off int) Point {
	if off < 0 {
		off = 0
	}
	if off > len(m.text) {
		off = len(m.text)
	}
	r := search(m.rows, off)
	return Point{Row: uint32(r), Column: uint32(off - m.rows[r])}
}

// OffsetOfPoint converts a tree-sitter point back to a byte offset,
// clamping a column past the end of its row.
func (m *Mapper) OffsetOfPoint(p Point) (int, error) {
	if int(p.Row) >= len(m.rows) {
		return 0, fmt.Errorf("%w: row %d of %d", ErrPosition, p.Row, len(m.rows))
	}
	start := m.rows[p.Row]
	end := len(m.text)
	if int(p.Row)+1 < len(m.rows) {
		end = m.rows[p.Row+1] - 1
	}
	off := start + int(p.Column)
	if off > end {
		off = end
	}
	return off, nil
}

// units counts s in enc's units.
func units(s string, enc Encoding) int {
	switch enc {
	case UTF8:
		return len(s)
	case UTF32:
		return utf8.RuneCountInString(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// EndPoint returns the tree-sitter point reached after text inserted at p.
func EndPoint(p Point, text string) Point {
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			p.Row++
			p.Column = 0
		} else {
			p.Column++
		}
	}
	return p
}

// search returns the index of the last start <= off.
func search(starts []int, off int) int {
	lo, hi := 0, len(starts)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if starts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
