package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/unmask/unmask/completion"
	"github.com/unmask/unmask/eval"
	"github.com/unmask/unmask/infill"
)

func init() {
	register(command{
		name:    "eval",
		summary: "score the model (or a baseline) on held-out fill-in-the-middle cases",
		run:     runEval,
	})
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files []string
	fs.Func("cases", "JSON-lines case file or glob (repeatable), e.g. eval/cases/*.jsonl", func(s string) error {
		m, err := filepath.Glob(s)
		if err != nil {
			return err
		}
		if len(m) == 0 {
			return fmt.Errorf("no file matches %q", s)
		}
		files = append(files, m...)
		return nil
	})
	dir := fs.String("model", "", "checkpoint folder (default: the model embedded in the binary)")
	baseline := fs.String("baseline", "", `score a baseline instead of the model: "empty", "copyline" or "lookup" (the context-lookup draft alone)`)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	def := infill.DefaultSettings()
	maxTokens := fs.Int("max-tokens", def.MaxTokens, "longest middle in tokens")
	threshold := fs.Float64("threshold", def.Threshold, "confidence threshold of the decoder")
	endPrior := fs.Float64("end-prior", def.EndPrior, usageEndPrior)
	lookup := fs.Bool("lookup", def.Lookup, usageLookup)
	draftFloor := fs.Float64("draft-floor", def.DraftFloor, "raw pipeline: "+usageDraftFloor)
	schedule := fs.String("schedule", string(def.Schedule), "raw pipeline: unmasking schedule (confidence, count, margin, entropy, sequential)")
	perStep := fs.Int("per-step", def.PerStep, "raw pipeline: tokens per step of the count and sequential schedules")
	leftmost := fs.Bool("leftmost-fallback", def.LeftmostFallback, "a step with nothing above the threshold commits the leftmost open position (false: the most confident)")
	limit := fs.Int("limit", 0, "score only the first N cases of each file (0 = all)")
	details := fs.String("details", "", "write every case's completion and scores to this JSON-lines file")
	pipeline := fs.String("pipeline", "raw", `"raw": the decoder's middle for the case's whole prefix and suffix; `+
		`"editor": what the language server answers at the cursor (syntax-cut window, single-line mode mid-line, post-processing, max 64 tokens unless --max-tokens)`)
	openFiles := fs.String("open-files", "", "corpus JSON lines (train/data/corpus/heldout.jsonl): the other files of each case's package directory there are open in the editor, and the context lookup searches them")
	openMax := fs.Int("open-max", completion.LookupOpenDocs, "with --open-files: at most this many open files per case, the first by path")
	body := fs.Bool("body", true, "editor pipeline: continue a completion that opens a block the suffix has no body for into its body, as the language server does")
	alternatives := fs.Int("alternatives", 1, "editor pipeline: offer up to N different answers, as the server does when ghost text is asked for explicitly; prints the rates of the best of them beside the first's")
	ctxTokens := fs.Int("context-tokens", 0, "prefix+suffix budget in tokens, at most the model's window (0 = raw: the window; editor: the server's default)")
	skip := fs.String("skip", "", "leave out the cases whose ids this file lists, one a line (eval/cases/seen-in-training.txt: those whose text a training split holds verbatim)")
	budget := fs.Duration("budget", 0, "decode time limit per case in the editor pipeline (0 = none, so results do not depend on the machine's load)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: unmask eval --cases FILE.jsonl [--cases ...] [--model DIR | --baseline empty|copyline|lookup] [--pipeline raw|editor] [--json]")
		fmt.Fprintln(stderr, `A case is a JSON line {"id","language","kind","prefix","suffix","middle"}. Prints`)
		fmt.Fprintln(stderr, "exact_match (whitespace-normalized), edit_similarity, parse_rate, tokens_per_forward,")
		fmt.Fprintln(stderr, "p50_ms, p95_ms and cases, overall and per language/kind.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if len(files) == 0 || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	if *pipeline != "raw" && *pipeline != "editor" {
		fmt.Fprintf(stderr, "unmask eval: unknown pipeline %q (raw or editor)\n", *pipeline)
		return errUsage
	}
	maxTokensSet := false
	fs.Visit(func(f *flag.Flag) { maxTokensSet = maxTokensSet || f.Name == "max-tokens" })
	var cases []eval.Case
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		cs, err := eval.ReadCases(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if *limit > 0 && len(cs) > *limit {
			cs = cs[:*limit]
		}
		cases = append(cases, cs...)
	}
	if *skip != "" {
		data, err := os.ReadFile(*skip)
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, id := range strings.Fields(string(data)) {
			ids[id] = true
		}
		n := len(cases)
		cases = slices.DeleteFunc(cases, func(c eval.Case) bool { return ids[c.ID] })
		fmt.Fprintf(stderr, "left out %d of %d cases listed in %s\n", n-len(cases), n, *skip)
	}
	if *openFiles != "" {
		fh, err := os.Open(*openFiles)
		if err != nil {
			return err
		}
		n, err := eval.OpenFiles(cases, fh, *openMax)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *openFiles, err)
		}
		fmt.Fprintf(stderr, "%d of %d cases have other files of their package open\n", n, len(cases))
	}

	var fill eval.Filler
	name := *baseline
	switch *baseline {
	case "empty":
		fill = eval.Empty
	case "copyline":
		fill = eval.CopyLine
	case "lookup":
		fill = eval.Lookup
	case "":
		m, tok, err := openModel(*dir)
		if err != nil {
			return err
		}
		defer m.Close()
		name = "model"
		if *dir != "" {
			name = "model " + *dir
		}
		if *pipeline == "editor" {
			name += " (editor pipeline)"
			es := completion.DefaultSettings()
			if maxTokensSet {
				es.MaxTokens = *maxTokens
			}
			if *ctxTokens > 0 {
				es.ContextTokens = *ctxTokens
			}
			es.Threshold, es.TimeBudget = *threshold, *budget
			es.EndPrior = *endPrior
			if *endPrior == 0 {
				es.EndPrior = -1 // off, not the decoder's default
			}
			es.NoLookup, es.NoBody, es.MostConfident = !*lookup, !*body, !*leftmost
			es.Alternatives = *alternatives
			fill = editorFiller(completion.NewInfillFiller(m, tok), es)
			break
		}
		dec := infill.New(m, tok)
		s := def
		s.MaxTokens, s.Threshold, s.EndPrior, s.LeftmostFallback = *maxTokens, *threshold, *endPrior, *leftmost
		s.Lookup, s.DraftFloor = *lookup, *draftFloor
		s.Schedule, s.PerStep = infill.Schedule(*schedule), *perStep
		s.MaxContext = *ctxTokens
		fill = func(ctx context.Context, c eval.Case) (eval.Outcome, error) {
			start := time.Now()
			res, err := dec.Infill(ctx, infill.Request{Prefix: c.Prefix, Suffix: c.Suffix, LookupOthers: c.Open, Settings: s})
			if err != nil {
				return eval.Outcome{}, err
			}
			return eval.Outcome{Text: res.Text, Forwards: res.Stats.Forwards, Committed: res.Stats.Committed,
				Elapsed: time.Since(start)}, nil
		}
	default:
		fmt.Fprintf(stderr, "unmask eval: unknown baseline %q\n", *baseline)
		return errUsage
	}

	start := time.Now()
	rs, err := eval.Score(context.Background(), cases, fill, func(done int) {
		if done%10 == 0 || done == len(cases) {
			fmt.Fprintf(stderr, "\r%d/%d cases %.0fs", done, len(cases), time.Since(start).Seconds())
		}
	})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	if *details != "" {
		if err := writeDetails(*details, rs, *alternatives > 1); err != nil {
			return err
		}
	}
	groups := map[string][]eval.Result{}
	for _, r := range rs {
		k := r.Case.Language
		if r.Case.Kind != "" {
			k += "/" + r.Case.Kind
		}
		groups[k] = append(groups[k], r)
		groups[r.Case.Language] = append(groups[r.Case.Language], r)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	overall := eval.Summarize("all", rs)
	var per []eval.Summary
	for _, k := range keys {
		per = append(per, eval.Summarize(k, groups[k]))
	}
	if *asJSON {
		type out struct {
			eval.Summary
			Filler string         `json:"filler"`
			Groups []eval.Summary `json:"groups"`
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out{overall, name, per})
	}
	w := stdout
	fmt.Fprintf(w, "%s\n%-22s %6s %7s %8s %7s %6s %8s %8s\n", name, "group", "cases", "exact", "editsim", "parse", "tok/fw", "p50_ms", "p95_ms")
	for _, s := range append(per, overall) {
		fmt.Fprintf(w, "%-22s %6d %7.3f %8.3f %7.3f %6.2f %8.1f %8.1f\n", s.Group, s.Cases, s.ExactMatch, s.EditSimilarity,
			s.ParseRate, s.TokensPerForward, s.P50ms, s.P95ms)
	}
	if overall.Offered > 0 {
		fmt.Fprintf(w, "\nbest of the answers offered (as a user cycling through them would pick)\n%-22s %7s %8s %7s\n", "group", "exact", "editsim", "offered")
		for _, s := range append(per, overall) {
			fmt.Fprintf(w, "%-22s %7.3f %8.3f %7.2f\n", s.Group, s.BestExactMatch, s.BestEditSimilarity, s.Offered)
		}
	}
	return nil
}

// writeDetails writes one JSON line per scored case; with best, also the
// best of the answers offered (--alternatives), as the summary counts it.
func writeDetails(path string, rs []eval.Result, best bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, r := range rs {
		row := map[string]any{"id": r.Case.ID, "got": r.Outcome.Text, "want": r.Case.Middle,
			"more": r.Outcome.More, "exact": r.Exact, "edit_similarity": r.EditSim, "parses": r.Parses, "forwards": r.Outcome.Forwards,
			"ms": float64(r.Outcome.Elapsed.Microseconds()) / 1000}
		if best {
			row["best_exact"], row["best_edit_similarity"] = r.BestExact, r.BestEditSim
		}
		if err := enc.Encode(row); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// editorFiller completes each case as the language server would: the
// document is the case's prefix and suffix, the cursor between them, and
// the answer is what completion.Engine returns (window cut on syntax
// boundaries, one line mid-line, post-processed).
func editorFiller(f *completion.InfillFiller, s completion.Settings) eval.Filler {
	eng := &completion.Engine{Filler: f}
	ext := map[string]string{"go": ".go", "python": ".py"}
	return func(ctx context.Context, c eval.Case) (eval.Outcome, error) {
		text := c.Prefix + c.Suffix
		pos, err := completion.NewMapper(text).Position(len(c.Prefix), completion.UTF16)
		if err != nil {
			return eval.Outcome{}, err
		}
		doc := completion.NewDocument("file:///eval/"+c.ID+ext[c.Language], c.Language, 1, text)
		defer doc.Close()
		var open []*completion.Document
		for i, t := range c.Open {
			o := completion.NewDocument(fmt.Sprintf("file:///eval/%s.open%d%s", c.ID, i, ext[c.Language]), c.Language, 1, t)
			defer o.Close()
			open = append(open, o)
		}
		start := time.Now()
		res, err := eng.Complete(ctx, completion.Request{Doc: doc, Position: pos, Encoding: completion.UTF16, Settings: s, Open: open})
		if err != nil {
			return eval.Outcome{}, err
		}
		return eval.Outcome{Text: res.Text, More: res.More, Forwards: res.Fill.Forwards, Committed: res.Fill.Tokens,
			Elapsed: time.Since(start)}, nil
	}
}
