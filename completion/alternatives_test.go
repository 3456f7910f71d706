package completion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// altFiller answers by what a fill asks: the lookup's answer, the model's
// own without the lookup, or a sampled one per seed. It records the
// requests.
type altFiller struct {
	mu       sync.Mutex
	lookup   string
	model    string            // with NoLookup
	ranked   []string          // drafted from the context's LookupRank-th continuation (1: ranked[0]); none past them
	sampled  map[uint64]string // by seed, at a temperature
	failSeed uint64            // this seed's fill fails (0: none)
	delay    time.Duration     // every alternative's fill takes this long
	reqs     []FillRequest
}

func (f *altFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	s := req.Settings
	if req.Alternative && f.delay > 0 {
		time.Sleep(f.delay)
	}
	switch {
	case s.LookupRank > len(f.ranked):
		return FillResult{Stop: StopNoDraft}, nil
	case s.LookupRank > 0:
		return FillResult{Text: f.ranked[s.LookupRank-1], Forwards: 1, Stop: "eos"}, nil
	case s.Temperature > 0 && s.Seed == f.failSeed:
		return FillResult{}, errors.New("alternative failed")
	case s.Temperature > 0:
		return FillResult{Text: f.sampled[s.Seed], Forwards: 1, Stop: "eos"}, nil
	case s.NoLookup:
		return FillResult{Text: f.model, Forwards: 1, Stop: "eos"}, nil
	}
	return FillResult{Text: f.lookup, Forwards: 1, Stop: "eos"}, nil
}

func altRequest(t *testing.T, n int) Request {
	t.Helper()
	text := "package main\n\nfunc f(xs []int) {\n\tn := len(xs)\n\t\n}\n"
	doc := NewDocument("file:///alt.go", "go", 1, text)
	t.Cleanup(doc.Close)
	s := DefaultSettings()
	s.Alternatives = n
	return Request{Doc: doc, Position: Position{Line: 4, Character: 1}, Encoding: UTF16, Settings: s}
}

func TestAlternatives(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		f     *altFiller
		text  string
		more  []string
		fills int // fills run in all
	}{
		{"one answer asks for no more",
			1, &altFiller{lookup: "m := n", model: "x := 1"}, "m := n", nil, 1},
		{"the model's own answer, then samples (the context offers no other continuation: one fill that costs nothing)",
			3, &altFiller{lookup: "m := n", model: "x := 1", sampled: map[uint64]string{1: "y := 2", 2: "z := 3"}},
			"m := n", []string{"x := 1", "y := 2"}, 4},
		{"the model's own answer, then the context's other continuations, then samples",
			5, &altFiller{lookup: "m := n", model: "x := 1", ranked: []string{"a := 1", "m := n"}, sampled: map[uint64]string{1: "y := 2", 2: "z := 3"}},
			"m := n", []string{"x := 1", "a := 1", "y := 2", "z := 3"}, 7},
		{"duplicates and blanks are skipped, at most twice the answers wanted are tried",
			3, &altFiller{lookup: "m := n", model: "m := n", sampled: map[uint64]string{1: "  \n", 2: "m := n ", 3: "y := 2"}},
			"m := n", []string{"y := 2"}, 6},
		{"answers are post-processed like the first",
			2, &altFiller{lookup: "m := n", model: "x := 1\n}\nfunc g() {"}, "m := n", []string{"x := 1"}, 2},
		{"a failed alternative ends the search, not the request",
			4, &altFiller{lookup: "m := n", model: "x := 1", failSeed: 1, sampled: map[uint64]string{2: "y := 2"}},
			"m := n", []string{"x := 1"}, 4},
		{"a blank first answer still has alternatives",
			2, &altFiller{lookup: "", model: "x := 1"}, "", []string{"x := 1"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := (&Engine{Filler: tt.f}).Complete(context.Background(), altRequest(t, tt.n))
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != tt.text || !slices.Equal(res.More, tt.more) {
				t.Errorf("answers %q, more %q; want %q, %q", res.Text, res.More, tt.text, tt.more)
			}
			if len(tt.f.reqs) != tt.fills {
				t.Errorf("%d fills, want %d", len(tt.f.reqs), tt.fills)
			}
			forwards := 0 // each fill that answers costs the fake one forward pass
			for i, r := range tt.f.reqs {
				s := r.Settings
				if r.Alternative && s.LookupRank <= len(tt.f.ranked) && (s.Temperature == 0 || s.Seed != tt.f.failSeed) {
					forwards++
				}
				if i > 0 != r.Alternative {
					t.Errorf("fill %d: Alternative %v", i, r.Alternative)
				}
				if r.Alternative && (!r.Settings.ColdOnly || r.Settings.Speculate || r.Settings.Alternatives != 0) {
					t.Errorf("fill %d: alternative settings %+v: want cold, no speculation, no alternatives of its own", i, r.Settings)
				}
			}
			if res.MoreForwards != forwards {
				t.Errorf("MoreForwards %d, want %d", res.MoreForwards, forwards)
			}
		})
	}
}

// The alternatives share what is left of the first answer's time budget:
// once it is spent no more are asked for.
func TestAlternativesBudget(t *testing.T) {
	f := &altFiller{lookup: "m := n", model: "x := 1", delay: 30 * time.Millisecond,
		sampled: map[uint64]string{1: "y := 2", 2: "z := 3", 3: "w := 4"}}
	req := altRequest(t, 4)
	req.Settings.TimeBudget = 50 * time.Millisecond
	res, err := (&Engine{Filler: f}).Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.reqs) > 3 {
		t.Errorf("%d fills within a 50 ms budget of 30 ms alternatives, want at most 3", len(f.reqs))
	}
	for i, r := range f.reqs[1:] {
		if r.Settings.TimeBudget <= 0 || r.Settings.TimeBudget > 50*time.Millisecond {
			t.Errorf("alternative %d: budget %v, want what is left of 50ms", i+1, r.Settings.TimeBudget)
		}
	}
	if res.Text != "m := n" {
		t.Errorf("first answer %q", res.Text)
	}
}

// Asked for alternatives where typing through a shown completion answers
// from the cache, the first answer is the cached rest and the others are
// decoded for the window.
func TestAlternativesAfterTypingThrough(t *testing.T) {
	c, err := NewCache("test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &altFiller{lookup: "Println(x)", model: "Printf(x)", sampled: map[uint64]string{1: "Print(x)"}}
	e := &Engine{Filler: f, Cache: c}
	doc := NewDocument("file:///alt.go", "go", 1, "package main\n\nfunc f(x int) {\n\tfmt.\n}\n")
	defer doc.Close()
	ask := func(char uint32, n int) Result {
		t.Helper()
		s := DefaultSettings()
		s.Alternatives = n
		res, err := e.Complete(context.Background(), Request{Doc: doc, Position: Position{3, char}, Encoding: UTF16, Settings: s})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ask(5, 1)
	if err := doc.Apply(2, []Change{{Range: &Range{Position{3, 5}, Position{3, 5}}, Text: "Pri"}}, UTF16); err != nil {
		t.Fatal(err)
	}
	res := ask(8, 3)
	if !res.Fill.Cached || res.Text != "ntln(x)" {
		t.Fatalf("first answer %q (cached %v), want the cached rest", res.Text, res.Fill.Cached)
	}
	if !slices.Equal(res.More, []string{"Printf(x)", "Print(x)"}) {
		t.Errorf("more %q, want the model's and the sampled answers", res.More)
	}
	if last := f.reqs[len(f.reqs)-1]; !last.Alternative || !strings.HasSuffix(last.Prefix, "\tfmt.Pri") {
		t.Errorf("last fill: alternative %v, prefix %q; want an alternative's window ending at the cursor", last.Alternative, last.Prefix)
	}
}

// Alternatives survive typing through them as the first answer does: a
// later request whose context is the recorded one plus typed text serves
// the alternatives that start with it, as their rests, with no fill.
func TestAlternativesReused(t *testing.T) {
	c, err := NewCache("test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &altFiller{lookup: "Println(x)", model: "Printf(x)", sampled: map[uint64]string{1: "Sprint(x)", 2: "Print(x)"}}
	e := &Engine{Filler: f, Cache: c}
	doc := NewDocument("file:///alt.go", "go", 1, "package main\n\nfunc f(x int) {\n\tfmt.\n}\n")
	defer doc.Close()
	version := int32(1)
	typeAt := func(line, char uint32, text string) func() {
		return func() {
			version++
			if err := doc.Apply(version, []Change{{Range: &Range{Position{line, char}, Position{line, char}}, Text: text}}, UTF16); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []struct {
		name     string
		edit     func()
		pos      Position
		n        int  // Settings.Alternatives
		selected bool // with a selected item that changes nothing
		text     string
		more     []string
		cached   bool // Result.MoreCached
		fills    int  // new fills
	}{
		{"computed", nil, Position{3, 5}, 3, false, "Println(x)", []string{"Printf(x)", "Sprint(x)"}, false, 4},
		{"the same position again", nil, Position{3, 5}, 3, false, "Println(x)", []string{"Printf(x)", "Sprint(x)"}, true, 0},
		{"fewer asked for", nil, Position{3, 5}, 2, false, "Println(x)", []string{"Printf(x)"}, true, 0},
		{"more asked for than were: computed", nil, Position{3, 5}, 4, false, "Println(x)", []string{"Printf(x)", "Sprint(x)", "Print(x)"}, false, 4},
		{"typed what the first answer and two alternatives start with", typeAt(3, 5, "Pri"), Position{3, 8}, 4, false,
			"ntln(x)", []string{"ntf(x)", "nt(x)"}, true, 0},
		{"typed away from every alternative: none left, none computed", typeAt(3, 8, "ntl"), Position{3, 11}, 4, false,
			"n(x)", nil, true, 0},
		{"with a selected item: computed", nil, Position{3, 11}, 4, true, "n(x)", []string{"Printf(x)", "Sprint(x)", "Print(x)"}, false, 4},
		{"elsewhere: computed", typeAt(3, 11, "\n\tfmt."), Position{4, 5}, 3, false, "Println(x)", []string{"Printf(x)", "Sprint(x)"}, false, 4},
		// The first answer's miss: a character only an alternative starts
		// with misses the span cache, and the first answer is decoded
		// anew; the alternatives still come from the record.
		{"typed what only an alternative starts with", typeAt(4, 5, "S"), Position{4, 6}, 3, false,
			"Println(x)", []string{"print(x)"}, true, 1},
		{"typed what no answer starts with: computed", typeAt(4, 6, "q"), Position{4, 7}, 3, false,
			"Println(x)", []string{"Printf(x)", "Sprint(x)"}, false, 4},
		{"the suffix changed: computed", typeAt(5, 0, "// "), Position{4, 7}, 3, false,
			"Println(x)", []string{"Printf(x)", "Sprint(x)"}, false, 4},
	}
	for _, st := range steps {
		if st.edit != nil {
			st.edit()
		}
		before := len(f.reqs)
		s := DefaultSettings()
		s.Alternatives = st.n
		req := Request{Doc: doc, Position: st.pos, Encoding: UTF16, Settings: s}
		if st.selected {
			// The item "" at the cursor: the same context, but a
			// selected item's answers are not reused.
			req.Selected = &Selected{Range: Range{st.pos, st.pos}}
		}
		res, err := e.Complete(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Text != st.text || !slices.Equal(res.More, st.more) || res.MoreCached != st.cached {
			t.Errorf("%s: answers %q, more %q (cached %v); want %q, %q (cached %v)", st.name, res.Text, res.More, res.MoreCached, st.text, st.more, st.cached)
		}
		if n := len(f.reqs) - before; n != st.fills {
			t.Errorf("%s: %d fills, want %d", st.name, n, st.fills)
		}
	}
	// A closed document's record goes with it.
	s := DefaultSettings()
	s.Alternatives = 3
	text := doc.Text()
	raw := rawContext(text, strings.Index(text, "Sq")+len("Sq"))
	if _, ok := c.lookupAlternatives(Request{Doc: doc, Settings: s}, raw, "Println(x)"); !ok {
		t.Fatalf("no alternatives recorded at the last request's context")
	}
	e.Forget(doc.URI)
	if more, ok := c.lookupAlternatives(Request{Doc: doc, Settings: s}, raw, "Println(x)"); ok {
		t.Errorf("after Forget: alternatives %q, want none recorded", more)
	}
}

// A search for alternatives cut short (here by a failed fill) is not
// recorded: asking again searches again.
func TestAlternativesCutShortNotReused(t *testing.T) {
	c, err := NewCache("test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &altFiller{lookup: "m := n", model: "x := 1", failSeed: 1}
	e := &Engine{Filler: f, Cache: c}
	req := altRequest(t, 3)
	for i := range 2 {
		before := len(f.reqs)
		res, err := e.Complete(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.More, []string{"x := 1"}) || res.MoreCached || len(f.reqs)-before < 3 {
			t.Errorf("request %d: more %q (cached %v) after %d fills; want %q searched for again", i, res.More, res.MoreCached, len(f.reqs)-before, []string{"x := 1"})
		}
	}
}

// TestAlternativesDocs guards the bound on documents with a record: the
// least recently used one goes.
func TestAlternativesDocs(t *testing.T) {
	c, err := NewCache("test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := rawContext("package main\n\nfunc f() {\n\t\n}\n", len("package main\n\nfunc f() {\n\t"))
	req := func(i int) Request {
		s := DefaultSettings()
		s.Alternatives = 2
		return Request{Doc: &Document{URI: fmt.Sprintf("file:///%d.go", i)}, Settings: s}
	}
	for i := range altDocs + 1 {
		if i == altDocs {
			c.lookupAlternatives(req(0), raw, "a := 1") // 0 is used after 1
		}
		c.putAlternatives(req(i), raw, "a := 1", []string{"b := 2"})
	}
	if _, ok := c.lookupAlternatives(req(1), raw, "a := 1"); ok {
		t.Errorf("the least recently used document's record survived past %d documents", altDocs)
	}
	for _, i := range []int{0, altDocs} {
		if more, ok := c.lookupAlternatives(req(i), raw, "a := 1"); !ok || !slices.Equal(more, []string{"b := 2"}) {
			t.Errorf("document %d: %q, %v; want its record", i, more, ok)
		}
	}
	if len(c.alts) != altDocs {
		t.Errorf("%d records, want %d", len(c.alts), altDocs)
	}
}
