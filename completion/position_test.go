package completion

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestMapperOffset(t *testing.T) {
	tests := []struct {
		name string
		text string
		pos  Position
		enc  Encoding
		want int
		err  bool
	}{
		{"start", "abc\ndef", Position{0, 0}, UTF16, 0, false},
		{"second line", "abc\ndef", Position{1, 2}, UTF16, 6, false},
		{"end of text", "abc\ndef", Position{1, 3}, UTF16, 7, false},
		{"past end of line clamps", "abc\ndef", Position{0, 99}, UTF16, 3, false},
		{"past last line errors", "abc\ndef", Position{2, 0}, UTF16, 0, true},
		{"crlf line end", "ab\r\ncd", Position{0, 5}, UTF16, 2, false},
		{"crlf next line", "ab\r\ncd", Position{1, 1}, UTF16, 5, false},
		{"lone cr is a line break", "ab\rcd", Position{1, 1}, UTF16, 4, false},
		{"tab is one unit", "\tx", Position{0, 1}, UTF16, 1, false},
		{"bmp two bytes", "é=1", Position{0, 1}, UTF16, 2, false},
		{"surrogate pair counts two", "😀x", Position{0, 2}, UTF16, 4, false},
		{"inside surrogate pair rounds down", "😀x", Position{0, 1}, UTF16, 0, false},
		{"after surrogate pair utf-8", "😀x", Position{0, 4}, UTF8, 4, false},
		{"inside utf-8 sequence rounds down", "😀x", Position{0, 2}, UTF8, 0, false},
		{"utf-32 counts code points", "😀x", Position{0, 1}, UTF32, 4, false},
		{"empty text", "", Position{0, 5}, UTF16, 0, false},
		{"trailing newline gives an empty last line", "a\n", Position{1, 0}, UTF16, 2, false},
	}
	for _, tt := range tests {
		got, err := NewMapper(tt.text).Offset(tt.pos, tt.enc)
		if tt.err {
			if !errors.Is(err, ErrPosition) {
				t.Errorf("%s: Offset(%q, %v) error = %v, want ErrPosition", tt.name, tt.text, tt.pos, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: Offset(%q, %v, %s) = %d, %v, want %d", tt.name, tt.text, tt.pos, tt.enc, got, err, tt.want)
		}
	}
}

func TestMapperPosition(t *testing.T) {
	tests := []struct {
		text string
		off  int
		enc  Encoding
		want Position
	}{
		{"abc\ndef", 5, UTF16, Position{1, 1}},
		{"ab\r\ncd", 3, UTF16, Position{0, 2}}, // inside the line break
		{"ab\r\ncd", 4, UTF16, Position{1, 0}},
		{"😀x", 4, UTF16, Position{0, 2}},
		{"😀x", 5, UTF16, Position{0, 3}},
		{"😀x", 4, UTF8, Position{0, 4}},
		{"😀x", 2, UTF16, Position{0, 0}}, // inside a character
		{"\t\tx", 2, UTF16, Position{0, 2}},
		{"a\rb", 2, UTF16, Position{1, 0}},
	}
	for _, tt := range tests {
		got, err := NewMapper(tt.text).Position(tt.off, tt.enc)
		if err != nil || got != tt.want {
			t.Errorf("Position(%q, %d, %s) = %v, %v, want %v", tt.text, tt.off, tt.enc, got, err, tt.want)
		}
	}
	if _, err := NewMapper("ab").Position(3, UTF16); !errors.Is(err, ErrPosition) {
		t.Errorf("Position past the end: error = %v, want ErrPosition", err)
	}
}

func TestMapperPoint(t *testing.T) {
	tests := []struct {
		text string
		off  int
		want Point
	}{
		{"abc\ndef", 5, Point{1, 1}},
		{"ab\r\ncd", 5, Point{1, 1}},
		{"a\rb", 2, Point{0, 2}}, // tree-sitter rows split at '\n' only
		{"😀x", 4, Point{0, 4}},   // columns are bytes
		{"\tx\n\ty", 5, Point{1, 2}},
	}
	for _, tt := range tests {
		m := NewMapper(tt.text)
		got := m.Point(tt.off)
		if got != tt.want {
			t.Errorf("Point(%q, %d) = %v, want %v", tt.text, tt.off, got, tt.want)
		}
		back, err := m.OffsetOfPoint(got)
		if err != nil || back != tt.off {
			t.Errorf("OffsetOfPoint(%q, %v) = %d, %v, want %d", tt.text, got, back, err, tt.off)
		}
	}
}

// TestMapperRoundTrip holds Offset and Position together at every offset
// that starts a character.
func TestMapperRoundTrip(t *testing.T) {
	text := "package main\r\n\tx := \"😀é\"\n\ry\n"
	m := NewMapper(text)
	for _, enc := range []Encoding{UTF16, UTF8, UTF32} {
		for off := 0; off <= len(text); off++ {
			if off < len(text) && (text[off]&0xC0 == 0x80) {
				continue
			}
			if off > 0 && text[off-1] == '\r' && off < len(text) && text[off] == '\n' {
				continue // between \r and \n: not a position
			}
			p, err := m.Position(off, enc)
			if err != nil {
				t.Fatalf("Position(%d): %v", off, err)
			}
			back, err := m.Offset(p, enc)
			if err != nil || back != off {
				t.Errorf("%s: Offset(Position(%d) = %v) = %d, %v", enc, off, p, back, err)
			}
		}
	}
}

func TestEndPoint(t *testing.T) {
	if got, want := EndPoint(Point{2, 3}, "ab\ncd"), (Point{3, 2}); got != want {
		t.Errorf("EndPoint = %v, want %v", got, want)
	}
}

// FuzzMapper: for any text and position, Offset lands on a character
// boundary inside the text, and Position maps it back to the same offset.
func FuzzMapper(f *testing.F) {
	f.Add("a\r\nb😀\rc\n", uint32(1), uint32(3))
	f.Fuzz(func(t *testing.T, text string, line, char uint32) {
		m := NewMapper(text)
		for _, enc := range []Encoding{UTF16, UTF8, UTF32} {
			off, err := m.Offset(Position{line, char}, enc)
			if err != nil {
				if int(line) < m.Lines() {
					t.Fatalf("Offset(%d:%d) in a %d-line text: %v", line, char, m.Lines(), err)
				}
				continue
			}
			if off < 0 || off > len(text) {
				t.Fatalf("Offset = %d outside [0, %d]", off, len(text))
			}
			p, err := m.Position(off, enc)
			if err != nil {
				t.Fatal(err)
			}
			if back, _ := m.Offset(p, enc); back != off && utf8.ValidString(text) {
				t.Fatalf("%s: Offset(Position(%d) = %v) = %d", enc, off, p, back)
			}
		}
	})
}
