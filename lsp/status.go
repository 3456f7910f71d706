package lsp

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/unmask/unmask/cache"
	"github.com/unmask/unmask/completion"
	"go.lsp.dev/jsonrpc2"
)

const methodStatus = "unmask/status"

// Status is the answer to unmask/status.
type Status struct {
	Model       string         `json:"model"` // "loading" | "ready" | "failed: …" | "none"
	Requests    map[string]int `json:"requests"`
	Completions int            `json:"completions"` // finished completion requests
	Empty       int            `json:"empty"`       // of those, with no text
	Cancelled   int            `json:"cancelled"`
	Errors      int            `json:"errors"`
	LatencyP50  float64        `json:"latencyP50Ms"` // over the last 1,000 completions
	LatencyP95  float64        `json:"latencyP95Ms"`
	CacheHits   int            `json:"cacheHits"`
	CacheRate   float64        `json:"cacheHitRate"` // hits / completions
	// Explicit counts the finished requests that asked for alternatives
	// (ghost text asked for, menus with menuAlternatives > 1),
	// Alternatives the answers they offered beyond the first, and
	// AlternativesCached those requests whose alternatives came with no
	// forward pass (typed through or asked again).
	Explicit           int `json:"explicit"`
	Alternatives       int `json:"alternatives"`
	AlternativesCached int `json:"alternativesCached"`
	// Accepted counts the items the client reported inserted (the
	// unmask.accepted command), AcceptedAlternatives those of them that
	// were an alternative, not the first answer.
	Accepted             int `json:"accepted"`
	AcceptedAlternatives int `json:"acceptedAlternatives"`
	OpenDocs             int `json:"openDocuments"`
	// Languages are the languageIds completed: the user's `languages`
	// setting, else those the model was trained on; absent when every
	// language is (clients show why a document gets nothing).
	Languages []string `json:"languages,omitempty"`
	// Cache is package cache's counters (spans, drafts, sessions,
	// speculation, forward passes saved), when the engine has caches.
	Cache *cache.Stats `json:"cache,omitempty"`
}

// stats counts requests and completion latencies.
type stats struct {
	mu        sync.Mutex
	requests  map[string]int
	latencies []time.Duration // ring of the last len(latencies) completions
	next      int
	n         int
	empty     int
	cancels   int
	errors    int
	hits      int
	explicit  int
	more      int
	moreHits  int
	accepts   int
	acceptAlt int
}

func (st *stats) init() {
	st.requests = map[string]int{}
	st.latencies = make([]time.Duration, 1000)
}

func (st *stats) request(method string) {
	st.mu.Lock()
	st.requests[method]++
	st.mu.Unlock()
}

func (st *stats) completed(d time.Duration, req completion.Request, res completion.Result) {
	cached, empty := res.Fill.Cached, res.Text == ""
	st.mu.Lock()
	defer st.mu.Unlock()
	if req.Settings.Alternatives > 1 {
		st.explicit++
		st.more += len(res.More)
		if res.MoreCached {
			st.moreHits++
		}
	}
	st.latencies[st.next%len(st.latencies)] = d
	st.next++
	st.n++
	if cached {
		st.hits++
	}
	if empty {
		st.empty++
	}
}

func (st *stats) accepted(index int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.accepts++
	if index > 0 {
		st.acceptAlt++
	}
}

func (st *stats) cancelled() { st.mu.Lock(); st.cancels++; st.mu.Unlock() }
func (st *stats) failed()    { st.mu.Lock(); st.errors++; st.mu.Unlock() }

func (st *stats) snapshot() Status {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := Status{Requests: map[string]int{}, Completions: st.n, Empty: st.empty,
		Cancelled: st.cancels, Errors: st.errors, CacheHits: st.hits,
		Explicit: st.explicit, Alternatives: st.more, AlternativesCached: st.moreHits,
		Accepted: st.accepts, AcceptedAlternatives: st.acceptAlt}
	for k, v := range st.requests {
		s.Requests[k] = v
	}
	lat := slices.Clone(st.latencies[:min(st.next, len(st.latencies))])
	slices.Sort(lat)
	s.LatencyP50, s.LatencyP95 = percentile(lat, 50), percentile(lat, 95)
	if st.n > 0 {
		s.CacheRate = float64(st.hits) / float64(st.n)
	}
	return s
}

// percentile returns the p-th percentile of sorted durations in ms
// (nearest rank).
func percentile(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}

func (s *Server) status(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	st := s.stats.snapshot()
	s.mu.Lock()
	m := s.model
	st.OpenDocs = len(s.docs)
	if !slices.Contains(s.cfg.Languages, "*") {
		st.Languages = slices.Clone(s.cfg.Languages)
	}
	user := len(s.cfg.Languages) > 0
	s.mu.Unlock()
	st.Model = "none"
	if m != nil {
		select {
		case <-m.ready:
			st.Model = "ready"
			if m.err != nil {
				st.Model = "failed: " + m.err.Error()
			}
			if m.engine != nil && m.engine.Cache != nil {
				cs := m.engine.Cache.Stats()
				st.Cache = &cs
			}
			if m.engine != nil && !user {
				st.Languages = slices.Clone(m.engine.Languages)
			}
		default:
			st.Model = "loading"
		}
	}
	return reply(ctx, st, nil)
}
