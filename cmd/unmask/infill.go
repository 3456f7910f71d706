package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/eval"
	"github.com/unmask/unmask/infill"
)

func init() {
	register(command{
		name:    "infill",
		summary: "fill the middle between a prefix file and a suffix file",
		run:     runInfill,
	})
}

// Usage of the decoder flags that unmask infill and unmask eval share.
const (
	usageEndPrior   = "end a block where its all-mask first pass predicts the end with at least this probability at every later position (0 = off)"
	usageLookup     = "with no draft, start from the rest of the line after the context's earlier occurrence of the prefix's tail"
	usageDraftFloor = "a draft's verifying pass keeps the tokens the model gives at least this (0 = the threshold)"
)

func runInfill(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := infill.DefaultSettings()
	prefixFile := fs.String("prefix-file", "", "file holding the text before the cursor")
	suffixFile := fs.String("suffix-file", "", "file holding the text after the cursor")
	dir := fs.String("model", "", "checkpoint folder (default: the embedded model)")
	schedule := fs.String("schedule", string(def.Schedule), "unmasking schedule: confidence, count, margin, entropy, sequential")
	threshold := fs.Float64("threshold", def.Threshold, "confidence (margin, entropy) threshold per step")
	perStep := fs.Int("per-step", 0, "count and sequential schedules (and margin/entropy when > 0): tokens per step")
	maxTokens := fs.Int("max-tokens", def.MaxTokens, "longest middle in tokens")
	blockSize := fs.Int("block-size", 0, "masks per block (0 = the checkpoint's)")
	temperature := fs.Float64("temperature", 0, "sampling temperature (0 = greedy)")
	topP := fs.Float64("top-p", 1, "nucleus over the top-k candidates")
	seed := fs.Uint64("seed", 0, "sampling seed")
	revise := fs.Float64("revise-below", 0, "re-mask committed tokens whose probability falls below this (0 = off)")
	budget := fs.Duration("budget", 0, "time budget (0 = none); running out returns what is committed")
	middle := fs.Int("middle-length", 0, "bidirectional checkpoints: first mask length (0 = one block)")
	endPrior := fs.Float64("end-prior", def.EndPrior, usageEndPrior)
	lookup := fs.Bool("lookup", def.Lookup, usageLookup)
	draftFloor := fs.Float64("draft-floor", def.DraftFloor, usageDraftFloor)
	leftmost := fs.Bool("leftmost-fallback", def.LeftmostFallback, "threshold schedules: a step with nothing above the threshold commits the leftmost open position, not the most confident")
	asJSON := fs.Bool("json", false, "print the middle with its stop reason and stats as JSON")
	sweep := fs.String("sweep", "", "JSONL cases {prefix, suffix, middle} (a glob: the first --cases of each file): print exact match and tokens per forward for each schedule instead")
	sweepN := fs.Int("cases", 0, "with --sweep: use the first N cases of each file (0 = all)")
	corpus := fs.Bool("corpus", false, "with --sweep: the file is a corpus JSONL {path, text}; cut one line-completion case from each file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 || (*prefixFile == "" && *suffixFile == "" && *sweep == "") {
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
	if *sweep != "" {
		read := readInfillCases
		if *corpus {
			read = cutInfillCases
		}
		// A glob takes the first N cases of each file it matches.
		files, err := filepath.Glob(*sweep)
		if err != nil || len(files) == 0 {
			files = []string{*sweep}
		}
		var cases []infillCase
		for _, f := range files {
			cs, err := read(f, *sweepN)
			if err != nil {
				return err
			}
			cases = append(cases, cs...)
		}
		m, tok, err := openModel(*dir)
		if err != nil {
			return err
		}
		defer m.Close()
		fmt.Fprintf(stderr, "sweep: %d cases on %s\n", len(cases), m.Info().Name)
		rows, err := runInfillSweep(context.Background(), infill.New(m, tok), m, cases, sweepSettings(*maxTokens), stderr)
		if err != nil {
			return err
		}
		ws := def
		ws.MaxTokens = *maxTokens
		warm, err := runWarmSweep(context.Background(), infill.New(m, tok), cases, ws)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				Rows []sweepRow `json:"rows"`
				Warm warmRow    `json:"warm"`
			}{rows, warm})
		}
		printSweep(stdout, rows, len(cases))
		printWarm(stdout, warm)
		return nil
	}
	prefix, err := read(*prefixFile)
	if err != nil {
		return err
	}
	suffix, err := read(*suffixFile)
	if err != nil {
		return err
	}
	m, tok, err := openModel(*dir)
	if err != nil {
		return err
	}
	defer m.Close()
	s := infill.DefaultSettings()
	s.Schedule = infill.Schedule(*schedule)
	s.Threshold, s.PerStep, s.MaxTokens, s.BlockSize = *threshold, *perStep, *maxTokens, *blockSize
	s.Temperature, s.TopP, s.Seed, s.ReviseBelow = *temperature, *topP, *seed, *revise
	s.TimeBudget, s.MiddleLength, s.LeftmostFallback, s.EndPrior = *budget, *middle, *leftmost, *endPrior
	s.Lookup, s.DraftFloor = *lookup, *draftFloor
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
		"end_prior_blocks":   st.EndPriorBlocks,
		"lookup_offered":     st.Lookup,
		"warm_kept":          st.WarmKept,
	}}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func infillMillis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// An infillCase is one held-out fill-in-the-middle case.
type infillCase struct {
	Prefix string `json:"prefix"`
	Suffix string `json:"suffix"`
	Middle string `json:"middle"`
}

// readInfillCases reads JSONL cases; "expected" is accepted for "middle".
func readInfillCases(path string, n int) ([]infillCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []infillCase
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var c struct {
			infillCase
			Expected *string `json:"expected"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		if c.Expected != nil && c.Middle == "" {
			c.Middle = *c.Expected
		}
		cases = append(cases, c.infillCase)
		if n > 0 && len(cases) == n {
			break
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	return cases, nil
}

// A sweepSetting is one row of the speed-quality table.
type sweepSetting struct {
	Name     string
	Settings infill.Settings
}

// sweepSettings lists the schedules the table compares, the
// one-token-per-step reference first. The schedule rows decode cold (no
// context-lookup draft), so they compare the schedules alone; the lookup
// rows add the draft to the default schedule.
func sweepSettings(maxTokens int) []sweepSetting {
	mk := func(name string, f func(*infill.Settings)) sweepSetting {
		s := infill.DefaultSettings()
		// Every row names what it changes from the most-confident-first
		// confidence schedule (the default before LeftmostFallback was).
		s.MaxTokens, s.Lookup, s.LeftmostFallback = maxTokens, false, false
		f(&s)
		return sweepSetting{name, s}
	}
	rows := []sweepSetting{
		mk("sequential 1/step (reference)", func(s *infill.Settings) { s.Schedule, s.PerStep = infill.Sequential, 1 }),
		mk("count 1/step", func(s *infill.Settings) { s.Schedule, s.PerStep = infill.Count, 1 }),
		mk("count 2/step", func(s *infill.Settings) { s.Schedule, s.PerStep = infill.Count, 2 }),
		mk("count 4/step", func(s *infill.Settings) { s.Schedule, s.PerStep = infill.Count, 4 }),
	}
	for _, t := range []float64{0.9, 0.7, 0.5} {
		rows = append(rows, mk(fmt.Sprintf("confidence τ=%.2f", t), func(s *infill.Settings) { s.Threshold, s.LeftmostFallback = t, false }))
	}
	for _, t := range []float64{0.9, 0.7, 0.5} {
		rows = append(rows, mk(fmt.Sprintf("confidence τ=%.2f, leftmost fallback", t), func(s *infill.Settings) { s.Threshold, s.LeftmostFallback = t, true }))
	}
	rows = append(rows,
		mk("confidence τ=0.90, stop at the first line break", func(s *infill.Settings) { s.StopAtNewline, s.LeftmostFallback = true, false }),
		mk("confidence τ=0.90, revise below 0.3", func(s *infill.Settings) { s.ReviseBelow, s.LeftmostFallback = 0.3, false }),
		mk("confidence τ=0.90, end anywhere (ablation)", func(s *infill.Settings) { s.FreeEnd, s.LeftmostFallback = true, false }))
	for _, e := range []float64{0, 0.5, 0.9} {
		name := fmt.Sprintf("confidence τ=0.90, end prior %.1f", e)
		if e == 0 {
			name = "confidence τ=0.90, no end prior (ablation)"
		}
		rows = append(rows, mk(name, func(s *infill.Settings) { s.EndPrior = e }))
	}
	rows = append(rows,
		mk("margin τ=0.50", func(s *infill.Settings) { s.Schedule, s.Threshold = infill.Margin, 0.5 }),
		mk("entropy τ=0.50", func(s *infill.Settings) { s.Schedule, s.Threshold = infill.Entropy, 0.5 }))
	for _, f := range []float64{0.01, 0.05, 0.1, 0.2, 0.5, 0.9} {
		rows = append(rows, mk(fmt.Sprintf("confidence τ=0.90, lookup draft kept at ≥ %.2f", f), func(s *infill.Settings) { s.Lookup, s.DraftFloor = true, f }))
	}
	rows = append(rows, mk("sequential 1/step, lookup draft kept at ≥ 0.01", func(s *infill.Settings) {
		s.Schedule, s.PerStep, s.Lookup, s.DraftFloor = infill.Sequential, 1, true, 0.01
	}), mk("confidence τ=0.90, leftmost fallback, lookup draft kept at ≥ 0.01 (the default)", func(s *infill.Settings) {
		def := infill.DefaultSettings()
		s.LeftmostFallback, s.Lookup, s.DraftFloor = def.LeftmostFallback, def.Lookup, def.DraftFloor
	}))
	return rows
}

// A sweepRow is one setting's totals over the cases.
type sweepRow struct {
	Setting   string  `json:"setting"`
	Exact     int     `json:"exact"`
	ExactPct  float64 `json:"exact_pct"`
	Line      int     `json:"first_line_match"` // the answer's first line equals the middle's (what a single-line editor shows)
	EditSim   float64 `json:"edit_similarity"`  // mean over the cases, as in unmask eval
	Tokens    int     `json:"tokens"`
	Forwards  int     `json:"forwards"`
	TPF       float64 `json:"tokens_per_forward"`
	MsPerCase float64 `json:"ms_per_case"`
	SameAsRef int     `json:"same_as_reference"`
	EOSStops  int     `json:"eos_stops"`
}

// runInfillSweep decodes every case with every setting. Each case keeps one
// session, so its context is prefilled once for all settings.
func runInfillSweep(ctx context.Context, dec *infill.Decoder, b engine.Backend, cases []infillCase, settings []sweepSetting, progress io.Writer) ([]sweepRow, error) {
	rows := make([]sweepRow, len(settings))
	var elapsed = make([]time.Duration, len(settings))
	for i, s := range settings {
		rows[i].Setting = s.Name
	}
	for ci, c := range cases {
		sess, err := b.NewSession(engine.SessionOptions{})
		if err != nil {
			return nil, err
		}
		var ref string
		for i, s := range settings {
			res, err := dec.Infill(ctx, infill.Request{Prefix: c.Prefix, Suffix: c.Suffix, Settings: s.Settings, Session: sess})
			// Denoising time only: the first setting of a case would
			// otherwise carry the context's prefill for all of them.
			elapsed[i] += res.Stats.Denoise
			if err != nil {
				sess.Close()
				return nil, fmt.Errorf("case %d, %s: %w", ci+1, s.Name, err)
			}
			if i == 0 {
				ref = res.Text
			}
			r := &rows[i]
			if eval.ExactMatch(res.Text, c.Middle) {
				r.Exact++
			}
			if firstLine(res.Text) == firstLine(c.Middle) {
				r.Line++
			}
			r.EditSim += eval.EditSimilarity(res.Text, c.Middle)
			if res.Text == ref {
				r.SameAsRef++
			}
			if res.Stop == infill.StopEOS {
				r.EOSStops++
			}
			r.Tokens += res.Stats.Committed
			r.Forwards += res.Stats.Forwards
		}
		sess.Close()
		if progress != nil && (ci+1)%10 == 0 {
			fmt.Fprintf(progress, "sweep: %d/%d cases\n", ci+1, len(cases))
		}
	}
	for i := range rows {
		r := &rows[i]
		r.ExactPct = 100 * float64(r.Exact) / float64(len(cases))
		r.EditSim /= float64(len(cases))
		if r.Forwards > 0 {
			r.TPF = float64(r.Tokens) / float64(r.Forwards)
		}
		r.MsPerCase = float64(elapsed[i].Microseconds()) / 1000 / float64(len(cases))
	}
	return rows, nil
}

func printSweep(w io.Writer, rows []sweepRow, n int) {
	fmt.Fprintf(w, "| schedule | exact match (%d cases, whitespace-normalized as in unmask eval) | first-line match | edit similarity | tokens/forward | forwards/case | denoise ms/case | same as reference | EOS stops |\n", n)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.1f%% (%d) | %.1f%% (%d) | %.3f | %.2f | %.1f | %.0f | %d | %d |\n",
			r.Setting, r.ExactPct, r.Exact, 100*float64(r.Line)/float64(n), r.Line, r.EditSim, r.TPF, float64(r.Forwards)/float64(n), r.MsPerCase, r.SameAsRef, r.EOSStops)
	}
}

// cutInfillCases makes line-completion cases from a corpus JSONL (one
// {"path", "text"} per line, as train/build_corpus.py writes heldout.jsonl):
// from each file, in order, one line of 8 to 80 characters chosen by a
// seeded generator, cut at a random point after its indentation. The middle
// is the rest of the line; the suffix starts at its newline. It takes up to
// n cases (0 = one per file).
func cutInfillCases(path string, n int) ([]infillCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var cases []infillCase
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var f struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		type span struct{ start, indent, end int }
		var lines []span
		for at := 0; at < len(f.Text); {
			end := strings.IndexByte(f.Text[at:], '\n')
			if end < 0 {
				break // the last line has no newline: no suffix to cut at
			}
			end += at
			body := strings.TrimLeft(f.Text[at:end], " \t")
			if n := len(strings.TrimSpace(body)); n >= 8 && end-at <= 80 && !strings.HasPrefix(body, "//") && !strings.HasPrefix(body, "#") {
				lines = append(lines, span{at, end - len(body), end})
			}
			at = end + 1
		}
		if len(lines) == 0 {
			continue
		}
		l := lines[rng.IntN(len(lines))]
		cut := l.indent + rng.IntN(l.end-l.indent)
		for cut > l.indent && !utf8.RuneStart(f.Text[cut]) {
			cut--
		}
		cases = append(cases, infillCase{Prefix: f.Text[:cut], Middle: f.Text[cut:l.end], Suffix: f.Text[l.end:]})
		if n > 0 && len(cases) == n {
			break
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no lines to cut cases from", path)
	}
	return cases, nil
}

// A warmRow sums the warm-start experiment over the cases.
type warmRow struct {
	Cases        int `json:"cases"`         // cases whose answer had a token to type
	ColdForwards int `json:"cold_forwards"` // the typed-on request decoded cold
	WarmForwards int `json:"warm_forwards"` // the same request warm-started from the draft
	WarmSaved    int `json:"warm_saved"`    // the decoder's estimate (Stats.WarmSaved)
	WarmKept     int `json:"warm_kept"`     // draft tokens the verifying pass kept
	DraftTokens  int `json:"draft_tokens"`  // draft tokens offered
	SameText     int `json:"same_text"`     // warm answer equal to the cold one
}

// runWarmSweep measures warm starts as typing produces them: decode a case
// with s, type the answer's first token (the shortest start of the answer
// that ends on a token boundary), then decode the typed-on request cold and
// warm-started from the rest of the first answer's draft.
func runWarmSweep(ctx context.Context, dec *infill.Decoder, cases []infillCase, s infill.Settings) (warmRow, error) {
	var w warmRow
	for ci, c := range cases {
		res, err := dec.Infill(ctx, infill.Request{Prefix: c.Prefix, Suffix: c.Suffix, Settings: s})
		if err != nil {
			return w, fmt.Errorf("warm case %d: %w", ci+1, err)
		}
		var typed string
		var rest *infill.Draft
		for n := 1; n < len(res.Text); n++ {
			if d, ok := dec.DraftAfter(res.Draft, res.Text[:n]); ok {
				typed, rest = res.Text[:n], d
				break
			}
		}
		if rest == nil {
			continue
		}
		req := infill.Request{Prefix: c.Prefix + typed, Suffix: c.Suffix, Settings: s}
		cold, err := dec.Infill(ctx, req)
		if err != nil {
			return w, fmt.Errorf("warm case %d: %w", ci+1, err)
		}
		req.Draft = rest
		warm, err := dec.Infill(ctx, req)
		if err != nil {
			return w, fmt.Errorf("warm case %d: %w", ci+1, err)
		}
		w.Cases++
		w.ColdForwards += cold.Stats.Forwards
		w.WarmForwards += warm.Stats.Forwards
		w.WarmSaved += warm.Stats.WarmSaved
		w.WarmKept += warm.Stats.WarmKept
		w.DraftTokens += len(rest.Tokens)
		if warm.Text == cold.Text {
			w.SameText++
		}
	}
	return w, nil
}

func printWarm(w io.Writer, r warmRow) {
	if r.Cases == 0 {
		fmt.Fprintln(w, "\nwarm start: no case had a token to type")
		return
	}
	n := float64(r.Cases)
	fmt.Fprintf(w, "\nwarm start after typing the answer's first token (%d cases, default schedule): "+
		"%.2f forwards/case cold, %.2f warm (estimate saved %.2f); kept %d of %d draft tokens; same answer as cold in %d\n",
		r.Cases, float64(r.ColdForwards)/n, float64(r.WarmForwards)/n, float64(r.WarmSaved)/n, r.WarmKept, r.DraftTokens, r.SameText)
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
