package completion

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestClosers(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string
		ok   bool
	}{
		{"for _, x := range xs {", "}", true},
		{"f(a, []int{", "})", true},
		{"f(a)", "", true},
		{"x)", "", false},
		{"f(]", "", false},
		{`s := "{(" + x {`, "}", true},
		{"if x { // }", "}", true},
		{`r := '(' {`, "}", true},
		{`"""unfinished docstring`, "", false},
		{`"""done"""`, "", true},
		{"m := map[string]int{\n\t\"a\": 1,\n}", "", true},
		{"`raw {` + f(", ")", true},
		{"# don't\nx = [", "]", true},
	} {
		got, ok := closers(tc.text)
		if got != tc.want || ok != tc.ok {
			t.Errorf("closers(%q) = %q, %v; want %q, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIndentUnit(t *testing.T) {
	for _, tc := range []struct {
		prefix, indent, lang, want string
	}{
		{"func f() {\n\tx := 1\n", "\t", "go", "\t"},
		{"", "", "go", "\t"},
		{"", "", "python", "    "},
		{"class A:\n    def f(self):\n        pass\n", "    ", "python", "    "},
		{"class A:\n  def f(self):\n    pass\n", "  ", "python", "  "},
		// Every line of a method body is indented 8; the step is still 4.
		{"        x = 1\n        if x:\n            y = 2\n", "        ", "python", "    "},
		{"a {\n\tb\n\tc\n}\n", "", "c", "\t"},
	} {
		if got := indentUnit(tc.prefix, tc.indent, tc.lang); got != tc.want {
			t.Errorf("indentUnit(%q, %q, %s) = %q, want %q", tc.prefix, tc.indent, tc.lang, got, tc.want)
		}
	}
}

func TestBodyAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		w      Window
		text   string
		indent string
		ok     bool
	}{
		{"empty line", Window{LinePrefix: "\t", Suffix: "\n}\n"}, "for x := range y {", "\t", true},
		{"python header", Window{LinePrefix: "    ", Suffix: "\n"}, "def f(self):", "    ", true},
		{"suffix holds the body", Window{LinePrefix: "\tif err ", Suffix: "\n\t\treturn err\n\t}\n"}, "!= nil {", "", false},
		{"blank lines before the body", Window{LinePrefix: "\tif err ", Suffix: "\n\n\t\treturn err\n"}, "!= nil {", "", false},
		{"text after the cursor", Window{LinePrefix: "\tgo func() ", LineSuffix: "()", Suffix: "()\n}"}, "{", "", false},
		{"no opener", Window{LinePrefix: "\t", Suffix: "\n}"}, "x := 1", "", false},
		{"opener in a comment", Window{LinePrefix: "\t", Suffix: "\n}"}, "x := 1 // {", "", false},
		{"python comment", Window{LinePrefix: "    ", Suffix: "\n"}, "# see:", "", false},
		{"more left open", Window{LinePrefix: "\t", Suffix: "\n}"}, "f(g(x, func() {", "", false},
		{"closes more", Window{LinePrefix: "\t", Suffix: "\n}"}, "x) {", "", false},
		{"opener from the line prefix", Window{LinePrefix: "\tf(", Suffix: "\n}"}, "x) {", "\t", true},
		{"last line of several", Window{LinePrefix: "\t", Suffix: "\n}"}, "x := 1\n\tif x > 0 {", "\t", true},
		{"crlf", Window{LinePrefix: "\t", Suffix: "\r\n}\r\n"}, "x := 1\r\n\tif x > 0 {", "\t", true},
		{"rust path", Window{LinePrefix: "    ", Suffix: "\n"}, "std::", "", false},
	} {
		indent, ok := bodyAfter(tc.w, tc.text)
		if indent != tc.indent || ok != tc.ok {
			t.Errorf("%s: bodyAfter(%q) = %q, %v; want %q, %v", tc.name, tc.text, indent, ok, tc.indent, tc.ok)
		}
	}
}

// budgetFiller takes its time, then answers.
type budgetFiller struct {
	seqFill
	delay time.Duration
}

func (f *budgetFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	time.Sleep(f.delay)
	return f.seqFill.Fill(ctx, req)
}

func bodyRequest(t *testing.T) Request {
	t.Helper()
	text := "package main\n\nfunc f(xs []int) {\n\t\n}\n"
	doc := NewDocument("file:///body.go", "go", 1, text)
	t.Cleanup(doc.Close)
	return Request{Doc: doc, Position: Position{Line: 3, Character: 1}, Encoding: UTF16, Settings: DefaultSettings()}
}

func TestBodyFill(t *testing.T) {
	f := &seqFill{answers: []string{"for _, x := range xs {", "println(x)"}}
	req := bodyRequest(t)
	res, err := (&Engine{Filler: f}).Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := "for _, x := range xs {\n\t\tprintln(x)\n\t}"; res.Text != want {
		t.Errorf("text %q, want %q", res.Text, want)
	}
	if len(f.reqs) != 2 {
		t.Fatalf("%d fills, want 2", len(f.reqs))
	}
	if want := "package main\n\nfunc f(xs []int) {\n\tfor _, x := range xs {\n\t\t"; f.reqs[1].Prefix != want {
		t.Errorf("body fill prefix %q, want %q", f.reqs[1].Prefix, want)
	}
	if res.Fill.Forwards != 2 || !res.Body {
		t.Errorf("forwards %d, body %v: want both fills' 2, and a body", res.Fill.Forwards, res.Body)
	}

	// Off: one fill, the header alone.
	f = &seqFill{answers: []string{"for _, x := range xs {", "println(x)"}}
	req.Settings.NoBody = true
	if res, err = (&Engine{Filler: f}).Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if res.Text != "for _, x := range xs {" || len(f.reqs) != 1 || res.Body {
		t.Errorf("NoBody: text %q after %d fills, body %v", res.Text, len(f.reqs), res.Body)
	}

	// A body that stops inside an expression keeps its balanced lines.
	f = &seqFill{answers: []string{"for _, x := range xs {", "y := x\n\t\tfmt.Println(y,"}}
	req.Settings.NoBody = false
	if res, err = (&Engine{Filler: f}).Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if want := "for _, x := range xs {\n\t\ty := x\n\t}"; res.Text != want {
		t.Errorf("unfinished body: text %q, want %q", res.Text, want)
	}
}

// The body counts against the request's time budget: a first fill that
// spent it gets no second one.
func TestBodyBudget(t *testing.T) {
	f := &budgetFiller{seqFill: seqFill{answers: []string{"for _, x := range xs {", "println(x)"}}, delay: 20 * time.Millisecond}
	req := bodyRequest(t)
	req.Settings.TimeBudget = 10 * time.Millisecond
	res, err := (&Engine{Filler: f}).Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "for _, x := range xs {" || len(f.reqs) != 1 {
		t.Errorf("text %q after %d fills, want the header after 1", res.Text, len(f.reqs))
	}
}

type failSecond struct{ seqFill }

func (f *failSecond) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	if len(f.reqs) == 1 {
		f.reqs = append(f.reqs, req)
		return FillResult{}, context.Canceled
	}
	return f.seqFill.Fill(ctx, req)
}

// A cancelled body fill fails the request, as a cancelled first fill does.
func TestBodyCancel(t *testing.T) {
	f := &failSecond{seqFill{answers: []string{"for _, x := range xs {"}}}
	_, err := (&Engine{Filler: f}).Complete(context.Background(), bodyRequest(t))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// FuzzBody feeds the post-processing and the body's rules (body.go)
// arbitrary windows and answers: no panics, and a body request's window
// keeps the document's text around the answer.
func FuzzBody(f *testing.F) {
	f.Add("func f() {\n\t", "\n}\n", "for x := range y {", "println(x)\n\t}")
	f.Add("class A:\n    ", "\n", "def f(self):", "return 1")
	f.Add("x := f(", ")\r\n", "a, []int{", "1,\r\n2")
	f.Add("", "", "\"{", "'")
	f.Fuzz(func(t *testing.T, prefix, suffix, answer, body string) {
		w := rawContext(prefix+suffix, len(prefix))
		text := Postprocess(w, answer)
		closers(text)
		indent, ok := bodyAfter(w, text)
		if !ok {
			return
		}
		bw, braw, lead := bodyWindow(w, w, text, indent, "go")
		if bw.Prefix != w.Prefix+text+lead || bw.Suffix != w.Suffix || braw.Prefix != bw.Prefix {
			t.Fatalf("body window %q / %q for prefix %q text %q", bw.Prefix, bw.Suffix, w.Prefix, text)
		}
		if strings.TrimLeft(lead, "\r\n") != bw.LinePrefix || strings.TrimSpace(lead) != "" {
			t.Fatalf("lead %q, line prefix %q", lead, bw.LinePrefix)
		}
		Postprocess(bw, body)
	})
}
