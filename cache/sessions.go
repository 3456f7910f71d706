package cache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Session is what the session pool holds: an engine session that reports
// its memory. Sessions are compared by identity, so S is a pointer or an
// interface holding one.
type Session interface {
	comparable
	Close() error
	Bytes() int64
}

// A Sessions pools one engine session per document, checked out by one
// request at a time, and closes idle sessions, least recently released
// first, while their bytes exceed the cap.
type Sessions[S Session] struct {
	maxBytes int64

	mu      sync.Mutex
	entries map[string]*sessionEntry[S]
	idle    list.List // of *sessionEntry; front = most recently released
	bytes   int64     // of every session held, busy ones at their last Release
	closed  bool

	hits, misses, evicted, waits atomic.Int64
}

type sessionEntry[S Session] struct {
	doc    string
	s      S
	has    bool          // s is set (false while the first request creates it)
	busy   bool          // checked out
	freed  chan struct{} // closed at Release; waiters then retry
	bytes  int64
	forget bool // close at Release
	el     *list.Element
}

// SessionStats counts the pool's outcomes.
type SessionStats struct {
	Hits    int64 // Acquire found the document's session
	Misses  int64 // Acquire found none: the caller made one
	Waits   int64 // Acquire waited for another request's Release
	Evicted int64 // idle sessions closed to stay under the cap
	Bytes   int64
	Count   int
}

// ErrClosed reports a pool used after Close.
var ErrClosed = errors.New("cache: session pool closed")

// NewSessions returns an empty pool holding at most maxBytes of idle
// sessions.
func NewSessions[S Session](maxBytes int64) (*Sessions[S], error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("%w: SessionBytes %d <= 0", ErrConfig, maxBytes)
	}
	return &Sessions[S]{maxBytes: maxBytes, entries: make(map[string]*sessionEntry[S])}, nil
}

// Acquire checks out doc's session. With ok false there is none and the
// caller makes one; either way the caller must Release what it uses. While
// another request holds doc's session, Acquire waits for it, or for ctx.
func (p *Sessions[S]) Acquire(ctx context.Context, doc string) (s S, ok bool, err error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return s, false, ErrClosed
		}
		e := p.entries[doc]
		if e == nil {
			p.entries[doc] = &sessionEntry[S]{doc: doc, busy: true, freed: make(chan struct{})}
			p.mu.Unlock()
			p.misses.Add(1)
			return s, false, nil
		}
		if !e.busy {
			e.busy = true
			e.freed = make(chan struct{})
			p.idle.Remove(e.el)
			e.el = nil
			p.mu.Unlock()
			p.hits.Add(1)
			return e.s, true, nil
		}
		freed := e.freed
		p.mu.Unlock()
		p.waits.Add(1)
		select {
		case <-freed:
		case <-ctx.Done():
			return s, false, ctx.Err()
		}
	}
}

// Release checks doc's session back in (s is the session Acquire returned
// or the one the caller made), measures it, and closes idle sessions over
// the cap. Releasing a session for a document not checked out adds it,
// closing the one it replaces.
func (p *Sessions[S]) Release(doc string, s S) {
	var toClose []S
	p.mu.Lock()
	e := p.entries[doc]
	switch {
	case e == nil:
		e = &sessionEntry[S]{doc: doc}
		p.entries[doc] = e
	case !e.busy:
		// Not checked out: s replaces the idle one.
		p.idle.Remove(e.el)
		e.el = nil
		if e.has && e.s != s {
			toClose = append(toClose, e.s)
		}
	case e.has && e.s != s:
		// The caller swapped sessions (for example after an engine error).
		toClose = append(toClose, e.s)
	}
	p.bytes -= e.bytes
	e.s, e.has = s, true
	e.bytes = s.Bytes()
	p.bytes += e.bytes
	if e.busy {
		e.busy = false
		close(e.freed)
	}
	if e.forget || p.closed {
		toClose = append(toClose, e.s)
		p.bytes -= e.bytes
		delete(p.entries, doc)
	} else {
		e.el = p.idle.PushFront(e)
		for p.bytes > p.maxBytes && p.idle.Len() > 0 {
			old := p.idle.Remove(p.idle.Back()).(*sessionEntry[S])
			old.el = nil
			p.bytes -= old.bytes
			delete(p.entries, old.doc)
			toClose = append(toClose, old.s)
			p.evicted.Add(1)
		}
	}
	p.mu.Unlock()
	// Closing frees device or heap memory and may be slow: outside the lock.
	for _, c := range toClose {
		c.Close()
	}
}

// Abandon ends a checkout without a session to give back (the caller could
// not make one): the next Acquire for doc makes its own.
func (p *Sessions[S]) Abandon(doc string) {
	p.mu.Lock()
	e := p.entries[doc]
	if e == nil || !e.busy {
		p.mu.Unlock()
		return
	}
	e.busy = false
	close(e.freed)
	if e.has && !e.forget && !p.closed {
		e.el = p.idle.PushFront(e)
		p.mu.Unlock()
		return
	}
	delete(p.entries, doc)
	p.bytes -= e.bytes
	p.mu.Unlock()
	if e.has {
		e.s.Close()
	}
}

// Forget closes doc's session now if it is idle, or at its Release.
func (p *Sessions[S]) Forget(doc string) {
	p.mu.Lock()
	e := p.entries[doc]
	if e == nil {
		p.mu.Unlock()
		return
	}
	if e.busy {
		e.forget = true
		p.mu.Unlock()
		return
	}
	p.idle.Remove(e.el)
	p.bytes -= e.bytes
	delete(p.entries, doc)
	p.mu.Unlock()
	e.s.Close()
}

// Close closes every idle session and refuses new checkouts; sessions
// checked out are closed at their Release.
func (p *Sessions[S]) Close() error {
	p.mu.Lock()
	p.closed = true
	var toClose []S
	for doc, e := range p.entries {
		if e.busy {
			continue
		}
		p.idle.Remove(e.el)
		p.bytes -= e.bytes
		delete(p.entries, doc)
		toClose = append(toClose, e.s)
	}
	p.mu.Unlock()
	var errs []error
	for _, s := range toClose {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats returns a snapshot of the counters.
func (p *Sessions[S]) Stats() SessionStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return SessionStats{
		Hits: p.hits.Load(), Misses: p.misses.Load(), Waits: p.waits.Load(), Evicted: p.evicted.Load(),
		Bytes: p.bytes, Count: len(p.entries),
	}
}
