package main

import (
	"context"
	"encoding/json"

	"flag"
	"fmt"
	"io"
	"runtime"
	"sort"
	"time"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

func init() {
	register(command{name: "bench", summary: "time the CPU engine: prefill tokens/s and denoise-step ms", run: runBench})
}

// benchShapes are the random-weight shapes `unmask bench --shape` knows.
var benchShapes = map[string]model.Config{
	// Qwen2.5-0.5B: hidden 896, 24 layers, 14 heads, 2 KV heads,
	// intermediate 4864, vocab 151936, tied embeddings.
	"qwen2.5-0.5b": {
		Name: "qwen2.5-0.5b", Family: model.FamilyUnmask, Hidden: 896, Intermediate: 4864, Layers: 24,
		Heads: 14, KVHeads: 2, Vocab: 151936, MaxPosition: 32768, RMSEps: 1e-6, RopeTheta: 1e6,
		Tied: true, QKVBias: true, Attention: engine.ContextCausal, Shift: true, BlockSize: 32,
	},
}

// defaultShape is the embedded default model's shape: its config when the
// binary embeds one, else a stated small shape (hidden 512, 8 layers) of the
// size the default model is trained at.
func defaultShape() (model.Config, string) {
	if m, _, err := model.Open(""); err == nil {
		c := m.Config()
		m.Close()
		return c, "embedded default model's config"
	}
	return model.Config{
		Name: "default-standin", Family: model.FamilyUnmask, Hidden: 512, Intermediate: 1536, Layers: 8,
		Heads: 8, KVHeads: 2, Vocab: 32768, MaxPosition: 4096, RMSEps: 1e-6, RopeTheta: 1e4,
		Tied: true, QKVBias: true, Attention: engine.ContextCausal, Shift: true, BlockSize: 32,
	}, "stand-in shape (no default model embedded)"
}

type benchResult struct {
	Model         string  `json:"model"`
	Kernel        string  `json:"kernel"`
	Context       int     `json:"context"`
	Block         int     `json:"block"`
	Threads       int     `json:"threads"`
	PrefillTokS   float64 `json:"prefill_tokens_per_s"`
	DenoiseStepMS float64 `json:"denoise_step_ms"`
	PrefillCPUS   float64 `json:"prefill_cpu_s"`       // process CPU seconds per prefill (robust to a busy machine)
	DenoiseCPUMS  float64 `json:"denoise_step_cpu_ms"` // process CPU milliseconds per step
	PrefillRuns   int     `json:"prefill_runs"`
	DenoiseRuns   int     `json:"denoise_runs"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "checkpoint folder (overrides --shape)")
	shape := fs.String("shape", "default", "random-weight shape: default | qwen2.5-0.5b")
	ctxLen := fs.Int("context", 512, "context tokens prefilled")
	block := fs.Int("block", 32, "block positions per denoise step")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "goroutines for products and attention")
	prefillRuns := fs.Int("prefill-runs", 3, "prefills timed (the median is reported)")
	steps := fs.Int("steps", 10, "denoise steps timed (the median is reported)")
	asJSON := fs.Bool("json", false, "print JSON")
	bf16 := fs.Bool("bf16", false, "keep weights in BF16 and multiply in place (AVX-512; half the memory)")
	dot := fs.Bool("bf16dot", false, "BF16 weights and BF16 dot products (AVX-512 BF16; what the other commands run a BF16 checkpoint on where the CPU has them); with --model the default for a BF16 checkpoint, unless UNMASK_KERNEL names another kernel")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *ctxLen < 1 || *block < 1 || *threads < 1 || *prefillRuns < 1 || *steps < 1 {
		fmt.Fprintln(stderr, "bench: --context, --block, --threads, --prefill-runs and --steps must be positive")
		return errUsage
	}
	var m *model.Model
	var err error
	name := *shape
	if *dir != "" {
		if m, err = model.Load(*dir); err != nil {
			return err
		}
		name = *dir
	} else {
		var cfg model.Config
		switch *shape {
		case "default":
			var note string
			cfg, note = defaultShape()
			fmt.Fprintf(stderr, "bench: shape default = %s: hidden %d, %d layers, vocab %d\n", note, cfg.Hidden, cfg.Layers, cfg.Vocab)
		default:
			var ok bool
			if cfg, ok = benchShapes[*shape]; !ok {
				fmt.Fprintf(stderr, "bench: unknown shape %q (default, qwen2.5-0.5b)\n", *shape)
				return errUsage
			}
		}
		if m, err = model.NewRandom(cfg, 1); err != nil {
			return err
		}
	}
	defer m.Close()
	m.SetThreads(*threads)
	kernel := model.KernelName()
	switch {
	case *dot:
		if err := m.SetBF16Dot(true); err != nil {
			return err
		}
	case *bf16:
		if err := m.UseBF16(); err != nil {
			return err
		}
		kernel += "-bf16"
	case *dir != "":
		if _, err := m.UseFastest(); err != nil {
			return err
		}
	}
	if m.BF16Dot() {
		kernel += "-bf16dot"
	}
	info := m.Info()
	s, err := m.NewSession(engine.SessionOptions{MaxContext: *ctxLen, MaxBlock: *block})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	toks := make([]int32, *ctxLen)
	for i := range toks {
		toks[i] = int32((i*7919 + 13) % info.VocabSize)
	}
	var pre []time.Duration
	cpu0 := cpuTime()
	for range *prefillRuns {
		if err := s.Truncate(0); err != nil {
			return err
		}
		start := time.Now()
		if _, err := s.Prefill(ctx, toks); err != nil {
			return err
		}
		pre = append(pre, time.Since(start))
	}
	preCPU := (cpuTime() - cpu0) / time.Duration(*prefillRuns)
	mask := info.MaskID
	if mask == engine.NoToken {
		mask = 0
	}
	blk := make([]int32, *block)
	for i := range blk {
		blk[i] = mask
	}
	blk[0] = toks[len(toks)-1]
	out := engine.NewPredictions(*block, 0)
	if err := s.Denoise(ctx, blk, 0, out); err != nil { // warm-up
		return err
	}
	var den []time.Duration
	cpu0 = cpuTime()
	for range *steps {
		start := time.Now()
		if err := s.Denoise(ctx, blk, 0, out); err != nil {
			return err
		}
		den = append(den, time.Since(start))
	}
	denCPU := (cpuTime() - cpu0) / time.Duration(*steps)
	r := benchResult{
		Model: name, Kernel: kernel, Context: *ctxLen, Block: *block, Threads: *threads,
		PrefillTokS:   float64(*ctxLen) / median(pre).Seconds(),
		DenoiseStepMS: float64(median(den).Microseconds()) / 1000,
		PrefillCPUS:   preCPU.Seconds(),
		DenoiseCPUMS:  float64(denCPU.Microseconds()) / 1000,
		PrefillRuns:   *prefillRuns, DenoiseRuns: *steps,
	}
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(r)
	}
	fmt.Fprintf(stdout, "model %s (%s attention), kernel %s, %d threads\n", r.Model, info.Attention, r.Kernel, r.Threads)
	fmt.Fprintf(stdout, "prefill  %d tokens: %.1f tokens/s (median of %d), %.2f CPU s each\n", r.Context, r.PrefillTokS, r.PrefillRuns, r.PrefillCPUS)
	fmt.Fprintf(stdout, "denoise  block of %d after %d: %.2f ms/step (median of %d), %.1f CPU ms each\n", r.Block, r.Context, r.DenoiseStepMS, r.DenoiseRuns, r.DenoiseCPUMS)
	return nil
}

// cpuTime is the process's CPU time, all threads (0 where unmeasured).
func cpuTime() time.Duration { return model.ProcessCPUTime() }

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
