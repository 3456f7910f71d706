package completion

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// reqFiller records the requests it gets.
type reqFiller struct{ reqs []FillRequest }

func (f *reqFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	f.reqs = append(f.reqs, req)
	return FillResult{Text: "x", Forwards: 1, Stop: "eos"}, nil
}

// Mid-line the engine asks for one line (the filler may stop at the break)
// and at most singleLineTokens; at the end of a line, for a block.
func TestSingleLineRequest(t *testing.T) {
	text := "package p\n\nfunc f() {\n\tx := a + b\n\t\n}\n"
	for _, tt := range []struct {
		name   string
		pos    Position
		single bool
	}{
		{"mid-line", Position{Line: 3, Character: 7}, true},
		{"end of line", Position{Line: 3, Character: 11}, false},
		{"empty line", Position{Line: 4, Character: 1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &reqFiller{}
			e := &Engine{Filler: f}
			doc := NewDocument("file:///p.go", "go", 1, text)
			if _, err := e.Complete(context.Background(), Request{Doc: doc, Position: tt.pos, Encoding: UTF16, Settings: DefaultSettings()}); err != nil {
				t.Fatal(err)
			}
			if len(f.reqs) != 1 {
				t.Fatalf("%d fill requests, want 1", len(f.reqs))
			}
			r := f.reqs[0]
			if r.SingleLine != tt.single {
				t.Errorf("SingleLine = %v, want %v (window line prefix %q, suffix %q)", r.SingleLine, tt.single, r.Prefix[len(r.Prefix)-3:], r.Suffix[:3])
			}
			if tt.single && r.MaxTokens > singleLineTokens {
				t.Errorf("single-line MaxTokens = %d, want at most %d", r.MaxTokens, singleLineTokens)
			}
		})
	}
}

// The decoder's context lookup searches the raw context around the cursor,
// which reaches beyond a window cut to a small token budget.
func TestLookupContext(t *testing.T) {
	var b strings.Builder
	b.WriteString("package p\n\n")
	for i := range 100 {
		fmt.Fprintf(&b, "func f%d() int {\n\treturn %d\n}\n\n", i, i)
	}
	b.WriteString("func g() {\n\t\n}\n")
	text := b.String()
	f := &reqFiller{}
	s := DefaultSettings()
	s.ContextTokens = 100
	doc := NewDocument("file:///p.go", "go", 1, text)
	defer doc.Close()
	if _, err := (&Engine{Filler: f}).Complete(context.Background(), Request{Doc: doc, Position: Position{Line: 403, Character: 1}, Encoding: UTF16, Settings: s}); err != nil {
		t.Fatal(err)
	}
	r := f.reqs[0]
	off := strings.LastIndex(text, "\n\t\n") + 2
	if !strings.HasSuffix(r.LookupPrefix, r.Prefix[len(r.Prefix)-20:]) || !strings.HasSuffix(text[:off], r.LookupPrefix) {
		t.Fatalf("LookupPrefix does not end at the cursor: ...%q", r.LookupPrefix[max(len(r.LookupPrefix)-20, 0):])
	}
	if len(r.LookupPrefix) != min(off, rawPrefixBytes) || len(r.Prefix) >= len(r.LookupPrefix) {
		t.Errorf("LookupPrefix holds %d bytes, want %d, more than the window's %d", len(r.LookupPrefix), min(off, rawPrefixBytes), len(r.Prefix))
	}
	if r.LookupSuffix != text[off:] {
		t.Errorf("LookupSuffix = %q, want the rest of the document %q", r.LookupSuffix, text[off:])
	}
}

// openTexts keeps the request's language, the order given, at most
// LookupOpenDocs documents and the last lookupOpenBytes of each.
func TestOpenTexts(t *testing.T) {
	doc := NewDocument("file:///x.go", "go", 1, "package x\n")
	big := strings.Repeat("a", lookupOpenBytes) + "TAIL"
	open := []*Document{
		nil,
		doc,
		NewDocument("file:///x.go", "go", 1, "same URI"),
		NewDocument("file:///p.py", "python", 1, "other language"),
		NewDocument("file:///big.go", "go", 1, big),
	}
	for i := range LookupOpenDocs + 2 {
		open = append(open, NewDocument(fmt.Sprintf("file:///%d.go", i), "go", 1, fmt.Sprint(i)))
	}
	got := openTexts(doc, open)
	if len(got) != LookupOpenDocs {
		t.Fatalf("%d texts, want %d", len(got), LookupOpenDocs)
	}
	if len(got[0]) != lookupOpenBytes || !strings.HasSuffix(got[0], "TAIL") {
		t.Errorf("first text: %d bytes ending %q, want the last %d bytes of big.go", len(got[0]), got[0][len(got[0])-4:], lookupOpenBytes)
	}
	for i, s := range got[1:] {
		if s != fmt.Sprint(i) {
			t.Errorf("text %d = %q, want %q", i+1, s, fmt.Sprint(i))
		}
	}
	// Complete hands them to the filler.
	f := &reqFiller{}
	if _, err := (&Engine{Filler: f}).Complete(context.Background(), Request{Doc: doc, Position: Position{Line: 1}, Encoding: UTF16, Settings: DefaultSettings(), Open: open}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.reqs[0].LookupOthers, got) {
		t.Errorf("FillRequest.LookupOthers = %d texts, want the %d of openTexts", len(f.reqs[0].LookupOthers), len(got))
	}
}
