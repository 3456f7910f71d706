package completion

import (
	"strings"
	"testing"
)

func TestTrimToSyntax(t *testing.T) {
	prefix := "package main\n\nfunc f(xs []int) int {\n\tn := 0\n\t"
	suffix := "\n\treturn n\n}\n"
	w := Window{Prefix: prefix, Suffix: suffix, Syntax: true}
	for _, tc := range []struct {
		name, lang, text, want string
	}{
		{"parses: kept", "go", "for _, x := range xs {\n\t\tn += x\n\t}", "for _, x := range xs {\n\t\tn += x\n\t}"},
		{"a broken last line: cut", "go", "n++\n\tn += len(xs\n\tn--", "n++"},
		{"the longest line prefix that parses", "go", "n++\n\tn--\n\tif n > (", "n++\n\tn--"},
		{"one broken line: kept (a cut would leave nothing)", "go", "n += len(xs", "n += len(xs"},
		{"no grammar: kept", "plaintext", "n++\n\tn += (", "n++\n\tn += ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := trimToSyntax(tc.lang, w, tc.text); got != tc.want {
				t.Errorf("trimToSyntax(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
	// A window that does not parse by itself (cut mid-construct): only
	// errors the completion adds count.
	open := Window{Prefix: "package main\n\nfunc f() {\n\tx := []int{1,\n\t", Suffix: "\n", Syntax: true}
	if got := trimToSyntax("go", open, "2,\n\t3}"); got != "2,\n\t3}" {
		t.Errorf("in a broken window: %q, want it kept", got)
	}
	// Line windows (no syntax) are left alone.
	if got := trimToSyntax("go", Window{Prefix: prefix, Suffix: suffix}, "n++\n\tn += ("); got != "n++\n\tn += (" {
		t.Errorf("line window: %q, want it kept", got)
	}
}

func BenchmarkTrimToSyntax(b *testing.B) {
	// A window of the embedded model's size (about 750 bytes) and a
	// three-line answer whose last line breaks it.
	var pre strings.Builder
	pre.WriteString("package main\n\nimport \"fmt\"\n\nfunc f(xs []int) int {\n")
	for i := 0; pre.Len() < 560; i++ {
		pre.WriteString("\tfmt.Println(xs[0], \"step\")\n")
	}
	pre.WriteString("\t")
	w := Window{Prefix: pre.String(), Suffix: "\n\treturn len(xs)\n}\n\nfunc g() {}\n", Syntax: true}
	for _, tc := range []struct{ name, text string }{
		{"parses", "n := 0\n\tn++\n\tfmt.Println(n)"},
		{"cut", "n := 0\n\tn++\n\tfmt.Println(n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				trimToSyntax("go", w, tc.text)
			}
		})
	}
}
