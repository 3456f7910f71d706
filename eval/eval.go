// Package eval scores fill-in-the-middle completions against held-out cases:
// exact match (whitespace-normalized), edit similarity, whether the file still
// parses, tokens per forward pass and latency percentiles.
//
// Cases are JSON lines {"id","language","kind","prefix","suffix","middle"};
// the committed sets in eval/cases were cut from the held-out split of the
// training corpus (train/make_cases.py), which training never sees.
package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/unmask/unmask/completion"
	"github.com/unmask/unmask/infill"
)

// A Case is one held-out fill-in-the-middle request and its true middle.
type Case struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Kind     string `json:"kind,omitempty"` // line, rest_of_line, block, random
	Prefix   string `json:"prefix"`
	Suffix   string `json:"suffix"`
	Middle   string `json:"middle"`
	// Source names the held-out file the case was cut from,
	// "source:path" (e.g. "goroot:net/http/server.go").
	Source string `json:"source,omitempty"`
	// Open are the texts of other files open in the editor, most recently
	// used first, for the context lookup to search (see OpenFiles).
	Open []string `json:"-"`
}

// OpenFiles sets each case's Open to the other files of its package
// directory in corpus (JSON lines {"source","path","text"}, the corpus
// builder's format: train/data/corpus/heldout.jsonl), in path order, at
// most maxOpen of them: what a user editing the case's file would likely
// have open. It returns how many cases got at least one.
func OpenFiles(cases []Case, corpus io.Reader, maxOpen int) (int, error) {
	type doc struct{ Source, Path, Text string }
	dirs := map[string][]doc{}
	sc := bufio.NewScanner(corpus)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var d doc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return 0, fmt.Errorf("eval: corpus line %d: %w", line, err)
		}
		k := d.Source + ":" + path.Dir(d.Path)
		dirs[k] = append(dirs[k], d)
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("eval: corpus: %w", err)
	}
	for _, ds := range dirs {
		sort.Slice(ds, func(a, b int) bool { return ds[a].Path < ds[b].Path })
	}
	n := 0
	for i := range cases {
		c := &cases[i]
		colon := strings.LastIndexByte(c.Source, ':') // sources hold colons too ("mod:m@v1")
		if colon < 0 {
			continue
		}
		src, p := c.Source[:colon], c.Source[colon+1:]
		c.Open = nil
		for _, d := range dirs[src+":"+path.Dir(p)] {
			if d.Path != p && len(c.Open) < maxOpen {
				c.Open = append(c.Open, d.Text)
			}
		}
		if len(c.Open) > 0 {
			n++
		}
	}
	return n, nil
}

// ReadCases reads JSON-lines cases; blank lines are skipped.
func ReadCases(r io.Reader) ([]Case, error) {
	var cases []Case
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("eval: line %d: %w", line, err)
		}
		if c.ID == "" {
			c.ID = fmt.Sprintf("line-%d", line)
		}
		if !utf8.ValidString(c.Prefix) || !utf8.ValidString(c.Suffix) || !utf8.ValidString(c.Middle) {
			return nil, fmt.Errorf("eval: line %d (%s): text is not valid UTF-8", line, c.ID)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return cases, nil
}

// NormalizeSpace trims s and collapses every run of white space to one space.
func NormalizeSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// ExactMatch reports whether got equals want after NormalizeSpace.
func ExactMatch(got, want string) bool { return NormalizeSpace(got) == NormalizeSpace(want) }

// EditSimilarity is 1 - Levenshtein(got, want) / max(len): 1 for equal
// strings, 0 for nothing in common. Lengths and edits count code points.
func EditSimilarity(got, want string) float64 {
	a, b := []rune(got), []rune(want)
	n := max(len(a), len(b))
	if n == 0 {
		return 1
	}
	return 1 - float64(levenshtein(a, b))/float64(n)
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ErrLanguage reports a case whose language has no parser here.
var ErrLanguage = errors.New("eval: no parser for language")

func grammar(lang string) *sitter.Language {
	switch lang {
	case "go":
		return golang.GetLanguage()
	case "python":
		return python.GetLanguage()
	}
	return nil
}

// syntaxErrors counts ERROR and MISSING nodes in src parsed by p, as the
// language server's post-processing does (completion.SyntaxErrors).
func syntaxErrors(p *sitter.Parser, src string) (int, error) {
	n, err := completion.SyntaxErrors(p, src)
	if err != nil {
		return 0, fmt.Errorf("eval: parse: %w", err)
	}
	return n, nil
}

// Parses reports whether prefix+middle+suffix parses with no more syntax
// errors (tree-sitter ERROR or MISSING nodes) than prefix+want+suffix, the
// original file window, which may itself be cut mid-construct.
func Parses(lang, prefix, middle, want, suffix string) (bool, error) {
	g := grammar(lang)
	if g == nil {
		return false, fmt.Errorf("%w %q", ErrLanguage, lang)
	}
	p := sitter.NewParser()
	defer p.Close()
	p.SetLanguage(g)
	orig, err := syntaxErrors(p, prefix+want+suffix)
	if err != nil {
		return false, err
	}
	got, err := syntaxErrors(p, prefix+middle+suffix)
	if err != nil {
		return false, err
	}
	return got <= orig, nil
}

// An Outcome is what a filler produced for one case.
type Outcome struct {
	Text      string
	More      []string // other answers offered beside Text (completion.Result.More)
	Forwards  int      // model forward passes (0 for baselines)
	Committed int      // tokens committed
	Elapsed   time.Duration
}

// A Filler completes one case.
type Filler func(ctx context.Context, c Case) (Outcome, error)

// Summary holds the metrics over a set of cases (the JSON keys are the ones
// `unmask eval --json` prints).
type Summary struct {
	Group            string  `json:"group,omitempty"`
	Cases            int     `json:"cases"`
	ExactMatch       float64 `json:"exact_match"`
	EditSimilarity   float64 `json:"edit_similarity"`
	ParseRate        float64 `json:"parse_rate"`
	TokensPerForward float64 `json:"tokens_per_forward"`
	P50ms            float64 `json:"p50_ms"`
	P95ms            float64 `json:"p95_ms"`
	// With alternatives offered (some Outcome.More): the rates when the
	// best of the offered answers counts, as a user cycling through them
	// would pick it.
	BestExactMatch     float64 `json:"best_exact_match,omitempty"`
	BestEditSimilarity float64 `json:"best_edit_similarity,omitempty"`
	Offered            float64 `json:"offered,omitempty"` // answers offered a case, on average
}

// A Result is one scored case.
type Result struct {
	Case    Case
	Outcome Outcome
	Exact   bool
	EditSim float64
	Parses  bool
	// The best of Text and More: exact if any is, the highest edit
	// similarity.
	BestExact   bool
	BestEditSim float64
}

// Score runs fill on every case and scores it.
func Score(ctx context.Context, cases []Case, fill Filler, progress func(done int)) ([]Result, error) {
	out := make([]Result, 0, len(cases))
	for i, c := range cases {
		o, err := fill(ctx, c)
		if err != nil {
			return out, fmt.Errorf("eval: case %s: %w", c.ID, err)
		}
		ok, err := Parses(c.Language, c.Prefix, o.Text, c.Middle, c.Suffix)
		if err != nil {
			return out, fmt.Errorf("eval: case %s: %w", c.ID, err)
		}
		r := Result{Case: c, Outcome: o, Exact: ExactMatch(o.Text, c.Middle),
			EditSim: EditSimilarity(o.Text, c.Middle), Parses: ok}
		r.BestExact, r.BestEditSim = r.Exact, r.EditSim
		for _, m := range o.More {
			r.BestExact = r.BestExact || ExactMatch(m, c.Middle)
			r.BestEditSim = max(r.BestEditSim, EditSimilarity(m, c.Middle))
		}
		out = append(out, r)
		if progress != nil {
			progress(i + 1)
		}
	}
	return out, nil
}

// Summarize aggregates results; tokens per forward is total committed tokens
// over total forwards (0 when nothing ran a model).
func Summarize(group string, rs []Result) Summary {
	s := Summary{Group: group, Cases: len(rs)}
	if len(rs) == 0 {
		return s
	}
	var fw, cm, offered int
	var bestExact, bestSim float64
	alts := false
	ms := make([]float64, 0, len(rs))
	for _, r := range rs {
		alts = alts || len(r.Outcome.More) > 0
		if r.BestExact {
			bestExact++
		}
		bestSim += r.BestEditSim
		offered += len(r.Outcome.More)
		if r.Outcome.Text != "" {
			offered++
		}
		if r.Exact {
			s.ExactMatch++
		}
		s.EditSimilarity += r.EditSim
		if r.Parses {
			s.ParseRate++
		}
		fw += r.Outcome.Forwards
		cm += r.Outcome.Committed
		ms = append(ms, float64(r.Outcome.Elapsed.Microseconds())/1000)
	}
	n := float64(len(rs))
	s.ExactMatch /= n
	s.EditSimilarity /= n
	s.ParseRate /= n
	if alts {
		s.BestExactMatch, s.BestEditSimilarity, s.Offered = bestExact/n, bestSim/n, float64(offered)/n
	}
	if fw > 0 {
		s.TokensPerForward = float64(cm) / float64(fw)
	}
	sort.Float64s(ms)
	s.P50ms = percentile(ms, 0.50)
	s.P95ms = percentile(ms, 0.95)
	return s
}

// percentile of sorted xs by the nearest-rank method.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

// Empty is the empty-middle baseline.
func Empty(_ context.Context, _ Case) (Outcome, error) { return Outcome{}, nil }

// Lookup is the context-lookup baseline: the continuation, to the end of
// its line, of the longest earlier occurrence of the prefix's tail
// (infill.LookupText; in the case's text, then in its open files), with
// no model. The decoder's Settings.Lookup verifies the same draft with
// the model.
func Lookup(_ context.Context, c Case) (Outcome, error) {
	start := time.Now()
	return Outcome{Text: infill.LookupText(c.Prefix, c.Suffix, c.Open...), Elapsed: time.Since(start)}, nil
}

// CopyLine is the copy-the-nearest-line baseline: it inserts the last
// non-blank line of the prefix, minus what the current line already holds
// (so a rest-of-line case gets the previous line's text past the cursor's
// column), and keeps the middle on one line.
func CopyLine(_ context.Context, c Case) (Outcome, error) {
	start := time.Now()
	cur := c.Prefix[strings.LastIndexByte(c.Prefix, '\n')+1:]
	lines := strings.Split(c.Prefix[:len(c.Prefix)-len(cur)], "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			continue
		}
		var text string
		if strings.TrimSpace(cur) == "" {
			// at the start of a line: the previous line, re-indented to the cursor
			text = strings.TrimLeft(l, " \t")
			if cur == "" {
				text = l
			}
		} else if len(l) > len(cur) {
			text = l[len(cur):]
		}
		return Outcome{Text: text, Elapsed: time.Since(start)}, nil
	}
	return Outcome{Elapsed: time.Since(start)}, nil
}
