package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const smallTokenizer = "../../tokenizer/testdata/small.json"

func TestTokenizeRoundTrip(t *testing.T) {
	text := "package main\n\nfunc main() { println(\"héllo 😀\") }\n<|fim_prefix|>\n"
	file := filepath.Join(t.TempDir(), "in.go")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, plain := range []bool{false, true} {
		args := []string{"--tokenizer", smallTokenizer, file}
		if plain {
			args = append([]string{"--plain"}, args...)
		}
		var out, errs bytes.Buffer
		if err := runTokenize(args, &out, &errs); err != nil {
			t.Fatalf("tokenize %v: %v (%s)", args, err, errs.String())
		}
		line := out.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") || len(strings.Fields(line)) < 10 {
			t.Fatalf("tokenize %v = %q, want ids on one line", args, line)
		}
		tokenizeStdin = strings.NewReader(line)
		var dec bytes.Buffer
		if err := runTokenize([]string{"--tokenizer", smallTokenizer, "--decode"}, &dec, &errs); err != nil {
			t.Fatalf("tokenize --decode: %v", err)
		}
		if dec.String() != text {
			t.Errorf("tokenize --decode (tokenize %v) = %q, want %q", args, dec.String(), text)
		}
	}
	tokenizeStdin = os.Stdin
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"--tokenizer", "no-such.json", "x"}, "", "no-such.json"},
		{[]string{"--tokenizer", smallTokenizer, "--decode"}, "12 x 7", `"x" is not an id`},
		{[]string{"--tokenizer", smallTokenizer, "--decode"}, "99999999", "below the vocabulary size"},
		{[]string{"--tokenizer", smallTokenizer, "no-such-file"}, "", "no-such-file"},
	}
	for _, tt := range tests {
		tokenizeStdin = strings.NewReader(tt.stdin)
		var out, errs bytes.Buffer
		err := runTokenize(tt.args, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("tokenize %v = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	tokenizeStdin = os.Stdin
	var out, errs bytes.Buffer
	if err := runTokenize(nil, &out, &errs); err != errUsage || !strings.Contains(errs.String(), "usage") {
		t.Errorf("tokenize with no --tokenizer = %v, stderr %q; want errUsage and a usage message", err, errs.String())
	}
}
