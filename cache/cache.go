package cache

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Config sizes the caches. A zero field takes its value from DefaultConfig.
type Config struct {
	// Fingerprint names the model and the decoding settings; completions and
	// drafts made under another fingerprint never match. Caches.SetFingerprint
	// changes it at run time.
	Fingerprint string

	PrefixWindow int // bytes of the prefix, before the cursor, that a context is keyed by
	SuffixWindow int // bytes of the suffix, after the cursor, that a context is keyed by

	// ScanBack is how many typed characters (bytes) Lookup and Drafts.Get
	// look back over for a context with a cached completion or draft
	// (llama.vim scans 128). -1 turns scanning off.
	ScanBack int
	// Forward is how many characters of each completion Spans.Put writes
	// forwarding entries for (Tabby writes 50). -1 turns forwarding off.
	Forward int
	// DraftScanBack is how many typed characters Drafts.Get looks back
	// over. Drafts are found only this way (the next request always comes
	// a keystroke later), so it is separate from ScanBack. -1 turns it off.
	DraftScanBack int

	SpanBytes    int64 // ristretto capacity for finished completions, bytes
	MaxDocs      int   // documents whose pinned completions are kept
	DraftBytes   int64 // capacity for partial drafts, by their Bytes()
	SessionBytes int64 // capacity for idle engine sessions, by their Bytes()
}

// DefaultConfig returns the defaults: keys over the last 2048 bytes of the
// prefix and the first 512 of the suffix, scan back 128 characters, no
// forwarding entries (the replay benchmark found scanning enough; see
// README "Caches"), 32 MB of spans, 64 MB of drafts, 512 MB of sessions.
func DefaultConfig() Config {
	return Config{
		PrefixWindow:  2048,
		SuffixWindow:  512,
		ScanBack:      128,
		Forward:       -1,
		DraftScanBack: 128,
		SpanBytes:     32 << 20,
		MaxDocs:       256,
		DraftBytes:    64 << 20,
		SessionBytes:  512 << 20,
	}
}

// ErrConfig reports a configuration value out of range.
var ErrConfig = errors.New("cache: bad configuration")

// withDefaults fills zero fields and checks the rest.
func (cfg Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if cfg.PrefixWindow == 0 {
		cfg.PrefixWindow = d.PrefixWindow
	}
	if cfg.SuffixWindow == 0 {
		cfg.SuffixWindow = d.SuffixWindow
	}
	if cfg.ScanBack == 0 {
		cfg.ScanBack = d.ScanBack
	}
	if cfg.Forward == 0 {
		cfg.Forward = d.Forward
	}
	if cfg.DraftScanBack == 0 {
		cfg.DraftScanBack = d.DraftScanBack
	}
	if cfg.SpanBytes == 0 {
		cfg.SpanBytes = d.SpanBytes
	}
	if cfg.MaxDocs == 0 {
		cfg.MaxDocs = d.MaxDocs
	}
	if cfg.DraftBytes == 0 {
		cfg.DraftBytes = d.DraftBytes
	}
	if cfg.SessionBytes == 0 {
		cfg.SessionBytes = d.SessionBytes
	}
	switch {
	case cfg.PrefixWindow < 0:
		return cfg, fmt.Errorf("%w: PrefixWindow %d < 0", ErrConfig, cfg.PrefixWindow)
	case cfg.SuffixWindow < 0:
		return cfg, fmt.Errorf("%w: SuffixWindow %d < 0", ErrConfig, cfg.SuffixWindow)
	case cfg.ScanBack < -1:
		return cfg, fmt.Errorf("%w: ScanBack %d < -1", ErrConfig, cfg.ScanBack)
	case cfg.Forward < -1:
		return cfg, fmt.Errorf("%w: Forward %d < -1", ErrConfig, cfg.Forward)
	case cfg.DraftScanBack < -1:
		return cfg, fmt.Errorf("%w: DraftScanBack %d < -1", ErrConfig, cfg.DraftScanBack)
	case cfg.SpanBytes < 0:
		return cfg, fmt.Errorf("%w: SpanBytes %d < 0", ErrConfig, cfg.SpanBytes)
	case cfg.MaxDocs < 0:
		return cfg, fmt.Errorf("%w: MaxDocs %d < 0", ErrConfig, cfg.MaxDocs)
	case cfg.DraftBytes < 0:
		return cfg, fmt.Errorf("%w: DraftBytes %d < 0", ErrConfig, cfg.DraftBytes)
	case cfg.SessionBytes < 0:
		return cfg, fmt.Errorf("%w: SessionBytes %d < 0", ErrConfig, cfg.SessionBytes)
	}
	// -1 (off) stays -1, so that applying defaults twice keeps it off.
	return cfg, nil
}

// Caches bundles the caches of one language server. D is the decoder's draft
// type (infill's *Draft), S the engine session type.
type Caches[D Sized, S Session] struct {
	Spans      *Spans
	Drafts     *Drafts[D]
	Sessions   *Sessions[S]
	Speculator *Speculator

	forwards atomic.Int64 // engine forward passes run, as NoteForwards reports
	saved    atomic.Int64 // forward passes warm starts saved, as NoteForwards reports
}

// New returns the caches for cfg.
func New[D Sized, S Session](cfg Config) (*Caches[D, S], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sp, err := NewSpans(cfg)
	if err != nil {
		return nil, err
	}
	dr, err := NewDrafts[D](cfg)
	if err != nil {
		sp.Close()
		return nil, err
	}
	se, err := NewSessions[S](cfg.SessionBytes)
	if err != nil {
		sp.Close()
		return nil, err
	}
	return &Caches[D, S]{Spans: sp, Drafts: dr, Sessions: se, Speculator: NewSpeculator()}, nil
}

// SetFingerprint changes the model/settings fingerprint of spans and drafts:
// what was cached under the old one stops matching.
func (c *Caches[D, S]) SetFingerprint(fp string) {
	c.Spans.SetFingerprint(fp)
	c.Drafts.SetFingerprint(fp)
}

// NoteForwards records the engine forward passes a request ran and those its
// warm start saved (infill's Stats.Forwards and Stats.WarmSaved).
func (c *Caches[D, S]) NoteForwards(run, saved int) {
	c.forwards.Add(int64(max(run, 0)))
	c.saved.Add(int64(max(saved, 0)))
}

// Forget drops everything held for doc (the document was closed). Its
// session is closed now, or at its Release if it is checked out.
func (c *Caches[D, S]) Forget(doc string) {
	c.Spans.Forget(doc)
	c.Drafts.Forget(doc)
	c.Sessions.Forget(doc)
}

// Close stops background work and closes every idle session; sessions
// checked out are closed at their Release.
func (c *Caches[D, S]) Close() error {
	c.Speculator.Close()
	c.Spans.Close()
	return c.Sessions.Close()
}

// Stats is a snapshot of the caches' counters.
type Stats struct {
	Spans       SpanStats
	Drafts      DraftStats
	Sessions    SessionStats
	Speculation SpecStats

	// Forwards is the engine forward passes run (NoteForwards).
	Forwards int64
	// ForwardsSaved is the forward passes not run: the cost of every
	// completion served by Lookup plus what warm starts saved.
	ForwardsSaved int64
}

// Stats returns a snapshot of all counters.
func (c *Caches[D, S]) Stats() Stats {
	s := Stats{
		Spans:       c.Spans.Stats(),
		Drafts:      c.Drafts.Stats(),
		Sessions:    c.Sessions.Stats(),
		Speculation: c.Speculator.Stats(),
		Forwards:    c.forwards.Load(),
	}
	s.ForwardsSaved = s.Spans.ForwardsSaved + c.saved.Load()
	return s
}

// String formats the snapshot for the log.
func (s Stats) String() string {
	return fmt.Sprintf("spans %d hits (%d pinned) %d misses %d B; drafts %d hits %d misses %d B; sessions %d hits %d misses %d B %d evicted; speculation %d started %d done %d cancelled %d joined; forwards %d run %d saved",
		s.Spans.Hits, s.Spans.PinnedHits, s.Spans.Misses, s.Spans.Bytes,
		s.Drafts.Hits, s.Drafts.Misses, s.Drafts.Bytes,
		s.Sessions.Hits, s.Sessions.Misses, s.Sessions.Bytes, s.Sessions.Evicted,
		s.Speculation.Started, s.Speculation.Finished, s.Speculation.Cancelled, s.Speculation.Joined,
		s.Forwards, s.ForwardsSaved)
}
