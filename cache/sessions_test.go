package cache

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessionsReuse(t *testing.T) {
	p, err := NewSessions[*fakeSession](1000)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, ok, err := p.Acquire(ctx, "a.go")
	if ok || err != nil {
		t.Fatalf("first Acquire = %v, %v, want none and no error", ok, err)
	}
	s1 := newFakeSession(1, 400)
	p.Release("a.go", s1)
	got, ok, err := p.Acquire(ctx, "a.go")
	if got != s1 || !ok || err != nil {
		t.Fatalf("second Acquire = %v, %v, %v, want session 1", got, ok, err)
	}
	p.Release("a.go", got)
	if st := p.Stats(); st.Hits != 1 || st.Misses != 1 || st.Bytes != 400 {
		t.Errorf("Stats() = %+v, want 1 hit, 1 miss, 400 bytes", st)
	}
}

// TestSessionsWait checks that a second request for a document waits for the
// first to give the session back, and that ctx ends the wait.
func TestSessionsWait(t *testing.T) {
	p, _ := NewSessions[*fakeSession](1000)
	ctx := context.Background()
	p.Acquire(ctx, "a.go")
	s1 := newFakeSession(1, 10)

	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, _, err := p.Acquire(short, "a.go"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire of a busy session with a short ctx = %v, want DeadlineExceeded", err)
	}

	got := make(chan *fakeSession)
	go func() {
		s, _, _ := p.Acquire(ctx, "a.go")
		got <- s
	}()
	time.Sleep(5 * time.Millisecond)
	p.Release("a.go", s1)
	if s := <-got; s != s1 {
		t.Errorf("waiting Acquire got %v, want session 1", s)
	}
}

func TestSessionsEvictLRU(t *testing.T) {
	p, _ := NewSessions[*fakeSession](1000)
	ctx := context.Background()
	var all []*fakeSession
	for i, doc := range []string{"a", "b", "c"} {
		p.Acquire(ctx, doc)
		s := newFakeSession(i, 400)
		all = append(all, s)
		p.Release(doc, s)
	}
	// a was released first: over the cap (1200 > 1000) it goes.
	if all[0].closed.Load() != 1 || all[1].closed.Load() != 0 || all[2].closed.Load() != 0 {
		t.Errorf("closed = %d %d %d, want only the least recently released (a)", all[0].closed.Load(), all[1].closed.Load(), all[2].closed.Load())
	}
	// Using b makes c the least recent.
	s, _, _ := p.Acquire(ctx, "b")
	p.Release("b", s)
	p.Acquire(ctx, "d")
	p.Release("d", newFakeSession(3, 400))
	if all[2].closed.Load() != 1 || all[1].closed.Load() != 0 {
		t.Errorf("after using b: closed b=%d c=%d, want c evicted", all[1].closed.Load(), all[2].closed.Load())
	}
	if st := p.Stats(); st.Bytes > 1000 || st.Evicted != 2 {
		t.Errorf("Stats() = %+v, want <= 1000 bytes and 2 evicted", st)
	}
}

// TestSessionsNeverCloseBusy guards that neither eviction nor Forget nor
// Close closes a session that is checked out.
func TestSessionsNeverCloseBusy(t *testing.T) {
	p, _ := NewSessions[*fakeSession](100)
	ctx := context.Background()
	p.Acquire(ctx, "a")
	big := newFakeSession(1, 500)
	p.Release("a", big) // over the cap on its own: evicted at once
	if big.closed.Load() != 1 {
		t.Fatalf("an idle session over the cap was not closed")
	}
	p.Acquire(ctx, "b")
	held := newFakeSession(2, 50)
	p.Release("b", held)
	s, _, _ := p.Acquire(ctx, "b")
	s.busy.Store(true) // Close panics while this is set
	s.bytes.Store(5000)
	p.Acquire(ctx, "c")
	p.Release("c", newFakeSession(3, 80)) // evicts idle ones only
	p.Forget("b")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	s.busy.Store(false)
	if s.closed.Load() != 0 {
		t.Fatalf("a checked-out session was closed")
	}
	p.Release("b", s)
	if s.closed.Load() != 1 {
		t.Errorf("a forgotten session was not closed at its Release")
	}
	if _, _, err := p.Acquire(ctx, "b"); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close = %v, want ErrClosed", err)
	}
}

func TestSessionsAbandon(t *testing.T) {
	p, _ := NewSessions[*fakeSession](1000)
	ctx := context.Background()
	p.Acquire(ctx, "a")
	p.Abandon("a")
	if _, ok, err := p.Acquire(ctx, "a"); ok || err != nil {
		t.Errorf("Acquire after Abandon = %v, %v, want none", ok, err)
	}
}
