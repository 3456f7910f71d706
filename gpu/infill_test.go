package gpu

import (
	"context"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/model/defaultmodel"
)

// TestReferenceDefaultModel holds this package's forward pass to the CPU
// engine on the embedded default model (BF16 weights, so both hold the same
// values in either weight type): step by step, and for whole infill
// requests at temperature 0, whose texts must be identical — what the
// device run checks for the CUDA executor.
func TestReferenceDefaultModel(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes with the plain-Go reference")
	}
	cpu, tok, err := model.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	ref, err := LoadReference(defaultmodel.FS(), Options{Weights: "bf16"})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	cs, _ := cpu.NewSession(engine.SessionOptions{MaxContext: 256})
	rs, err := ref.NewSession(engine.SessionOptions{MaxContext: 256})
	if err != nil {
		t.Fatal(err)
	}
	compareSessions(t, "default model", cs, rs, cpu.Info(), tolF32LogProb)
	cs.Close()
	rs.Close()

	set := infill.DefaultSettings()
	set.MaxTokens = 24
	for _, c := range []struct{ prefix, suffix string }{
		{"package main\n\nimport \"fmt\"\n\nfunc main() {\n\t", "\n}\n"},
		{"def add(a, b):\n    ", "\n\nprint(add(1, 2))\n"},
	} {
		req := infill.Request{Prefix: c.prefix, Suffix: c.suffix, Settings: set}
		want, err := infill.New(cpu, tok).Infill(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := infill.New(ref, tok).Infill(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Infill(%q, %q) = %q, %d forwards, stop %s", c.prefix, c.suffix, got.Text, got.Stats.Forwards, got.Stop)
		if got.Text != want.Text || got.Stats.Forwards != want.Stats.Forwards {
			t.Errorf("Infill(%q, %q) = %q in %d forwards, CPU engine %q in %d", c.prefix, c.suffix, got.Text, got.Stats.Forwards, want.Text, want.Stats.Forwards)
		}
	}
}
