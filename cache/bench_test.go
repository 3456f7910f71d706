package cache

import (
	"fmt"
	"strings"
	"testing"
)

// benchPrefix is a realistic window: 4 KB of Go before the cursor.
var benchPrefix = strings.Repeat("\tif err := f(x); err != nil {\n\t\treturn err\n\t}\n", 100)[:4096]

// BenchmarkSpans compares the typing-through variants on the operations a
// keystroke costs: a Lookup that hits a pinned completion, one that hits an
// unpinned completion in ristretto after typing 20 characters, one that
// misses everything (a keystroke no completion foresaw), and a Put.
func BenchmarkSpans(b *testing.B) {
	text := "fmt.Println(\"a completion of some sixty characters, typical\")"
	for _, v := range []struct {
		name          string
		scan, forward int
	}{{"scan128", 128, -1}, {"forward50", -1, 50}, {"both", 128, 50}} {
		newSpans := func(b *testing.B) *Spans {
			s := newTestSpans(b, Config{ScanBack: v.scan, Forward: v.forward})
			s.Put("a.go", benchPrefix, "", text, 8)
			return s
		}
		b.Run(v.name+"/hit-pinned", func(b *testing.B) {
			s := newSpans(b)
			p := benchPrefix + text[:20]
			for b.Loop() {
				if _, ok := s.Lookup("a.go", p, ""); !ok {
					b.Fatal("miss")
				}
			}
		})
		b.Run(v.name+"/hit-unpinned", func(b *testing.B) {
			s := newSpans(b)
			s.Put("a.go", "x", "", "y", 1)
			s.Put("a.go", "z", "", "w", 1)
			s.Wait()
			p := benchPrefix + text[:20]
			for b.Loop() {
				if _, ok := s.Lookup("a.go", p, ""); !ok {
					b.Fatal("miss")
				}
			}
		})
		b.Run(v.name+"/miss", func(b *testing.B) {
			s := newSpans(b)
			p := benchPrefix + "unforeseen"
			for b.Loop() {
				if _, ok := s.Lookup("a.go", p, ""); ok {
					b.Fatal("hit")
				}
			}
		})
		b.Run(v.name+"/put", func(b *testing.B) {
			s := newSpans(b)
			i := 0
			for b.Loop() {
				i++
				s.Put("a.go", benchPrefix+fmt.Sprint(i), "", text, 8)
			}
			st := s.Stats()
			b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped-sets/op")
		})
	}
}
