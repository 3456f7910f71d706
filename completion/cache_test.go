package completion

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
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
	// Forget drops the document's pinned completions; the ristretto
	// entries may outlive it (cache.Spans.Forget), so only check that
	// completing goes on.
	e.Forget(doc.URI)
	if res := ask(8); res.Text == "" {
		t.Errorf("after Forget: no completion")
	}
}

// seqFiller answers its texts in turn.
type seqFiller struct {
	mu    sync.Mutex
	texts []string
	calls int
}

func (f *seqFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	t := f.texts[min(f.calls-1, len(f.texts)-1)]
	return FillResult{Text: t, Forwards: 2, Stop: "eos"}, nil
}

// TestSpeculation: after a completion is shown, the one that follows its
// acceptance is computed in the background and served from the cache.
func TestSpeculation(t *testing.T) {
	c, err := NewCache("test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &seqFiller{texts: []string{"a := 1", "b := 2", "c := 3"}}
	e := &Engine{Filler: f, Cache: c}
	doc := NewDocument("file:///s.go", "go", 1, "package main\n\nfunc f() {\n\t\n}\n")
	defer doc.Close()
	s := DefaultSettings()
	s.Speculate = true
	res, err := e.Complete(context.Background(), Request{Doc: doc, Position: Position{3, 1}, Encoding: UTF16, Settings: s})
	if err != nil || res.Text != "a := 1" {
		t.Fatalf("first completion = %q, %v", res.Text, err)
	}
	for deadline := time.Now().Add(5 * time.Second); !c.speculationIdle(); {
		if time.Now().After(deadline) {
			t.Fatal("speculation never finished")
		}
		time.Sleep(time.Millisecond)
	}
	// Accept: the text goes into the document; the next request is a hit.
	if err := doc.Apply(2, []Change{{Range: &Range{Position{3, 1}, Position{3, 1}}, Text: "a := 1"}}, UTF16); err != nil {
		t.Fatal(err)
	}
	s.Speculate = false
	res, err = e.Complete(context.Background(), Request{Doc: doc, Position: Position{3, 7}, Encoding: UTF16, Settings: s})
	if err != nil || res.Text != "b := 2" || !res.Fill.Cached || f.calls != 2 {
		t.Errorf("after accepting: completion = %q (cached %v, %d model calls), %v; want the speculated %q from the cache",
			res.Text, res.Fill.Cached, f.calls, err, "b := 2")
	}
}

// byteCounter counts one token per byte, like a byte-level tokenizer.
type byteCounter struct{ countFiller }

func (byteCounter) CountTokens(s string) int { return len(s) }

// TestWindowRealTokens: with a TokenCounter, windows fit the budget in the
// model's tokens, not in the 3-bytes-per-token estimate.
func TestWindowRealTokens(t *testing.T) {
	var b strings.Builder
	b.WriteString("package main\n\nimport \"fmt\"\n\n")
	for i := range 200 {
		fmt.Fprintf(&b, "func f%d(x int) int {\n\treturn x + %d\n}\n\n", i, i)
	}
	doc := NewDocument("file:///big.go", "go", 1, b.String())
	defer doc.Close()
	s := DefaultSettings()
	s.ContextTokens = 300
	res, err := (&Engine{Filler: &byteCounter{countFiller{text: "x"}}}).Complete(context.Background(),
		Request{Doc: doc, Position: Position{Line: 400, Character: 1}, Encoding: UTF16, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Window.Prefix) + len(res.Window.Suffix); n > s.ContextTokens || n < s.ContextTokens/2 {
		t.Errorf("window of %d byte-level tokens, want at most %d and not far below", n, s.ContextTokens)
	}
	if !strings.HasPrefix(res.Window.Prefix, "package main") {
		t.Errorf("window prefix starts %q, want the package header", res.Window.Prefix[:20])
	}
}

// blockFiller answers its first call at once and holds the later ones
// (the speculation) until release is closed, recording whether their
// context was cancelled meanwhile.
type blockFiller struct {
	started   chan struct{}
	release   chan struct{}
	cancelled chan bool
	mu        sync.Mutex
	calls     int
}

func (f *blockFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == 1 {
		return FillResult{Text: "a := 1", Forwards: 2, Stop: "eos"}, nil
	}
	close(f.started)
	select {
	case <-f.release:
		f.cancelled <- false
	case <-ctx.Done():
		f.cancelled <- true
	}
	return FillResult{Text: "b := 2", Forwards: 2, Stop: "eos"}, ctx.Err()
}

// TestTypingThroughKeepsSpeculation guards the order of lookup and
// Speculator.Begin: a request answered from the cache (typing through the
// shown completion) must not cancel the speculation running after it.
func TestTypingThroughKeepsSpeculation(t *testing.T) {
	c, err := NewCache("test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &blockFiller{started: make(chan struct{}), release: make(chan struct{}), cancelled: make(chan bool, 1)}
	e := &Engine{Filler: f, Cache: c}
	doc := NewDocument("file:///k.go", "go", 1, "package main\n\nfunc f() {\n\t\n}\n")
	defer doc.Close()
	s := DefaultSettings()
	s.Speculate = true
	if res, err := e.Complete(context.Background(), Request{Doc: doc, Position: Position{3, 1}, Encoding: UTF16, Settings: s}); err != nil || res.Text != "a := 1" {
		t.Fatalf("first completion = %q, %v", res.Text, err)
	}
	select {
	case <-f.started:
	case <-time.After(5 * time.Second):
		t.Fatal("speculation never started")
	}
	if err := doc.Apply(2, []Change{{Range: &Range{Position{3, 1}, Position{3, 1}}, Text: "a "}}, UTF16); err != nil {
		t.Fatal(err)
	}
	res, err := e.Complete(context.Background(), Request{Doc: doc, Position: Position{3, 3}, Encoding: UTF16, Settings: s})
	if err != nil || res.Text != ":= 1" || !res.Fill.Cached {
		t.Fatalf("typing through: completion = %q (cached %v), %v; want %q from the cache", res.Text, res.Fill.Cached, err, ":= 1")
	}
	close(f.release)
	if cancelled := <-f.cancelled; cancelled {
		t.Errorf("typing through a shown completion cancelled the running speculation")
	}
}
