package lsp

import "testing"

func TestCodeBlock(t *testing.T) {
	for _, tc := range []struct{ text, lang, want string }{
		{"x := 1", "go", "```go\nx := 1\n```"},
		{"s := `raw`", "go", "```go\ns := `raw`\n```"},
		{"doc = '''```'''", "python", "````python\ndoc = '''```'''\n````"},
		{"a", "", "```\na\n```"},
	} {
		if got := codeBlock(tc.text, tc.lang); got != tc.want {
			t.Errorf("codeBlock(%q, %q) = %q, want %q", tc.text, tc.lang, got, tc.want)
		}
	}
}
