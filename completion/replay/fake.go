package replay

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/unmask/unmask/cache"
	"github.com/unmask/unmask/completion"
)

// Cost is the fake engine's cost model: what a request would cost a model
// of the default's size on this machine's CPUs (see README "Caches").
type Cost struct {
	PrefillPerToken time.Duration // per context token not already in the session's KV cache
	PerForward      time.Duration // one Denoise of a block against the context
	TokensPerStep   float64       // tokens committed per forward pass after the first
	BytesPerToken   float64       // to turn text into tokens
	KVBytesPerToken int64         // session memory per context token
}

// DefaultCost is the stated cost model of the fake engine: an engine about
// ten times faster than the CPU engine measured on the shared development
// machine (MeasuredCPUCost), as on a quiet multi-core CPU or a GPU.
func DefaultCost() Cost {
	return Cost{
		PrefillPerToken: 50 * time.Microsecond,
		PerForward:      12 * time.Millisecond,
		TokensPerStep:   3,
		BytesPerToken:   3.5,
		KVBytesPerToken: 2 * 4 * 512 * 8, // k and v, f32, width 512, 8 layers
	}
}

// MeasuredCPUCost is the cost BenchmarkEngineCost measured for the real CPU
// engine at the default model's shape on the 2-core development machine
// while it was shared (load average about 16): 960 µs per context token,
// 126 ms per forward pass.
func MeasuredCPUCost() Cost {
	c := DefaultCost()
	c.PrefillPerToken = 960 * time.Microsecond
	c.PerForward = 126 * time.Millisecond
	return c
}

// Quality is how often the fake engine predicts the truth.
type Quality struct {
	Exact float64 // probability that a prediction is the true text
	Seed  uint64
}

// A FakeEngine is a completion.Filler that knows the file being typed: it
// predicts the true rest of the line (at a line end, the next line) exactly
// with probability Quality.Exact, or else a true start of random length and
// then a wrong word. It costs virtual time by Cost, keeps a session per
// document in a cache.Sessions (KV reuse) and warm-starts from cache.Drafts
// when Caches is set, as the real infill filler does.
type FakeEngine struct {
	File    string
	Cost    Cost
	Quality Quality
	Caches  *cache.Caches[*FakeDraft, *FakeSession] // nil: no sessions, no drafts

	mu      sync.Mutex
	calls   int
	forward int
	virtual time.Duration
}

// A FakeSession is a fake KV cache: the context it holds.
type FakeSession struct {
	context  string
	kvPerTok int64
	bpt      float64
}

// Bytes reports the KV memory the held context would take.
func (s *FakeSession) Bytes() int64 {
	return int64(float64(len(s.context))/s.bpt) * s.kvPerTok
}

// Close is a no-op: a fake session holds no resources.
func (s *FakeSession) Close() error { return nil }

// A FakeDraft is a partial decode: the text its committed tokens make and
// the forward passes spent on it.
type FakeDraft struct {
	Text     string // committed so far
	Forwards int
}

// Bytes reports the draft's memory (tokens, probabilities and steps).
func (d *FakeDraft) Bytes() int64 { return int64(len(d.Text))*3 + 64 }

// virtualKey carries a request's virtual deadline through its context.
type virtualKey struct{}

// virtualBudget is what a request may spend before the next keystroke
// cancels it, and where the fake reports what it spent.
type virtualBudget struct {
	left  time.Duration // math.MaxInt64: no deadline
	spent time.Duration
	calls int // engine calls the request made
}

func withBudget(ctx context.Context, b *virtualBudget) context.Context {
	return context.WithValue(ctx, virtualKey{}, b)
}

// errCancelled is the fake's cancellation: the next keystroke came first.
var errCancelled = errors.New("replay: cancelled by the next keystroke")

// unit returns a number in [0,1) fixed by (s, n, salt): the same run
// replays the same predictions.
func unit(s uint64, n int, salt string) float64 {
	x := s ^ uint64(n)*0x9e3779b97f4a7c15
	for i := 0; i < len(salt); i++ {
		x = (x ^ uint64(salt[i])) * 0x100000001b3
	}
	// splitmix64's finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// predict returns what the fake model answers at byte offset n of the file
// (n < 0: a context that is not the file's, answered with a wrong guess).
func (f *FakeEngine) predict(n int) string {
	if n < 0 || n >= len(f.File) {
		return "zz()"
	}
	rest := f.File[n:]
	end := strings.IndexByte(rest, '\n')
	if end < 0 {
		end = len(rest)
	}
	if end == 0 || n == 0 || f.File[n-1] == '\n' {
		// At a line end or start: the next line too.
		if next := strings.IndexByte(rest[min(end+1, len(rest)):], '\n'); next >= 0 {
			end = min(end+1+next, len(rest))
		}
	}
	truth := rest[:end]
	if truth == "" || unit(f.Quality.Seed, n, "exact") < f.Quality.Exact {
		return truth
	}
	l := int(unit(f.Quality.Seed, n, "len") * float64(len(truth)))
	return truth[:l] + "qq"
}

// locate returns the offset in the file at which prefix ends, when prefix
// is a window of the file typed so far. The window may splice the file's
// header before a later part, so only its end is compared.
func (f *FakeEngine) locate(prefix string, hint int) int {
	tail := prefix[max(0, len(prefix)-256):]
	if hint >= 0 && hint <= len(f.File) && strings.HasSuffix(f.File[:hint], tail) {
		return hint
	}
	return -1
}

// Fill answers one request: it charges the request's virtual budget and
// stops, leaving a draft behind, when the budget runs out first.
func (f *FakeEngine) Fill(ctx context.Context, req completion.FillRequest) (completion.FillResult, error) {
	b, _ := ctx.Value(virtualKey{}).(*virtualBudget)
	if b == nil {
		b = &virtualBudget{left: math.MaxInt64}
	}
	hint, _ := ctx.Value(hintKey{}).(int)
	b.calls++
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()

	c := f.Cost
	tokens := func(bytes int) int { return int(math.Ceil(float64(bytes) / c.BytesPerToken)) }
	full := req.Suffix + "\x00" + req.Prefix // suffix-prefix-middle: typing appends to the end

	var sess *FakeSession
	if f.Caches != nil {
		s, ok, err := f.Caches.Sessions.Acquire(ctx, req.Document)
		if err != nil {
			return completion.FillResult{}, err
		}
		if !ok {
			s = &FakeSession{kvPerTok: c.KVBytesPerToken, bpt: c.BytesPerToken}
		}
		sess = s
		defer f.Caches.Sessions.Release(req.Document, s)
	}
	reused := 0
	if sess != nil {
		reused = tokens(commonPrefix(sess.context, full))
	}
	need := max(tokens(len(full))-reused, 0)
	prefill := time.Duration(need) * c.PrefillPerToken
	if prefill > b.left {
		// Cancelled while prefilling: the KV of what was done stays.
		done := int(b.left / c.PrefillPerToken)
		if sess != nil {
			sess.context = full[:min(len(full), int(float64(reused+done)*c.BytesPerToken))]
		}
		f.charge(b, b.left, 0)
		return completion.FillResult{}, errCancelled
	}
	if sess != nil {
		sess.context = full
	}

	n := f.locate(req.Prefix, hint)
	text := f.predict(n)
	forwards := 1 + int(math.Ceil(float64(tokens(len(text))+1)/c.TokensPerStep))
	warm := 0
	if f.Caches != nil {
		if d, typed, ok := f.Caches.Drafts.Get(req.Document, req.Prefix, req.Suffix); ok && strings.HasPrefix(d.Text, typed) && strings.HasPrefix(text, d.Text[len(typed):]) {
			// The draft's committed tokens after what was typed are kept by
			// one verifying pass; the decode goes on from there.
			warm = max(min(d.Forwards, forwards-1)-1, 0)
		}
	}
	run := forwards - warm
	decode := time.Duration(run) * c.PerForward
	if prefill+decode > b.left {
		steps := int((b.left - prefill) / c.PerForward)
		if f.Caches != nil && steps > 0 {
			committed := int(float64(len(text)) * float64(steps+warm) / float64(forwards))
			f.Caches.Drafts.Put(req.Document, req.Prefix, req.Suffix, &FakeDraft{Text: text[:committed], Forwards: steps + warm})
		}
		f.charge(b, b.left, steps)
		if f.Caches != nil {
			f.Caches.NoteForwards(steps, 0)
		}
		return completion.FillResult{}, errCancelled
	}
	f.charge(b, prefill+decode, run)
	if f.Caches != nil {
		f.Caches.NoteForwards(run, warm)
	}
	return completion.FillResult{Text: text, Forwards: forwards, Tokens: tokens(len(text)), Stop: "eos"}, nil
}

func (f *FakeEngine) charge(b *virtualBudget, d time.Duration, forwards int) {
	b.spent += d
	b.left -= d
	f.mu.Lock()
	f.forward += forwards
	f.virtual += d
	f.mu.Unlock()
}

// hintKey carries the file offset the harness expects the request's prefix
// to end at.
type hintKey struct{}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
