package completion

import (
	"fmt"
	"strings"
	"testing"
)

// Typing moves the window's edges in steps, not at every line: the
// prefix is a new prefix for the session's KV cache whenever its start
// moves, and the whole context is when the suffix changes. The window
// never exceeds its limit.
func TestWindowEdgesMoveInSteps(t *testing.T) {
	for _, lang := range []string{"go", "lua"} { // lua: no grammar, line windows
		t.Run(lang, func(t *testing.T) { testWindowSteps(t, lang) })
	}
}

func testWindowSteps(t *testing.T, lang string) {
	// A function too long to keep whole, the cursor on an empty line in
	// its middle, code after it.
	var b strings.Builder
	b.WriteString("package main\n\nimport \"fmt\"\n\nfunc long() {\n")
	for i := range 200 {
		fmt.Fprintf(&b, "\tv%d := compute(%d, \"step %d\")\n", i, i, i)
	}
	head := b.String()
	b.Reset()
	for i := range 200 {
		fmt.Fprintf(&b, "\tfmt.Println(v%d)\n", i)
	}
	b.WriteString("}\n")
	text := head + "\t\n" + b.String()
	d := NewDocument("file:///long.go", lang, 1, text)
	defer d.Close()

	const limit = 800 // bytes: the embedded model's window is about this
	line := uint32(strings.Count(head, "\n"))
	char := uint32(1)
	v := int32(1)
	var starts, suffixes []string
	typed := 0
	for l := range 10 {
		ln := fmt.Sprintf("w%d := compute(v%d, \"typed\")", l, l)
		for _, c := range ln + "\n\t" {
			v++
			if err := d.Apply(v, at(line, char, string(c)), UTF16); err != nil {
				t.Fatal(err)
			}
			typed++
			if c == '\n' {
				line++
				char = 0
			} else {
				char++
			}
			d.mu.Lock()
			off, err := d.mapperLocked().Offset(Position{line, char}, UTF16)
			if err != nil {
				d.mu.Unlock()
				t.Fatal(err)
			}
			w := d.windowLocked(off, limit)
			d.mu.Unlock()
			if w.Syntax != (lang == "go") {
				t.Fatalf("keystroke %d: syntax window %v for %s", typed, w.Syntax, lang)
			}
			if n := len(w.Prefix) + len(w.Suffix) - len(w.LinePrefix) - len(w.LineSuffix); n > limit {
				t.Fatalf("keystroke %d: the window holds %d bytes besides the cursor's line, over its limit %d", typed, n, limit)
			}
			// The window's own text starts after the package and import
			// header it carries.
			first, _, _ := strings.Cut(strings.TrimPrefix(w.Prefix, "package main\n\nimport \"fmt\"\n\n"), "\n")
			if len(starts) == 0 || starts[len(starts)-1] != first {
				starts = append(starts, first)
			}
			if len(suffixes) == 0 || suffixes[len(suffixes)-1] != w.Suffix {
				suffixes = append(suffixes, w.Suffix)
			}
		}
	}
	// 10 lines, 280 keystrokes: where the prefix share would start moves
	// 3/4 byte a keystroke within a line and a line at each new line, so
	// about 280 bytes in all, 3–4 steps of limit/8 = 100 bytes. Without
	// steps (before 2026-11-29) the prefix moved 8 times and the suffix
	// 20, each time a prefill of the whole context.
	t.Logf("prefix starts %d, suffixes %d, over %d keystrokes", len(starts), len(suffixes), typed)
	if len(starts) > 6 {
		t.Errorf("the prefix started at %d different lines over %d keystrokes, want at most 6: %q", len(starts), typed, starts)
	}
	if len(suffixes) > 2 {
		t.Errorf("the suffix changed %d times over %d keystrokes, want at most once", len(suffixes)-1, typed)
	}
}
