package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/model"
)

func init() {
	register(command{
		name:    "infill",
		summary: "fill the middle between a prefix file and a suffix file",
		run:     runInfill,
	})
}

func runInfill(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := infill.DefaultSettings()
	prefixFile := fs.String("prefix-file", "", "file holding the text before the cursor")
	suffixFile := fs.String("suffix-file", "", "file holding the text after the cursor")
	dir := fs.String("model", "", "checkpoint folder (default: the embedded model)")
	schedule := fs.String("schedule", string(def.Schedule), "unmasking schedule: confidence, count, margin, entropy")
	threshold := fs.Float64("threshold", def.Threshold, "confidence (margin, entropy) threshold per step")
	perStep := fs.Int("per-step", 0, "count schedule (and margin/entropy when > 0): tokens per step")
	maxTokens := fs.Int("max-tokens", def.MaxTokens, "longest middle in tokens")
	blockSize := fs.Int("block-size", 0, "masks per block (0 = the checkpoint's)")
	temperature := fs.Float64("temperature", 0, "sampling temperature (0 = greedy)")
	topP := fs.Float64("top-p", 1, "nucleus over the top-k candidates")
	seed := fs.Uint64("seed", 0, "sampling seed")
	revise := fs.Float64("revise-below", 0, "re-mask committed tokens whose probability falls below this (0 = off)")
	budget := fs.Duration("budget", 0, "time budget (0 = none); running out returns what is committed")
	middle := fs.Int("middle-length", 0, "bidirectional checkpoints: first mask length (0 = one block)")
	asJSON := fs.Bool("json", false, "print the middle with its stop reason and stats as JSON")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 || (*prefixFile == "" && *suffixFile == "") {
		fmt.Fprintln(stderr, "usage: unmask infill --prefix-file F --suffix-file F [flags]")
		fs.PrintDefaults()
		return errUsage
	}
	read := func(name string) (string, error) {
		if name == "" {
			return "", nil
		}
		b, err := os.ReadFile(name)
		return string(b), err
	}
	prefix, err := read(*prefixFile)
	if err != nil {
		return err
	}
	suffix, err := read(*suffixFile)
	if err != nil {
		return err
	}
	m, tok, err := model.Open(*dir)
	if err != nil {
		return err
	}
	defer m.Close()
	s := infill.DefaultSettings()
	s.Schedule = infill.Schedule(*schedule)
	s.Threshold, s.PerStep, s.MaxTokens, s.BlockSize = *threshold, *perStep, *maxTokens, *blockSize
	s.Temperature, s.TopP, s.Seed, s.ReviseBelow = *temperature, *topP, *seed, *revise
	s.TimeBudget, s.MiddleLength = *budget, *middle
	res, err := infill.New(m, tok).Infill(context.Background(), infill.Request{Prefix: prefix, Suffix: suffix, Settings: s})
	if err != nil {
		return err
	}
	if !*asJSON {
		_, err := io.WriteString(stdout, res.Text)
		return err
	}
	st := res.Stats
	out := struct {
		Text  string `json:"text"`
		Stop  string `json:"stop"`
		Model string `json:"model"`
		Stats any    `json:"stats"`
	}{res.Text, res.Stop, m.Info().Name, map[string]any{
		"forwards":           st.Forwards,
		"committed":          st.Committed,
		"tokens_per_forward": st.TokensPerForward,
		"prefill_ms":         infillMillis(st.Prefill),
		"denoise_ms":         infillMillis(st.Denoise),
		"context_tokens":     st.ContextTokens,
		"reused":             st.Reused,
		"trimmed":            st.Trimmed,
		"remasked":           st.Remasked,
	}}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func infillMillis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
