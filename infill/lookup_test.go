package infill

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLookupText(t *testing.T) {
	for _, c := range []struct {
		name, prefix, suffix, want string
	}{
		{"earlier line", "\tt.Errorf(\"a\")\n}\nfunc g() {\n\tt.Err", "", "orf(\"a\")"},
		{"longest key wins over the latest", "ab.Call(1)\ncd.Call(2)\nab.Call(", "", "1)"},
		{"the latest of equal keys", "a = f(1)\nb = f(2)\nc = f(", "", "2)"},
		{"keys under three bytes", "ab;\nab", "", ""},
		{"no match", "func main() {\n\tfmt.", "}\n", ""},
		{"from the suffix", "return errNo", ")\n}\nvar errNotFound = x\n", "tFound = x"},
		{"the prefix first", "var errNotSet\nreturn errNo", "\nvar errNotFound\n", "tSet"},
		{"a key followed by a line break falls back to a shorter one", "zbcde\nabcde1\nyy zbcde", "", "1"},
		{"only line breaks follow", "abcde\nxx abcde", "", ""},
		{"short prefix", "ab", "abcdef", ""},
		{"a three-byte key", "abc", "xabcdef", "def"},
		{"the tail is not its own match", "qwerty", "", ""},
		{"to the end of the text", "k := v1\nk := ", "", "v1"},
		{"multi-byte text", "é := «x»\né := «", "", "x»"},
	} {
		if got := LookupText(c.prefix, c.suffix); got != c.want {
			t.Errorf("%s: LookupText(%q, %q) = %q, want %q", c.name, c.prefix, c.suffix, got, c.want)
		}
	}
	// Other open files are searched after the file's own text.
	for _, c := range []struct {
		name, prefix, suffix string
		others               []string
		want                 string
	}{
		{"from another file", "x := strings.Tr", "", []string{"package a\ny := strings.TrimSpace(s)\n"}, "imSpace(s)"},
		{"the file's own text first at equal length", "a.Fo", "a.Foo()\n", []string{"a.Fob()"}, "o()"},
		{"a longer key in another file wins", "z := a.Fo", "a.Foo()\n", []string{"q", "z := a.Fob()"}, "b()"},
		{"the first other file at equal length", "k.Ge", "", []string{"k.Get(1)", "k.Get(2)"}, "t(1)"},
		{"a longer key only in a later file", "v := k.Ge", "", []string{"k.Get(1)", "v := k.Get(2)"}, "t(2)"},
		{"none holds it", "k.Ge", "x", []string{"", "y"}, ""},
	} {
		if got := LookupText(c.prefix, c.suffix, c.others...); got != c.want {
			t.Errorf("%s: LookupText(%q, %q, %q) = %q, want %q", c.name, c.prefix, c.suffix, c.others, got, c.want)
		}
	}
}

// LookupTexts ranks the distinct continuations: the longest key first,
// then shorter ones, each in the haystacks' order; LookupText is its
// first.
func TestLookupTexts(t *testing.T) {
	for _, c := range []struct {
		name, prefix, suffix string
		others               []string
		want                 []string
	}{
		{"longer keys first", "ab.Call(1)\ncd.Call(2)\nab.Call(", "", nil, []string{"1)", "2)"}},
		{"the same continuation once", "a = f(1)\nb = f(1)\nc = f(", "", nil, []string{"1)"}},
		{"prefix, suffix, then others", "x.Ge", "x.Get(2)\n", []string{"x.Get(3)", "x.Get(2)", "x.Get(4)"}, []string{"t(2)", "t(3)", "t(4)"}},
		{"at most n", "x.Ge", "x.Get(2)\n", []string{"x.Get(3)", "x.Get(4)", "x.Get(5)", "x.Get(6)"}, []string{"t(2)", "t(3)", "t(4)"}},
		{"none", "func main() {\n\tfmt.", "}\n", nil, nil},
	} {
		got := LookupTexts(c.prefix, c.suffix, 3, c.others...)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: LookupTexts(%q, %q, 3, %q) = %q, want %q", c.name, c.prefix, c.suffix, c.others, got, c.want)
		}
		if first := LookupText(c.prefix, c.suffix, c.others...); len(got) > 0 && first != got[0] || len(got) == 0 && first != "" {
			t.Errorf("%s: LookupText = %q, want LookupTexts' first of %q", c.name, first, got)
		}
	}
}

// A request with no draft of its own gets the context's continuation as a
// draft with an end token; the verifying pass keeps what scores at least
// Settings.DraftFloor and the steps fill the rest.
func TestLookupDraft(t *testing.T) {
	const prefix = "ab.Call(1)\ncd.Call(2)\nab.Call("
	pass := []dist{d1('1', 0.25), d1(')', 0.6), d1(tEOS, 0.9), d1(tEOS, 0.99), d1(tEOS, 0.99), d1(tEOS, 0.99)}
	after := []dist{d1('7', 0.95), d1(')', 0.95), d1(tEOS, 0.95), d1(tEOS, 0.99), d1(tEOS, 0.99), d1(tEOS, 0.99)}

	b := &fakeBackend{info: ourInfo(6), script: table(pass, after)}
	res, _ := decode(t, b, Request{Prefix: prefix, Settings: settings(func(s *Settings) { s.Lookup, s.DraftFloor = true, 0.2 })})
	if res.Text != "1)" || res.Stop != StopEOS || res.Stats.Forwards != 1 || res.Stats.Lookup != 3 || res.Stats.WarmKept != 3 {
		t.Errorf("floor 0.2: Infill = %q (%s, %+v), want 1) (eos) in 1 forward, 3 offered, 3 kept", res.Text, res.Stop, res.Stats)
	}
	if want := []int32{tFIMMiddle, '1', ')', tEOS, tEOS, tEOS, tEOS}; !slices.Equal(blocks(b)[0], want) {
		t.Errorf("verifying block = %v, want %v", blocks(b)[0], want)
	}

	// Above the first token's 0.25 it is re-masked and decided by the next
	// step, which sees the kept ")" and end.
	b = &fakeBackend{info: ourInfo(6), script: table(pass, after)}
	res, _ = decode(t, b, Request{Prefix: prefix, Settings: settings(func(s *Settings) { s.Lookup, s.DraftFloor = true, 0.5 })})
	if res.Text != "7)" || res.Stats.Forwards != 2 || res.Stats.WarmKept != 2 {
		t.Errorf("floor 0.5: Infill = %q (%+v), want 7) in 2 forwards, 2 kept", res.Text, res.Stats)
	}
	if want := []int32{tFIMMiddle, M, ')', tEOS, tEOS, tEOS, tEOS}; !slices.Equal(blocks(b)[1], want) {
		t.Errorf("second block = %v, want %v", blocks(b)[1], want)
	}

	// Off, or a request that brings its own draft: no lookup.
	for _, req := range []Request{
		{Prefix: prefix, Settings: settings(func(s *Settings) {})},
		{Prefix: prefix, Settings: settings(func(s *Settings) { s.Lookup, s.DraftFloor = true, 0.2 }), Draft: &Draft{Tokens: []int32{'7'}}},
	} {
		b = &fakeBackend{info: ourInfo(6), script: table(pass, after)}
		res, _ = decode(t, b, req)
		if res.Stats.Lookup != 0 || blocks(b)[0][1] == '1' {
			t.Errorf("lookup %v with draft %v: offered %d, first block %v", req.Settings.Lookup, req.Draft, res.Stats.Lookup, blocks(b)[0])
		}
	}

	// A draft longer than MaxTokens is cut there and has no end token.
	b = &fakeBackend{info: ourInfo(6), script: table(pass, after)}
	res, _ = decode(t, b, Request{Prefix: prefix, Settings: settings(func(s *Settings) { s.Lookup, s.DraftFloor, s.MaxTokens = true, 0.2, 1 })})
	if res.Stats.Lookup != 1 || res.Text != "1" {
		t.Errorf("MaxTokens 1: Infill = %q (%+v), want 1 with 1 token offered", res.Text, res.Stats)
	}

	// LookupPrefix and LookupSuffix are searched instead of the window:
	// here the repeat lies before the model's prefix, and a window suffix
	// that offers another continuation is not searched.
	b = &fakeBackend{info: ourInfo(6), script: table(pass, after)}
	res, _ = decode(t, b, Request{Prefix: "ab.Call(", Suffix: "\nab.Call(9)", LookupPrefix: prefix, LookupSuffix: "\n",
		Settings: settings(func(s *Settings) { s.Lookup, s.DraftFloor = true, 0.2 })})
	if res.Stats.Lookup != 3 || res.Text != "1)" {
		t.Errorf("wider lookup text: Infill = %q (%+v), want 1) from the lookup prefix, 3 offered", res.Text, res.Stats)
	}
	if want := []int32{tFIMMiddle, '1', ')', tEOS, tEOS, tEOS, tEOS}; !slices.Equal(blocks(b)[0], want) {
		t.Errorf("wider lookup text: verifying block = %v, want %v", blocks(b)[0], want)
	}

	// LookupRank 1 drafts the second continuation ("2)", after the
	// shorter key ".Call("); rank 2 has none: no answer, no forward pass.
	b = &fakeBackend{info: ourInfo(6), script: table(pass, after)}
	res, _ = decode(t, b, Request{Prefix: prefix, Settings: settings(func(s *Settings) { s.Lookup, s.DraftFloor, s.LookupRank = true, 0.2, 1 })})
	if want := []int32{tFIMMiddle, '2', ')', tEOS, tEOS, tEOS, tEOS}; res.Stats.Lookup != 3 || !slices.Equal(blocks(b)[0], want) {
		t.Errorf("LookupRank 1: verifying block = %v (%+v), want %v", blocks(b)[0], res.Stats, want)
	}
	b = &fakeBackend{info: ourInfo(6), script: table(pass, after)}
	res, _ = decode(t, b, Request{Prefix: prefix, Settings: settings(func(s *Settings) { s.Lookup, s.LookupRank = true, 2 })})
	if res.Text != "" || res.Stop != StopNoDraft || res.Stats.Forwards != 0 || len(blocks(b)) != 0 {
		t.Errorf("LookupRank 2: Infill = %q (%s, %+v); want no text, %s, no forward pass", res.Text, res.Stop, res.Stats, StopNoDraft)
	}

	if _, err := newDecoder(b, byteCodec{}).Infill(t.Context(), Request{Prefix: prefix, Settings: settings(func(s *Settings) { s.DraftFloor = 1 })}); err == nil {
		t.Error("DraftFloor 1: no error")
	}
}

// A bidirectional checkpoint verifies the lookup draft on its canvas too.
func TestLookupDraftBidirectional(t *testing.T) {
	b := &fakeBackend{info: dreamInfo(4), script: bidiOracle("ab)", tEOS, 1, 2)}
	res, _ := decode(t, b, Request{Prefix: "yf(ab)\nyf(", Suffix: "S", Settings: settings(func(s *Settings) { s.Lookup, s.DraftFloor = true, 0.01 })})
	if res.Text != "ab)" || res.Stop != StopEOS || res.Stats.Forwards != 1 || res.Stats.Lookup != 4 || res.Stats.WarmKept != 4 {
		t.Errorf("Infill = %q (%s, %+v), want ab) (eos) in 1 forward, 4 offered and kept", res.Text, res.Stop, res.Stats)
	}
	if want := []int32{'(', 'a', 'b', ')', tEOS, 'S', tEOS}; !slices.Equal(blocks(b)[0], want) {
		t.Errorf("verifying block = %v, want %v", blocks(b)[0], want)
	}
}

// LookupText returns one line of the context, valid UTF-8 when the context
// is, that follows an earlier occurrence of the prefix's last bytes.
func FuzzLookupText(f *testing.F) {
	f.Add("a = f(1)\nb = f(2)\nc = f(", "", "")
	f.Add("return errNo", ")\n}\nvar errNotFound = x\n", "")
	f.Add("é := «x»\né := «", "»", "")
	f.Add("x := strings.Tr", "", "y := strings.TrimSpace(s)\n")
	f.Fuzz(func(t *testing.T, prefix, suffix, other string) {
		got := LookupText(prefix, suffix, other)
		if got == "" {
			return
		}
		if strings.Contains(got, "\n") {
			t.Fatalf("LookupText = %q: more than one line", got)
		}
		if utf8.ValidString(prefix) && utf8.ValidString(suffix) && utf8.ValidString(other) && !utf8.ValidString(got) {
			t.Fatalf("LookupText = %q: invalid UTF-8 from valid text", got)
		}
		key := prefix[len(prefix)-lookupMinKey:]
		if !strings.Contains(prefix, key+got) && !strings.Contains(suffix, key+got) && !strings.Contains(other, key+got) {
			t.Fatalf("LookupText = %q does not follow %q anywhere in the context", got, key)
		}
	})
}

// What the lookup costs on real text: a prefix and suffix from
// net/http/server.go, alone and with 8 other files of the package (64 KB
// each, the language server's limit) to search.
func BenchmarkLookupText(b *testing.B) {
	dir := filepath.Join(runtime.GOROOT(), "src", "net", "http")
	src, err := os.ReadFile(filepath.Join(dir, "server.go"))
	if err != nil {
		b.Skip(err)
	}
	text := string(src)
	off := strings.Index(text, "\tif err != nil {") + len("\tif err != ")
	prefix, suffix := text[max(off-8192, 0):off], text[off:min(off+2048, len(text))]
	var others []string
	for _, name := range []string{"client.go", "transport.go", "request.go", "response.go", "fs.go", "header.go", "cookie.go", "h2_bundle.go"} {
		t, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Skip(err)
		}
		others = append(others, string(t[max(len(t)-64<<10, 0):]))
	}
	b.Run("document", func(b *testing.B) {
		for b.Loop() {
			LookupText(prefix, suffix)
		}
	})
	b.Run("8 open files", func(b *testing.B) {
		for b.Loop() {
			LookupText(prefix, suffix, others...)
		}
	})
}
