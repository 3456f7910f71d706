package cache

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
)

// waitFor polls cond for up to a second: the speculator works on its own
// goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// blocker is a speculation that runs until cancelled or released.
func blocker(started, cancelled *atomic.Int32, release chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		started.Add(1)
		select {
		case <-ctx.Done():
			cancelled.Add(1)
		case <-release:
		}
	}
}

func TestSpeculatorWaitsForForeground(t *testing.T) {
	s := NewSpeculator()
	defer s.Close()
	var started, cancelled atomic.Int32
	end := s.Begin(context.Background(), "fg")
	s.Schedule("spec", blocker(&started, &cancelled, nil))
	time.Sleep(10 * time.Millisecond)
	if started.Load() != 0 {
		t.Fatalf("a speculation started while a foreground request ran")
	}
	end()
	waitFor(t, "the speculation to start", func() bool { return started.Load() == 1 })
	// A new foreground request cancels it.
	end = s.Begin(context.Background(), "fg2")
	waitFor(t, "the speculation to be cancelled", func() bool { return cancelled.Load() == 1 })
	end()
	waitFor(t, "idle", s.Idle)
	if st := s.Stats(); st.Started != 1 || st.Cancelled != 1 || st.Finished != 0 {
		t.Errorf("Stats() = %+v, want 1 started, 1 cancelled", st)
	}
}

func TestSpeculatorJoin(t *testing.T) {
	s := NewSpeculator()
	defer s.Close()
	var started, cancelled atomic.Int32
	release := make(chan struct{})
	var specCtx atomic.Value
	run := blocker(&started, &cancelled, release)
	s.Schedule("k", func(ctx context.Context) {
		specCtx.Store(ctx)
		run(ctx)
	})
	waitFor(t, "the speculation to start", func() bool { return started.Load() == 1 })
	ctx := specCtx.Load().(context.Context)
	if !engine.Background(ctx) {
		t.Errorf("a running speculation's context is not marked background")
	}
	joined := make(chan struct{})
	go func() {
		end := s.Begin(context.Background(), "k") // same context: waits
		end()
		close(joined)
	}()
	select {
	case <-joined:
		t.Fatalf("Begin with the speculation's key returned before it finished")
	case <-time.After(10 * time.Millisecond):
	}
	// Joined by a foreground request: someone waits, every thread again.
	waitFor(t, "the joined speculation to lose its background mark", func() bool { return !engine.Background(ctx) })
	close(release)
	<-joined
	if st := s.Stats(); st.Joined != 1 || st.Finished != 1 || st.Cancelled != 0 || cancelled.Load() != 0 {
		t.Errorf("Stats() = %+v, want 1 joined, 1 finished, none cancelled", st)
	}
}

func TestSpeculatorNewerReplaces(t *testing.T) {
	s := NewSpeculator()
	defer s.Close()
	var started, cancelled atomic.Int32
	var ran atomic.Int32
	end := s.Begin(context.Background(), "fg")
	s.Schedule("a", func(context.Context) { ran.Add(1) })
	s.Schedule("b", blocker(&started, &cancelled, nil))
	end()
	waitFor(t, "b to start", func() bool { return started.Load() == 1 })
	if ran.Load() != 0 {
		t.Errorf("a replaced speculation ran")
	}
	var ranC atomic.Int32
	s.Schedule("c", func(context.Context) { ranC.Add(1) }) // cancels b, then runs
	waitFor(t, "c to run", func() bool { return ranC.Load() == 1 })
	if cancelled.Load() != 1 {
		t.Errorf("the running speculation was not cancelled by a newer one")
	}
	if st := s.Stats(); st.Dropped != 1 {
		t.Errorf("Stats().Dropped = %d, want 1", st.Dropped)
	}
}

// Close returns only once the running speculation has: the caches it
// writes to are closed right after (Caches.Close), and ristretto panics on
// a Set into a closed cache.
func TestSpeculatorCloseWaits(t *testing.T) {
	s := NewSpeculator()
	var done atomic.Bool
	started := make(chan struct{})
	s.Schedule("spec", func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // still writing after the cancel
		done.Store(true)
	})
	<-started
	s.Close()
	if !done.Load() {
		t.Fatal("Close returned while the speculation was still running")
	}
	s.Close() // twice is fine
	s.Schedule("after", func(context.Context) { t.Error("a speculation ran after Close") })
}
