package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentTyping runs typists in several documents at once, each
// keystroke going through the whole recipe of doc.go (lookup, speculator,
// session checkout, drafts, put, speculation), with the requests of one
// document overlapping as an editor's cancelled requests do. Run with -race.
func TestConcurrentTyping(t *testing.T) {
	c, err := New[sized, *fakeSession](Config{SessionBytes: 10_000, DraftBytes: 4_000, SpanBytes: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	var made atomic.Int32
	var wg sync.WaitGroup
	const docs, keys = 4, 150
	text := "func main() {\n\tfmt.Println(\"hello, world\")\n}\n"
	request := func(ctx context.Context, doc, prefix string, rng *rand.Rand) {
		if _, ok := c.Spans.Lookup(doc, prefix, ""); ok {
			return
		}
		end := c.Speculator.Begin(ctx, SpecKey(doc, prefix, ""))
		defer end()
		s, ok, err := c.Sessions.Acquire(ctx, doc)
		if err != nil {
			return
		}
		if !ok {
			s = newFakeSession(int(made.Add(1)), 0)
		}
		s.busy.Store(true)
		if _, _, ok := c.Drafts.Get(doc, prefix, ""); !ok && rng.IntN(3) == 0 {
			c.Drafts.Put(doc, prefix, "", sized{"partial", int64(rng.IntN(500))})
		}
		c.NoteForwards(3, 1)
		cut := min(len(text)-1, rng.IntN(len(text)))
		c.Spans.Put(doc, prefix, "", text[cut:], 3)
		s.bytes.Store(int64(rng.IntN(4000)))
		s.busy.Store(false)
		c.Sessions.Release(doc, s)
	}
	for d := range docs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc := fmt.Sprintf("file%d.go", d)
			prefix := ""
			var inflight sync.WaitGroup
			cancel := func() {}
			for i := range keys {
				prefix += string(text[i%len(text)])
				cancel()
				var ctx context.Context
				ctx, cancel = context.WithCancel(context.Background())
				inflight.Add(1)
				go func(p string) {
					defer inflight.Done()
					request(ctx, doc, p, rng2(d, i))
				}(prefix)
				if i%10 == 0 {
					next := prefix + "x"
					c.Speculator.Schedule(SpecKey(doc, next, ""), func(ctx context.Context) {
						request(ctx, doc, next, rng2(d, -i))
					})
				}
				if i%50 == 49 {
					c.Forget(doc)
				}
				if i%7 == 0 {
					c.Stats()
				}
			}
			cancel()
			inflight.Wait()
		}()
	}
	wg.Wait()
	c.Close()
	st := c.Stats()
	if st.Spans.Hits+st.Spans.Misses < docs*keys {
		t.Errorf("Stats() counted %d lookups, want at least %d", st.Spans.Hits+st.Spans.Misses, docs*keys)
	}
	if st.Sessions.Bytes < 0 || st.Drafts.Bytes < 0 || st.Drafts.Bytes > 4_000 {
		t.Errorf("Stats() = %+v: bytes out of range", st)
	}
	t.Logf("%v", st)
}

func rng2(a, b int) *rand.Rand { return rand.New(rand.NewPCG(uint64(a), uint64(b))) }

// TestMemoryCapLongSession simulates a long editing session (many documents,
// sessions whose KV grows with the file, drafts and spans at every
// keystroke) and checks after every request that each cache stays under its
// cap: sessions counting the checked-out ones only when no idle one is left
// to close.
func TestMemoryCapLongSession(t *testing.T) {
	const (
		sessionCap = 64 << 20
		draftCap   = 1 << 20
		spanCap    = 1 << 20
	)
	c, err := New[sized, *fakeSession](Config{SessionBytes: sessionCap, DraftBytes: draftCap, SpanBytes: spanCap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	ctx := context.Background()
	sizes := map[string]int64{}
	var all []*fakeSession
	steps := 20_000
	if testing.Short() {
		steps = 2_000
	}
	for i := range steps {
		doc := fmt.Sprintf("f%d.go", rng.IntN(40))
		prefix := fmt.Sprintf("%s:%d", doc, i)
		s, ok, err := c.Sessions.Acquire(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			s = newFakeSession(len(all), 0)
			all = append(all, s)
		}
		// A KV cache of a few MB that grows as the document does.
		sizes[doc] += int64(rng.IntN(64 << 10))
		s.bytes.Store(2<<20 + sizes[doc])
		c.Sessions.Release(doc, s)
		c.Drafts.Put(doc, prefix, "", sized{"d", int64(rng.IntN(8 << 10))})
		c.Spans.Put(doc, prefix, "", string(make([]byte, 1+rng.IntN(2000))), 4)
		if i%500 == 0 {
			c.Spans.Wait()
		}
		st := c.Stats()
		if st.Sessions.Bytes > sessionCap {
			t.Fatalf("request %d: sessions hold %d bytes, over the cap %d", i, st.Sessions.Bytes, sessionCap)
		}
		if st.Drafts.Bytes > draftCap {
			t.Fatalf("request %d: drafts hold %d bytes, over the cap %d", i, st.Drafts.Bytes, draftCap)
		}
		// Spans: ristretto's share is capped; pins are bounded by MaxDocs×2.
		if st.Spans.Bytes > spanCap+40*pinsPerDoc*(2000+2*entryOverhead+64) {
			t.Fatalf("request %d: spans hold %d bytes, over the cap %d plus pins", i, st.Spans.Bytes, spanCap)
		}
	}
	var open int64
	for _, s := range all {
		if s.closed.Load() == 0 {
			open += s.Bytes()
		}
	}
	if st := c.Stats(); open != st.Sessions.Bytes {
		t.Errorf("sessions not closed hold %d bytes, the pool counts %d: an evicted session was not closed", open, st.Sessions.Bytes)
	}
	t.Logf("%v", c.Stats())
}
