package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmask/unmask/completion"
	"github.com/unmask/unmask/lsp/lsptest"
	"github.com/unmask/unmask/model"
)

func TestParseFilePos(t *testing.T) {
	tests := []struct {
		in        string
		file      string
		line, col int
		err       bool
	}{
		{"a.go:8:2", "a.go", 8, 2, false},
		{"C:/x/a.go:1:1", "C:/x/a.go", 1, 1, false},
		{"a.go:0:1", "", 0, 0, true},
		{"a.go:8", "", 0, 0, true},
		{"a.go:x:1", "", 0, 0, true},
	}
	for _, tt := range tests {
		f, l, c, err := parseFilePos(tt.in)
		if (err != nil) != tt.err || f != tt.file || l != tt.line || c != tt.col {
			t.Errorf("parseFilePos(%q) = %q, %d, %d, %v, want %q, %d, %d, error %v", tt.in, f, l, c, err, tt.file, tt.line, tt.col, tt.err)
		}
	}
}

func TestCompleteCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := lsptest.WriteTinyCheckpoint(dir, 1); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := runComplete([]string{"../../examples/hello/main.go:8:2", "--model", dir, "--json", "--max-tokens", "8"}, &out, &errOut)
	if err != nil {
		t.Fatalf("complete: %v\n%s", err, errOut.String())
	}
	var res struct {
		Text     string  `json:"text"`
		Line     int     `json:"line"`
		Col      int     `json:"col"`
		Forwards int     `json:"forwards"`
		Syntax   bool    `json:"syntax"`
		Ms       float64 `json:"ms"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("complete --json printed %q: %v", out.String(), err)
	}
	if res.Line != 8 || res.Col != 2 || res.Forwards < 1 || !res.Syntax || res.Ms <= 0 {
		t.Errorf("complete --json = %+v, want line 8 col 2, forward passes, a syntax window", res)
	}
	// Without --json it prints exactly the text.
	out.Reset()
	if err := runComplete([]string{"--model", dir, "--max-tokens", "8", "../../examples/hello/main.go:8:2"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != res.Text {
		t.Errorf("complete printed %q, --json said %q", out.String(), res.Text)
	}
	if err := runComplete([]string{"--model", dir, "--budget", "-1s", "../../examples/hello/main.go:8:2"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "time budget") {
		t.Errorf("complete --budget -1s = %v, want an error naming the time budget", err)
	}
	if err := runComplete([]string{"nope.go"}, &out, &errOut); err != errUsage || !strings.Contains(errOut.String(), "FILE:LINE:COL") {
		t.Errorf("complete nope.go = %v, %q; want usage", err, errOut.String())
	}
}

// TestCompleteDefaultModel runs the README's main command: the embedded
// default model, or a clear message while none is embedded.
func TestCompleteDefaultModel(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runComplete([]string{"../../examples/hello/main.go:8:2", "--json"}, &out, &errOut)
	if m, _, oerr := model.Open(""); errors.Is(oerr, model.ErrNoDefault) {
		if err == nil || !strings.Contains(err.Error(), "--model") {
			t.Errorf("complete without a default model: %v, want a message naming --model", err)
		}
		return
	} else if oerr == nil {
		m.Close()
	}
	if err != nil {
		t.Fatalf("complete on the default model: %v\n%s", err, errOut.String())
	}
	var res struct {
		Line, Col, Forwards int
		Syntax              bool
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("complete --json printed %q: %v", out.String(), err)
	}
	if res.Line != 8 || res.Col != 2 || res.Forwards < 1 || !res.Syntax {
		t.Errorf("complete --json on the default model = %+v", res)
	}
}

// The embedded model was trained on Go and Python: in another language
// complete says so, and --any-language completes anyway.
func TestCompleteOtherLanguage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a.js")
	if err := os.WriteFile(file, []byte("function f(xs) {\n  \n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := runComplete([]string{file + ":2:3", "--max-tokens", "4"}, &out, &errOut)
	if !errors.Is(err, completion.ErrLanguage) || !strings.Contains(err.Error(), `"javascript" (it knows go, python); --any-language`) {
		t.Fatalf("complete in javascript = %v, want ErrLanguage naming go and python and --any-language", err)
	}
	if err := runComplete([]string{file + ":2:3", "--max-tokens", "4", "--any-language", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("complete --any-language in javascript: %v", err)
	}
	var res struct{ Forwards int }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Forwards < 1 {
		t.Errorf("complete --any-language --json printed %q (%v), want the model run", out.String(), err)
	}
}

// --open files are searched by the context lookup, as the language server
// searches the editor's other open documents: the call written in a.go is
// drafted in b.go, and the default model keeps at least its name.
func TestCompleteOpenFiles(t *testing.T) {
	if m, _, err := model.Open(""); err != nil {
		t.Skip("no default model:", err)
	} else {
		m.Close()
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.go"), filepath.Join(dir, "b.go")
	if err := os.WriteFile(a, []byte("package p\n\nfunc a() {\n\tlog.Printf(\"unmask: loaded %s in %v\", name, d)\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("package p\n\nfunc b() {\n\tlog.Pr\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := runComplete([]string{b + ":4:8", "--open", a}, &out, &errOut); err != nil {
		t.Fatalf("complete --open: %v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "intf(") {
		t.Errorf("complete --open a.go = %q, want the Printf call drafted from a.go", out.String())
	}
	if err := runComplete([]string{b + ":4:8", "--open", filepath.Join(dir, "missing.go")}, &out, &errOut); err == nil {
		t.Error("complete --open of a missing file: no error")
	}
}

// --alternatives prints the other answers after the first, and --json
// lists them as "more": different from the first and from each other.
func TestCompleteAlternatives(t *testing.T) {
	if m, _, err := model.Open(""); err != nil {
		t.Skip("no default model embedded")
	} else {
		m.Close()
	}
	var out, errOut bytes.Buffer
	if err := runComplete([]string{"../../examples/hello/main.go:8:2", "--json", "--alternatives", "3", "--budget", "0"}, &out, &errOut); err != nil {
		t.Fatalf("complete: %v\n%s", err, errOut.String())
	}
	var res struct {
		Text string
		More []string
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("complete --json printed %q: %v", out.String(), err)
	}
	if len(res.More) == 0 || len(res.More) > 2 {
		t.Fatalf("more = %q, want one or two alternatives", res.More)
	}
	seen := map[string]bool{strings.TrimSpace(res.Text): true}
	for _, m := range res.More {
		if seen[strings.TrimSpace(m)] || strings.TrimSpace(m) == "" {
			t.Errorf("alternative %q repeats an answer or is blank (first %q, more %q)", m, res.Text, res.More)
		}
		seen[strings.TrimSpace(m)] = true
	}
	out.Reset()
	if err := runComplete([]string{"../../examples/hello/main.go:8:2", "--alternatives", "3", "--budget", "0"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	want := res.Text
	for i, m := range res.More {
		want += fmt.Sprintf("\n--- alternative %d\n%s", i+2, m)
	}
	if out.String() != want {
		t.Errorf("complete --alternatives 3 printed %q, want %q", out.String(), want)
	}
}
