package completion

import (
	"slices"
	"strings"
	"testing"
)

func TestPostprocess(t *testing.T) {
	tests := []struct {
		name string
		w    Window
		raw  string
		want string
	}{
		{"mid-line keeps one line",
			Window{Prefix: "x := f(", Suffix: "a, b)\n", LinePrefix: "x := f(", LineSuffix: "a, b)"}, "1, \nfoo", "1,"},
		{"blank result is no completion",
			Window{Prefix: "\t", LinePrefix: "\t"}, " \n\t\n", ""},
		{"crlf file gets crlf lines",
			Window{Prefix: "func f() {\r\n\t", Suffix: "\r\n}\r\n", LinePrefix: "\t"}, "a := 1\n\tb := 2\n}", "a := 1\r\n\tb := 2"},
		{"spaces from the model in a tab file",
			Window{Prefix: "func f() {\n\tif x {\n\t\t", Suffix: "\n\t}\n}\n", LinePrefix: "\t\t"}, "a()\n        b()\n\t}", "a()\n\t\tb()"},
		{"tabs from the model in a space file",
			Window{Prefix: "def f():\n  if x:\n    ", Suffix: "\n", LinePrefix: "    "}, "a()\n\t\tb()\nc()", "a()\n    b()"},
		{"the step of spaces, not the shallowest run, in a window deep in a method",
			Window{Prefix: "        x = 1\n        if y:\n            ", Suffix: "\n", LinePrefix: "            "}, "a()\n\t\t\tb()", "a()\n            b()"},
		{"a closing line the next line already is",
			Window{Prefix: "\tfor {\n\t\tx++\n", Suffix: "\n\t}\n}\n"}, "\t}", ""},
		{"the same closer, the cursor's indentation typed",
			Window{Prefix: "\tfor {\n\t\tx++\n\t", Suffix: "\n\t}\n}\n", LinePrefix: "\t"}, "}", ""},
		{"a closer at another indentation may close a block the code lacks",
			Window{Prefix: "func f() {\n\tif x {\n\t\ty()\n\t", Suffix: "\n}\n", LinePrefix: "\t"}, "}", "}"},
		{"a line of code that repeats the next one stays",
			Window{Prefix: "\tx++\n", Suffix: "\n\tx++\n"}, "\tx++", "\tx++"},
		{"a loop of one line is cut after its first",
			Window{Prefix: "import os\n", Suffix: "\n\ndef f():\n    pass\n"}, "import sys\nimport sys\n\nimport sys", "import sys"},
		{"closer the line already has",
			Window{Prefix: "print(", Suffix: ")\n", LinePrefix: "print(", LineSuffix: ")"}, "\"hi\")", "\"hi\""},
	}
	for _, tt := range tests {
		if got := Postprocess(tt.w, tt.raw); got != tt.want {
			t.Errorf("%s: Postprocess(%q) = %q, want %q", tt.name, tt.raw, got, tt.want)
		}
	}
}

func TestDropRepeatedLines(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"a()", "", "  a()", "b()"}, []string{"a()", ""}},
		{[]string{"\t\t}", "\t}", "}"}, []string{"\t\t}", "\t}", "}"}}, // closers may follow each other
		{[]string{"return nil", "}", "return nil"}, []string{"return nil", "}", "return nil"}},
		{[]string{"x"}, []string{"x"}},
	}
	for _, tt := range tests {
		if got := dropRepeatedLines(slices.Clone(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("dropRepeatedLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIndentStyleOf(t *testing.T) {
	tests := []struct {
		text string
		want indentStyle
	}{
		{"", indentStyle{}},
		{"a\n\tb\n\t\tc\n\n  d\n", indentStyle{tabs: 2, spaces: 1}},
		{"def f():\n    if x:\n        y()\n    z()\n", indentStyle{spaces: 3, unit: 4}},
		{"        a\n          b\n        c\n", indentStyle{spaces: 3, unit: 2}},
		{"x\n  \n\t\n    y\n", indentStyle{spaces: 1, unit: 4}},
	}
	for _, tt := range tests {
		if got := indentStyleOf(tt.text); got != tt.want {
			t.Errorf("indentStyleOf(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}

// FuzzPostprocess holds Postprocess to what the server relies on, for any
// model output around any cursor: no panic, no blank answer, no trailing
// white space on a line, one line where the cursor is mid-line, never more
// lines than the model wrote, and line ends as the file's.
func FuzzPostprocess(f *testing.F) {
	f.Add("func f() {\n\t", "\n}\n", "x := 1\n\ty := 2\n}\n")
	f.Add("x := f(", "a, b)\n", "1, \nfoo")
	f.Add("import os\n", "\n", "import sys\nimport sys\n")
	f.Add("\tfor {\n\t\tx++\n", "\n\t}\n}\n", "\t}")
	f.Add("a\r\n\t", "\r\nb\r\n", "c\r\n\td  \n")
	f.Fuzz(func(t *testing.T, prefix, suffix, raw string) {
		line := prefix[strings.LastIndexByte(prefix, '\n')+1:]
		lineSuffix, _, _ := strings.Cut(suffix, "\n")
		w := Window{Prefix: prefix, Suffix: suffix, LinePrefix: line, LineSuffix: lineSuffix}
		got := Postprocess(w, raw)
		if got == "" {
			return
		}
		if strings.TrimSpace(got) == "" {
			t.Fatalf("blank answer %q", got)
		}
		crlf := strings.Contains(prefix, "\r\n") || strings.Contains(suffix, "\r\n")
		lines := strings.Split(strings.ReplaceAll(got, "\r\n", "\n"), "\n")
		if !w.Multiline() && len(lines) > 1 {
			t.Fatalf("mid-line answer of %d lines: %q", len(lines), got)
		}
		if len(lines) > strings.Count(strings.ReplaceAll(raw, "\r\n", "\n"), "\n")+1 {
			t.Fatalf("%d lines from a raw answer of fewer: %q -> %q", len(lines), raw, got)
		}
		for _, l := range lines {
			if strings.TrimRight(l, " \t") != l {
				t.Fatalf("trailing white space in %q", got)
			}
		}
		if !crlf && strings.Contains(got, "\r\n") && !strings.Contains(raw, "\r") {
			t.Fatalf("CRLF in an LF file: %q", got)
		}
	})
}
