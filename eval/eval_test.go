package eval

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestExactMatch(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		ok        bool
	}{
		{"x := 1", "x := 1", true},
		{"x  :=\t1\n", "x := 1", true},
		{"x:=1", "x := 1", false},
		{"", "  \n", true},
		{"return err", "return nil", false},
	} {
		if got := ExactMatch(tc.got, tc.want); got != tc.ok {
			t.Errorf("ExactMatch(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.ok)
		}
	}
}

func TestEditSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"", "", 1},
		{"abc", "abc", 1},
		{"abc", "", 0},
		{"kitten", "sitting", 1 - 3.0/7},
		{"héllo", "hello", 1 - 1.0/5},
	} {
		if got := EditSimilarity(tc.a, tc.b); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("EditSimilarity(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestParses(t *testing.T) {
	prefix := "package p\n\nfunc f(x int) int {\n\t"
	suffix := "\n}\n"
	for _, tc := range []struct {
		lang, middle string
		ok           bool
	}{
		{"go", "return x + 1", true},
		{"go", "return (x + ", false},
		{"go", "", true},
	} {
		got, err := Parses(tc.lang, prefix, tc.middle, "return x", suffix)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.ok {
			t.Errorf("Parses(%q, %q) = %v, want %v", tc.lang, tc.middle, got, tc.ok)
		}
	}
	ok, err := Parses("python", "def f(x):\n    ", "return x +", "return x", "\n")
	if err != nil || ok {
		t.Errorf("Parses(python, %q) = %v, %v, want false, nil", "return x +", ok, err)
	}
	if _, err := Parses("cobol", "", "", "", ""); err == nil {
		t.Error("Parses(cobol) = nil error, want ErrLanguage")
	}
}

func TestReadCases(t *testing.T) {
	in := `{"id":"a","language":"go","prefix":"p","suffix":"s","middle":"m"}

{"language":"python","prefix":"","suffix":"","middle":"x"}
`
	cs, err := ReadCases(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != "a" || cs[1].ID != "line-3" || cs[1].Language != "python" {
		t.Errorf("ReadCases = %+v", cs)
	}
	if _, err := ReadCases(strings.NewReader("{not json\n")); err == nil {
		t.Error("ReadCases(bad json) = nil error")
	}
}

func TestCopyLine(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
	}{
		{"a := 1\n\tb := 2\n", "\tb := 2"},
		{"a := 1\n\tb := 2\n\t", "b := 2"},
		{"\tfoo(x)\n\tfo", "o(x)"},
		{"", ""},
	} {
		o, _ := CopyLine(context.Background(), Case{Prefix: tc.prefix})
		if o.Text != tc.want {
			t.Errorf("CopyLine(%q) = %q, want %q", tc.prefix, o.Text, tc.want)
		}
	}
}

func TestLookup(t *testing.T) {
	o, _ := Lookup(context.Background(), Case{Prefix: "\tt.Errorf(\"a\")\n}\nfunc g() {\n\tt.Err", Suffix: "\n}\n"})
	if o.Text != "orf(\"a\")" {
		t.Errorf("Lookup = %q, want the earlier line's rest", o.Text)
	}
	if o, _ := Lookup(context.Background(), Case{Prefix: "package p\n", Suffix: ""}); o.Text != "" {
		t.Errorf("Lookup with nothing to match = %q, want empty", o.Text)
	}
	if o, _ := Lookup(context.Background(), Case{Prefix: "x := strings.Tr", Open: []string{"y := strings.TrimSpace(s)\n"}}); o.Text != "imSpace(s)" {
		t.Errorf("Lookup in an open file = %q, want imSpace(s)", o.Text)
	}
}

func TestOpenFiles(t *testing.T) {
	corpus := `{"source":"goroot","path":"a/z.go","lang":"go","text":"Z"}
{"source":"goroot","path":"a/x.go","lang":"go","text":"X"}
{"source":"goroot","path":"a/y.go","lang":"go","text":"Y"}
{"source":"goroot","path":"a/b/w.go","lang":"go","text":"W"}
{"source":"mod:m@v1","path":"a/v.go","lang":"go","text":"V"}
`
	cases := []Case{
		{ID: "1", Source: "goroot:a/x.go"},
		{ID: "2", Source: "goroot:a/b/w.go"},
		{ID: "3"},
		{ID: "4", Source: "mod:m@v1:a/v.go"},
	}
	n, err := OpenFiles(cases, strings.NewReader(corpus), 1)
	if err != nil {
		t.Fatal(err)
	}
	// At most one open file: the first other file of a/ by path.
	if n != 1 || !slices.Equal(cases[0].Open, []string{"Y"}) || cases[1].Open != nil || cases[2].Open != nil || cases[3].Open != nil {
		t.Errorf("OpenFiles = %d, opens %q %q %q %q; want 1, [Y] and none", n, cases[0].Open, cases[1].Open, cases[2].Open, cases[3].Open)
	}
	if _, err := OpenFiles(cases, strings.NewReader("{"), 1); err == nil {
		t.Error("OpenFiles of a malformed corpus: no error")
	}
}

func TestSummarize(t *testing.T) {
	cases := []Case{
		{ID: "1", Language: "go", Prefix: "package p\nvar x = ", Middle: "1", Suffix: "\n"},
		{ID: "2", Language: "go", Prefix: "package p\nvar y = ", Middle: "2", Suffix: "\n"},
	}
	fill := func(_ context.Context, c Case) (Outcome, error) {
		return Outcome{Text: "1", Forwards: 2, Committed: 3}, nil
	}
	rs, err := Score(context.Background(), cases, fill, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize("go", rs)
	if s.Cases != 2 || s.ExactMatch != 0.5 || s.ParseRate != 1 || s.TokensPerForward != 1.5 || s.EditSimilarity != 0.5 {
		t.Errorf("Summarize = %+v, want 2 cases, exact 0.5, parse 1, tpf 1.5, editsim 0.5", s)
	}
}

// With alternatives offered, the best of them counts in the best-of rates
// and the first answer alone in the others.
func TestSummarizeAlternatives(t *testing.T) {
	cases := []Case{
		{ID: "1", Language: "go", Prefix: "package p\nvar x = ", Middle: "12", Suffix: "\n"},
		{ID: "2", Language: "go", Prefix: "package p\nvar y = ", Middle: "2", Suffix: "\n"},
	}
	fill := func(_ context.Context, c Case) (Outcome, error) {
		if c.ID == "1" {
			return Outcome{Text: "9", More: []string{"1", "12"}}, nil
		}
		return Outcome{Text: "2"}, nil
	}
	rs, err := Score(context.Background(), cases, fill, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].BestExact || rs[0].Exact || rs[0].BestEditSim != 1 || rs[0].EditSim != 0 {
		t.Errorf("case 1: %+v, want exact only among the alternatives", rs[0])
	}
	s := Summarize("go", rs)
	if s.ExactMatch != 0.5 || s.BestExactMatch != 1 || s.BestEditSimilarity != 1 || s.Offered != 2 {
		t.Errorf("Summarize = %+v, want exact 0.5, best exact 1, best editsim 1, 2 offered a case", s)
	}
	if s := Summarize("go", rs[1:]); s.Offered != 0 || s.BestExactMatch != 0 {
		t.Errorf("no alternatives: best-of fields %+v, want them unset", s)
	}
}
