package completion

import (
	"context"
	"errors"
	"testing"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/golang"
)

func TestDocumentApply(t *testing.T) {
	d := NewDocument("file:///a.go", "go", 1, "package main\n\nfunc main() {\n}\n")
	defer d.Close()
	d.mu.Lock()
	d.syn.parse(d.text) // a tree exists, so edits are incremental
	d.mu.Unlock()
	steps := []struct {
		changes []Change
		want    string
	}{
		{[]Change{{Range: &Range{Position{3, 0}, Position{3, 0}}, Text: "\tx := \"😀\"\n"}},
			"package main\n\nfunc main() {\n\tx := \"😀\"\n}\n"},
		// UTF-16: the emoji is two units, characters 7 and 8.
		{[]Change{{Range: &Range{Position{3, 7}, Position{3, 9}}, Text: "é"}},
			"package main\n\nfunc main() {\n\tx := \"é\"\n}\n"},
		// Two changes in one notification apply in order.
		{[]Change{
			{Range: &Range{Position{0, 8}, Position{0, 12}}, Text: "demo"},
			{Range: &Range{Position{2, 5}, Position{2, 9}}, Text: "run"},
		}, "package demo\n\nfunc run() {\n\tx := \"é\"\n}\n"},
		{[]Change{{Text: "package z\n"}}, "package z\n"},
		{[]Change{{Range: &Range{Position{1, 0}, Position{1, 0}}, Text: "\nfunc f() {}\n"}}, "package z\n\nfunc f() {}\n"},
	}
	for i, st := range steps {
		if err := d.Apply(int32(i+2), st.changes, UTF16); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := d.Text(); got != st.want {
			t.Fatalf("step %d: text = %q, want %q", i, got, st.want)
		}
		// The incrementally updated tree equals a fresh parse, positions
		// included.
		d.mu.Lock()
		tree := d.syn.parse(d.text)
		got := dump(tree.RootNode())
		d.mu.Unlock()
		p := sitter.NewParser()
		p.SetLanguage(golang.GetLanguage())
		fresh := p.Parse(nil, []byte(st.want))
		if want := dump(fresh.RootNode()); got != want {
			t.Errorf("step %d: incremental tree\n%s\nwant\n%s", i, got, want)
		}
		fresh.Close()
		p.Close()
	}
	if err := d.Apply(3, []Change{{Text: "x"}}, UTF16); !errors.Is(err, ErrVersion) {
		t.Errorf("Apply with an old version: error = %v, want ErrVersion", err)
	}
	if err := d.Apply(99, []Change{{Range: &Range{Position{40, 0}, Position{40, 0}}, Text: "x"}}, UTF16); !errors.Is(err, ErrPosition) {
		t.Errorf("Apply past the last line: error = %v, want ErrPosition", err)
	}
	if got := d.Text(); got != steps[len(steps)-1].want {
		t.Errorf("text after failed Apply = %q, want it unchanged", got)
	}
}

// dump writes a tree with every node's type and points.
func dump(n *sitter.Node) string {
	s := n.Type() + "@" + pointString(n.StartPoint()) + "-" + pointString(n.EndPoint())
	for i := 0; i < int(n.ChildCount()); i++ {
		s += " (" + dump(n.Child(i)) + ")"
	}
	return s
}

func pointString(p sitter.Point) string {
	return string(rune('0'+p.Row%10)) + ":" + itoa(int(p.Column))
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestParseFailure: a parse that hits the operation limit drops the tree
// and the parser (go-tree-sitter's parser can stay broken after one), the
// window falls back to lines, and the next parse starts fresh and works.
func TestParseFailure(t *testing.T) {
	var b []byte
	for i := range 3000 {
		b = append(b, []byte("func f"+itoa(i)+"() { x := []int{1, 2, 3}; _ = x }\n")...)
	}
	text := "package main\n\n" + string(b)
	d := NewDocument("file:///f.go", "go", 1, text)
	defer d.Close()
	saved := parseLimit
	parseLimit = 1 // microseconds: no real parse finishes
	d.mu.Lock()
	w := d.windowLocked(len(text)/2, 3000)
	failed := d.syn.parser == nil && d.syn.tree == nil
	d.mu.Unlock()
	parseLimit = saved
	if w.Syntax || !failed {
		t.Fatalf("parse past its limit: window syntax %v, parser and tree dropped %v; want a line window and both dropped", w.Syntax, failed)
	}
	d.mu.Lock()
	w = d.windowLocked(len(text)/2, 3000)
	d.mu.Unlock()
	if !w.Syntax || w.Function != "function_declaration" {
		t.Errorf("parse after a failure: window syntax %v, function %q; want a syntax window in a function", w.Syntax, w.Function)
	}
}

// at is an insertion at line l, character c.
func at(l, c uint32, text string) []Change {
	return []Change{{Range: &Range{Position{l, c}, Position{l, c}}, Text: text}}
}

// TestDocumentLateChange replays the order Helix 25.01 sent in our e2e
// test: a didChange arrives before its predecessor.
func TestDocumentLateChange(t *testing.T) {
	t.Run("held until its predecessor", func(t *testing.T) {
		d := NewDocument("file:///a.go", "go", 1, "x")
		defer d.Close()
		// Version 3 types on the line version 2 opens: past the last
		// line of version 1's text, so it is held.
		if err := d.Apply(3, at(1, 0, "y"), UTF16); !errors.Is(err, ErrHeld) || !errors.Is(err, ErrPosition) {
			t.Fatalf("early change: error = %v, want ErrHeld and ErrPosition", err)
		}
		if got, v := d.Text(), d.Version(); got != "x" || v != 1 {
			t.Fatalf("after the early change: %q version %d, want %q version 1", got, v, "x")
		}
		if err := d.Apply(2, at(0, 1, "\n"), UTF16); err != nil {
			t.Fatalf("late change: %v", err)
		}
		if got, v := d.Text(), d.Version(); got != "x\ny" || v != 3 {
			t.Fatalf("after the late change: %q version %d, want %q version 3", got, v, "x\ny")
		}
		if err := d.Apply(4, at(1, 1, "z"), UTF16); err != nil || d.Text() != "x\nyz" {
			t.Fatalf("next change: %v, text %q", err, d.Text())
		}
	})
	t.Run("typing ahead of a late change", func(t *testing.T) {
		// A character past the end of a line means the line's end (LSP),
		// so the early change applies, one place too soon; the replay
		// puts it right.
		d := NewDocument("file:///a.go", "go", 1, "x\n")
		defer d.Close()
		if err := d.Apply(3, at(0, 2, "m"), UTF16); err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(2, at(0, 1, "f"), UTF16); err != nil {
			t.Fatal(err)
		}
		if got := d.Text(); got != "xfm\n" {
			t.Fatalf("text = %q, want %q", got, "xfm\n")
		}
	})
	t.Run("applied out of order, then replayed", func(t *testing.T) {
		d := NewDocument("file:///a.go", "go", 1, "x\n")
		defer d.Close()
		// Both insert at the start, so the early one applies too, in the
		// wrong place; the late one puts it right.
		if err := d.Apply(3, at(0, 0, "Z"), UTF16); err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(2, at(0, 0, "A"), UTF16); err != nil {
			t.Fatal(err)
		}
		if got := d.Text(); got != "ZAx\n" {
			t.Fatalf("text = %q, want %q (version 2's A, then version 3's Z before it)", got, "ZAx\n")
		}
	})
	t.Run("a bad change is dropped by the next good one", func(t *testing.T) {
		d := NewDocument("file:///a.go", "go", 1, "x\n")
		defer d.Close()
		if err := d.Apply(2, at(7, 0, "?"), UTF16); !errors.Is(err, ErrHeld) {
			t.Fatalf("bad change: error = %v, want ErrHeld", err)
		}
		err := d.Apply(3, at(0, 1, "y"), UTF16)
		if !errors.Is(err, ErrDropped) {
			t.Fatalf("good change after a bad one: error = %v, want ErrDropped", err)
		}
		if got, v := d.Text(), d.Version(); got != "xy\n" || v != 3 {
			t.Fatalf("text %q version %d, want %q version 3", got, v, "xy\n")
		}
	})
	t.Run("versions", func(t *testing.T) {
		d := NewDocument("file:///a.go", "go", 1, "")
		defer d.Close()
		want := ""
		for v := int32(2); v < 2+3*maxLog; v++ {
			if err := d.Apply(v, at(0, uint32(len(want)), "a"), UTF16); err != nil {
				t.Fatalf("version %d: %v", v, err)
			}
			want += "a"
		}
		if len(d.log) > maxLog {
			t.Errorf("log holds %d notifications, want at most %d", len(d.log), maxLog)
		}
		if d.Text() != want {
			t.Fatalf("text = %q, want %q", d.Text(), want)
		}
		last := d.Version()
		if err := d.Apply(last, at(0, 0, "b"), UTF16); !errors.Is(err, ErrVersion) {
			t.Errorf("repeated version: error = %v, want ErrVersion", err)
		}
		if err := d.Apply(2, at(0, 0, "b"), UTF16); !errors.Is(err, ErrVersion) {
			t.Errorf("version older than the log: error = %v, want ErrVersion", err)
		}
		if err := d.Apply(last-1, at(0, 0, "b"), UTF16); !errors.Is(err, ErrVersion) {
			t.Errorf("version already logged: error = %v, want ErrVersion", err)
		}
		if d.Text() != want {
			t.Errorf("rejected changes changed the text to %q", d.Text())
		}
	})
	t.Run("versions with gaps", func(t *testing.T) {
		// Neovim's versions (changedtick) skip numbers.
		d := NewDocument("file:///a.go", "go", 1, "")
		defer d.Close()
		for _, c := range []struct {
			v    int32
			pos  uint32
			text string
		}{{10, 0, "a"}, {30, 2, "c"}, {20, 1, "b"}} {
			if err := d.Apply(c.v, at(0, c.pos, c.text), UTF16); err != nil {
				t.Fatalf("version %d: %v", c.v, err)
			}
		}
		if got, v := d.Text(), d.Version(); got != "abc" || v != 30 {
			t.Fatalf("text %q version %d, want %q version 30", got, v, "abc")
		}
	})
	t.Run("the tree after a replay", func(t *testing.T) {
		d := NewDocument("file:///a.go", "go", 1, "package main\n")
		defer d.Close()
		d.mu.Lock()
		d.syn.parse(d.text)
		d.mu.Unlock()
		if err := d.Apply(3, at(1, 0, "func g() {}\n"), UTF16); err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(2, at(1, 0, "func f() {}\n"), UTF16); err != nil {
			t.Fatal(err)
		}
		d.mu.Lock()
		got := dump(d.syn.parse(d.text).RootNode())
		d.mu.Unlock()
		p := sitter.NewParser()
		defer p.Close()
		p.SetLanguage(golang.GetLanguage())
		fresh, err := p.ParseCtx(context.Background(), nil, []byte(d.Text()))
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		if want := dump(fresh.RootNode()); got != want {
			t.Errorf("tree after a replay\n%s\nwant\n%s", got, want)
		}
	})
}
