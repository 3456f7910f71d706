package completion

import (
	"context"
	"testing"
)

// countFiller answers a fixed middle and counts its calls.
type countFiller struct {
	text  string
	calls int
}

func (f *countFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	f.calls++
	return FillResult{Text: f.text, Forwards: 3, Stop: "eos"}, nil
}

// TestTypingThrough: after a completion is shown, typing its first
// characters is answered from the cache with the rest, without the model.
func TestTypingThrough(t *testing.T) {
	c, err := NewCache("test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &countFiller{text: "Println(x)"}
	e := &Engine{Filler: f, Cache: c}
	doc := NewDocument("file:///a.go", "go", 1, "package main\n\nfunc f(x int) {\n\tfmt.\n}\n")
	defer doc.Close()
	ask := func(char uint32) Result {
		t.Helper()
		res, err := e.Complete(context.Background(), Request{Doc: doc, Position: Position{3, char},
			Encoding: UTF16, Settings: DefaultSettings()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := ask(5); res.Text != "Println(x)" || res.Fill.Cached {
		t.Fatalf("first completion = %q (cached %v), want %q from the model", res.Text, res.Fill.Cached, "Println(x)")
	}
	if err := doc.Apply(2, []Change{{Range: &Range{Position{3, 5}, Position{3, 5}}, Text: "Pri"}}, UTF16); err != nil {
		t.Fatal(err)
	}
	res := ask(8)
	if res.Text != "ntln(x)" || !res.Fill.Cached || f.calls != 1 {
		t.Errorf("after typing %q: completion = %q (cached %v, %d model calls), want %q from the cache", "Pri", res.Text, res.Fill.Cached, f.calls, "ntln(x)")
	}
	e.Forget(doc.URI)
	if res := ask(8); res.Fill.Cached {
		t.Errorf("after Forget: completion %q still from the cache", res.Text)
	}
}
