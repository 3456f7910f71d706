package completion

import (
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
