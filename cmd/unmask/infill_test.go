package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmask/unmask/model"
)

func TestInfillUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"--prefix-file"}, {"--prefix-file", "p", "extra"}} {
		var out, errOut bytes.Buffer
		if err := runInfill(args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("infill %q: err = %v, want errUsage", args, err)
		}
	}
	var out, errOut bytes.Buffer
	err := runInfill([]string{"--prefix-file", filepath.Join(t.TempDir(), "missing")}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("infill with a missing file: err = %v, want one naming it", err)
	}
}

// TestInfillDefaultModel runs the command on the embedded default model when
// this build has one.
func TestInfillDefaultModel(t *testing.T) {
	m, _, err := model.Open("")
	if errors.Is(err, model.ErrNoDefault) {
		t.Skip("no default model embedded")
	}
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	dir := t.TempDir()
	pre, suf := filepath.Join(dir, "p.go"), filepath.Join(dir, "s.go")
	os.WriteFile(pre, []byte("func add(a, b int) int {\n\treturn "), 0o644)
	os.WriteFile(suf, []byte("\n}\n"), 0o644)
	var out, errOut bytes.Buffer
	if err := runInfill([]string{"--prefix-file", pre, "--suffix-file", suf, "--max-tokens", "16", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("infill: %v (%s)", err, errOut.String())
	}
	var got struct {
		Text  string
		Stop  string
		Stats struct {
			Forwards int
		}
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("infill --json printed %q: %v", out.String(), err)
	}
	if got.Stop == "" || got.Stats.Forwards == 0 {
		t.Errorf("infill --json = %+v, want a stop reason and forwards", got)
	}
}
