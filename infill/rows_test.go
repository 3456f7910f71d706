package infill

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// TestRowsParity holds the narrowed steps (rows) to the reference that asks
// for every position's prediction at every step: on the embedded default
// model and on the bidirectional fixture, each schedule, with and without
// the end prior, revision, the lookup and a warm start, the answers, the
// drafts and the step counts are the same. The rows a narrowed step skips
// are rows its apply never reads, so any difference is a bug.
func TestRowsParity(t *testing.T) {
	m, tok := defaultModel(t)
	src, err := os.ReadFile("decode.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(src), "\n")
	var reqs []Request
	for i, at := range []int{97, 160, 233, 301} {
		pre := strings.Join(lines[max(at-30, 0):at], "")
		suf := strings.Join(lines[at+1:at+8], "")
		if i%2 == 1 {
			// mid-line: the cursor after the line's first half
			l := lines[at]
			pre += l[:len(l)/2]
			suf = l[len(l)/2:] + suf
		}
		reqs = append(reqs, Request{Prefix: pre, Suffix: suf})
	}
	variants := map[string]func(*Settings){
		"default":         func(*Settings) {},
		"most confident":  func(s *Settings) { s.LeftmostFallback = false },
		"no end prior":    func(s *Settings) { s.EndPrior = 0; s.MaxTokens = 40 },
		"no lookup":       func(s *Settings) { s.Lookup = false },
		"revise below":    func(s *Settings) { s.ReviseBelow = 0.3; s.Lookup = false },
		"count 2":         func(s *Settings) { s.Schedule, s.PerStep = Count, 2 },
		"margin":          func(s *Settings) { s.Schedule, s.Threshold = Margin, 0.5 },
		"sequential":      func(s *Settings) { s.Schedule, s.PerStep = Sequential, 1 },
		"sampled":         func(s *Settings) { s.Temperature, s.TopP, s.Seed = 0.8, 0.9, 7 },
		"stop at newline": func(s *Settings) { s.StopAtNewline = true },
	}
	dec := New(m, tok)
	run := func(req Request, all bool) (Result, error) {
		allRows = all
		defer func() { allRows = false }()
		return dec.Infill(context.Background(), req)
	}
	same := func(t *testing.T, name string, got, want Result) {
		t.Helper()
		if got.Text != want.Text || got.Stop != want.Stop || got.Stats.Forwards != want.Stats.Forwards ||
			got.Stats.Committed != want.Stats.Committed || got.Stats.WarmKept != want.Stats.WarmKept ||
			!slices.Equal(got.Draft.Tokens, want.Draft.Tokens) || !slices.Equal(got.Draft.Steps, want.Draft.Steps) {
			t.Errorf("%s: narrowed %q (%s, %d forwards, draft %v), all rows %q (%s, %d forwards, draft %v)", name,
				got.Text, got.Stop, got.Stats.Forwards, got.Draft.Tokens, want.Text, want.Stop, want.Stats.Forwards, want.Draft.Tokens)
		}
	}
	for name, f := range variants {
		s := DefaultSettings()
		s.MaxTokens = 24
		f(&s)
		for i, req := range reqs {
			req.Settings = s
			want, err := run(req, true)
			if err != nil {
				t.Fatalf("%s, request %d, all rows: %v", name, i, err)
			}
			got, err := run(req, false)
			if err != nil {
				t.Fatalf("%s, request %d: %v", name, i, err)
			}
			same(t, name, got, want)
			// A warm start from the answer's draft after typing its first token.
			typed := tok.Decode(want.Draft.Tokens[:1])
			if d, ok := dec.DraftAfter(want.Draft, typed); ok && want.Draft.Tokens[0] != m.Info().MaskID && len(want.Draft.Tokens) > 1 {
				req.Prefix += typed
				req.Draft = d
				w2, err1 := run(req, true)
				g2, err2 := run(req, false)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s, request %d, warm: %v, %v", name, i, err1, err2)
				}
				same(t, name+", warm", g2, w2)
			}
		}
	}

	// The bidirectional layout's canvas is the whole span.
	lm, err := model.Load("../model/testdata/tiny-llada")
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Close()
	if lm.Info().Attention != engine.Bidirectional {
		t.Fatal("tiny-llada is not bidirectional")
	}
	bdec := newDecoder(lm, byteCodec{})
	for name, f := range map[string]func(*Settings){
		"confidence": func(*Settings) {},
		"count 1":    func(s *Settings) { s.Schedule, s.PerStep = Count, 1 },
	} {
		req := Request{Prefix: "def add(a, b):\n    return ", Suffix: "\n\nprint(add(1, 2))\n",
			Settings: settings(func(s *Settings) { s.MaxTokens, s.MiddleLength = 12, 8; f(s) })}
		allRows = true
		want, err1 := bdec.Infill(context.Background(), req)
		allRows = false
		got, err2 := bdec.Infill(context.Background(), req)
		if err1 != nil || err2 != nil {
			t.Fatalf("bidirectional %s: %v, %v", name, err1, err2)
		}
		same(t, "bidirectional "+name, got, want)
	}
}

// BenchmarkRows decodes requests on the embedded default model with the
// narrowed steps and, beside it, with every row at every step (the
// reference): the same answers (TestRowsParity), in less denoising time
// per forward pass (ns/op also holds each request's prefill).
func BenchmarkRows(b *testing.B) {
	m, tok := defaultModel(b)
	// The first development cases of two kinds (fixed text: decode.go
	// changes as the decoder does).
	var reqs []Request
	for _, f := range []string{"../eval/dev/go-block.jsonl", "../eval/dev/python-line.jsonl"} {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.SplitN(string(data), "\n", 4)[:3] {
			var c struct{ Prefix, Suffix string }
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				b.Fatal(err)
			}
			s := DefaultSettings()
			s.Lookup = false // every answer decoded by the model, not kept from a draft
			reqs = append(reqs, Request{Prefix: c.Prefix, Suffix: c.Suffix, Settings: s})
		}
	}
	for _, all := range []bool{false, true} {
		name := "narrowed"
		if all {
			name = "all-rows"
		}
		b.Run(name, func(b *testing.B) {
			allRows = all
			defer func() { allRows = false }()
			dec := New(m, tok)
			forwards, denoise := 0, time.Duration(0)
			for b.Loop() {
				for _, req := range reqs {
					res, err := dec.Infill(context.Background(), req)
					if err != nil {
						b.Fatal(err)
					}
					forwards += res.Stats.Forwards
					denoise += res.Stats.Denoise
				}
			}
			b.ReportMetric(float64(denoise.Microseconds())/1000/float64(forwards), "denoise-ms/forward")
			b.ReportMetric(float64(forwards)/float64(b.N*len(reqs)), "forwards/request")
		})
	}
}
