package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
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

// The sweep on a random model over the tiny test tokenizer: every setting
// decodes every case, and the reference row agrees with itself.
func TestInfillSweep(t *testing.T) {
	tok, err := tokenizer.Load("../../infill/testdata/bytes-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	id := func(s string) int32 { v, _ := tok.TokenID(s); return v }
	m, err := model.NewRandom(model.Config{
		Family: model.FamilyUnmask, Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2,
		Vocab: tok.VocabSize(), MaxPosition: 256, QKVBias: true,
		Attention: engine.ContextCausal, Shift: true, BlockSize: 8,
		MaskID: id("<|mask|>"), EOSID: id("<|endoftext|>"), PadID: id("<|pad|>"), BOSID: engine.NoToken,
		FIMPrefixID: id("<|fim_prefix|>"), FIMMiddleID: id("<|fim_middle|>"), FIMSuffixID: id("<|fim_suffix|>"),
	}, 5)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cases.jsonl")
	os.WriteFile(path, []byte(`{"prefix":"a = ","suffix":"\n","middle":"1"}
{"prefix":"def f():\n    return ","suffix":"\n","expected":"0"}

{"prefix":"x","suffix":"y","middle":"z"}
`), 0o644)
	cases, err := readInfillCases(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[1].Middle != "0" {
		t.Fatalf("readInfillCases(first 2) = %+v", cases)
	}
	settings := sweepSettings(8)
	def := infill.DefaultSettings()
	def.MaxTokens = 8
	if last := settings[len(settings)-1]; !strings.HasSuffix(last.Name, "(the default)") || last.Settings != def {
		t.Errorf("last sweep row %q = %+v, want the default settings %+v", last.Name, last.Settings, def)
	}
	rows, err := runInfillSweep(context.Background(), infill.New(m, tok), m, cases, settings, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(settings) || rows[0].SameAsRef != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	for _, r := range rows {
		if r.Forwards == 0 || r.TPF < 0 || r.EditSim < 0 || r.EditSim > 1 {
			t.Errorf("%s: %+v", r.Setting, r)
		}
	}
	if rows[0].TPF > 1 {
		t.Errorf("reference row commits %.2f tokens per forward, want at most 1", rows[0].TPF)
	}
	warm, err := runWarmSweep(context.Background(), infill.New(m, tok), cases, infill.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if warm.Cases > 2 || warm.WarmKept > warm.DraftTokens || warm.SameText > warm.Cases {
		t.Errorf("warm sweep = %+v", warm)
	}
	var out bytes.Buffer
	printSweep(&out, rows, 2)
	printWarm(&out, warm)
	if !strings.Contains(out.String(), "| sequential 1/step (reference) |") {
		t.Errorf("table:\n%s", out.String())
	}
	if _, err := readInfillCases(filepath.Join(t.TempDir(), "none.jsonl"), 0); err == nil {
		t.Errorf("readInfillCases on a missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"prefix\": 1}\n"), 0o644)
	if _, err := readInfillCases(bad, 0); err == nil || !strings.Contains(err.Error(), "bad.jsonl:1") {
		t.Errorf("readInfillCases on a bad line: err = %v, want one naming bad.jsonl:1", err)
	}
}

func TestCutInfillCases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heldout.jsonl")
	os.WriteFile(path, []byte(`{"path":"a.go","text":"package a\n\nfunc f() int {\n\treturn 1 + 2 + 3\n}\n"}
{"path":"b.go","text":"x\n"}
{"path":"c.py","text":"def g(x):\n    return x * 2\n"}
`), 0o644)
	cases, err := cutInfillCases(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 {
		t.Fatalf("cutInfillCases = %d cases, want 2 (b.go has no line to cut)", len(cases))
	}
	texts := []string{"package a\n\nfunc f() int {\n\treturn 1 + 2 + 3\n}\n", "def g(x):\n    return x * 2\n"}
	for i, c := range cases {
		if c.Prefix+c.Middle+c.Suffix != texts[i] || c.Middle == "" || strings.Contains(c.Middle, "\n") || !strings.HasPrefix(c.Suffix, "\n") {
			t.Errorf("case %d = %+v: want a cut of one line of %q", i, c, texts[i])
		}
	}
	again, _ := cutInfillCases(path, 1)
	if len(again) != 1 || again[0] != cases[0] {
		t.Errorf("cutInfillCases(n=1) = %+v, want the first case again %+v", again, cases[0])
	}
}
