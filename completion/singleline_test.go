package completion

import (
	"context"
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
