package completion

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/golang"
)

// benchSource is a 4,073-line Go file: net/http/server.go of the Go
// toolchain running the benchmark.
func benchSource(b *testing.B) string {
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "net", "http", "server.go"))
	if err != nil {
		b.Skipf("no benchmark source: %v", err)
	}
	return string(data)
}

// reportPercentiles adds p50 and p95 of the samples, in ms.
func reportPercentiles(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	p := func(q int) float64 {
		return float64(samples[min(len(samples)*q/100, len(samples)-1)].Microseconds()) / 1000
	}
	b.ReportMetric(p(50), "p50-ms")
	b.ReportMetric(p(95), "p95-ms")
}

// BenchmarkContext measures what a keystroke costs before the model runs:
// one edit applied to the document (incremental reparse) and the window cut
// at the cursor, in the middle of a function of a 4,000-line Go file.
// BenchmarkContext/fresh-parse is the reference: a full parse of the file.
func BenchmarkContext(b *testing.B) {
	src := benchSource(b)
	off := strings.Index(src, "func (c *conn) serve(ctx context.Context) {")
	off = off + strings.Index(src[off:], "\n\tdefer func() {") + 1
	b.Run("edit+window", func(b *testing.B) {
		d := NewDocument("file:///server.go", "go", 1, src)
		defer d.Close()
		d.mu.Lock()
		d.syn.parse(d.text)
		m := d.mapperLocked()
		p, _ := m.Position(off, UTF16)
		d.mu.Unlock()
		var samples []time.Duration
		v := int32(1)
		for b.Loop() {
			start := time.Now()
			v++
			// Type a character, then delete it, alternately: the document
			// stays the same size.
			ch := Change{Range: &Range{p, p}, Text: "x"}
			if v%2 == 1 {
				ch = Change{Range: &Range{p, Position{p.Line, p.Character + 1}}, Text: ""}
			}
			if err := d.Apply(v, []Change{ch}, UTF16); err != nil {
				b.Fatal(err)
			}
			if _, err := d.snapshot(p, UTF16, nil, DefaultSettings().ContextTokens, nil, true); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
		}
		reportPercentiles(b, samples)
	})
	b.Run("fresh-parse", func(b *testing.B) {
		p := sitter.NewParser()
		defer p.Close()
		p.SetLanguage(golang.GetLanguage())
		var samples []time.Duration
		for b.Loop() {
			start := time.Now()
			t := p.Parse(nil, []byte(src))
			samples = append(samples, time.Since(start))
			t.Close()
		}
		reportPercentiles(b, samples)
	})
}
