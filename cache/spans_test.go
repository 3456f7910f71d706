package cache

import (
	"slices"
	"strings"
	"testing"
)

func newTestSpans(t testing.TB, cfg Config) *Spans {
	t.Helper()
	s, err := NewSpans(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

const (
	goPrefix = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tx := 1\n\t"
	goSuffix = "\n}\n"
)

func TestSpansLookup(t *testing.T) {
	tests := []struct {
		name           string
		prefix, suffix string
		want           string
		ok             bool
	}{
		{"same context", goPrefix, goSuffix, "fmt.Println(x)", true},
		{"typed a word", goPrefix + "fmt", goSuffix, ".Println(x)", true},
		{"typed past a dot", goPrefix + "fmt.Pr", goSuffix, "intln(x)", true},
		{"typed all but one", goPrefix + "fmt.Println(x", goSuffix, ")", true},
		{"typed it all", goPrefix + "fmt.Println(x)", goSuffix, "", false},
		{"typed something else", goPrefix + "fmt.Sp", goSuffix, "", false},
		{"deleted a character", goPrefix[:len(goPrefix)-1], goSuffix, "", false},
		{"other suffix", goPrefix, "\n\treturn\n}\n", "", false},
		{"CRLF prefix", strings.ReplaceAll(goPrefix, "\n", "\r\n") + "fmt.", goSuffix, "Println(x)", true},
		{"CRLF suffix", goPrefix, "\r\n}\r\n", "fmt.Println(x)", true},
		{"edit inside the window", strings.Replace(goPrefix, "x := 1", "x := 2", 1), goSuffix, "", false},
	}
	s := newTestSpans(t, Config{Fingerprint: "m1"})
	s.Put("a.go", goPrefix, goSuffix, "fmt.Println(x)", 12)
	for _, tt := range tests {
		got, ok := s.Lookup("a.go", tt.prefix, tt.suffix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Lookup(%q, %q) = %q, %v, want %q, %v", tt.name, tt.prefix, tt.suffix, got, ok, tt.want, tt.ok)
		}
	}
	if st := s.Stats(); st.PinnedHits == 0 || st.ForwardsSaved != 12*st.Hits {
		t.Errorf("Stats() = %+v: want pinned hits, ForwardsSaved = 12 per hit", st)
	}
}

// TestSpansWindow guards that only the last PrefixWindow bytes key a
// context: an edit far above the cursor keeps the completion.
func TestSpansWindow(t *testing.T) {
	s := newTestSpans(t, Config{PrefixWindow: 32})
	far := strings.Repeat("// filler line\n", 10)
	s.Put("a.go", far+goPrefix, goSuffix, "fmt.Println(x)", 1)
	edited := strings.Replace(far, "filler", "FILLER", 1) + goPrefix + "fmt."
	if got, ok := s.Lookup("a.go", edited, goSuffix); got != "Println(x)" || !ok {
		t.Errorf("Lookup after an edit outside the window = %q, %v, want %q, true", got, ok, "Println(x)")
	}
	near := strings.Replace(far+goPrefix, "x := 1", "y := 1", 1) + "fmt."
	if got, ok := s.Lookup("a.go", near, goSuffix); ok {
		t.Errorf("Lookup after an edit inside the window = %q, %v, want a miss", got, ok)
	}
}

func TestSpansFingerprint(t *testing.T) {
	s := newTestSpans(t, Config{Fingerprint: "m1"})
	s.Put("a.go", goPrefix, goSuffix, "fmt.Println(x)", 1)
	s.SetFingerprint("m2")
	if got, ok := s.Lookup("a.go", goPrefix, goSuffix); ok {
		t.Errorf("Lookup under another fingerprint = %q, want a miss", got)
	}
	s.SetFingerprint("m1")
	if _, ok := s.Lookup("a.go", goPrefix, goSuffix); !ok {
		t.Errorf("Lookup back under the first fingerprint missed")
	}
}

// TestSpansUnpinned checks the paths through ristretto, once a completion
// is no longer among its document's pins: scanning back and forwarding.
func TestSpansUnpinned(t *testing.T) {
	text := "fmt.Println(\"a long enough line to type through, well past fifty characters\")"
	tests := []struct {
		name          string
		scan, forward int
		typed         int
		ok            bool
	}{
		{"scan, nothing typed", 128, -1, 0, true},
		{"scan, 10 typed", 128, -1, 10, true},
		{"scan, 60 typed", 128, -1, 60, true},
		{"scan, past ScanBack", 16, -1, 20, false},
		{"forward, 10 typed", -1, 50, 10, true},
		{"forward, 50 typed", -1, 50, 50, true},
		{"forward, past Forward", -1, 50, 60, false},
		{"both, 60 typed", 128, 50, 60, true},
	}
	for _, tt := range tests {
		s := newTestSpans(t, Config{ScanBack: tt.scan, Forward: tt.forward})
		s.Put("a.go", goPrefix, goSuffix, text, 1)
		// Two newer completions elsewhere in the document push it out of the pins.
		s.Put("a.go", "other", "", "x", 1)
		s.Put("a.go", "another", "", "y", 1)
		s.Wait()
		got, ok := s.Lookup("a.go", goPrefix+text[:tt.typed], goSuffix)
		want := ""
		if tt.ok {
			want = text[tt.typed:]
		}
		if got != want || ok != tt.ok {
			t.Errorf("%s: Lookup = %q, %v, want %q, %v", tt.name, got, ok, want, tt.ok)
		}
		if !tt.ok {
			continue
		}
		// Another document with the same context shares the entry.
		if got, ok := s.Lookup("b.go", goPrefix+text[:tt.typed], goSuffix); got != want || !ok {
			t.Errorf("%s: Lookup in another document = %q, %v, want %q, true", tt.name, got, ok, want)
		}
	}
}

// TestScanOffThroughNew guards that -1 (off) survives New, which applies
// the defaults before NewSpans applies them again.
func TestScanOffThroughNew(t *testing.T) {
	c, err := New[sized, *fakeSession](Config{ScanBack: -1, Forward: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Spans.Put("a.go", goPrefix, goSuffix, "fmt.Println(x)", 1)
	c.Spans.Put("a.go", "x", "", "y", 1)
	c.Spans.Put("a.go", "z", "", "w", 1)
	c.Spans.Wait()
	if _, ok := c.Spans.Lookup("a.go", goPrefix, goSuffix); !ok {
		t.Errorf("Lookup of the exact context missed with scanning off")
	}
	if got, ok := c.Spans.Lookup("a.go", goPrefix+"fmt", goSuffix); ok {
		t.Errorf("Lookup 3 characters on = %q with scanning and forwarding off, want a miss", got)
	}
	c.Drafts.Put("a.go", goPrefix, goSuffix, sized{"d", 10})
	if _, typed, ok := c.Drafts.Get("a.go", goPrefix+"f", goSuffix); !ok || typed != "f" {
		t.Errorf("Drafts.Get = %q, %v with span scanning off, want %q, true: drafts scan on their own", typed, ok, "f")
	}
}

func TestSpansForget(t *testing.T) {
	s := newTestSpans(t, Config{ScanBack: -1})
	s.Put("a.go", goPrefix, goSuffix, "fmt.Println(x)", 1)
	s.Forget("a.go")
	// With no scanning, a typed-through completion is found only in the pins.
	if got, ok := s.Lookup("a.go", goPrefix+"fmt", goSuffix); ok {
		t.Errorf("Lookup after Forget = %q, want a miss", got)
	}
	if st := s.Stats(); st.Bytes < 0 {
		t.Errorf("Stats().Bytes = %d after Forget, want >= 0", st.Bytes)
	}
}

func TestSpansMaxDocs(t *testing.T) {
	s := newTestSpans(t, Config{MaxDocs: 2, ScanBack: -1})
	for _, doc := range []string{"a", "b", "c"} {
		s.Put(doc, goPrefix+doc, goSuffix, "fmt.Println(x)", 1)
	}
	if _, ok := s.Lookup("a", goPrefix+"a"+"fmt", goSuffix); ok {
		t.Errorf("the oldest document's pins survived past MaxDocs")
	}
	if _, ok := s.Lookup("c", goPrefix+"c"+"fmt", goSuffix); !ok {
		t.Errorf("the newest document's pins were dropped")
	}
}

// TestMark holds Rests to Lookup's rules for a pinned completion, for a
// Mark of several texts: the same context plus characters typed that
// start one of them.
func TestMark(t *testing.T) {
	texts := []string{"fmt.Println(x)", "fmt.Printf(x)", "x++"}
	far := strings.Repeat("// filler line\n", 200) // the prefix runs past PrefixWindow
	tests := []struct {
		name           string
		prefix, suffix string
		rests          []string // nil: no match
	}{
		{"same context", far + goPrefix, goSuffix, texts},
		{"typed the start of two", far + goPrefix + "fmt.Print", goSuffix, []string{"ln(x)", "f(x)", ""}},
		{"typed the start of one", far + goPrefix + "fmt.Printl", goSuffix, []string{"n(x)", "", ""}},
		{"typed all of one and the start of none", far + goPrefix + "x++", goSuffix, nil},
		{"typed what starts none", far + goPrefix + "y", goSuffix, nil},
		{"deleted a character", far + goPrefix[:len(goPrefix)-1], goSuffix, nil},
		{"other suffix", far + goPrefix, "\n\treturn\n}\n", nil},
		{"edit inside the window", far + strings.Replace(goPrefix, "x := 1", "x := 2", 1), goSuffix, nil},
		{"edit outside the window", "// FILLER" + far[9:] + goPrefix + "x", goSuffix, []string{"", "", "++"}},
		{"CRLF prefix", strings.ReplaceAll(far+goPrefix, "\n", "\r\n") + "fmt.Print", goSuffix, []string{"ln(x)", "f(x)", ""}},
	}
	s := newTestSpans(t, Config{Fingerprint: "m1"})
	m := s.Mark(far+goPrefix, goSuffix, texts...)
	for _, tt := range tests {
		rests, ok := s.Rests(m, tt.prefix, tt.suffix)
		if ok != (tt.rests != nil) || !slices.Equal(rests, tt.rests) {
			t.Errorf("%s: Rests = %q, %v, want %q", tt.name, rests, ok, tt.rests)
		}
	}
	if st := s.Stats(); st.Hits+st.Misses+st.Puts != 0 {
		t.Errorf("Stats() = %+v after Marks only: want them uncounted", st)
	}
	s.SetFingerprint("m2")
	if rests, ok := s.Rests(m, far+goPrefix, goSuffix); ok {
		t.Errorf("Rests under another fingerprint = %q, want no match", rests)
	}
	if rests, ok := s.Rests(nil, far+goPrefix, goSuffix); ok {
		t.Errorf("Rests(nil) = %q, want no match", rests)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{PrefixWindow: -1}, {ScanBack: -2}, {Forward: -5}, {SessionBytes: -1}, {DraftBytes: -1}} {
		if _, err := New[sized, *fakeSession](cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
}
