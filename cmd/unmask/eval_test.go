package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmask/unmask/lsp/lsptest"
)

// The editor pipeline answers as the language server does: mid-line it
// keeps one line, whatever the raw decoder produced.
func TestEvalEditorPipeline(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "tiny")
	if err := lsptest.WriteTinyCheckpoint(dir, 1); err != nil {
		t.Fatal(err)
	}
	cases := []map[string]string{
		{"id": "mid", "language": "go", "kind": "rest_of_line",
			"prefix": "package p\n\nfunc f(a, b int) int {\n\treturn g(", "middle": "a, b", "suffix": ")\n}\n"},
		{"id": "eol", "language": "go", "kind": "line",
			"prefix": "package p\n\nfunc f(a, b int) int {\n\t", "middle": "return a + b", "suffix": "\n}\n"},
	}
	var buf bytes.Buffer
	for _, c := range cases {
		b, _ := json.Marshal(c)
		buf.Write(append(b, '\n'))
	}
	casesFile := filepath.Join(tmp, "cases.jsonl")
	if err := os.WriteFile(casesFile, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(pipeline string) []map[string]any {
		t.Helper()
		details := filepath.Join(tmp, pipeline+".jsonl")
		var out, errOut bytes.Buffer
		err := runEval([]string{"--cases", casesFile, "--model", dir, "--pipeline", pipeline,
			"--max-tokens", "24", "--details", details, "--json"}, &out, &errOut)
		if err != nil {
			t.Fatalf("eval --pipeline %s: %v\n%s", pipeline, err, errOut.String())
		}
		if !strings.Contains(out.String(), `"cases": 2`) {
			t.Errorf("eval --pipeline %s summary lacks 2 cases:\n%s", pipeline, out.String())
		}
		f, err := os.Open(details)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var rs []map[string]any
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r map[string]any
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		if len(rs) != 2 {
			t.Fatalf("eval --pipeline %s wrote %d details, want 2", pipeline, len(rs))
		}
		return rs
	}
	raw, ed := run("raw"), run("editor")
	for i := range ed {
		if f, _ := ed[i]["forwards"].(float64); f < 1 {
			t.Errorf("%s: editor pipeline ran no forward pass: %v", ed[i]["id"], ed[i])
		}
	}
	if got := ed[0]["got"].(string); strings.Contains(got, "\n") {
		t.Errorf("mid-line editor completion %q spans lines (raw decoder: %q)", got, raw[0]["got"])
	}

	var out, errOut bytes.Buffer
	if err := runEval([]string{"--cases", casesFile, "--model", dir, "--pipeline", "ide"}, &out, &errOut); err == nil {
		t.Error("eval --pipeline ide: no error")
	}
}

// --skip leaves out the cases a file lists by id.
func TestEvalSkip(t *testing.T) {
	dir := t.TempDir()
	cases := filepath.Join(dir, "c.jsonl")
	var b strings.Builder
	for _, id := range []string{"a", "b", "c"} {
		line, _ := json.Marshal(map[string]string{"id": id, "language": "go", "kind": "line",
			"prefix": "package p\n\nfunc f() {\n\t", "suffix": "\n}\n", "middle": "return"})
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(cases, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	skip := filepath.Join(dir, "skip.txt")
	if err := os.WriteFile(skip, []byte("b\nnot-a-case\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"eval", "--cases", cases, "--baseline", "empty", "--skip", skip, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "left out 1 of 3 cases") {
		t.Errorf("stderr %q, want it to say one case was left out", errb.String())
	}
	var sum struct {
		Cases int `json:"cases"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Cases != 2 {
		t.Errorf("summary %s (%v): want 2 cases", out.String(), err)
	}
	if code := run([]string{"eval", "--cases", cases, "--baseline", "empty", "--skip", filepath.Join(dir, "none")}, &out, &errb); code != 1 {
		t.Errorf("a missing --skip file: exit %d, want 1", code)
	}
}
