//go:build cuda

// Command gpucheck verifies and measures the CUDA engine on a device. It is
// built here (it needs Go and the CUDA headers) and carried to the device by
// gpu/device/run.sh, which runs:
//
//	gpucheck parity --model DIR       one prefill + denoise steps, CUDA vs the CPU engine
//	gpucheck infill --model DIR       whole infill requests at temperature 0, CUDA vs CPU
//	gpucheck bench  --model DIR ...   decode throughput and step latency
//
// Output is plain text, one result per line, for the run's log.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/gpu"
	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gpucheck parity|infill|bench [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "parity":
		err = parity(os.Args[2:])
	case "infill":
		err = infillCheck(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown check %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpucheck:", err)
		os.Exit(1)
	}
}

func loadGPU(dir, weights, matmul string) (*gpu.Backend, error) {
	t0 := time.Now()
	b, err := gpu.LoadDir(dir, gpu.Options{Weights: weights, Matmul: matmul})
	if err != nil {
		return nil, err
	}
	d := b.Device()
	fmt.Printf("loaded %s on %s (sm_%d%d, driver %d, cuBLAS %s v%d, %.1f GiB) weights=%s matmul=%s in %v\n",
		dir, d.Name, d.Capability[0], d.Capability[1], d.Driver, orNone(d.Cublas), d.CublasVersion,
		float64(d.MemTotal)/(1<<30), weights, matmul, time.Since(t0).Round(time.Millisecond))
	return b, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// contextTokens returns n pseudo-random ordinary tokens (below every
// special id) ending with the FIM middle token when the model has one.
func contextTokens(info engine.Info, n int, seed uint64) []int32 {
	lim := int32(info.VocabSize)
	for _, id := range []int32{info.MaskID, info.EOSID, info.PadID, info.FIMPrefixID, info.FIMSuffixID, info.FIMMiddleID} {
		if id > 0 && id < lim && id > int32(info.VocabSize)/2 {
			lim = min(lim, id)
		}
	}
	x := seed*0x9E3779B97F4A7C15 + 7
	toks := make([]int32, n)
	for i := range toks {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		toks[i] = int32(x % uint64(lim))
	}
	if info.FIMMiddleID >= 0 && n > 0 {
		toks[n-1] = info.FIMMiddleID
	}
	return toks
}

// parity runs the same prefill and denoise steps on the CPU engine and on
// the CUDA engine and reports the largest differences.
func parity(args []string) error {
	fs := flag.NewFlagSet("parity", flag.ExitOnError)
	dir := fs.String("model", "", "checkpoint folder")
	ctxLen := fs.Int("ctx", 512, "context tokens")
	weights := fs.String("weights", "f32", "bf16 or f32")
	matmul := fs.String("matmul", "kernel", "auto, kernel or cublas")
	tol := fs.Float64("tol", 2e-3, "largest |logprob difference| allowed on the CPU's top candidates")
	fs.Parse(args)
	cpu, err := model.Load(*dir)
	if err != nil {
		return err
	}
	defer cpu.Close()
	g, err := loadGPU(*dir, *weights, *matmul)
	if err != nil {
		return err
	}
	defer g.Close()
	info := cpu.Info()
	opts := engine.SessionOptions{MaxContext: *ctxLen + 64}
	cs, err := cpu.NewSession(opts)
	if err != nil {
		return err
	}
	gs, err := g.NewSession(opts)
	if err != nil {
		return err
	}
	ctx := context.Background()
	toks := contextTokens(info, *ctxLen, 1)
	if _, err := cs.Prefill(ctx, toks); err != nil {
		return err
	}
	if _, err := gs.Prefill(ctx, toks); err != nil {
		return err
	}
	B := info.BlockSize
	block := make([]int32, B+1)
	block[0] = toks[len(toks)-1]
	for i := 1; i < len(block); i++ {
		block[i] = info.MaskID
	}
	block[3], block[5] = toks[10], toks[11] // a partly committed block
	a, b := engine.NewPredictions(len(block), 8), engine.NewPredictions(len(block), 8)
	if err := cs.Denoise(ctx, block, 0, a); err != nil {
		return err
	}
	if err := gs.Denoise(ctx, block, 0, b); err != nil {
		return err
	}
	worstLP, worstEnt, top1 := 0.0, 0.0, 0
	for i := range a {
		if a[i].Candidates[0].ID == b[i].Candidates[0].ID {
			top1++
		}
		for _, ca := range a[i].Candidates[:4] {
			for _, cb := range b[i].Candidates {
				if cb.ID == ca.ID {
					worstLP = max(worstLP, math.Abs(float64(ca.LogProb-cb.LogProb)))
				}
			}
		}
		worstEnt = max(worstEnt, math.Abs(float64(a[i].Entropy-b[i].Entropy)))
	}
	status := "PASS"
	if worstLP > *tol {
		status = "FAIL"
	}
	fmt.Printf("parity %s ctx=%d weights=%s matmul=%s: top-1 agree %d/%d, max |dlogprob| %.3g (tol %.3g), max |dentropy| %.3g: %s\n",
		filepath.Base(*dir), *ctxLen, *weights, *matmul, top1, len(a), worstLP, *tol, worstEnt, status)
	if status == "FAIL" {
		return fmt.Errorf("parity failed")
	}
	return nil
}

// infillCases are fill-in-the-middle requests for the end-to-end check.
var infillCases = []struct{ prefix, suffix string }{
	{"package main\n\nimport \"fmt\"\n\nfunc main() {\n\t", "\n}\n"},
	{"def add(a, b):\n    ", "\n\nprint(add(1, 2))\n"},
	{"for (let i = 0; i < n; i++) {\n  ", "\n}\n"},
	{"func (s *Server) Close() error {\n\ts.mu.Lock()\n\tdefer s.mu.Unlock()\n\t", "\n}\n"},
	{"# Sum the numbers in a list\ndef total(xs):\n    ", "\n"},
	{"SELECT name, ", " FROM users WHERE id = 1;\n"},
}

// infillCheck decodes each case at temperature 0 on both engines and
// compares the texts.
func infillCheck(args []string) error {
	fs := flag.NewFlagSet("infill", flag.ExitOnError)
	dir := fs.String("model", "", "checkpoint folder with tokenizer.json")
	weights := fs.String("weights", "f32", "bf16 or f32")
	matmul := fs.String("matmul", "kernel", "auto, kernel or cublas")
	fs.Parse(args)
	tok, err := tokenizer.Load(filepath.Join(*dir, "tokenizer.json"))
	if err != nil {
		return err
	}
	cpu, err := model.Load(*dir)
	if err != nil {
		return err
	}
	defer cpu.Close()
	g, err := loadGPU(*dir, *weights, *matmul)
	if err != nil {
		return err
	}
	defer g.Close()
	dc, dg := infill.New(cpu, tok), infill.New(g, tok)
	set := infill.DefaultSettings()
	set.Temperature = 0
	same := 0
	for i, c := range infillCases {
		req := infill.Request{Prefix: c.prefix, Suffix: c.suffix, Settings: set}
		rc, err := dc.Infill(context.Background(), req)
		if err != nil {
			return fmt.Errorf("case %d on the CPU: %w", i, err)
		}
		rg, err := dg.Infill(context.Background(), req)
		if err != nil {
			return fmt.Errorf("case %d on CUDA: %w", i, err)
		}
		ok := rc.Text == rg.Text
		if ok {
			same++
		}
		fmt.Printf("infill case %d weights=%s: identical=%v forwards cpu=%d gpu=%d denoise cpu=%v gpu=%v\n  cpu: %q\n  gpu: %q\n",
			i, *weights, ok, rc.Stats.Forwards, rg.Stats.Forwards, rc.Stats.Denoise.Round(time.Microsecond), rg.Stats.Denoise.Round(time.Microsecond), rc.Text, rg.Text)
	}
	fmt.Printf("infill %s weights=%s: %d/%d identical at temperature 0\n", filepath.Base(*dir), *weights, same, len(infillCases))
	if same != len(infillCases) && *weights == "f32" {
		return fmt.Errorf("infill texts differ")
	}
	return nil
}

// bench decodes blocks with a fixed sampler — per step, commit the perStep
// masked positions whose top-1 probability is highest (infill's count
// schedule, greedy) — after a context of ctx tokens, and reports step
// latency and tokens per second. The PyTorch script does the same.
func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	dir := fs.String("model", "", "checkpoint folder")
	ctxs := fs.String("ctx", "512,2048", "context lengths")
	block := fs.Int("block", 32, "masks per block")
	perStep := fs.Int("per-step", 4, "tokens committed per step")
	blocks := fs.Int("blocks", 4, "blocks decoded per measurement")
	weights := fs.String("weights", "bf16", "bf16 or f32")
	matmul := fs.String("matmul", "auto", "auto, kernel or cublas")
	fs.Parse(args)
	g, err := loadGPU(*dir, *weights, *matmul)
	if err != nil {
		return err
	}
	defer g.Close()
	info := g.Info()
	for _, cs := range strings.Split(*ctxs, ",") {
		var n int
		fmt.Sscan(cs, &n)
		s, err := g.NewSession(engine.SessionOptions{MaxContext: n + (*blocks+2)*(*block+1), MaxBlock: *block + 1})
		if err != nil {
			return err
		}
		ctx := context.Background()
		toks := contextTokens(info, n, 2)
		t0 := time.Now()
		if _, err := s.Prefill(ctx, toks); err != nil {
			return err
		}
		prefill := time.Since(t0)
		// One warm-up block, then the measured ones.
		_, _, _, toks, err = decodeBlocks(s, info, toks, *block, *perStep, 1)
		if err != nil {
			return err
		}
		stepTimes, tokens, elapsed, _, err := decodeBlocks(s, info, toks, *block, *perStep, *blocks)
		if err != nil {
			return err
		}
		sort.Slice(stepTimes, func(i, j int) bool { return stepTimes[i] < stepTimes[j] })
		med := stepTimes[len(stepTimes)/2]
		fmt.Printf("bench %s weights=%s matmul=%s ctx=%d block=%d per-step=%d: prefill %v (%.0f tok/s), step median %v p90 %v, decode %.0f tokens/s (%d tokens in %v)\n",
			filepath.Base(*dir), *weights, *matmul, n, *block, *perStep, prefill.Round(time.Microsecond), float64(n)/prefill.Seconds(),
			med.Round(time.Microsecond), stepTimes[len(stepTimes)*9/10].Round(time.Microsecond),
			float64(tokens)/elapsed.Seconds(), tokens, elapsed.Round(time.Microsecond))
		s.Close()
	}
	return nil
}

// decodeBlocks decodes n blocks after the session's context, prefilling
// each finished block, and returns every step's latency.
func decodeBlocks(s engine.Session, info engine.Info, ctxToks []int32, B, perStep, n int) ([]time.Duration, int, time.Duration, []int32, error) {
	ctx := context.Background()
	toks := append([]int32(nil), ctxToks...)
	out := engine.NewPredictions(B+1, 8)
	block := make([]int32, B+1)
	var steps []time.Duration
	start := time.Now()
	tokens := 0
	for b := 0; b < n; b++ {
		// The context holds all known tokens but the last: the anchor.
		if _, err := s.Prefill(ctx, toks[:len(toks)-1]); err != nil {
			return nil, 0, 0, nil, err
		}
		block[0] = toks[len(toks)-1]
		for i := 1; i <= B; i++ {
			block[i] = info.MaskID
		}
		masked := B
		for masked > 0 {
			t0 := time.Now()
			if err := s.Denoise(ctx, block, 0, out); err != nil {
				return nil, 0, 0, nil, err
			}
			steps = append(steps, time.Since(t0))
			// Shift: the prediction at i is for block position i+1.
			for c := 0; c < perStep && masked > 0; c++ {
				best, bi := float32(math.Inf(-1)), -1
				for i := 0; i < B; i++ {
					if block[i+1] == info.MaskID && out[i].Candidates[0].LogProb > best {
						best, bi = out[i].Candidates[0].LogProb, i
					}
				}
				id := out[bi].Candidates[0].ID
				if id == info.MaskID {
					id = out[bi].Candidates[1].ID
				}
				block[bi+1] = id
				masked--
				tokens++
			}
		}
		toks = append(toks, block[1:]...)
	}
	if _, err := s.Prefill(ctx, toks[:len(toks)-1]); err != nil {
		return nil, 0, 0, nil, err
	}
	return steps, tokens, time.Since(start), toks, nil
}
