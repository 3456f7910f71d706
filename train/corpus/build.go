package corpus

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/unmask/unmask/tokenizer"
)

// Options configure Build.
type Options struct {
	Out         string   // output folder
	Sources     []Source // walked in order (dedupe keeps the first copy)
	ModCache    string   // Go module cache; "" = none
	Tokenizer   *tokenizer.Tokenizer
	ShardTokens int       // tokens per shard file (0 = 16M)
	Progress    io.Writer // progress lines (nil = none)
}

// Summary is written to summary.json.
type Summary struct {
	Sources        map[string]*SourceStats `json:"sources"`
	SkippedModules map[string]string       `json:"skipped_modules"`
	SplitRule      string                  `json:"split_rule"`
	Shards         map[string][]string     `json:"shards"`
	Tokens         map[string]int64        `json:"tokens"`
	Files          map[string]int          `json:"files"`
	Seconds        float64                 `json:"seconds"`
}

// An indexEntry describes one document in a shard's index (JSON lines).
type indexEntry struct {
	Source string   `json:"source"`
	Path   string   `json:"path"`
	Lang   string   `json:"lang"`
	Offset int64    `json:"offset"` // first token, in tokens from the start of the shard
	Tokens int      `json:"tokens"` // not counting the <|endoftext|> after it
	Bytes  int      `json:"bytes"`
	Spans  [][3]any `json:"spans"` // [start byte, end byte, kind]
}

// shardWriter writes uint16 little-endian token ids, each document followed
// by <|endoftext|>, and an index line per document.
type shardWriter struct {
	dir, split string
	limit      int
	n          int
	bin        *bufio.Writer
	binF, idxF *os.File
	idx        *bufio.Writer
	tokens     int64
	off        int64
	names      []string
}

func (w *shardWriter) open() error {
	name := fmt.Sprintf("%s-%03d", w.split, w.n)
	var err error
	if w.binF, err = os.Create(filepath.Join(w.dir, name+".bin")); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	if w.idxF, err = os.Create(filepath.Join(w.dir, name+".idx.jsonl")); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	w.bin, w.idx = bufio.NewWriterSize(w.binF, 1<<20), bufio.NewWriter(w.idxF)
	w.names = append(w.names, name)
	w.off = 0
	return nil
}

func (w *shardWriter) close() error {
	if w.binF == nil {
		return nil
	}
	err1 := w.bin.Flush()
	err2 := w.idx.Flush()
	err3 := w.binF.Close()
	err4 := w.idxF.Close()
	w.binF = nil
	for _, e := range []error{err1, err2, err3, err4} {
		if e != nil {
			return fmt.Errorf("corpus: shard %s-%03d: %w", w.split, w.n, e)
		}
	}
	return nil
}

func (w *shardWriter) add(d Doc, ids []int32, eos int32, spans []Span) error {
	if w.binF == nil || w.off >= int64(w.limit) {
		if err := w.close(); err != nil {
			return err
		}
		if w.binF == nil && len(w.names) > 0 {
			w.n++
		}
		if err := w.open(); err != nil {
			return err
		}
	}
	buf := make([]byte, 2*(len(ids)+1))
	for i, id := range ids {
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(id))
	}
	binary.LittleEndian.PutUint16(buf[2*len(ids):], uint16(eos))
	if _, err := w.bin.Write(buf); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	e := indexEntry{Source: d.Source, Path: d.Path, Lang: d.Lang, Offset: w.off, Tokens: len(ids), Bytes: len(d.Text)}
	for _, s := range spans {
		e.Spans = append(e.Spans, [3]any{s.Start, s.End, s.Kind})
	}
	b, _ := json.Marshal(e)
	w.idx.Write(append(b, '\n'))
	w.off += int64(len(ids) + 1)
	w.tokens += int64(len(ids) + 1)
	return nil
}

// Build walks the sources (and the permissively licensed modules of
// ModCache), writes train-NNN/heldout-NNN shards with their indexes and
// summary.json under Out, and returns the summary.
func Build(o Options) (*Summary, error) {
	start := time.Now()
	if o.Tokenizer == nil {
		return nil, fmt.Errorf("corpus: no tokenizer")
	}
	if o.Tokenizer.VocabSize() > 1<<16 {
		return nil, fmt.Errorf("corpus: vocabulary of %d does not fit uint16 shards", o.Tokenizer.VocabSize())
	}
	eos, ok := o.Tokenizer.TokenID("<|endoftext|>")
	if !ok {
		return nil, fmt.Errorf("corpus: tokenizer has no <|endoftext|>")
	}
	if o.ShardTokens <= 0 {
		o.ShardTokens = 16 << 20
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	sum := &Summary{SkippedModules: map[string]string{}, Shards: map[string][]string{}, Tokens: map[string]int64{},
		Files: map[string]int{}, SplitRule: `held out iff fnv1a32(source + "/" + reldir) % 20 == 0`}
	sources := append([]Source(nil), o.Sources...)
	if o.ModCache != "" {
		mods, err := ModuleSources(o.ModCache)
		if err != nil {
			return nil, fmt.Errorf("corpus: module cache: %w", err)
		}
		for _, m := range mods {
			rel, _ := filepath.Rel(o.ModCache, m)
			rel = filepath.ToSlash(rel)
			lic, err := DetectLicense(m)
			if err != nil {
				sum.SkippedModules[rel] = err.Error()
				continue
			}
			sources = append(sources, Source{Name: "mod:" + rel, Root: m, Lang: "go", Ext: ".go", License: lic})
		}
	}
	w := NewWalker()
	sp := NewSpanner()
	defer sp.Close()
	writers := map[bool]*shardWriter{
		false: {dir: o.Out, split: "train", limit: o.ShardTokens},
		true:  {dir: o.Out, split: "heldout", limit: o.ShardTokens},
	}
	files, last := 0, time.Now()
	var bytes int64
	for _, src := range sources {
		err := w.Walk(src, func(d Doc) error {
			ids := o.Tokenizer.EncodePlain(d.Text)
			spans, err := sp.Spans(d.Lang, d.Text)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", d.Source, d.Path, err)
			}
			w.Stats[d.Source].Tokens += int64(len(ids))
			if err := writers[d.HeldOut].add(d, ids, eos, spans); err != nil {
				return err
			}
			files++
			bytes += int64(len(d.Text))
			if o.Progress != nil && time.Since(last) > 500*time.Millisecond {
				last = time.Now()
				fmt.Fprintf(o.Progress, "\r%-40.40s %6d files %7.1f MB %5.1f MB/s", src.Name, files, float64(bytes)/1e6,
					float64(bytes)/1e6/time.Since(start).Seconds())
			}
			return nil
		})
		if err != nil {
			writers[false].close()
			writers[true].close()
			return nil, err
		}
	}
	for ho, wr := range writers {
		if err := wr.close(); err != nil {
			return nil, err
		}
		split := map[bool]string{false: "train", true: "heldout"}[ho]
		sum.Shards[split] = wr.names
		sum.Tokens[split] = wr.tokens
	}
	sum.Sources = w.Stats
	for _, st := range w.Stats {
		sum.Files["heldout"] += st.HeldOutFiles
		sum.Files["train"] += st.Files - st.HeldOutFiles
	}
	sum.Seconds = time.Since(start).Seconds()
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "\r%d files %.1f MB in %.0fs%30s\n", files, float64(bytes)/1e6, sum.Seconds, "")
	}
	b, _ := json.MarshalIndent(sum, "", " ")
	if err := os.WriteFile(filepath.Join(o.Out, "summary.json"), b, 0o644); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return sum, nil
}

// SortedSources returns the names of the summary's sources, sorted.
func (s *Summary) SortedSources() []string {
	var names []string
	for n := range s.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
